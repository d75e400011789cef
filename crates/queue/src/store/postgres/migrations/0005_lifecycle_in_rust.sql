-- The lifecycle is decided in Rust (crate::lifecycle) and applied by the driver's fenced
-- statements: the step trigger, the step-completion function and the event function go.
DROP TRIGGER IF EXISTS specline_step_events ON specline_jobs;
DROP FUNCTION IF EXISTS specline_step_trigger();
DROP FUNCTION IF EXISTS specline_complete_step(bigint, integer, bigint, integer, jsonb, float8, text);
DROP FUNCTION IF EXISTS specline_run_event(bigint, bigint, text, text, smallint, jsonb);
