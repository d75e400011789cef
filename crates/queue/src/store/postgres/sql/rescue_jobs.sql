-- Apply the rescuer's decisions: each only while its job is running that attempt under a
-- worker whose heartbeat is older than $3 seconds (or gone), and only while the lease holds.
WITH lease AS (
  SELECT 1 FROM specline_leader
  WHERE name = 'default' AND holder = $1 AND term = $2 AND expires_at > now()
), moved AS (
  UPDATE specline_jobs j SET
    state = u.state,
    scheduled_at = now(),
    finalized_at = CASE WHEN u.state IN ('cancelled', 'discarded') THEN now() END,
    errors = j.errors || jsonb_build_array(u.error::jsonb),
    max_attempts = j.max_attempts + u.credit,
    rescue_credits = j.rescue_credits + u.credit
  FROM unnest($4::bigint[], $5::int[], $6::text[], $7::int[], $8::text[])
    WITH ORDINALITY AS u(id, attempt, state, credit, error, n)
  WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running'
    AND EXISTS (SELECT 1 FROM lease)
    AND NOT EXISTS (
      SELECT 1 FROM specline_workers w
      WHERE w.id = j.attempted_by[cardinality(j.attempted_by)]
        AND w.heartbeat_at > now() - make_interval(secs => $3))
  RETURNING u.n, j.run_id, j.kind, j.queue, j.state
), woke AS (
  SELECT pg_notify($9, 'i:' || q) FROM (SELECT DISTINCT queue AS q FROM moved WHERE state = 'retryable') x
)
SELECT n, run_id, kind, (SELECT count(*) FROM woke) FROM moved
