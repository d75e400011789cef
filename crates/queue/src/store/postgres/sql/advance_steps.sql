-- Finished steps: complete each job (fenced by attempt) and write its checkpoint; a step's
-- first checkpoint moves its run on (fenced: running), a last step's keeps the result. A run
-- row is updated once per statement, however many of its steps finish in the batch.
WITH u AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[],
                       $7::bool[], $8::float8[])
    WITH ORDINALITY AS u(job, attempt, run, idx, step, output, finish, ttl, n)
), done AS (
  UPDATE specline_jobs j SET state = 'completed', finalized_at = now()
  FROM u WHERE j.id = u.job AND j.attempt = u.attempt AND j.state = 'running'
  RETURNING u.n
), ok AS (
  SELECT DISTINCT ON (u.run, u.step) u.* FROM u JOIN done ON done.n = u.n
  ORDER BY u.run, u.step, u.n DESC
), cp AS (
  INSERT INTO specline_checkpoints (run_id, step, key, value)
  SELECT run, step, '', output::jsonb FROM ok
  ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
  RETURNING run_id, step, (xmax = 0) AS fresh
), first AS (
  SELECT ok.* FROM ok JOIN cp ON cp.run_id = ok.run AND cp.step = ok.step AND cp.fresh
), adv AS (
  UPDATE specline_runs r SET
    current_step = GREATEST(r.current_step, f.idx + 1),
    state = CASE WHEN f.finish THEN 'done' ELSE r.state END,
    finished_at = CASE WHEN f.finish THEN now() ELSE r.finished_at END,
    updated_at = now()
  FROM (SELECT run, max(idx) AS idx, bool_or(finish) AS finish FROM first GROUP BY run) f
  WHERE r.id = f.run AND r.state = 'running'
  RETURNING r.id
), res AS (
  INSERT INTO specline_results (run_id, result, expires_at)
  SELECT first.run, first.output::jsonb, now() + make_interval(secs => first.ttl)
  FROM first JOIN adv ON adv.id = first.run WHERE first.finish
  ON CONFLICT (run_id) DO UPDATE SET result = EXCLUDED.result, created_at = now(),
    expires_at = EXCLUDED.expires_at
)
SELECT u.n, done.n IS NOT NULL, adv.id IS NOT NULL
FROM u LEFT JOIN done ON done.n = u.n LEFT JOIN first ON first.n = u.n
  LEFT JOIN adv ON adv.id = first.run
ORDER BY u.n
