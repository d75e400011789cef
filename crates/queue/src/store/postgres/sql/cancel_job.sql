-- Cancel a job: a running one ($2) is asked to stop (its worker is woken), a pending one is
-- cancelled now; a finished one, or one whose state changed meanwhile, is left alone.
WITH upd AS (
  UPDATE specline_jobs SET
    state = CASE WHEN $2 THEN state ELSE 'cancelled' END,
    finalized_at = CASE WHEN $2 THEN finalized_at ELSE now() END,
    cancel_requested_at = now()
  WHERE id = $1 AND state NOT IN ('completed', 'cancelled', 'discarded') AND (state = 'running') = $2
  RETURNING id, state
), woke AS (
  SELECT pg_notify($3, 'c:' || id::text) FROM upd WHERE state = 'running'
)
SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM woke)
