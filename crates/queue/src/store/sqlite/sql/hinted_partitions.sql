-- The partitions ?3 (a JSON array of keys, at most ?4 of them), in array order: the hinted
-- partitions a claim probes by key (see crate::limited_claim::hints), read by
-- partition_state.sql like the walked ones.
WITH walk(k, n) AS (
  SELECT value, key + 1 FROM json_each(?3) WHERE key < ?4
)
