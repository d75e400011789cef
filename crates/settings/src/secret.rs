//! [`Secret`]: a string that never prints itself.
//!
//! Keys and tokens travel through settings structs that are logged, `Debug`-printed in error
//! reports and serialized by `doctor`. Making redaction the *type's* behaviour, rather than a
//! rule every caller has to remember, means a secret can only leave through [`Secret::expose`],
//! a call that is easy to find in review.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What every rendering of a secret prints.
pub const REDACTED: &str = "[redacted]";

/// A secret string (API key, encryption key, access token).
///
/// `Debug`, `Display` and `Serialize` all produce `[redacted]`; the value is only reachable
/// through [`Secret::expose`]. There is deliberately no `PartialEq`: comparing secrets is
/// rarely what code should do, and a naive comparison leaks timing.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Every call site is a place where the secret leaves the type.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Serializes as the string `[redacted]`, so a dump of the effective settings (for `doctor` or
/// a support bundle) shows that a secret is set without showing it.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// Reads a plain string, so secrets can sit in structs that are deserialized from other
/// sources. (The settings loader does not use this; it validates values itself.)
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}
