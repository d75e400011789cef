//! Every code of the application crate, once: its store's, its repository policy's and the
//! codes its steps add of their own ([`StepError`]).

use specline_queue::{CodeSet, ErrorClass, ErrorCode};

specline_queue::codes! {
    /// The application's codes.
    pub enum AppCode in "specline-app" {
        AppDb = ("APP_DB", Retryable, "the application's database failed or could not be reached"),
        AppNotFound = ("APP_NOT_FOUND", Permanent, "no such analysis, document or repository"),
        AppConflict = ("APP_CONFLICT", Permanent, "the operation does not fit the record's state (e.g. files added to a finished analysis)"),
        AppCorrupt = ("APP_CORRUPT", Permanent, "a stored value could not be read back"),
        PolicyOptionLike = ("POLICY_OPTION_LIKE", Permanent, "a repository or ref starting with `-` (git would read it as an option)"),
        PolicyInvalidRef = ("POLICY_INVALID_REF", Permanent, "a ref that is empty, too long, or has spaces, control characters, `..` or `:`"),
        PolicyInvalidUrl = ("POLICY_INVALID_URL", Permanent, "a URL that does not parse or names no host"),
        PolicyCredentials = ("POLICY_CREDENTIALS", Permanent, "userinfo in the URL (`https://TOKEN@host/…`, `git@host:…`)"),
        PolicyScheme = ("POLICY_SCHEME", Permanent, "a scheme not in `allowed_schemes`"),
        PolicyLocalPath = ("POLICY_LOCAL_PATH", Permanent, "a local directory or `file://` URL, unless `allow_local_paths`"),
        PolicyHost = ("POLICY_HOST", Permanent, "a host not in `allowed_hosts`"),
        PolicyAddress = ("POLICY_ADDRESS", Permanent, "a host that is or resolves to a non-public address"),
        PolicyUnresolved = ("POLICY_UNRESOLVED", Permanent, "a host name that does not resolve"),
        PolicySettings = ("POLICY_SETTINGS", Permanent, "the policy's own settings are wrong (an unknown scheme, say)"),
        TokenKeyMissing = ("TOKEN_KEY_MISSING", Permanent, "a request carries an access token but this process has no `security.encryption_key`"),
        TargetMissing = ("TARGET_NOT_FOUND", Permanent, "the local directory to analyze cannot be opened"),
        ScanFailed = ("SCAN_FAILED", Permanent, "the scan of a checked-out repository failed as a whole"),
        Serialize = ("SERIALIZE", Permanent, "a step's value could not be turned into JSON"),
        Panic = ("PANIC", Retryable, "a step's blocking task panicked or was cancelled"),
        BudgetExceeded = ("BUDGET_EXCEEDED", Permanent, "the generation's estimated model calls would take its owner past `spec_generator.owner_calls_per_day`; refused before any call"),
    }
}

/// What a step fails with when no library error says it: the codes the analyzer and the
/// spec generator add of their own. Messages never hold a token.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The run carries an encrypted token and this process cannot decrypt it.
    #[error(
        "TOKEN_KEY_MISSING: the request carries an encrypted access token but this analyzer \
         has no security.encryption_key"
    )]
    TokenKeyMissing,
    /// The local directory named by the run cannot be opened.
    #[error("TARGET_NOT_FOUND: cannot open {path}: {problem}")]
    TargetMissing { path: String, problem: String },
    /// The scan as a whole failed (a file's own failure is recorded, not raised).
    #[error("SCAN_FAILED: {0}")]
    ScanFailed(String),
    /// A value could not be serialized.
    #[error("SERIALIZE: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A blocking task panicked or was cancelled.
    #[error("PANIC: {0}")]
    Panic(#[from] tokio::task::JoinError),
    /// The generation would take its owner past the daily budget of model calls.
    #[error(
        "BUDGET_EXCEEDED: this generation is estimated at {estimate} model calls; owner \
         {owner} has used {used} of {budget} in the last 24 hours"
    )]
    BudgetExceeded {
        owner: String,
        estimate: u64,
        used: u64,
        budget: u64,
    },
}

impl StepError {
    /// The error's code in the list.
    pub fn kind(&self) -> AppCode {
        match self {
            StepError::TokenKeyMissing => AppCode::TokenKeyMissing,
            StepError::TargetMissing { .. } => AppCode::TargetMissing,
            StepError::ScanFailed(_) => AppCode::ScanFailed,
            StepError::Serialize(_) => AppCode::Serialize,
            StepError::Panic(_) => AppCode::Panic,
            StepError::BudgetExceeded { .. } => AppCode::BudgetExceeded,
        }
    }
}

impl ErrorCode for StepError {
    fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// A panic may not happen again; everything else here will.
    fn class(&self) -> ErrorClass {
        fixed(self.kind())
    }
}

/// The class of a code whose rule fixes one; every code of [`AppCode`] does (tested).
pub(crate) fn fixed(code: AppCode) -> ErrorClass {
    code.rule().fixed().unwrap_or(ErrorClass::Permanent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_spelled_screaming_snake_with_a_fixed_class() {
        assert_eq!(specline_queue::check_codes::<AppCode>(), Ok(()));
        for code in AppCode::ALL {
            assert!(code.rule().fixed().is_some(), "{code}");
        }
    }

    #[test]
    fn every_step_error_message_starts_with_its_code() {
        let errors = [
            StepError::TokenKeyMissing,
            StepError::TargetMissing {
                path: "/nope".into(),
                problem: "gone".into(),
            },
            StepError::ScanFailed("x".into()),
        ];
        for e in errors {
            assert!(e.to_string().starts_with(&format!("{}: ", e.code())), "{e}");
        }
    }
}
