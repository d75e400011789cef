//! Errors and warnings, each with a stable code.
//!
//! Every message about a key names it twice, as the file key (`security.encryption_key`) and
//! as the environment variable (`SPECLINE_SECURITY__ENCRYPTION_KEY`), because the operator
//! reading it may have set it either way and should not have to translate. Codes are stable
//! strings so that `doctor`, scripts and tests can match on them without parsing prose.

use std::fmt;
use std::path::PathBuf;

use specline_error_codes::{codes, ErrorClass, ErrorCode};
use thiserror::Error;

codes! {
    /// Every code of the settings crate, once (its errors, its warnings and its cipher).
    pub enum SettingsCode in "specline-settings" {
        Missing = ("SETTINGS_MISSING", Permanent, "a required key is not set"),
        Invalid = ("SETTINGS_INVALID", Permanent, "a value has the wrong type or is out of range"),
        Unknown = ("SETTINGS_UNKNOWN", Permanent, "a name that looks like a setting but is none (an error in strict mode, else a warning)"),
        File = ("SETTINGS_FILE", Permanent, "the settings file cannot be read or is not valid TOML"),
        DecryptFailed = ("DECRYPT_FAILED", Permanent, "a stored token cannot be decrypted with this key (wrong key, tampered data, another context)"),
        EncryptFailed = ("ENCRYPT_FAILED", Permanent, "the cipher refused the plaintext"),
    }
}

/// Where a value or a name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable (its name).
    Env(String),
    /// The settings file (its path).
    File(PathBuf),
    /// The built-in default.
    Default,
    /// A value handed to an API directly (e.g. [`crate::TokenCipher::new`]), whose origin
    /// the callee cannot know.
    Given,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Default => f.write_str("the default"),
            Origin::Given => f.write_str("the value given"),
        }
    }
}

/// A settings error. Display starts with the code.
#[derive(Debug, Clone, Error)]
pub enum SettingsError {
    /// A required key is not set.
    #[error("SETTINGS_MISSING: {key} (env {env}) is required by {binary}{}{}",
        condition.as_ref().map(|c| format!(" when {c}")).unwrap_or_default(),
        hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
    Missing {
        key: String,
        env: String,
        binary: String,
        /// For conditional requirements (`provider.kind = "gemini"`).
        condition: Option<String>,
        /// A likely cause, e.g. a near-miss variable that is set.
        hint: Option<String>,
    },
    /// A value has the wrong type or is out of range. `problem` never contains a secret.
    #[error("SETTINGS_INVALID: {key} (env {env}) from {origin}: {problem}")]
    Invalid {
        key: String,
        env: String,
        origin: Origin,
        problem: String,
    },
    /// Unknown names, in strict mode.
    #[error("SETTINGS_UNKNOWN: {} unknown setting(s) (strict mode): {}", warnings.len(),
        warnings.iter().map(|w| w.describe()).collect::<Vec<_>>().join("; "))]
    Unknown { warnings: Vec<SettingsWarning> },
    /// The settings file cannot be read or is not valid TOML.
    #[error("SETTINGS_FILE: {}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
}

impl SettingsError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> SettingsCode {
        match self {
            SettingsError::Missing { .. } => SettingsCode::Missing,
            SettingsError::Invalid { .. } => SettingsCode::Invalid,
            SettingsError::Unknown { .. } => SettingsCode::Unknown,
            SettingsError::File { .. } => SettingsCode::File,
        }
    }
}

impl ErrorCode for SettingsError {
    fn code(&self) -> &'static str {
        SettingsError::code(self)
    }

    /// Settings do not change while a process runs: asking again gives the same answer.
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// An unknown name: an environment variable that looks like Specline's but is no key, or a
/// file key no section has. A warning by default, an error in strict mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsWarning {
    /// Where the name was found.
    pub origin: Origin,
    /// The name as written (`SPECLINE_DATABASE_URL`, `database.ur1`).
    pub name: String,
    /// The known name it most likely meant, written the same way.
    pub suggestion: Option<String>,
}

impl SettingsWarning {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        SettingsCode::Unknown.as_str()
    }

    /// The message without the code (used inside [`SettingsError::Unknown`]).
    pub fn describe(&self) -> String {
        let what = match &self.origin {
            Origin::Env(_) => format!(
                "environment variable {} is not a Specline setting",
                self.name
            ),
            Origin::File(path) => format!(
                "{} in {} is not a Specline setting",
                self.name,
                path.display()
            ),
            Origin::Default | Origin::Given => format!("{} is not a Specline setting", self.name),
        };
        match &self.suggestion {
            Some(s) => format!("{what}; did you mean {s}?"),
            None => what,
        }
    }
}

impl fmt::Display for SettingsWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_spelled_screaming_snake() {
        assert_eq!(specline_error_codes::check_codes::<SettingsCode>(), Ok(()));
    }
}
