-- Record ends of attempts other than success, each only while its job is running that attempt.
UPDATE specline_jobs j SET
  state = u.state,
  scheduled_at = COALESCE(u.run_at, j.scheduled_at),
  finalized_at = CASE WHEN u.state IN ('completed', 'cancelled', 'discarded') THEN now() END,
  errors = CASE WHEN u.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(u.error::jsonb) END,
  attempt = j.attempt - u.uncount
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::int[])
  WITH ORDINALITY AS u(id, attempt, state, run_at, error, uncount, n)
WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running'
RETURNING u.n, j.run_id, j.kind
