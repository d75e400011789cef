-- Fail runs with their code and message, each only while it is running.
UPDATE specline_runs r SET state = 'failed', finished_at = now(), updated_at = now(),
  error_code = f.code, error_message = f.message
FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS f(run, code, message, n)
WHERE r.id = f.run AND r.state = 'running'
RETURNING f.n
