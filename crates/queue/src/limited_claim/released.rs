//! Which of this process's limited jobs are still `running` in the database only because
//! their outcome is not recorded yet.
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

use std::collections::HashMap;

/// A limited job a claim took: `(job id, attempt, kind)`.
pub type ClaimedJob = (i64, i32, String);

/// Most jobs remembered: a process runs far fewer at once; past this (jobs claimed here and
/// never finished here, e.g. rescued elsewhere), the oldest knowledge is dropped, which
/// costs only a slot passed on later.
const MAX_PLACED: usize = 100_000;

/// A job claimed here: its kind and attempt.
#[derive(Debug, Clone)]
struct Placed {
    kind: String,
    attempt: i32,
}

#[derive(Debug, Default)]
pub(crate) struct Released {
    /// Limited jobs claimed here whose handler has not returned yet.
    placed: HashMap<i64, Placed>,
    /// Limited jobs whose handler returned here and whose outcome is not committed yet.
    released: HashMap<i64, Placed>,
}

impl Released {
    pub(crate) fn claimed(&mut self, jobs: Vec<ClaimedJob>) {
        if self.placed.len() + jobs.len() > MAX_PLACED {
            self.placed.clear();
        }
        for (id, attempt, kind) in jobs {
            self.placed.insert(id, Placed { kind, attempt });
        }
    }

    /// A job's handler returned (of any outcome; its completion is queued): its slot is free
    /// for this process's next claim.
    pub(crate) fn finished(&mut self, id: i64) {
        if let Some(p) = self.placed.remove(&id) {
            if self.released.len() < MAX_PLACED {
                self.released.insert(id, p);
            }
        }
    }

    /// Jobs whose completion (of any outcome) committed: their rows no longer say `running`.
    pub(crate) fn completed(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.released.remove(&id);
            self.placed.remove(&id);
        }
    }

    /// For each of `kinds` that has some: `(job id, attempt)` of its released jobs, which stay
    /// released until their completion commits.
    pub(crate) fn of(&self, kinds: &[String]) -> HashMap<String, Vec<(i64, i32)>> {
        let mut out: HashMap<String, Vec<(i64, i32)>> = HashMap::new();
        for (id, p) in &self.released {
            if kinds.contains(&p.kind) {
                out.entry(p.kind.clone())
                    .or_default()
                    .push((*id, p.attempt));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: i64, kind: &str) -> ClaimedJob {
        (id, 1, kind.into())
    }

    #[test]
    fn a_finished_job_is_released_until_its_completion_commits() {
        let mut r = Released::default();
        r.claimed(vec![
            placed(1, "k"),
            placed(2, "k"),
            placed(3, "k"),
            placed(4, "other"),
        ]);
        r.finished(3);
        r.finished(1);
        // Job 2's completion committed without its end being reported: it is not released.
        r.completed([2, 99]);
        let kinds = ["k".to_string()];
        let mut got = r.of(&kinds).remove("k").unwrap_or_default();
        got.sort();
        assert_eq!(got, vec![(1, 1), (3, 1)]);
        // Still released on the next claim, until the completion commits.
        assert_eq!(r.of(&kinds).get("k").map(Vec::len), Some(2));
        r.completed([1, 3]);
        assert!(r.of(&kinds).is_empty());
        // A job that was never finished here is not released.
        assert!(r.of(&["other".to_string()]).is_empty());
        r.finished(99);
        assert!(r.of(&kinds).is_empty());
    }
}
