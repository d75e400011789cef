-- Pipelines: runs, events, checkpoints, results, idempotency; the triggers that write a
-- step job's own events (queued, started, failed) in the transaction of its change.
ALTER TABLE specline_jobs ADD COLUMN run_id INTEGER;
CREATE TABLE specline_runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline      TEXT NOT NULL,
  owner         TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
  steps         TEXT NOT NULL,
  input         TEXT NOT NULL,
  current_step  INTEGER NOT NULL DEFAULT 0,
  stage         TEXT,
  progress      INTEGER NOT NULL DEFAULT 0,
  last_seq      INTEGER NOT NULL DEFAULT 0,
  error_code    TEXT,
  error_message TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  finished_at   INTEGER
);
CREATE TABLE specline_run_events (
  run_id   INTEGER NOT NULL REFERENCES specline_runs (id) ON DELETE CASCADE,
  seq      INTEGER NOT NULL,
  job_id   INTEGER,
  stage    TEXT,
  status   TEXT NOT NULL CHECK (status IN ('queued', 'started', 'progress', 'completed', 'failed', 'done')),
  progress INTEGER NOT NULL DEFAULT 0,
  payload  TEXT,
  at       INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE specline_checkpoints (
  run_id INTEGER NOT NULL REFERENCES specline_runs (id) ON DELETE CASCADE,
  step TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, step, key)
);
CREATE TABLE specline_results (
  run_id INTEGER PRIMARY KEY REFERENCES specline_runs (id) ON DELETE CASCADE,
  result TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX specline_results_expiry ON specline_results (expires_at);
CREATE TABLE specline_idempotency (
  owner TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, run_id INTEGER,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE TRIGGER specline_step_queued AFTER INSERT ON specline_jobs
WHEN NEW.run_id IS NOT NULL
BEGIN
  UPDATE specline_runs SET last_seq = last_seq + 1, stage = NEW.kind, updated_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
   WHERE id = NEW.run_id AND state = 'running';
  INSERT INTO specline_run_events (run_id, seq, job_id, stage, status, progress, payload, at)
           SELECT r.id, r.last_seq, NEW.id, NEW.kind, 'queued', r.progress, NULL, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
           FROM specline_runs r
           WHERE r.id = NEW.run_id AND r.state = 'running'
             AND NOT EXISTS (SELECT 1 FROM specline_run_events e WHERE e.run_id = r.id AND e.seq = r.last_seq);
END;
CREATE TRIGGER specline_step_started AFTER UPDATE OF state ON specline_jobs
WHEN NEW.run_id IS NOT NULL AND NEW.state = 'running' AND OLD.state <> 'running'
BEGIN
  UPDATE specline_runs SET last_seq = last_seq + 1, stage = NEW.kind, updated_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
   WHERE id = NEW.run_id AND state = 'running';
  INSERT INTO specline_run_events (run_id, seq, job_id, stage, status, progress, payload, at)
           SELECT r.id, r.last_seq, NEW.id, NEW.kind, 'started', r.progress, json_object('attempt', NEW.attempt), CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
           FROM specline_runs r
           WHERE r.id = NEW.run_id AND r.state = 'running'
             AND NOT EXISTS (SELECT 1 FROM specline_run_events e WHERE e.run_id = r.id AND e.seq = r.last_seq);
END;
CREATE TRIGGER specline_step_failed AFTER UPDATE OF state ON specline_jobs
WHEN NEW.run_id IS NOT NULL AND NEW.state IN ('discarded', 'cancelled') AND OLD.state <> NEW.state
BEGIN
  UPDATE specline_runs SET state = 'failed', finished_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER), updated_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER),
    last_seq = last_seq + 1, stage = NEW.kind,
    error_code = COALESCE(json_extract(NEW.errors, '$[#-1].code'),
            CASE WHEN NEW.state = 'cancelled' THEN 'CANCELLED' ELSE 'DISCARDED' END),
    error_message = COALESCE(json_extract(NEW.errors, '$[#-1].message'),
               'step ' || NEW.kind || ' was ' || NEW.state)
   WHERE id = NEW.run_id AND state = 'running';
  INSERT INTO specline_run_events (run_id, seq, job_id, stage, status, progress, payload, at)
           SELECT r.id, r.last_seq, NEW.id, NEW.kind, 'failed', r.progress, json_object('code', r.error_code, 'message', r.error_message), CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
           FROM specline_runs r
           WHERE r.id = NEW.run_id AND r.state = 'failed'
             AND NOT EXISTS (SELECT 1 FROM specline_run_events e WHERE e.run_id = r.id AND e.seq = r.last_seq);
END;
