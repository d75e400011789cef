-- What the operator's dashboard reads, without scanning the jobs table:
-- capped counts per queue and state walk an index range of (queue, state) and stop early;
-- the last hour's attempts and their wait (scheduled -> attempted) come from a covering
-- index on attempted_at; the last hour's finished jobs from one on finalized_at.
CREATE INDEX IF NOT EXISTS specline_jobs_queue_state ON specline_jobs (queue, state);
CREATE INDEX IF NOT EXISTS specline_jobs_attempted ON specline_jobs (attempted_at, queue, scheduled_at)
  WHERE attempted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS specline_jobs_finalized_queue ON specline_jobs (finalized_at, queue)
  WHERE finalized_at IS NOT NULL;
