-- Finished steps: complete each job (fenced by attempt) and write its checkpoint; move each
-- run past the step (fenced: running, at this step); keep the result of a last step.
WITH u AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[],
                       $7::bool[], $8::float8[])
    WITH ORDINALITY AS u(job, attempt, run, idx, step, output, finish, ttl, n)
), done AS (
  UPDATE specline_jobs j SET state = 'completed', finalized_at = now()
  FROM u WHERE j.id = u.job AND j.attempt = u.attempt AND j.state = 'running'
  RETURNING u.n
), ok AS (
  SELECT u.* FROM u JOIN done ON done.n = u.n
), cp AS (
  INSERT INTO specline_checkpoints (run_id, step, key, value)
  SELECT DISTINCT ON (run, step) run, step, '', output::jsonb FROM ok ORDER BY run, step, n DESC
  ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
), adv AS (
  UPDATE specline_runs r SET
    current_step = ok.idx + 1,
    state = CASE WHEN ok.finish THEN 'done' ELSE r.state END,
    finished_at = CASE WHEN ok.finish THEN now() ELSE r.finished_at END,
    updated_at = now()
  FROM ok WHERE r.id = ok.run AND r.state = 'running' AND r.current_step = ok.idx
  RETURNING ok.n
), res AS (
  INSERT INTO specline_results (run_id, result, expires_at)
  SELECT ok.run, ok.output::jsonb, now() + make_interval(secs => ok.ttl)
  FROM ok JOIN adv ON adv.n = ok.n WHERE ok.finish
  ON CONFLICT (run_id) DO UPDATE SET result = EXCLUDED.result, created_at = now(),
    expires_at = EXCLUDED.expires_at
)
SELECT u.n, done.n IS NOT NULL, adv.n IS NOT NULL
FROM u LEFT JOIN done ON done.n = u.n LEFT JOIN adv ON adv.n = u.n
ORDER BY u.n
