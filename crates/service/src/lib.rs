//! What every Specline binary does the same way.
//!
//! - [`start`]: logging, then settings loaded and validated before anything else (a bad
//!   setting exits with status 2 and a message naming the key, before any connection is made);
//! - [`db::open`]: the job store and the application store on the same database;
//! - [`http::serve`]: `/healthz`, `/readyz` and `/metrics` on the binary's own port;
//! - [`signal::shutdown`]: SIGTERM or SIGINT, after which a binary drains within its deadline.
//!
//! This crate links neither Tree-sitter nor an AI client, so every binary can use it without
//! pulling in another binary's dependencies.

pub mod db;
pub mod http;
pub mod log_writer;
pub mod signal;

use std::path::PathBuf;

use specline_settings::{LoadOptions, Profile, Settings};
use specline_telemetry::Telemetry;

/// Exit status of a binary whose settings are missing or invalid (distinct from a runtime
/// failure, 1, so an orchestrator can tell a configuration error from a crash).
pub const EXIT_SETTINGS: u8 = 2;

/// Options every long-running binary accepts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML settings file (default: `$SPECLINE_CONFIG` when set).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Treat unknown settings (misspelled variables or file keys) as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Install the log subscriber: `SPECLINE_LOG` (tracing filter syntax), `default` when unset,
/// on stderr; `SPECLINE_LOG_FORMAT` = `text` (the default: one human-readable line per event,
/// each escaped by [`log_writer::SafeStderr`], since names from repositories are logged) or
/// `json` (one JSON object per line with the event's fields and those of its spans, e.g. a
/// job's `job_id`, `run_id`, `kind` and `attempt`, for a log collector). Both are read from
/// the environment, not the settings, because the log exists before settings are loaded
/// (their warnings are logged). An unknown format is an error naming the variable.
pub fn init_logging(default: &str) -> Result<(), String> {
    install_logging(default, None)
}

/// [`init_logging`], and with `telemetry` its layer: spans are also exported (filtered on
/// their own, so `SPECLINE_LOG=warn` quiets the log without emptying the traces).
fn install_logging(default: &str, telemetry: Option<&Telemetry>) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let filter = tracing_subscriber::EnvFilter::try_from_env("SPECLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let format = std::env::var("SPECLINE_LOG_FORMAT").unwrap_or_default();
    match format.as_str() {
        "" | "text" => {
            // Colours only on a terminal (a log file or collector gets plain text), and not
            // with NO_COLOR set.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let log = tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(log_writer::SafeStderr { ansi })
                .with_filter(filter);
            let registry = tracing_subscriber::registry().with(log);
            let _ = registry.with(telemetry.map(|t| t.layer())).try_init();
        }
        "json" => {
            let log = tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(log_writer::JsonStderr)
                .with_filter(filter);
            let registry = tracing_subscriber::registry().with(log);
            let _ = registry.with(telemetry.map(|t| t.layer())).try_init();
        }
        other => {
            return Err(format!(
                "SPECLINE_LOG_FORMAT is {:?}; expected `text` or `json`",
                specline_inventory_model::terminal::terminal_safe(other)
            ))
        }
    }
    Ok(())
}

/// Load `P`'s settings from the process environment and the file, print every warning
/// (unknown names with suggestions) to stderr, and return them; on error, the message names
/// the key and its variable.
pub fn load_settings<P: Profile>(args: &CommonArgs) -> Result<P, specline_settings::SettingsError> {
    let mut options = LoadOptions::from_process_env().strict(args.strict);
    if let Some(file) = &args.config {
        options = options.file(file);
    }
    let loaded = Settings::load::<P>(&options)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    Ok(loaded.settings)
}

pub mod worker;

/// The `main` of a binary: logging, its settings (exit 2 naming the key when one is missing
/// or invalid, before anything connects), a runtime, then `body`; a runtime error exits 1
/// with its chain of causes.
pub fn main<P, F, Fut>(name: &str, args: &CommonArgs, body: F) -> std::process::ExitCode
where
    P: Profile,
    F: FnOnce(P) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // Settings first (their warnings are printed), then the log with the trace exporter
    // they configure, so that every span of the binary's work can be exported.
    let settings = match load_settings::<P>(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: invalid settings: {e}");
            return std::process::ExitCode::from(EXIT_SETTINGS);
        }
    };
    let telemetry = match settings.telemetry().map(Telemetry::init).transpose() {
        Ok(t) => t.flatten(),
        Err(e) => {
            eprintln!("{name}: invalid settings: {e}");
            return std::process::ExitCode::from(EXIT_SETTINGS);
        }
    };
    if let Err(e) = install_logging("info", telemetry.as_ref()) {
        eprintln!("{name}: invalid settings: {e}");
        return std::process::ExitCode::from(EXIT_SETTINGS);
    }
    let code = run_body(name, settings, body);
    if let Some(t) = telemetry {
        t.shutdown();
    }
    code
}

fn run_body<P, F, Fut>(name: &str, settings: P, body: F) -> std::process::ExitCode
where
    F: FnOnce(P) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body(settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            // Errors quote names from repositories (paths, refs, test names).
            eprintln!(
                "{name}: error: {}",
                specline_inventory_model::terminal::terminal_safe(&format!("{e:#}"))
            );
            std::process::ExitCode::FAILURE
        }
    }
}
