-- The partitions $3 (an array of keys, at most $4 of them), in array order: the hinted
-- partitions a claim probes by key (see crate::limited_claim::hints), read by
-- partition_state.sql like the walked ones.
WITH walk(k, n) AS (
  SELECT u.k, u.n FROM unnest($3::text[]) WITH ORDINALITY AS u(k, n) WHERE u.n <= $4::bigint
)
