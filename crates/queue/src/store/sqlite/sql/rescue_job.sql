-- Apply a rescue decision, only while the job is running that attempt under a worker whose
-- heartbeat is older than ?7 (or gone). The caller checked the lease in this transaction.
UPDATE specline_jobs AS j SET
  state = ?1,
  scheduled_at = ?2,
  finalized_at = CASE WHEN ?1 IN ('cancelled', 'discarded') THEN ?2 END,
  errors = json_insert(errors, '$[#]', json(?3)),
  max_attempts = max_attempts + ?4,
  rescue_credits = rescue_credits + ?4
WHERE j.id = ?5 AND j.attempt = ?6 AND j.state = 'running'
  AND NOT EXISTS (
    SELECT 1 FROM specline_workers w
    WHERE w.id = json_extract(j.attempted_by, '$[#-1]') AND w.heartbeat_at > ?7)
RETURNING queue, run_id, kind
