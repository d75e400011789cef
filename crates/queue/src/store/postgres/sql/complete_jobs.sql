-- Complete attempts (id, attempt), each only while its job is running that attempt.
UPDATE specline_jobs j SET state = 'completed', finalized_at = now()
FROM unnest($1::bigint[], $2::int[]) AS u(id, attempt)
WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running'
