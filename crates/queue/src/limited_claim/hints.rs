//! Which partitions this process's completions freed, so that the next claim looks at them
//! first instead of walking every partition from the cursor.
//!
//! Without hints a claim finds free partitions by walking them in key order, and with one
//! running job per partition most partitions it meets are still full (their job has run but
//! its completion is not committed yet): the walk's cost follows the number of partitions,
//! not the jobs claimed. A completion knows its job's partition, so the store notes it here
//! after the completion commits, and the next claim probes those partitions by key.
//!
//! Hints only choose where the claim looks: the claim still counts each hinted partition's
//! running jobs under the kind's lock, so a stale or lost hint costs a probe, never a limit.
//! Partitions freed by another process, by a rescue or by new jobs are found by the walk,
//! which still runs on every claim (see [`super::claim_kind`]).

use std::collections::{HashMap, HashSet};

/// What a claim leaves for the next one: the partitions of the jobs it claimed (a job's
/// completion frees its partition), and the hinted partitions it had no room for.
#[derive(Debug, Default)]
pub struct ClaimHints {
    /// `(job id, kind, partition key)` of each job claimed.
    pub placed: Vec<(i64, String, String)>,
    /// `(kind, partition key)`: hinted partitions with a free slot the budget did not reach.
    pub unserved: Vec<(String, String)>,
}

/// Most jobs remembered: a process runs far fewer at once; past this (jobs claimed here and
/// never completed here, e.g. rescued elsewhere), the oldest knowledge is dropped, which
/// costs only hints.
const MAX_PLACED: usize = 100_000;
/// Most freed partitions remembered per kind.
const MAX_FREED: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct Hints {
    /// Limited jobs claimed here and not yet completed here: their kind and partition.
    placed: HashMap<i64, (String, String)>,
    /// Freed partitions by kind, in the order they were freed, each once.
    freed: HashMap<String, (Vec<String>, HashSet<String>)>,
}

impl Hints {
    pub(crate) fn claimed(&mut self, hints: ClaimHints) {
        if self.placed.len() + hints.placed.len() > MAX_PLACED {
            self.placed.clear();
        }
        for (id, kind, key) in hints.placed {
            self.placed.insert(id, (kind, key));
        }
        for (kind, key) in hints.unserved {
            self.free(kind, key);
        }
    }

    /// Jobs whose completion (of any outcome) committed: their partitions are freed.
    pub(crate) fn completed(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            if let Some((kind, key)) = self.placed.remove(&id) {
                self.free(kind, key);
            }
        }
    }

    fn free(&mut self, kind: String, key: String) {
        let (order, seen) = self.freed.entry(kind).or_default();
        if order.len() < MAX_FREED && seen.insert(key.clone()) {
            order.push(key);
        }
    }

    /// The freed partitions of `kinds`, taken (each hint is used once).
    pub(crate) fn take(&mut self, kinds: &[String]) -> HashMap<String, Vec<String>> {
        kinds
            .iter()
            .filter_map(|k| {
                let (order, _) = self.freed.remove(k)?;
                Some((k.clone(), order))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_frees_its_partition_once() {
        let mut h = Hints::default();
        h.claimed(ClaimHints {
            placed: vec![
                (1, "k".into(), "a".into()),
                (2, "k".into(), "a".into()),
                (3, "k".into(), "b".into()),
                (4, "other".into(), "a".into()),
            ],
            unserved: vec![("k".into(), "c".into())],
        });
        h.completed([3, 1, 2, 99]);
        let kinds = ["k".to_string()];
        let got = h.take(&kinds);
        assert_eq!(
            got.get("k"),
            Some(&vec!["c".into(), "b".into(), "a".into()])
        );
        assert!(h.take(&kinds).is_empty(), "a hint is used once");
        h.completed([4]);
        let other = h.take(&["other".to_string()]);
        assert_eq!(other.get("other"), Some(&vec!["a".to_string()]));
    }
}
