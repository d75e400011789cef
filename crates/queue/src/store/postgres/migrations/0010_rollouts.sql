-- Rollouts (src/rollout): a candidate implementation beside a primary. The current mode of
-- each rollout, every change of it (who, when, from, to), and the record of each shadow run.
CREATE TABLE IF NOT EXISTS specline_rollouts (
  name       text PRIMARY KEY,
  mode       text NOT NULL DEFAULT 'off',
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS specline_rollout_changes (
  id        bigserial PRIMARY KEY,
  name      text NOT NULL,
  from_mode text NOT NULL,
  to_mode   text NOT NULL,
  actor     text NOT NULL,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS specline_rollout_changes_name ON specline_rollout_changes (name, id);
CREATE TABLE IF NOT EXISTS specline_rollout_results (
  id           bigserial PRIMARY KEY,
  name         text NOT NULL,
  job_id       bigint NOT NULL,
  key          text NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('match', 'mismatch', 'candidate_error',
                 'candidate_panic', 'candidate_timeout', 'primary_error')),
  similarity   double precision,
  diff         jsonb,
  error        text,
  primary_us   bigint NOT NULL,
  candidate_us bigint NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS specline_rollout_results_name ON specline_rollout_results (name, id);
-- The pruner deletes the oldest results first (maintenance, retain_rollout_results).
CREATE INDEX IF NOT EXISTS specline_rollout_results_at ON specline_rollout_results (at);
