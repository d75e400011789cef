-- Attempts given back to a step that made progress before its worker died, and an index
-- for what looks jobs up by run (a one-shot worker's fetch, cancelling and pruning runs).
ALTER TABLE specline_jobs ADD COLUMN rescue_credits INTEGER NOT NULL DEFAULT 0;
CREATE INDEX specline_jobs_run ON specline_jobs (run_id) WHERE run_id IS NOT NULL;
