//! The four error classes.

use std::fmt;
use std::time::Duration;

/// What a job that failed with an error should do next. There is one retry budget (the job's
/// attempts): an error only says which class it is, the engine decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later with backoff, until the attempts run out: the failure is about the
    /// moment (a network, a busy database, a rate limit), not the request.
    Retryable,
    /// Give up now: the same request fails the same way every time (bad input, a refused
    /// repository, a wrong key).
    Permanent,
    /// Stop and mark the job cancelled.
    Cancel,
    /// Run again after this long without using an attempt (a dependency is resting).
    Snooze(Duration),
}

/// The class a code has, as its crate declares it in its [`crate::CodeSet`] (and the table in
/// `docs/error-codes.md` shows it). A code is either always one class, or its class depends
/// on the error's details, said in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassRule {
    Retryable,
    Permanent,
    Cancel,
    Snooze,
    /// The class depends on the error's details; the text says how.
    Varies(&'static str),
}

impl ClassRule {
    /// The class every error of a code has, when the rule fixes one (a snooze needs its
    /// duration, so only the error can say it).
    pub fn fixed(self) -> Option<ErrorClass> {
        match self {
            ClassRule::Retryable => Some(ErrorClass::Retryable),
            ClassRule::Permanent => Some(ErrorClass::Permanent),
            ClassRule::Cancel => Some(ErrorClass::Cancel),
            ClassRule::Snooze | ClassRule::Varies(_) => None,
        }
    }

    /// Whether an error of this code may have `class`. Crates' tests use it to keep their
    /// declared rules true.
    pub fn admits(self, class: ErrorClass) -> bool {
        matches!(
            (self, class),
            (ClassRule::Varies(_), _)
                | (ClassRule::Retryable, ErrorClass::Retryable)
                | (ClassRule::Permanent, ErrorClass::Permanent)
                | (ClassRule::Cancel, ErrorClass::Cancel)
                | (ClassRule::Snooze, ErrorClass::Snooze(_))
        )
    }
}

impl fmt::Display for ClassRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassRule::Retryable => f.write_str("retryable"),
            ClassRule::Permanent => f.write_str("permanent"),
            ClassRule::Cancel => f.write_str("cancel"),
            ClassRule::Snooze => f.write_str("snooze"),
            ClassRule::Varies(how) => f.write_str(how),
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::Retryable => f.write_str("retryable"),
            ErrorClass::Permanent => f.write_str("permanent"),
            ErrorClass::Cancel => f.write_str("cancel"),
            ErrorClass::Snooze(d) => write!(f, "snooze {d:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_rule_admits_only_its_own_class() {
        assert!(ClassRule::Retryable.admits(ErrorClass::Retryable));
        assert!(!ClassRule::Retryable.admits(ErrorClass::Permanent));
        assert!(!ClassRule::Permanent.admits(ErrorClass::Snooze(Duration::ZERO)));
        assert!(ClassRule::Snooze.admits(ErrorClass::Snooze(Duration::from_secs(3))));
        assert!(!ClassRule::Cancel.admits(ErrorClass::Retryable));
        assert!(ClassRule::Varies("either").admits(ErrorClass::Cancel));
    }
}
