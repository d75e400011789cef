//! Google Gemini, via the `generateContent` REST API in JSON output mode
//! (`generationConfig.responseMimeType = "application/json"` with a `responseSchema`).
//!
//! The key goes in the `x-goog-api-key` header, never in the URL, so transport errors (which
//! quote the URL) cannot leak it.

use futures::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::json;

use super::{http, ApiKey, ModelRequest, ModelResponse, Provider};
use crate::document::TokenUsage;
use crate::error::{ProviderError, ProviderErrorCode};

/// Where and what to call.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// `https://generativelanguage.googleapis.com` in production; a loopback URL in tests.
    pub base_url: String,
    /// e.g. `gemini-2.5-flash`.
    pub model: String,
    pub api_key: ApiKey,
    pub temperature: f32,
    /// `generationConfig.thinkingConfig.thinkingBudget`, when set. Thinking models count
    /// thinking tokens against the output limit; `Some(0)` turns thinking off where the model
    /// allows it, so long JSON answers are not cut (`TRUNCATED`). `None` sends nothing.
    pub thinking_budget: Option<i32>,
    /// Overall HTTP timeout of one call.
    pub timeout: std::time::Duration,
}

impl GeminiConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://generativelanguage.googleapis.com";

    pub fn new(model: impl Into<String>, api_key: ApiKey) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            model: model.into(),
            api_key,
            temperature: 0.2,
            thinking_budget: None,
            timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// The Gemini client.
#[derive(Debug)]
pub struct Gemini {
    config: GeminiConfig,
    http: reqwest::Client,
}

impl Gemini {
    pub fn new(config: GeminiConfig) -> Result<Self, ProviderError> {
        Ok(Self {
            http: http::client(config.timeout)?,
            config,
        })
    }

    fn url(&self) -> String {
        format!(
            "{}/v1beta/models/{}:generateContent",
            self.config.base_url.trim_end_matches('/'),
            self.config.model
        )
    }
}

/// Gemini's schema dialect is OpenAPI's: upper-case type names and no `additionalProperties`.
fn gemini_schema(schema: &serde_json::Value) -> serde_json::Value {
    match schema {
        serde_json::Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("additionalProperties", _) => {}
                    ("type", serde_json::Value::String(t)) => {
                        out.insert(k.clone(), json!(t.to_ascii_uppercase()));
                    }
                    _ => {
                        out.insert(k.clone(), gemini_schema(v));
                    }
                }
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(gemini_schema).collect())
        }
        other => other.clone(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    total_token_count: u64,
}

/// Gemini error bodies carry a gRPC status; `RESOURCE_EXHAUSTED` is its rate limit.
fn gemini_error_code(body: &str) -> Option<ProviderErrorCode> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    // A wrong key comes back as 400 INVALID_ARGUMENT with this reason: say what it is.
    if body.contains("API_KEY_INVALID") {
        return Some(ProviderErrorCode::Unauthorized);
    }
    match v.pointer("/error/status")?.as_str()? {
        "RESOURCE_EXHAUSTED" => Some(ProviderErrorCode::RateLimited),
        "UNAUTHENTICATED" => Some(ProviderErrorCode::Unauthorized),
        "PERMISSION_DENIED" => Some(ProviderErrorCode::Forbidden),
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "NOT_FOUND" => {
            Some(ProviderErrorCode::InvalidRequest)
        }
        "UNAVAILABLE" | "INTERNAL" => Some(ProviderErrorCode::ServerError),
        "DEADLINE_EXCEEDED" => Some(ProviderErrorCode::Timeout),
        _ => None,
    }
}

/// Reads a 2xx body: text of the first candidate, or the reason there is none.
fn parse_response(body: &str) -> Result<ModelResponse, ProviderError> {
    let resp: GenerateResponse = http::parse_body(body, "generateContent response")?;
    let u = resp.usage_metadata.unwrap_or_default();
    let usage = TokenUsage::tokens(
        u.prompt_token_count,
        u.candidates_token_count,
        u.total_token_count,
    );
    let fail = |code: ProviderErrorCode, msg: String| -> Result<ModelResponse, ProviderError> {
        Err(ProviderError::new(code, msg).with_usage(usage))
    };
    if let Some(reason) = resp.prompt_feedback.and_then(|f| f.block_reason) {
        return fail(
            ProviderErrorCode::SafetyBlocked,
            format!("the prompt was blocked: {reason}"),
        );
    }
    let Some(cand) = resp.candidates.into_iter().next() else {
        return fail(
            ProviderErrorCode::InvalidJson,
            "the response has no candidate".into(),
        );
    };
    match cand.finish_reason.as_deref() {
        Some("MAX_TOKENS") => {
            return fail(
                ProviderErrorCode::Truncated,
                "the answer was cut at the output token limit".into(),
            )
        }
        Some(r @ ("SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII")) => {
            return fail(
                ProviderErrorCode::SafetyBlocked,
                format!("the answer was blocked: {r}"),
            )
        }
        _ => {}
    }
    let text: String = cand
        .content
        .map(|c| c.parts.into_iter().filter_map(|p| p.text).collect())
        .unwrap_or_default();
    Ok(ModelResponse { text, usage })
}

impl Provider for Gemini {
    fn kind(&self) -> &'static str {
        "gemini"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ProviderError>> {
        Box::pin(async move {
            let mut body = json!({
                "systemInstruction": {"parts": [{"text": request.system}]},
                "contents": [{"role": "user", "parts": [{"text": request.user}]}],
                "generationConfig": {
                    "responseMimeType": "application/json",
                    "responseSchema": gemini_schema(&request.schema),
                    "temperature": self.config.temperature,
                    "maxOutputTokens": request.max_output_tokens,
                }
            });
            if let Some(budget) = self.config.thinking_budget {
                body["generationConfig"]["thinkingConfig"] = json!({"thinkingBudget": budget});
            }
            let mut headers = HeaderMap::new();
            let key = http::secret_header(self.config.api_key.expose())?;
            headers.insert("x-goog-api-key", key);
            let ok =
                http::post_json(&self.http, &self.url(), headers, &body, gemini_error_code).await?;
            parse_response(&ok.body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_types_are_upper_cased_and_additional_properties_dropped() {
        let s = json!({"type":"object","additionalProperties":false,"properties":{"a":{"type":"array","items":{"type":"integer"}}}});
        assert_eq!(
            gemini_schema(&s),
            json!({"type":"OBJECT","properties":{"a":{"type":"ARRAY","items":{"type":"INTEGER"}}}})
        );
    }

    #[test]
    fn an_invalid_key_is_unauthorized_not_a_bad_request() {
        let body = r#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}"#;
        assert_eq!(
            http::classify_status(400, body, gemini_error_code).code,
            ProviderErrorCode::Unauthorized
        );
        let other = r#"{"error":{"code":400,"status":"INVALID_ARGUMENT"}}"#;
        assert_eq!(
            http::classify_status(400, other, gemini_error_code).code,
            ProviderErrorCode::InvalidRequest
        );
    }

    #[test]
    fn finish_reasons_map_to_codes() {
        let body = |reason: &str| {
            format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"{{\"a\""}}]}},"finishReason":"{reason}"}}]}}"#
            )
        };
        assert_eq!(
            parse_response(&body("MAX_TOKENS")).unwrap_err().code,
            ProviderErrorCode::Truncated
        );
        assert_eq!(
            parse_response(&body("SAFETY")).unwrap_err().code,
            ProviderErrorCode::SafetyBlocked
        );
        assert_eq!(parse_response(&body("STOP")).unwrap().text, "{\"a\"");
        let blocked = r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#;
        assert_eq!(
            parse_response(blocked).unwrap_err().code,
            ProviderErrorCode::SafetyBlocked
        );
        assert_eq!(
            parse_response("{\"candidates\":[").unwrap_err().code,
            ProviderErrorCode::InvalidJson
        );
    }
}
