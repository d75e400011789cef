//! The trait of every error with a stable code.

use crate::ErrorClass;

/// An error with a stable code and a class. Implemented by each crate's errors; the job
/// engine converts any of them into its `JobError` (code, class and message kept), so the
/// decision "is this worth retrying" is written once, next to the error, not in every
/// binary that meets it.
pub trait ErrorCode: std::fmt::Display {
    /// The stable `SCREAMING_SNAKE` code, one of the crate's [`crate::CodeSet`].
    fn code(&self) -> &'static str;

    /// What a job failing with this error should do next.
    fn class(&self) -> ErrorClass;

    /// The text a job's history records. The `Display` text by default, which by the
    /// project's rule never holds a secret (a token, a key, a password in a URL).
    fn message(&self) -> String {
        self.to_string()
    }
}
