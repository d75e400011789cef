-- The lifecycle is decided in Rust (crate::lifecycle) and applied by the driver's fenced
-- statements: the step triggers go.
DROP TRIGGER IF EXISTS specline_step_queued;
DROP TRIGGER IF EXISTS specline_step_started;
DROP TRIGGER IF EXISTS specline_step_failed;
