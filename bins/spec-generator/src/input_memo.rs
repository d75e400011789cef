//! The spec inputs of the analyses this process worked on last, kept in memory. A document's
//! conversion is one job per feature; without it each job would load the analysis's whole
//! inventory from the database and rebuild its input again (a 40-feature document: 40 loads
//! of the same rows). An analysis's inventory never changes once the spec steps read it, and
//! its id is never reused (an identity column; `AUTOINCREMENT` on SQLite), so an entry is
//! never stale; a few entries cover the documents a generator converts at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use specline_specdoc::SpecInput;

/// At most `capacity` inputs by analysis id, the least recently stored dropped first.
pub struct InputMemo {
    entries: Mutex<VecDeque<(i64, Arc<SpecInput>)>>,
    capacity: usize,
}

impl InputMemo {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    /// The input of `analysis`, if it is kept. A poisoned lock is a miss (the input is
    /// loaded again), never a failed job.
    pub fn get(&self, analysis: i64) -> Option<Arc<SpecInput>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(id, _)| *id == analysis)
            .map(|(_, input)| input.clone())
    }

    /// Keeps the input of `analysis`, dropping the oldest entry past the capacity.
    pub fn put(&self, analysis: i64, input: Arc<SpecInput>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        entries.retain(|(id, _)| *id != analysis);
        entries.push_back((analysis, input));
        while entries.len() > self.capacity {
            entries.pop_front();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// An empty inventory of `name` as its input.
    fn input(name: &str) -> Arc<SpecInput> {
        use specline_inventory_model::{Inventory, ScanStats, Source, SCHEMA_VERSION};
        let inventory = Inventory {
            schema_version: SCHEMA_VERSION,
            parser_version: "test".into(),
            source: Source {
                location: name.into(),
                ..Source::default()
            },
            files: vec![],
            stats: ScanStats::default(),
            errors: vec![],
        };
        Arc::new(SpecInput::from_inventory(&inventory, Some(name)).unwrap())
    }

    #[test]
    fn an_input_is_kept_until_newer_ones_push_it_out() {
        let memo = InputMemo::new(2);
        assert!(memo.get(1).is_none());
        let one = input("one");
        memo.put(1, one.clone());
        assert!(Arc::ptr_eq(&memo.get(1).unwrap(), &one));
        memo.put(2, input("two"));
        memo.put(1, one.clone());
        memo.put(3, input("three"));
        // 2 was stored least recently: it went first.
        assert!(memo.get(2).is_none());
        assert!(Arc::ptr_eq(&memo.get(1).unwrap(), &one));
        assert!(memo.get(3).is_some());
    }
}
