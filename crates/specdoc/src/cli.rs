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
use crate::reliability::{ClientConfig, ModelClient};
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
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let provider: Arc<dyn Provider> = match args.provider {
        ProviderKind::Offline => return Ok(Generator::offline()),
        ProviderKind::Gemini => {
            let model = args
                .model
                .clone()
                .context("INVALID_CONFIG: --model is required for gemini")?;
            let key = api_key(
                args.api_key_env.as_deref().unwrap_or("GEMINI_API_KEY"),
                true,
            )?
            .context("INVALID_CONFIG: no API key")?;
            let mut cfg = GeminiConfig::new(model, key);
            if let Some(u) = &args.base_url {
                cfg.base_url = u.clone();
            }
            cfg.timeout = timeout;
            cfg.thinking_budget = args.thinking_budget;
            Arc::new(Gemini::new(cfg)?)
        }
        ProviderKind::Openai => {
            let model = args
                .model
                .clone()
                .context("INVALID_CONFIG: --model is required for openai")?;
            // A local server needs no key; OpenAI itself does.
            let key = api_key(
                args.api_key_env.as_deref().unwrap_or("OPENAI_API_KEY"),
                args.base_url.is_none(),
            )?;
            let mut cfg = OpenAiConfig::new(model, key);
            if let Some(u) = &args.base_url {
                cfg.base_url = u.clone();
            }
            cfg.timeout = timeout;
            if args.json_schema {
                cfg.json_mode = JsonMode::JsonSchema;
            }
            Arc::new(OpenAi::new(cfg)?)
        }
    };
    let config = ClientConfig {
        timeout,
        requests_per_minute: args.requests_per_minute,
        ..ClientConfig::default()
    };
    Ok(Generator::with_model(
        ModelClient::new(provider, config),
        Arc::new(MemoryCache::new()),
    ))
}

/// Runs the command.
pub async fn run(args: SpecArgs) -> anyhow::Result<()> {
    let language = LanguageTag::parse(&args.lang)?;
    let json = std::fs::read_to_string(&args.input)
        .with_context(|| format!("INVALID_INVENTORY: cannot read {}", args.input.display()))?;
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
