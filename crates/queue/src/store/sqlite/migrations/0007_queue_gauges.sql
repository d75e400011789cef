-- Queue gauges (src/gauges.rs): the maintenance leader measures, per queue and kind, the
-- jobs waiting and running and the age of the oldest ready one, and stores them here; every
-- process that serves /metrics exports this table.
CREATE TABLE IF NOT EXISTS specline_queue_gauges (
  queue       TEXT NOT NULL,
  kind        TEXT NOT NULL,
  available   INTEGER NOT NULL,
  scheduled   INTEGER NOT NULL,
  retryable   INTEGER NOT NULL,
  running     INTEGER NOT NULL,
  oldest_available_age_us INTEGER NOT NULL,
  measured_at INTEGER NOT NULL,
  PRIMARY KEY (queue, kind)
);
-- What the measurement walks, index-only: live jobs only, ranged by queue, kind and state,
-- ordered by when each became due.
CREATE INDEX IF NOT EXISTS specline_jobs_gauges ON specline_jobs (queue, kind, state, scheduled_at)
  WHERE state IN ('available', 'scheduled', 'retryable', 'running');
