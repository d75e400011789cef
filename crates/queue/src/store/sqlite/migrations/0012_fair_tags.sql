-- Fair order by virtual start tags (see crate::limited_claim::fair and docs/queue.md, "Fair
-- order"). A job of a limited kind gets a tag when it is inserted: its partition's last tag
-- or the kind's virtual time, whichever is later, plus the partition's step (a unit divided
-- by its weight). Queued limited jobs are read in (priority, tag, id) order, which is
-- already round-robin (and weighted) over partitions, so a claim takes a contiguous stretch
-- of one index, skipping the entries of partitions at their limit. It replaces the
-- partition-ordered index and its parking (migrations 0006 and 0010): a claim took one job
-- from each of hundreds of partitions there, one seek and one scattered index page each.
ALTER TABLE specline_jobs ADD COLUMN fair_tag INTEGER;

-- The kind's virtual time (the latest tag a claim took), and where the last claim that
-- reached its read bound stopped (JSON [priority, tag, id]; see claim_fair).
ALTER TABLE specline_limits ADD COLUMN vtime INTEGER NOT NULL DEFAULT 0;
ALTER TABLE specline_limits ADD COLUMN fair_cursor TEXT;

-- Each partition's last tag given (one row per partition that had a job; rows whose tag the
-- virtual time has passed say nothing and are pruned with idle rate buckets).
CREATE TABLE specline_fair_tags (
  kind          TEXT NOT NULL,
  partition_key TEXT NOT NULL,
  last_tag      INTEGER NOT NULL,
  PRIMARY KEY (kind, partition_key)
) WITHOUT ROWID;

DROP TRIGGER IF EXISTS specline_jobs_unpark;
DROP INDEX IF EXISTS specline_jobs_to_park;
DROP INDEX IF EXISTS specline_jobs_fetch_limited;
ALTER TABLE specline_jobs DROP COLUMN parked;

-- Jobs queued before this migration: each partition's n-th job (in its fetch order) gets
-- tag n units, so they are served round-robin as before.
UPDATE specline_jobs SET fair_tag = ranked.n * 1000000
FROM (
  SELECT id, row_number() OVER (
    PARTITION BY kind, partition_key ORDER BY priority, scheduled_at, id) AS n
  FROM specline_jobs
  WHERE partition_key IS NOT NULL AND state IN ('available', 'scheduled', 'retryable')
) AS ranked
WHERE specline_jobs.id = ranked.id;

INSERT INTO specline_fair_tags (kind, partition_key, last_tag)
SELECT kind, partition_key, max(fair_tag) FROM specline_jobs
WHERE fair_tag IS NOT NULL GROUP BY kind, partition_key;

-- The fair order, covering what the claim reads: it skips entries of partitions at their
-- limit and jobs not due yet without reading their rows.
CREATE INDEX specline_jobs_fair
  ON specline_jobs (queue, kind, priority, fair_tag, id, partition_key, scheduled_at)
  WHERE state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL;
