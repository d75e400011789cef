-- Claim up to n due jobs of each partition [k, n] of ?5 (a JSON array) of kind ?4 in queue
-- ?3 (of run ?6, if not null) for worker ?2 at ?1, in fetch order within the partition;
-- nothing while the queue is paused. One statement for every partition: `take` finds each
-- partition's first due job with one index seek, then its next ones (while n lasts) each
-- with one seek past the last taken (priority, scheduled_at, id), never reading a partition's
-- other queued jobs. (One UPDATE per partition cost a statement and its IN list each.)
-- The index also holds the partition's running jobs and its finished ones not yet parked
-- (migration 0010): each seek skips those by reading their rows' state, and the claim's state
-- change leaves the index alone.
WITH RECURSIVE picks(k, n) AS (
  SELECT value ->> 0, value ->> 1 FROM json_each(?5)
), take(k, n, id, pr, sa) AS (
  SELECT picks.k, picks.n, d.id, d.priority, d.scheduled_at
  FROM picks JOIN specline_jobs d ON d.id = (
    SELECT x.id FROM specline_jobs x
    WHERE x.queue = ?3 AND x.kind = ?4 AND x.partition_key = picks.k AND x.parked IS NULL
      AND x.state IN ('available', 'scheduled', 'retryable') AND x.scheduled_at <= ?1
      AND (?6 IS NULL OR x.run_id = ?6)
    ORDER BY x.priority, x.scheduled_at, x.id LIMIT 1)
  UNION ALL
  SELECT take.k, take.n - 1, d.id, d.priority, d.scheduled_at
  FROM take JOIN specline_jobs d ON d.id = (
    SELECT x.id FROM specline_jobs x
    WHERE x.queue = ?3 AND x.kind = ?4 AND x.partition_key = take.k AND x.parked IS NULL
      AND x.state IN ('available', 'scheduled', 'retryable') AND x.scheduled_at <= ?1
      AND (?6 IS NULL OR x.run_id = ?6)
      AND (x.priority, x.scheduled_at, x.id) > (take.pr, take.sa, take.id)
    ORDER BY x.priority, x.scheduled_at, x.id LIMIT 1)
  WHERE take.n > 1
)
UPDATE specline_jobs
SET state = 'running', attempt = attempt + 1, attempted_at = ?1,
    attempted_by = json_insert(attempted_by, '$[#]', ?2)
WHERE id IN (SELECT id FROM take)
  AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = ?3 AND q.paused)
RETURNING id, kind, args, attempt, max_attempts, priority, created_at, scheduled_at,
          metadata, run_id, partition_key
