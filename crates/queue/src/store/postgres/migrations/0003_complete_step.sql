-- Everything a step completion writes, as one function: one round trip instead of eight.
CREATE FUNCTION specline_complete_step(p_job bigint, p_attempt integer, p_run bigint,
                                       p_index integer, p_output jsonb, p_ttl float8,
                                       p_channel text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE r record; v_kind text; nxt jsonb; pct smallint;
BEGIN
  UPDATE specline_jobs SET state = 'completed', finalized_at = now()
   WHERE id = p_job AND attempt = p_attempt AND state = 'running';
  IF NOT FOUND THEN RETURN false; END IF;
  SELECT state, steps, current_step INTO r FROM specline_runs WHERE id = p_run FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'RUN_NOT_FOUND: run % does not exist', p_run; END IF;
  v_kind := r.steps -> p_index ->> 'kind';
  IF v_kind IS NULL THEN RAISE EXCEPTION 'CORRUPT_ROW: run % has no step %', p_run, p_index; END IF;
  INSERT INTO specline_checkpoints (run_id, step, key, value) VALUES (p_run, v_kind, '', p_output)
  ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
  -- Only the run's current step advances it: a redelivered earlier step just completes.
  IF r.state = 'running' AND r.current_step = p_index THEN
    pct := ((p_index + 1) * 100 / jsonb_array_length(r.steps))::smallint;
    UPDATE specline_runs SET current_step = p_index + 1 WHERE id = p_run;
    PERFORM specline_run_event(p_run, p_job, v_kind, 'completed', pct, NULL);
    nxt := r.steps -> (p_index + 1);
    IF nxt IS NOT NULL THEN
      UPDATE specline_runs SET stage = nxt ->> 'kind' WHERE id = p_run;
      INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, run_id)
      VALUES (nxt ->> 'kind', nxt ->> 'queue',
              jsonb_build_object('run_id', p_run, 'step', p_index + 1), 'available',
              (nxt ->> 'priority')::smallint, (nxt ->> 'max_attempts')::integer, p_run);
      PERFORM pg_notify(p_channel, 'i:' || (nxt ->> 'queue'));
    ELSE
      INSERT INTO specline_results (run_id, result, expires_at)
      VALUES (p_run, p_output, now() + make_interval(secs => p_ttl))
      ON CONFLICT (run_id) DO UPDATE SET result = EXCLUDED.result, created_at = now(),
        expires_at = EXCLUDED.expires_at;
      UPDATE specline_runs SET state = 'done', finished_at = now() WHERE id = p_run;
      PERFORM specline_run_event(p_run, p_job, v_kind, 'done', 100::smallint, NULL);
    END IF;
  END IF;
  RETURN true;
END $$;
