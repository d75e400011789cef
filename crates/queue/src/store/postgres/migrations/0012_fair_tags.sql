-- Fair order by virtual start tags, as on SQLite (see crate::limited_claim::fair and
-- docs/queue.md, "Fair order"): a job of a limited kind gets a tag at insert, and a claim
-- reads queued limited jobs in (priority, tag, id) order from one index, skipping the
-- partitions at their limit, instead of walking partitions in key order.
ALTER TABLE specline_jobs ADD COLUMN IF NOT EXISTS fair_tag bigint;

-- The kind's virtual time (the latest tag a claim took), and where the last claim that
-- reached its read bound stopped ([priority, tag, id]; see claim_fair).
ALTER TABLE specline_limits ADD COLUMN IF NOT EXISTS vtime bigint NOT NULL DEFAULT 0;
ALTER TABLE specline_limits ADD COLUMN IF NOT EXISTS fair_cursor bigint[];

-- Each partition's last tag given; rows the virtual time has passed say nothing and are
-- pruned with idle rate buckets.
CREATE TABLE IF NOT EXISTS specline_fair_tags (
  kind          text NOT NULL,
  partition_key text NOT NULL,
  last_tag      bigint NOT NULL,
  PRIMARY KEY (kind, partition_key)
);

-- Jobs queued before this migration: each partition's n-th job (in its fetch order) gets
-- tag n units, so they are served round-robin as before.
UPDATE specline_jobs j SET fair_tag = ranked.n * 1000000
FROM (
  SELECT id, row_number() OVER (
    PARTITION BY kind, partition_key ORDER BY priority, scheduled_at, id) AS n
  FROM specline_jobs
  WHERE partition_key IS NOT NULL AND state IN ('available', 'scheduled', 'retryable')
) AS ranked
WHERE j.id = ranked.id;

INSERT INTO specline_fair_tags (kind, partition_key, last_tag)
SELECT kind, partition_key, max(fair_tag) FROM specline_jobs
WHERE fair_tag IS NOT NULL GROUP BY kind, partition_key
ON CONFLICT DO NOTHING;

DROP INDEX IF EXISTS specline_jobs_fetch_limited;

-- The fair order; the claim skips partitions at their limit and jobs not due yet from the
-- index alone (where the visibility map allows an index-only scan).
CREATE INDEX IF NOT EXISTS specline_jobs_fair
  ON specline_jobs (queue, kind, priority, fair_tag, id) INCLUDE (partition_key, scheduled_at)
  WHERE state IN ('available', 'scheduled', 'retryable') AND partition_key IS NOT NULL;
