-- Append run events: one update per run takes k consecutive seqs from its row (locking it,
-- so they are gapless and strictly increasing) and sets its stage and progress; the events
-- follow with seq base + i; the run's subscribers are woken when the transaction commits.
WITH g AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::smallint[], $5::bool[])
    AS g(run, k, stage, progress, only_running)
), r AS (
  UPDATE specline_runs r SET
    last_seq = r.last_seq + g.k,
    stage = COALESCE(g.stage, r.stage),
    progress = COALESCE(g.progress, r.progress),
    updated_at = now()
  FROM g WHERE r.id = g.run AND (NOT g.only_running OR r.state = 'running')
  RETURNING r.id, r.last_seq - g.k AS base, r.progress
), ins AS (
  INSERT INTO specline_run_events (run_id, seq, job_id, stage, status, progress, payload)
  SELECT e.run, r.base + e.i, e.job, e.stage, e.status, COALESCE(e.progress, r.progress),
         e.payload::jsonb
  FROM unnest($6::bigint[], $7::int[], $8::bigint[], $9::text[], $10::text[], $11::smallint[],
              $12::text[]) AS e(run, i, job, stage, status, progress, payload)
  JOIN r ON r.id = e.run
  RETURNING 1
), woke AS (
  SELECT pg_notify($13, 'e:' || id) FROM r
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM woke)
