//! Comparing a candidate's result with the primary's: the application says how (equal, or a
//! structured diff with a similarity score); the engine stores a bounded form of the diff.

use serde::Serialize;

/// What a comparator found.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Match,
    /// The results differ: `similarity` from 0.0 (nothing alike) to 1.0, and what differs
    /// as JSON (stored at most [`MAX_DIFF_BYTES`] long).
    Mismatch {
        similarity: f64,
        diff: serde_json::Value,
    },
}

impl Comparison {
    /// `Match` when equal, else a mismatch of similarity 0 showing both values.
    pub fn equal<T: PartialEq + Serialize>(primary: &T, candidate: &T) -> Comparison {
        if primary == candidate {
            return Comparison::Match;
        }
        Comparison::Mismatch {
            similarity: 0.0,
            diff: serde_json::json!({
                "primary": serde_json::to_value(primary).unwrap_or(serde_json::Value::Null),
                "candidate": serde_json::to_value(candidate).unwrap_or(serde_json::Value::Null),
            }),
        }
    }

    pub fn is_match(&self) -> bool {
        matches!(self, Comparison::Match)
    }
}

/// How the application compares two results of one rollout.
pub trait Comparator<O>: Send + Sync + 'static {
    fn compare(&self, primary: &O, candidate: &O) -> Comparison;
}

impl<O, F> Comparator<O> for F
where
    F: Fn(&O, &O) -> Comparison + Send + Sync + 'static,
{
    fn compare(&self, primary: &O, candidate: &O) -> Comparison {
        self(primary, candidate)
    }
}

/// The longest diff stored, in bytes of its JSON text: a comparator that returns two whole
/// documents must not fill the database.
pub const MAX_DIFF_BYTES: usize = 4096;

/// The diff as stored: itself when its JSON text fits in `max` bytes, else
/// `{"truncated": true, "bytes": N, "head": "<the first bytes of its text>"}`.
pub fn bounded_diff(diff: &serde_json::Value, max: usize) -> serde_json::Value {
    let text = diff.to_string();
    if text.len() <= max {
        return diff.clone();
    }
    // Quotes and backslashes in the head are escaped again: shrink until the whole fits.
    let mut end = max.saturating_sub(64).min(text.len());
    loop {
        while end > 0 && !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut =
            serde_json::json!({ "truncated": true, "bytes": text.len(), "head": &text[..end] });
        let over = cut.to_string().len().saturating_sub(max);
        if over == 0 || end == 0 {
            return cut;
        }
        end = end.saturating_sub(over);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_compares_and_shows_both_sides() {
        assert_eq!(Comparison::equal(&1, &1), Comparison::Match);
        assert_eq!(
            Comparison::equal(&1, &2),
            Comparison::Mismatch {
                similarity: 0.0,
                diff: serde_json::json!({"primary": 1, "candidate": 2})
            }
        );
    }

    #[test]
    fn a_large_diff_is_cut_to_the_bound() {
        let small = serde_json::json!({"a": 1});
        assert_eq!(bounded_diff(&small, 100), small);
        let big = serde_json::json!({"text": "é\"".repeat(5_000)});
        let cut = bounded_diff(&big, 1000);
        assert!(cut.to_string().len() <= 1000, "{}", cut.to_string().len());
        assert_eq!(cut["truncated"], true);
        assert_eq!(cut["bytes"], big.to_string().len());
    }
}
