-- Partitions of kind ?2 with pending jobs in queue ?1, in key order from ?3 (`>` or `>=`,
-- see the driver), at most ?4: a loose index scan over specline_jobs_fetch_limited that
-- reads one pending entry per partition (skipping the running and not yet parked finished
-- ones, see migration 0010; times in microseconds), each then read by partition_state.sql.
WITH RECURSIVE walk(k, n) AS (
  SELECT (SELECT partition_key FROM specline_jobs
          WHERE queue = ?1 AND kind = ?2 AND partition_key {FIRST} ?3
            AND state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL
            AND parked IS NULL
          ORDER BY partition_key LIMIT 1), 1
  UNION ALL
  SELECT (SELECT partition_key FROM specline_jobs
          WHERE queue = ?1 AND kind = ?2 AND partition_key > walk.k
            AND state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL
            AND parked IS NULL
          ORDER BY partition_key LIMIT 1), walk.n + 1
  FROM walk WHERE walk.k IS NOT NULL AND walk.n < ?4
)
