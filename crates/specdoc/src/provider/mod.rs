//! Model providers: the one seam where the network is.
//!
//! A [`Provider`] makes exactly one HTTP call per [`Provider::generate`] and reports failures
//! as classified [`ProviderError`]s; it never retries. Timeouts, retries, the circuit breaker
//! and the rate limit live in one place, [`crate::reliability::ModelClient`], so retries can
//! never be stacked in two layers.
//!
//! The offline generator is not a `Provider`: it does not answer prompts, it implements the
//! phases directly (see [`crate::offline`]). It is what runs when no provider is configured.

pub mod gemini;
pub mod http;
pub mod openai;

use futures::future::BoxFuture;

use crate::document::TokenUsage;
use crate::error::ProviderError;

/// One model call: a system instruction, the user's content and the JSON schema the answer
/// must follow.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    pub system: String,
    pub user: String,
    /// A JSON Schema (the subset both Gemini and OpenAI accept: object, array, string, integer,
    /// `properties`, `items`, `required`).
    pub schema: serde_json::Value,
    /// A short name of the schema (OpenAI's `json_schema.name`).
    pub schema_name: &'static str,
    pub max_output_tokens: u32,
}

/// The model's answer: its text (JSON, still unparsed) and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResponse {
    pub text: String,
    pub usage: TokenUsage,
}

/// A chat/generation API.
pub trait Provider: Send + Sync {
    /// `gemini` or `openai`.
    fn kind(&self) -> &'static str;
    /// The model name, part of every cache key.
    fn model(&self) -> &str;
    /// One call. Truncated output and safety blocks are errors, not responses.
    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ProviderError>>;
}

/// An API key. Its `Debug` and `Display` print `***`, so a key can never reach a log line, a
/// panic message or an error by accident; [`ApiKey::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A name for the key that does not reveal it: the first 16 hex digits of its SHA-256
    /// (what partitions the shared model-call limit per key).
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0.as_bytes());
        hex::encode(&digest[..8])
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_never_prints_itself() {
        let k = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{k}"), "***");
        assert_eq!(format!("{k:?}"), "ApiKey(***)");
        assert!(!format!("{:?}", Some(&k)).contains("secret"));
        assert_eq!(k.expose(), "sk-secret-123");
        let f = k.fingerprint();
        assert_eq!(f.len(), 16);
        assert!(!f.contains("secret") && !"sk-secret-123".contains(&f));
        assert_eq!(f, ApiKey::new("sk-secret-123").fingerprint(), "stable");
        assert_ne!(f, ApiKey::new("sk-secret-124").fingerprint());
    }
}
