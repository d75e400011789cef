//! The leader's lease: proof of leadership that every maintenance statement checks.

/// Proof of leadership: the holder and the term (fencing token) it acquired.
///
/// Maintenance statements check the lease in the same statement, so a deposed leader that
/// still believes it leads cannot act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub term: i64,
}
