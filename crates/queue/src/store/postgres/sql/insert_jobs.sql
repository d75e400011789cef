-- Insert jobs from arrays; a unique job that collides returns the existing row
-- (duplicate); queues $12 are woken for new available jobs when the insert commits. $14:
-- the fair-order tags of jobs of limited kinds (postgres/tags.rs).
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::int[],
                       $6::timestamptz[], $7::text[], $8::int[], $9::text[], $10::text[],
                       $13::text[], $14::bigint[])
    AS t(kind, queue, args, priority, max_attempts, scheduled_at, unique_key, unique_states, metadata, tags,
         partition_key, fair_tag)
), ins AS (
  INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, scheduled_at,
                             unique_key, unique_states, metadata, tags, partition_key, fair_tag)
  SELECT kind, queue, args::jsonb,
         CASE WHEN scheduled_at > now() THEN 'scheduled' ELSE 'available' END,
         priority, max_attempts, COALESCE(scheduled_at, now()),
         unique_key, unique_states, metadata::jsonb,
         ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), partition_key, fair_tag
  FROM input
  ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND (unique_states & specline_state_bit(state)) <> 0
  DO UPDATE SET unique_key = EXCLUDED.unique_key
  RETURNING id, unique_key, (xmax <> 0) AS duplicate, queue, state
), woke AS (
  SELECT pg_notify($11, 'i:' || q) FROM unnest($12::text[]) AS q
  WHERE q IN (SELECT queue FROM ins WHERE NOT duplicate AND state = 'available')
)
SELECT id, unique_key, duplicate, (SELECT count(*) FROM woke) FROM ins
