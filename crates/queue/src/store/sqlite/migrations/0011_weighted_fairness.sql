-- Weighted fairness: the starts of the cursor's partition's round-robin pass that the last
-- claim's budget did not reach (see crate::limits::plan); 0 when its pass was done.
ALTER TABLE specline_limits ADD COLUMN cursor_carry INTEGER NOT NULL DEFAULT 0;
