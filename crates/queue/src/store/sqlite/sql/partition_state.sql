-- Each partition of `walk` (ready_partitions.sql or hinted_partitions.sql): whether it has a
-- due job (of run ?6, if not null) at ?5, looked up only when ?8 (a hinted partition is taken
-- as ready: the claim finds none if it has none), and (when ?7) its rate bucket.
SELECT walk.k,
       CASE WHEN ?8 THEN
         EXISTS (SELECT 1 FROM specline_jobs d
                 WHERE d.queue = ?1 AND d.kind = ?2 AND d.partition_key = walk.k AND d.parked IS NULL
                   AND d.state IN ('available', 'scheduled', 'retryable') AND d.scheduled_at <= ?5
                   AND (?6 IS NULL OR d.run_id = ?6))
       ELSE 1 END,
       b.tokens, b.refilled_at
FROM walk
LEFT JOIN specline_limit_partitions b ON ?7 AND b.kind = ?2 AND b.partition_key = walk.k
WHERE walk.k IS NOT NULL
ORDER BY walk.n
