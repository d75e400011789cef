-- Runs $1 with their finished steps' outputs (a JSON object by step), in one read: what
-- the claimed jobs of their steps need to start.
SELECT r.id, r.pipeline, r.owner, r.state, r.steps::text, r.input::text, r.current_step,
       r.stage, r.progress, r.last_seq, r.error_code, r.error_message, r.created_at,
       r.finished_at,
       (SELECT COALESCE(json_object_agg(c.step, c.value), '{}')::text
        FROM specline_checkpoints c WHERE c.run_id = r.id AND c.key = '')
FROM specline_runs r WHERE r.id = ANY($1)
