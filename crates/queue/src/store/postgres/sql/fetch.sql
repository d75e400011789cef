-- Claim up to $2 due jobs of queue $1 (of run $4, if not null) for worker $3, in fetch
-- order, skipping locked rows.
WITH picked AS (
  SELECT id FROM specline_jobs
  WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()
    AND ($4::bigint IS NULL OR run_id = $4)
    AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = $1 AND q.paused)
  ORDER BY priority, scheduled_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE specline_jobs j
  SET state = 'running', attempt = j.attempt + 1, attempted_at = now(),
      attempted_by = array_append(j.attempted_by, $3)
  FROM picked WHERE j.id = picked.id
  RETURNING j.id, j.kind, j.args, j.attempt, j.max_attempts, j.priority,
            j.created_at, j.scheduled_at, j.metadata, j.run_id
)
-- A step job's run and its finished steps' outputs come with it (one read instead of one
-- per step); the lateral lookups find nothing for a plain job.
SELECT c.id, c.kind, c.args::text, c.attempt, c.max_attempts, c.priority,
       c.created_at, c.scheduled_at, c.metadata::text, c.run_id,
       r.id, r.pipeline, r.owner, r.state, r.steps::text, r.input::text, r.current_step,
       r.stage, r.progress, r.last_seq, r.error_code, r.error_message, r.created_at,
       r.finished_at, o.outputs
FROM claimed c
LEFT JOIN LATERAL (SELECT * FROM specline_runs WHERE id = c.run_id) r ON true
LEFT JOIN LATERAL (
  SELECT COALESCE(json_object_agg(step, value), '{}')::text AS outputs
  FROM specline_checkpoints WHERE run_id = c.run_id AND key = '' AND c.run_id IS NOT NULL
) o ON c.run_id IS NOT NULL
