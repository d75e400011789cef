-- Concurrency limits, rate limits and fairness (see crate::limits and docs/queue.md).
-- A job of a limited kind carries its partition key, computed at insert ('' when the kind
-- has a limit but no partition); NULL for every other job, which the plain fetch takes.
ALTER TABLE specline_jobs ADD COLUMN IF NOT EXISTS partition_key text;

-- The plain fetch reads only jobs without limits; limited jobs have their own index, in
-- claim order within a partition, so the claim walks partitions (a loose index scan)
-- without reading their queued jobs.
DROP INDEX IF EXISTS specline_jobs_fetch;
CREATE INDEX specline_jobs_fetch ON specline_jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available', 'scheduled', 'retryable') AND partition_key IS NULL;
CREATE INDEX specline_jobs_fetch_limited
  ON specline_jobs (queue, kind, partition_key, priority, scheduled_at, id)
  WHERE state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL;
-- Running jobs of limited kinds, counted (up to the limit) by the claim.
CREATE INDEX specline_jobs_running_limited ON specline_jobs (kind, partition_key)
  WHERE state = 'running' AND partition_key IS NOT NULL;

-- One row per limited kind: its queues and the limits declared in code (written by each worker at start),
-- the operator's overrides (a JSON object whose keys replace the declared ones), and the
-- claim's state: the round-robin cursor and the global token bucket. A claim of the kind
-- locks this row, so claims of one kind never race.
CREATE TABLE specline_limits (
  kind        text PRIMARY KEY,
  queues      text[] NOT NULL DEFAULT '{}',
  declared    jsonb NOT NULL DEFAULT '{}',
  overrides   jsonb NOT NULL DEFAULT '{}',
  cursor      text,
  tokens      float8,
  refilled_at timestamptz,
  throttled   bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-partition token buckets, for kinds with a per-partition rate.
CREATE TABLE specline_limit_partitions (
  kind          text NOT NULL,
  partition_key text NOT NULL,
  tokens        float8 NOT NULL,
  refilled_at   timestamptz NOT NULL,
  PRIMARY KEY (kind, partition_key)
);
