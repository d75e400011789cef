-- Record the end of an attempt other than success, only while its job is running that attempt.
UPDATE specline_jobs SET
  state = ?1,
  scheduled_at = COALESCE(?2, scheduled_at),
  finalized_at = CASE WHEN ?1 IN ('completed', 'cancelled', 'discarded') THEN ?3 END,
  errors = CASE WHEN ?4 IS NULL THEN errors ELSE json_insert(errors, '$[#]', json(?4)) END,
  attempt = attempt - ?5
WHERE id = ?6 AND attempt = ?7 AND state = 'running'
RETURNING queue, run_id, kind
