-- Rollouts (src/rollout): a candidate implementation beside a primary. The current mode of
-- each rollout, every change of it (who, when, from, to), and the record of each shadow run.
-- Times are microseconds since the epoch.
CREATE TABLE IF NOT EXISTS specline_rollouts (
  name       TEXT PRIMARY KEY,
  mode       TEXT NOT NULL DEFAULT 'off',
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS specline_rollout_changes (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  name      TEXT NOT NULL,
  from_mode TEXT NOT NULL,
  to_mode   TEXT NOT NULL,
  actor     TEXT NOT NULL,
  at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS specline_rollout_changes_name ON specline_rollout_changes (name, id);
CREATE TABLE IF NOT EXISTS specline_rollout_results (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL,
  job_id       INTEGER NOT NULL,
  key          TEXT NOT NULL,
  outcome      TEXT NOT NULL CHECK (outcome IN ('match', 'mismatch', 'candidate_error',
                 'candidate_panic', 'candidate_timeout', 'primary_error')),
  similarity   REAL,
  diff         TEXT,
  error        TEXT,
  primary_us   INTEGER NOT NULL,
  candidate_us INTEGER NOT NULL,
  at           INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS specline_rollout_results_name ON specline_rollout_results (name, id);
-- The pruner deletes the oldest results first (maintenance, retain_rollout_results).
CREATE INDEX IF NOT EXISTS specline_rollout_results_at ON specline_rollout_results (at);
