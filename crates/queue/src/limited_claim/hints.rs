//! What this process knows about the slots of its limited jobs: which partitions its finished
//! jobs freed, so that the next claim looks at them first instead of walking every partition
//! from the cursor, and which of its finished jobs are still `running` in the database only
//! because their outcome is not recorded yet.
//!
//! Without hints a claim finds free partitions by walking them in key order, and with one
//! running job per partition most partitions it meets are still full: the walk's cost follows
//! the number of partitions, not the jobs claimed. A finished job knows its partition, so the
//! worker notes it here when the handler returns, and the next claim probes those partitions
//! by key.
//!
//! **A finished job's slot passes on before its outcome commits.** A job's row says `running`
//! from its claim until its completion batch commits, but its handler returned earlier. If
//! the claim counted that row, a partition with one slot could start its next job only after
//! a full claim → run → completion-commit cycle, and claims would wait on completion batches
//! (one at a time instead of side by side, as jobs without limits go). So this process's
//! claims leave out of their running counts the rows of its own finished jobs (matched by id
//! *and* attempt, so a job rescued and claimed again elsewhere still counts), until their
//! completion commits. The limit holds on what it is for — handlers executing at once — and
//! other processes, which cannot know, count those rows: they only err on the safe side.
//!
//! Hints only choose where the claim looks: the claim still counts each hinted partition's
//! running jobs under the kind's lock, so a stale or lost hint costs a probe, never a limit.
//! Partitions freed by another process, by a rescue or by new jobs are found by the walk,
//! which still runs on every claim (see [`super::claim_kind`]).

use std::collections::{HashMap, HashSet};

/// What a claim leaves for the next one: the jobs it claimed (a job's end frees its
/// partition), and the hinted partitions it had no room for.
#[derive(Debug, Default)]
pub struct ClaimHints {
    /// Each job claimed: `(job id, attempt, kind, partition key)`.
    pub placed: Vec<(i64, i32, String, String)>,
    /// `(kind, partition key)`: hinted partitions with a free slot the budget did not reach.
    pub unserved: Vec<(String, String)>,
}

/// What the next claim of one kind gets from here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KindHints {
    /// Partitions freed since the last claim, in the order they were freed, each once.
    pub freed: Vec<String>,
    /// `(job id, attempt)` of this process's finished jobs of the kind whose outcome is not
    /// committed yet: the claim does not count their rows as running.
    pub released: Vec<(i64, i32)>,
}

/// Most jobs remembered: a process runs far fewer at once; past this (jobs claimed here and
/// never finished here, e.g. rescued elsewhere), the oldest knowledge is dropped, which
/// costs only hints.
const MAX_PLACED: usize = 100_000;
/// Most freed partitions remembered per kind.
const MAX_FREED: usize = 10_000;

/// A job claimed here: its kind, partition and attempt.
#[derive(Debug, Clone)]
struct Placed {
    kind: String,
    key: String,
    attempt: i32,
}

#[derive(Debug, Default)]
pub(crate) struct Hints {
    /// Limited jobs claimed here whose handler has not returned yet.
    placed: HashMap<i64, Placed>,
    /// Limited jobs whose handler returned here and whose outcome is not committed yet.
    released: HashMap<i64, Placed>,
    /// Freed partitions by kind, in the order they were freed, each once.
    freed: HashMap<String, (Vec<String>, HashSet<String>)>,
}

impl Hints {
    pub(crate) fn claimed(&mut self, hints: ClaimHints) {
        if self.placed.len() + hints.placed.len() > MAX_PLACED {
            self.placed.clear();
        }
        for (id, attempt, kind, key) in hints.placed {
            self.placed.insert(id, Placed { kind, key, attempt });
        }
        for (kind, key) in hints.unserved {
            self.free(kind, key);
        }
    }

    /// A job's handler returned (of any outcome; its completion is queued): its slot is free
    /// for this process's next claim, and its partition is a hint.
    pub(crate) fn finished(&mut self, id: i64) {
        if let Some(p) = self.placed.remove(&id) {
            self.free(p.kind.clone(), p.key.clone());
            if self.released.len() < MAX_PLACED {
                self.released.insert(id, p);
            }
        }
    }

    /// Jobs whose completion (of any outcome) committed: their rows no longer say `running`.
    /// A job whose end was not reported first frees its partition now.
    pub(crate) fn completed(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.released.remove(&id);
            if let Some(p) = self.placed.remove(&id) {
                self.free(p.kind, p.key);
            }
        }
    }

    fn free(&mut self, kind: String, key: String) {
        let (order, seen) = self.freed.entry(kind).or_default();
        if order.len() < MAX_FREED && seen.insert(key.clone()) {
            order.push(key);
        }
    }

    /// For each of `kinds`: the freed partitions, taken (each hint is used once), and the
    /// released jobs, which stay until their completion commits.
    pub(crate) fn take(&mut self, kinds: &[String]) -> HashMap<String, KindHints> {
        let mut out: HashMap<String, KindHints> = HashMap::new();
        for k in kinds {
            if let Some((order, _)) = self.freed.remove(k) {
                out.entry(k.clone()).or_default().freed = order;
            }
        }
        for (id, p) in &self.released {
            if kinds.contains(&p.kind) {
                out.entry(p.kind.clone())
                    .or_default()
                    .released
                    .push((*id, p.attempt));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: i64, kind: &str, key: &str) -> (i64, i32, String, String) {
        (id, 1, kind.into(), key.into())
    }

    #[test]
    fn a_finished_job_frees_its_partition_once_and_is_released_until_it_commits() {
        let mut h = Hints::default();
        h.claimed(ClaimHints {
            placed: vec![
                placed(1, "k", "a"),
                placed(2, "k", "a"),
                placed(3, "k", "b"),
                placed(4, "other", "a"),
            ],
            unserved: vec![("k".into(), "c".into())],
        });
        h.finished(3);
        h.finished(1);
        h.completed([2, 99]);
        let kinds = ["k".to_string()];
        let mut got = h.take(&kinds).remove("k").unwrap_or_default();
        got.released.sort();
        assert_eq!(got.freed, vec!["c", "b", "a"]);
        assert_eq!(got.released, vec![(1, 1), (3, 1)]);
        // A hint is used once; a released job stays released until its completion commits.
        let again = h.take(&kinds).remove("k").unwrap_or_default();
        assert!(again.freed.is_empty());
        assert_eq!(again.released.len(), 2);
        h.completed([1, 3]);
        assert!(h.take(&kinds).is_empty());
        h.completed([4]);
        let other = h.take(&["other".to_string()]);
        assert_eq!(
            other.get("other").map(|o| o.freed.clone()),
            Some(vec!["a".to_string()])
        );
        assert_eq!(other.get("other").map(|o| o.released.len()), Some(0));
    }
}
