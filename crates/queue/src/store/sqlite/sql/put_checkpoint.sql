-- Write a step's checkpoint (key '' is its output).
INSERT INTO specline_checkpoints (run_id, step, key, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (run_id, step, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
