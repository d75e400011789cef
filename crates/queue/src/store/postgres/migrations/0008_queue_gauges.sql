-- Queue gauges (src/gauges.rs): the maintenance leader measures, per queue and kind, the
-- jobs waiting and running and the age of the oldest ready one, and stores them here; every
-- process that serves /metrics exports this table.
CREATE TABLE IF NOT EXISTS specline_queue_gauges (
  queue       text NOT NULL,
  kind        text NOT NULL,
  available   bigint NOT NULL,
  scheduled   bigint NOT NULL,
  retryable   bigint NOT NULL,
  running     bigint NOT NULL,
  oldest_available_age_us bigint NOT NULL,
  measured_at timestamptz NOT NULL,
  PRIMARY KEY (queue, kind)
);
-- What the measurement walks, index-only: live jobs only (finished ones, the bulk of a big
-- table, are not in it), ranged by queue, kind and state, ordered by when each became due.
CREATE INDEX IF NOT EXISTS specline_jobs_gauges ON specline_jobs (queue, kind, state, scheduled_at)
  WHERE state IN ('available', 'scheduled', 'retryable', 'running');
