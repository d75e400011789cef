//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`): OpenAI itself, and
//! local servers that speak the same wire format (Ollama at `http://localhost:11434/v1`, vLLM,
//! llama.cpp's `llama-server`), selected by the base URL.
//!
//! JSON mode is `response_format: {"type": "json_object"}` by default, the form every one of
//! those servers accepts; `json_schema` (strict structured output) can be chosen where the
//! server supports it. The prompt always states the shape, so both modes get the same answer.

use futures::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::json;

use super::{http, ApiKey, ModelRequest, ModelResponse, Provider};
use crate::document::TokenUsage;
use crate::error::{ProviderError, ProviderErrorCode};

/// Which `response_format` to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonMode {
    /// `{"type":"json_object"}`: widely supported.
    #[default]
    JsonObject,
    /// `{"type":"json_schema", ...}` with the request's schema.
    JsonSchema,
}

/// Which request field carries the output token limit. OpenAI's current models want
/// `max_completion_tokens` (and reject `max_tokens` on reasoning models); local servers read
/// `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLimitField {
    /// `max_completion_tokens` for the default OpenAI URL, `max_tokens` for any other.
    #[default]
    Auto,
    MaxTokens,
    MaxCompletionTokens,
}

/// Where and what to call.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Up to and including the version path: `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1`.
    pub base_url: String,
    pub model: String,
    /// Optional: local servers usually need none.
    pub api_key: Option<ApiKey>,
    pub json_mode: JsonMode,
    /// `None` sends no temperature (reasoning models accept only their default).
    pub temperature: Option<f32>,
    pub token_limit_field: TokenLimitField,
    pub timeout: std::time::Duration,
}

impl OpenAiConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    pub fn new(model: impl Into<String>, api_key: Option<ApiKey>) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            model: model.into(),
            api_key,
            json_mode: JsonMode::default(),
            temperature: Some(0.2),
            token_limit_field: TokenLimitField::Auto,
            timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// The chat-completions client.
#[derive(Debug)]
pub struct OpenAi {
    config: OpenAiConfig,
    http: reqwest::Client,
}

impl OpenAi {
    pub fn new(config: OpenAiConfig) -> Result<Self, ProviderError> {
        Ok(Self {
            http: http::client(config.timeout)?,
            config,
        })
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
}

/// OpenAI's 429 means two things: a rate limit (retry) or `insufficient_quota` (retrying
/// cannot help until someone pays).
fn openai_error_code(body: &str) -> Option<ProviderErrorCode> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = v.pointer("/error/code").and_then(|c| c.as_str());
    let kind = v.pointer("/error/type").and_then(|c| c.as_str());
    match (code, kind) {
        (Some("insufficient_quota"), _) | (_, Some("insufficient_quota")) => {
            Some(ProviderErrorCode::QuotaExhausted)
        }
        (Some("content_filter"), _) => Some(ProviderErrorCode::SafetyBlocked),
        (Some("invalid_api_key"), _) => Some(ProviderErrorCode::Unauthorized),
        _ => None,
    }
}

fn parse_response(body: &str) -> Result<ModelResponse, ProviderError> {
    let resp: ChatResponse = http::parse_body(body, "chat completion")?;
    let u = resp.usage.unwrap_or_default();
    let usage = TokenUsage::tokens(u.prompt_tokens, u.completion_tokens, u.total_tokens);
    let fail = |code: ProviderErrorCode, msg: String| -> Result<ModelResponse, ProviderError> {
        Err(ProviderError::new(code, msg).with_usage(usage))
    };
    let Some(choice) = resp.choices.into_iter().next() else {
        return fail(
            ProviderErrorCode::InvalidJson,
            "the response has no choice".into(),
        );
    };
    match choice.finish_reason.as_deref() {
        Some("length") => {
            return fail(
                ProviderErrorCode::Truncated,
                "the answer was cut at the output token limit".into(),
            )
        }
        Some("content_filter") => {
            return fail(
                ProviderErrorCode::SafetyBlocked,
                "the answer was filtered".into(),
            )
        }
        _ => {}
    }
    let msg = choice.message.unwrap_or(Message {
        content: None,
        refusal: None,
    });
    if let Some(r) = msg.refusal.filter(|r| !r.is_empty()) {
        return fail(
            ProviderErrorCode::SafetyBlocked,
            format!("the model refused: {r}"),
        );
    }
    Ok(ModelResponse {
        text: msg.content.unwrap_or_default(),
        usage,
    })
}

impl OpenAi {
    fn token_limit_field(&self) -> &'static str {
        let official = self.config.base_url.trim_end_matches('/') == OpenAiConfig::DEFAULT_BASE_URL;
        match self.config.token_limit_field {
            TokenLimitField::MaxCompletionTokens => "max_completion_tokens",
            TokenLimitField::Auto if official => "max_completion_tokens",
            _ => "max_tokens",
        }
    }
}

impl Provider for OpenAi {
    fn kind(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn generate<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ProviderError>> {
        Box::pin(async move {
            let response_format = match self.config.json_mode {
                JsonMode::JsonObject => json!({"type": "json_object"}),
                JsonMode::JsonSchema => json!({
                    "type": "json_schema",
                    "json_schema": {"name": request.schema_name, "schema": request.schema}
                }),
            };
            let mut body = json!({
                "model": self.config.model,
                "messages": [
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                "response_format": response_format,
            });
            body[self.token_limit_field()] = json!(request.max_output_tokens);
            if let Some(t) = self.config.temperature {
                body["temperature"] = json!(t);
            }
            let mut headers = HeaderMap::new();
            if let Some(key) = &self.config.api_key {
                let v = http::secret_header(&format!("Bearer {}", key.expose()))?;
                headers.insert(reqwest::header::AUTHORIZATION, v);
            }
            let url = format!(
                "{}/chat/completions",
                self.config.base_url.trim_end_matches('/')
            );
            let ok = http::post_json(&self.http, &url, headers, &body, openai_error_code).await?;
            parse_response(&ok.body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_quota_is_permanent_not_a_rate_limit() {
        let body = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let e = http::classify_status(429, body, openai_error_code);
        assert_eq!(e.code, ProviderErrorCode::QuotaExhausted);
        assert!(!e.is_retryable());
        assert_eq!(
            http::classify_status(429, "{}", openai_error_code).code,
            ProviderErrorCode::RateLimited
        );
    }

    #[test]
    fn the_token_limit_field_follows_the_server() {
        let official = OpenAi::new(OpenAiConfig::new("m", None)).unwrap();
        assert_eq!(official.token_limit_field(), "max_completion_tokens");
        let mut local = OpenAiConfig::new("m", None);
        local.base_url = "http://localhost:11434/v1".into();
        assert_eq!(
            OpenAi::new(local.clone()).unwrap().token_limit_field(),
            "max_tokens"
        );
        local.token_limit_field = TokenLimitField::MaxCompletionTokens;
        assert_eq!(
            OpenAi::new(local).unwrap().token_limit_field(),
            "max_completion_tokens"
        );
    }

    #[test]
    fn finish_reasons_map_to_codes() {
        let body = |r: &str| {
            format!(r#"{{"choices":[{{"message":{{"content":"{{}}"}},"finish_reason":"{r}"}}]}}"#)
        };
        assert_eq!(
            parse_response(&body("length")).unwrap_err().code,
            ProviderErrorCode::Truncated
        );
        assert_eq!(
            parse_response(&body("content_filter")).unwrap_err().code,
            ProviderErrorCode::SafetyBlocked
        );
        assert_eq!(parse_response(&body("stop")).unwrap().text, "{}");
    }
}
