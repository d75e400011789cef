-- What the operator's dashboard reads, without scanning the jobs table:
-- capped counts per queue and state walk an index range of (queue, state) and stop early,
-- and a list filtered by queue and state reads its newest page from the same index (id last);
-- the last hour's attempts and their wait (scheduled -> attempted) come from an index on
-- attempted_at that carries the queue and scheduled_at (index-only scans).
CREATE INDEX IF NOT EXISTS specline_jobs_queue_state ON specline_jobs (queue, state, id);
CREATE INDEX IF NOT EXISTS specline_jobs_attempted ON specline_jobs (attempted_at)
  INCLUDE (queue, scheduled_at) WHERE attempted_at IS NOT NULL;
-- The last hour's finished jobs per queue, index-only (the pruner's index lacks the queue).
CREATE INDEX IF NOT EXISTS specline_jobs_finalized_queue ON specline_jobs (finalized_at)
  INCLUDE (queue) WHERE finalized_at IS NOT NULL;
