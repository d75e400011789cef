-- What the operator's dashboard reads, without scanning the jobs table:
-- capped counts per queue and state walk an index range of (queue, state) and stop early;
-- the last hour's attempts and their wait (scheduled -> attempted) come from an index on
-- attempted_at that carries the queue and scheduled_at (index-only scans).
CREATE INDEX IF NOT EXISTS specline_jobs_queue_state ON specline_jobs (queue, state);
CREATE INDEX IF NOT EXISTS specline_jobs_attempted ON specline_jobs (attempted_at)
  INCLUDE (queue, scheduled_at) WHERE attempted_at IS NOT NULL;
