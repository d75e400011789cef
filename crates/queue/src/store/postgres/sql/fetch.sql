-- Claim up to $2 due jobs of queue $1 (of run $4, if not null) for worker $3, in fetch
-- order, skipping locked rows. Jobs of limited kinds (a partition key) are claimed by the
-- limited path (crate::limited_claim) instead.
WITH picked AS (
  SELECT id FROM specline_jobs
  WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()
    AND partition_key IS NULL
    AND ($4::bigint IS NULL OR run_id = $4)
    AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = $1 AND q.paused)
  ORDER BY priority, scheduled_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE specline_jobs j
SET state = 'running', attempt = j.attempt + 1, attempted_at = now(),
    attempted_by = array_append(j.attempted_by, $3)
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.kind, j.args::text, j.attempt, j.max_attempts, j.priority,
          j.created_at, j.scheduled_at, j.metadata::text, j.run_id
