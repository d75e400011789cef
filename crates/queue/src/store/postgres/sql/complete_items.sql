-- Finished items of mapped steps: complete each job (fenced by attempt) and write the item's
-- checkpoint once (a later one leaves the first as it was); an item's first checkpoint is
-- counted on its step's map row while the run is running. The count after the statement
-- tells the caller whether the last item is in. The run's row is not touched.
WITH u AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[],
                       $7::text[])
    WITH ORDINALITY AS u(job, attempt, run, idx, step, key, output, n)
), done AS (
  UPDATE specline_jobs j SET state = 'completed', finalized_at = now()
  FROM u WHERE j.id = u.job AND j.attempt = u.attempt AND j.state = 'running'
  RETURNING u.n
), ok AS (
  SELECT DISTINCT ON (u.run, u.step, u.key) u.* FROM u JOIN done ON done.n = u.n
  ORDER BY u.run, u.step, u.key, u.n DESC
), cp AS (
  INSERT INTO specline_checkpoints (run_id, step, key, value)
  SELECT run, step, key, output::jsonb FROM ok
  ON CONFLICT (run_id, step, key) DO NOTHING
  RETURNING run_id, step, key, true AS fresh
), first AS (
  SELECT ok.* FROM ok JOIN cp ON cp.run_id = ok.run AND cp.step = ok.step AND cp.key = ok.key
    AND cp.fresh
), cnt AS (
  UPDATE specline_run_maps m SET done = m.done + f.k
  FROM (SELECT run, idx, count(*)::int AS k FROM first GROUP BY run, idx) f
  WHERE m.run_id = f.run AND m.step = f.idx
    AND EXISTS (SELECT 1 FROM specline_runs r WHERE r.id = f.run AND r.state = 'running')
  RETURNING m.run_id, m.step, m.done, m.items
)
SELECT u.n, done.n IS NOT NULL, cnt.done, cnt.items
FROM u LEFT JOIN done ON done.n = u.n LEFT JOIN first ON first.n = u.n
  LEFT JOIN cnt ON cnt.run_id = first.run AND cnt.step = first.idx
ORDER BY u.n
