-- Each partition of `walk` (ready_partitions.sql or hinted_partitions.sql): whether it has a
-- due job (of run $6, if not null) at $5, its running jobs counted up to $7, and (when $8)
-- its rate bucket.
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
