-- Insert step jobs (available now; $10: the fair-order tags of jobs of limited kinds) and
-- wake their queues when the transaction commits. Each
-- new job comes back with its run, step and item, which tell the caller's entries apart.
WITH ins AS (
  INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, run_id,
                             partition_key, metadata, fair_tag)
  SELECT kind, queue, args::jsonb, 'available', priority, max_attempts, run, pkey, meta::jsonb,
         tag
  FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::int[], $6::bigint[],
              $8::text[], $9::text[], $10::bigint[])
    AS t(kind, queue, args, priority, max_attempts, run, pkey, meta, tag)
  RETURNING id, run_id, queue, args
), woke AS (
  SELECT pg_notify($7, 'i:' || q) FROM (SELECT DISTINCT queue AS q FROM ins) x
)
SELECT id, run_id, (args ->> 'step')::bigint, (args ->> 'item')::bigint,
       (SELECT count(*) FROM woke) FROM ins
