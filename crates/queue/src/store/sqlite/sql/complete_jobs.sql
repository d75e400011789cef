-- Complete attempts, each only while its job is running that attempt; ?2 is a JSON array of
-- [id, attempt] pairs.
UPDATE specline_jobs SET state = 'completed', finalized_at = ?1
FROM (SELECT value ->> 0 AS id, value ->> 1 AS attempt FROM json_each(?2)) AS u
WHERE specline_jobs.id = u.id AND specline_jobs.attempt = u.attempt
  AND specline_jobs.state = 'running'
