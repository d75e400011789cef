//! The command-line edge: `specline spec <inventory.json> [--lang ko] [--format md|json]`.
//!
//! This is the only place that uses `anyhow`; the library returns coded [`crate::SpecError`]s.
//! API keys are read from an environment variable named by `--api-key-env` (never from a
//! flag, which would show in `ps` and shell history).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cache::MemoryCache;
use crate::export::{self, Format};
use crate::lang::LanguageTag;
use crate::phases::{self, GenerateOptions, Generator};
use crate::provider::gemini::{Gemini, GeminiConfig};
use crate::provider::openai::{JsonMode, OpenAi, OpenAiConfig};
use crate::provider::{ApiKey, Provider};
use crate::reliability::{CallGate, ClientConfig, ModelClient, RetryPolicy};
use crate::SpecError;
use crate::SpecInput;

/// Which generator writes the sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// Deterministic, no network, English.
    Offline,
    /// Google Gemini (`generateContent`).
    Gemini,
    /// Any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp).
    Openai,
}

/// Arguments of the `spec` command.
#[derive(Debug, Clone, clap::Args)]
pub struct SpecArgs {
    /// Inventory JSON file (as written by the analyzer).
    pub input: PathBuf,
    /// Output language, a BCP-47 tag (en, ko, ja, zh, es, de, fr, pt, pt-BR, …).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Who writes the sentences.
    #[arg(long, value_enum, default_value = "offline")]
    pub provider: ProviderKind,
    /// Model name (required for gemini and openai), e.g. gemini-2.5-flash, gpt-4o-mini, llama3.1.
    #[arg(long)]
    pub model: Option<String>,
    /// Provider base URL, e.g. http://localhost:11434/v1 for Ollama.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key (default GEMINI_API_KEY or OPENAI_API_KEY).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Repository identity to record (default: the inventory's source location).
    #[arg(long)]
    pub repository: Option<String>,
    /// Document version to record (named so it cannot clash with a `--version` flag of the
    /// binary the command is mounted in).
    #[arg(long, default_value_t = 1)]
    pub doc_version: u32,
    /// Features converted at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Per-call timeout in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Requests per minute to the provider (0 = unlimited).
    #[arg(long, default_value_t = 60)]
    pub requests_per_minute: u32,
    /// openai: ask for strict JSON-schema output instead of JSON-object mode (for servers
    /// that support `response_format: json_schema`).
    #[arg(long)]
    pub json_schema: bool,
    /// gemini: thinking token budget (0 turns thinking off on models that allow it).
    #[arg(long)]
    pub thinking_budget: Option<i32>,
}

fn api_key(var: &str, required: bool) -> anyhow::Result<Option<ApiKey>> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Some(ApiKey::new(v))),
        _ if required => bail!("INVALID_CONFIG: the API key variable {var} is not set"),
        _ => Ok(None),
    }
}

/// Builds the generator the arguments ask for.
pub fn generator(args: &SpecArgs) -> anyhow::Result<Generator> {
    let (kind, key_var, key_required) = match args.provider {
        ProviderKind::Offline => return Ok(Generator::offline()),
        ProviderKind::Gemini => (ModelProvider::Gemini, "GEMINI_API_KEY", true),
        // A local server needs no key; OpenAI itself does.
        ProviderKind::Openai => (
            ModelProvider::OpenAi,
            "OPENAI_API_KEY",
            args.base_url.is_none(),
        ),
    };
    let api_key = api_key(args.api_key_env.as_deref().unwrap_or(key_var), key_required)?;
    let model = args
        .model
        .clone()
        .with_context(|| format!("INVALID_CONFIG: --model is required for {}", kind.name()))?;
    let mut config = ModelConfig::new(kind, model);
    config.api_key = api_key;
    config.base_url = args.base_url.clone();
    config.timeout = Duration::from_secs(args.timeout_secs.max(1));
    config.requests_per_minute = args.requests_per_minute;
    config.json_schema = args.json_schema;
    config.thinking_budget = args.thinking_budget;
    Ok(config.build()?)
}

/// A hosted or local model provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelProvider {
    Gemini,
    /// OpenAI or any OpenAI-compatible server.
    OpenAi,
}

impl ModelProvider {
    pub fn name(self) -> &'static str {
        match self {
            ModelProvider::Gemini => "gemini",
            ModelProvider::OpenAi => "openai",
        }
    }
}

/// Everything needed to build a model-backed [`Generator`]: the one place that turns
/// settings (the CLI's flags, a binary's `[provider]` section) into a client with its
/// reliability rules.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub provider: ModelProvider,
    pub model: String,
    pub api_key: Option<ApiKey>,
    pub base_url: Option<String>,
    /// Longest one call may take.
    pub timeout: Duration,
    /// Attempts of one call in all (the first included).
    pub max_attempts: u32,
    /// 0 = unlimited.
    pub requests_per_minute: u32,
    /// openai: strict JSON-schema output.
    pub json_schema: bool,
    /// gemini: thinking token budget.
    pub thinking_budget: Option<i32>,
    /// A limit on model calls shared beyond this process, under `requests_per_minute`.
    pub gate: Option<Arc<dyn CallGate>>,
}

impl ModelConfig {
    pub fn new(provider: ModelProvider, model: impl Into<String>) -> Self {
        ModelConfig {
            provider,
            model: model.into(),
            api_key: None,
            base_url: None,
            timeout: Duration::from_secs(120),
            max_attempts: RetryPolicy::default().max_attempts,
            requests_per_minute: 0,
            json_schema: false,
            thinking_budget: None,
            gate: None,
        }
    }

    /// The generator, with a fresh in-memory cache.
    pub fn build(&self) -> Result<Generator, SpecError> {
        let provider: Arc<dyn Provider> = match self.provider {
            ModelProvider::Gemini => {
                let key = self
                    .api_key
                    .clone()
                    .ok_or_else(|| SpecError::InvalidConfig("gemini needs an API key".into()))?;
                let mut cfg = GeminiConfig::new(self.model.clone(), key);
                if let Some(u) = &self.base_url {
                    cfg.base_url = u.clone();
                }
                cfg.timeout = self.timeout;
                cfg.thinking_budget = self.thinking_budget;
                Arc::new(Gemini::new(cfg).map_err(|e| SpecError::InvalidConfig(e.to_string()))?)
            }
            ModelProvider::OpenAi => {
                let mut cfg = OpenAiConfig::new(self.model.clone(), self.api_key.clone());
                if let Some(u) = &self.base_url {
                    cfg.base_url = u.clone();
                }
                cfg.timeout = self.timeout;
                if self.json_schema {
                    cfg.json_mode = JsonMode::JsonSchema;
                }
                Arc::new(OpenAi::new(cfg).map_err(|e| SpecError::InvalidConfig(e.to_string()))?)
            }
        };
        let config = ClientConfig {
            timeout: self.timeout,
            requests_per_minute: self.requests_per_minute,
            retry: RetryPolicy {
                max_attempts: self.max_attempts.max(1),
                ..RetryPolicy::default()
            },
            ..ClientConfig::default()
        };
        let mut client = ModelClient::new(provider, config);
        if let Some(gate) = &self.gate {
            client = client.with_gate(gate.clone());
        }
        Ok(Generator::with_model(client, Arc::new(MemoryCache::new())))
    }
}

/// Runs the command.
pub async fn run(args: SpecArgs) -> anyhow::Result<()> {
    let language = LanguageTag::parse(&args.lang)?;
    let json = crate::inventory_file::read_inventory_file(
        &args.input,
        crate::inventory_file::MAX_INVENTORY_BYTES,
    )?;
    let input = SpecInput::from_inventory_json(&json, args.repository.as_deref())?;
    let gen = generator(&args)?;
    let mut opts = GenerateOptions::new(language);
    opts.concurrency = args.concurrency.max(1);
    let doc = phases::generate(&gen, &input, &opts, args.doc_version.max(1)).await?;
    let text = export::render(&doc, args.format);
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(())
}
