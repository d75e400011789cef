-- Partitions of kind $2 with pending jobs in queue $1, in key order from $3 (`>` or `>=`,
-- see the driver), at most $4: a loose index scan over specline_jobs_fetch_limited that
-- reads one entry per partition. Each comes with whether it has a due job (of run $6, if not
-- null) at $5, its running jobs counted up to $7, and (when $8) its rate bucket.
WITH RECURSIVE walk(k, n) AS (
  SELECT (SELECT partition_key FROM specline_jobs
          WHERE queue = $1 AND kind = $2 AND partition_key {FIRST} $3
            AND state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL
          ORDER BY partition_key LIMIT 1), 1::bigint
  UNION ALL
  SELECT (SELECT partition_key FROM specline_jobs
          WHERE queue = $1 AND kind = $2 AND partition_key > walk.k
            AND state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL
          ORDER BY partition_key LIMIT 1), walk.n + 1
  FROM walk WHERE walk.k IS NOT NULL AND walk.n < $4
)
SELECT walk.k,
       EXISTS (SELECT 1 FROM specline_jobs d
               WHERE d.queue = $1 AND d.kind = $2 AND d.partition_key = walk.k
                 AND d.state IN ('available', 'scheduled', 'retryable') AND d.scheduled_at <= $5
                 AND ($6::bigint IS NULL OR d.run_id = $6)),
       CASE WHEN $7::bigint > 0 THEN
         (SELECT count(*) FROM (SELECT 1 FROM specline_jobs r
                                WHERE r.kind = $2 AND r.partition_key = walk.k AND r.partition_key IS NOT NULL
                                  AND r.state = 'running' LIMIT $7) c)
       ELSE 0 END,
       b.tokens, b.refilled_at
FROM walk
LEFT JOIN specline_limit_partitions b ON $8 AND b.kind = $2 AND b.partition_key = walk.k
WHERE walk.k IS NOT NULL
ORDER BY walk.n
