-- Claim the jobs $2 of queue $1 that are still queued, for worker $3 at $4, skipping locked
-- rows; nothing while the queue is paused. The update finds them by id (`= ANY (ARRAY(...))`,
-- an index probe each): a join to a set whose size the planner cannot know from an array
-- chose a hash join over a full scan of specline_jobs.
WITH picked AS (
  SELECT id FROM specline_jobs
  WHERE id = ANY ($2::bigint[]) AND state IN ('available', 'scheduled', 'retryable')
    AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = $1 AND q.paused)
  FOR UPDATE SKIP LOCKED
)
UPDATE specline_jobs j
SET state = 'running', attempt = j.attempt + 1, attempted_at = $4,
    attempted_by = array_append(j.attempted_by, $3)
WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING j.id, j.kind, j.args::text, j.attempt, j.max_attempts, j.priority,
          j.created_at, j.scheduled_at, j.metadata::text, j.run_id, j.partition_key
