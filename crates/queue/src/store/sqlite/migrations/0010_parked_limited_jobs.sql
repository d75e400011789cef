-- Lazy removal from the partition-ordered fetch index (see docs/queue.md, "Parking").
-- specline_jobs_fetch_limited no longer depends on `state`, so a claim (and a completion)
-- leaves it alone: a claim takes one job from each of hundreds of partitions whose index
-- entries lie on as many leaf pages, and removing each entry wrote one page per job. Jobs in
-- a final state leave the index later, in bulk ("parking": parked = 1, set by the claim,
-- see claim.rs), so the finished entries of one partition go in one page write. Every reader
-- of the index still checks `state`; `parked IS NULL` only lets it use the index.
ALTER TABLE specline_jobs ADD COLUMN parked INTEGER;

-- Jobs that finished before this migration are parked at once (they would only be skipped).
UPDATE specline_jobs SET parked = 1
WHERE partition_key IS NOT NULL AND state IN ('completed', 'cancelled', 'discarded');

DROP INDEX IF EXISTS specline_jobs_fetch_limited;
CREATE INDEX specline_jobs_fetch_limited
  ON specline_jobs (queue, kind, partition_key, priority, scheduled_at, id)
  WHERE partition_key IS NOT NULL AND parked IS NULL;

-- The finished jobs still to park, in id order (finishing roughly follows ids, so entries
-- are added and removed at the end of the index).
CREATE INDEX specline_jobs_to_park ON specline_jobs (id)
  WHERE partition_key IS NOT NULL AND parked IS NULL
    AND state IN ('completed', 'cancelled', 'discarded');

-- Parked means final: whatever makes a parked job pending (or running) again -- a manual
-- retry, a resume, a rescue, a unique key's replacement -- puts it back in the index.
CREATE TRIGGER specline_jobs_unpark AFTER UPDATE OF state ON specline_jobs
  WHEN new.parked IS NOT NULL AND new.state NOT IN ('completed', 'cancelled', 'discarded')
BEGIN
  UPDATE specline_jobs SET parked = NULL WHERE id = new.id;
END;
