-- Claim up to n due jobs of each partition (k, n) of ($3, $4) of kind $2 in queue $1 (of
-- run $6, if not null) for worker $7 at $5, in fetch order within the partition, skipping
-- locked rows; nothing while the queue is paused. The update finds the picked rows by id
-- (`= ANY (ARRAY(...))`, an index probe each): joined to `picked`, whose size the planner
-- cannot know from the arrays, it chose a hash join over a full scan of specline_jobs.
WITH picks AS (
  SELECT * FROM unnest($3::text[], $4::bigint[]) AS t(k, n)
), picked AS (
  SELECT c.id FROM picks CROSS JOIN LATERAL (
    SELECT id FROM specline_jobs
    WHERE queue = $1 AND kind = $2 AND partition_key = picks.k
      AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= $5
      AND ($6::bigint IS NULL OR run_id = $6)
    ORDER BY priority, scheduled_at, id
    LIMIT picks.n
    FOR UPDATE SKIP LOCKED
  ) c
  WHERE NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = $1 AND q.paused)
)
UPDATE specline_jobs j
SET state = 'running', attempt = j.attempt + 1, attempted_at = $5,
    attempted_by = array_append(j.attempted_by, $7)
WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING j.id, j.kind, j.args::text, j.attempt, j.max_attempts, j.priority,
          j.created_at, j.scheduled_at, j.metadata::text, j.run_id, j.partition_key
