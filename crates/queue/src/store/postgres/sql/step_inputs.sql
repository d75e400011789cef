-- Runs $1 with their finished steps' outputs (a JSON object by step), in one read: what
-- the claimed jobs of their steps need to start. A run in $2 whose jobs are all items of
-- mapped step $3 (at the same position) that carry their element is read without the list
-- that step maps over: none of them reads it, and it grows with the number of items.
SELECT r.id, r.pipeline, r.owner, r.state, r.steps::text, r.input::text, r.current_step,
       r.stage, r.progress, r.last_seq, r.error_code, r.error_message, r.created_at,
       r.finished_at,
       (SELECT COALESCE(json_object_agg(c.step, c.value), '{}')::text
        FROM specline_checkpoints c WHERE c.run_id = r.id AND c.key = ''
          AND c.step IS DISTINCT FROM (
            SELECT r.steps -> ((r.steps -> l.step ->> 'map_over')::int) ->> 'kind'
            FROM unnest($2::bigint[], $3::int[]) AS l(run, step) WHERE l.run = r.id))
FROM specline_runs r WHERE r.id = ANY($1)
