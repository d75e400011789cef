-- The run's unfinished step jobs: pending ones are cancelled, a running one is asked to stop.
-- A row locked by a claim or a completion in flight is skipped rather than waited for (that
-- transaction waits for the run's lock the caller holds): its step no longer advances the
-- run, and a step whose run is not running is not executed.
WITH cur AS (
  SELECT id FROM specline_jobs WHERE run_id = $1
    AND state NOT IN ('completed', 'cancelled', 'discarded')
  FOR UPDATE SKIP LOCKED
), upd AS (
  UPDATE specline_jobs j SET
    state = CASE WHEN j.state = 'running' THEN 'running' ELSE 'cancelled' END,
    finalized_at = CASE WHEN j.state = 'running' THEN NULL ELSE now() END,
    cancel_requested_at = now()
  FROM cur WHERE j.id = cur.id
  RETURNING j.id, j.state
), woke AS (
  SELECT pg_notify($2, 'c:' || id::text) FROM upd WHERE state = 'running'
)
SELECT (SELECT max(id) FROM upd), (SELECT count(*) FROM woke)
