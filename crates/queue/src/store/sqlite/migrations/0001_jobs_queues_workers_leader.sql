-- Jobs, queues, workers, the leader lease.
CREATE TABLE specline_jobs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  kind          TEXT NOT NULL,
  queue         TEXT NOT NULL,
  args          TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('available','scheduled','running','retryable','completed','cancelled','discarded')),
  priority      INTEGER NOT NULL DEFAULT 1,
  attempt       INTEGER NOT NULL DEFAULT 0,
  max_attempts  INTEGER NOT NULL CHECK (max_attempts >= 1),
  created_at    INTEGER NOT NULL,
  scheduled_at  INTEGER NOT NULL,
  attempted_at  INTEGER,
  finalized_at  INTEGER,
  attempted_by  TEXT NOT NULL DEFAULT '[]',
  errors        TEXT NOT NULL DEFAULT '[]',
  metadata      TEXT NOT NULL DEFAULT '{}',
  tags          TEXT NOT NULL DEFAULT '[]',
  unique_key    TEXT,
  unique_states INTEGER NOT NULL DEFAULT 0,
  cancel_requested_at INTEGER
);
CREATE INDEX specline_jobs_fetch ON specline_jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX specline_jobs_running ON specline_jobs (id) WHERE state = 'running';
CREATE INDEX specline_jobs_finalized ON specline_jobs (finalized_at) WHERE finalized_at IS NOT NULL;
CREATE UNIQUE INDEX specline_jobs_unique ON specline_jobs (unique_key)
  WHERE unique_key IS NOT NULL AND (unique_states & (CASE state WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'running' THEN 4 WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 WHEN 'cancelled' THEN 32 WHEN 'discarded' THEN 64 ELSE 0 END)) <> 0;
CREATE TABLE specline_queues (
  name TEXT PRIMARY KEY, paused INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
CREATE TABLE specline_workers (
  id TEXT PRIMARY KEY, queues TEXT NOT NULL, started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL);
CREATE TABLE specline_leader (
  name TEXT PRIMARY KEY, holder TEXT NOT NULL, term INTEGER NOT NULL,
  elected_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
