-- Concurrency limits, rate limits and fairness (see crate::limits and docs/queue.md).
-- A job of a limited kind carries its partition key, computed at insert ('' when the kind
-- has a limit but no partition); NULL for every other job, which the plain fetch takes.
ALTER TABLE specline_jobs ADD COLUMN partition_key TEXT;

DROP INDEX IF EXISTS specline_jobs_fetch;
CREATE INDEX specline_jobs_fetch ON specline_jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available', 'scheduled', 'retryable') AND partition_key IS NULL;
CREATE INDEX specline_jobs_fetch_limited
  ON specline_jobs (queue, kind, partition_key, priority, scheduled_at, id)
  WHERE state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL;
CREATE INDEX specline_jobs_running_limited ON specline_jobs (kind, partition_key)
  WHERE state = 'running' AND partition_key IS NOT NULL;

CREATE TABLE specline_limits (
  kind        TEXT PRIMARY KEY,
  queues      TEXT NOT NULL DEFAULT '[]',
  declared    TEXT NOT NULL DEFAULT '{}',
  overrides   TEXT NOT NULL DEFAULT '{}',
  cursor      TEXT,
  tokens      REAL,
  refilled_at INTEGER,
  throttled   INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE specline_limit_partitions (
  kind          TEXT NOT NULL,
  partition_key TEXT NOT NULL,
  tokens        REAL NOT NULL,
  refilled_at   INTEGER NOT NULL,
  PRIMARY KEY (kind, partition_key)
);
