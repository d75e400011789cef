-- Each partition of `walk` (ready_partitions.sql or hinted_partitions.sql): whether it has a
-- due job (of run $6, if not null) at $5, looked up only when $8 (a hinted partition is taken
-- as ready: the claim finds none if it has none), and (when $7) its rate bucket. The due job
-- is looked up in fetch order with LIMIT 1, so that it is one seek in
-- specline_jobs_fetch_limited whatever the planner believes (see claim_limited in limits.rs).
SELECT walk.k,
       CASE WHEN $8::bool THEN
         COALESCE((SELECT true FROM specline_jobs d
                   WHERE d.queue = $1 AND d.kind = $2 AND d.partition_key = walk.k
                     AND d.state IN ('available', 'scheduled', 'retryable') AND d.scheduled_at <= $5
                     AND ($6::bigint IS NULL OR d.run_id = $6)
                   ORDER BY d.priority, d.scheduled_at, d.id LIMIT 1), false)
       ELSE true END,
       b.tokens, b.refilled_at
FROM walk
LEFT JOIN specline_limit_partitions b ON $7 AND b.kind = $2 AND b.partition_key = walk.k
WHERE walk.k IS NOT NULL
ORDER BY walk.n
