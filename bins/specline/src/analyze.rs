//! `specline analyze`: the whole job on one machine.
//!
//! One pipeline run on the embedded SQLite store: `analyze_repository` (queue `analyze`:
//! clone or open the tree, find and parse its tests) then `generate_spec_document` (queue
//! `spec`: turn the inventory into a spec document, offline unless a provider is set). The
//! worker runs in this process; progress events are printed as they are committed, and the
//! document is written where `--out` says (or printed).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use specline_app::{
    AnalysisRequest, AnalyzeContext, AnalyzeRepository, Document, GenerateContext,
    GenerateSpecDocument,
};
use specline_inventory_model::Inventory;
use specline_queue::pipeline::{Step, StepContext};
use specline_queue::store::{SqliteConfig, SqliteStore, Store};
use specline_queue::{Client, EventStatus, JobError, Registry, RunStatus, SubmitOpts, Worker};
use specline_specdoc::phases::{self, GenerateOptions, Generator};
use specline_specdoc::{export, LanguageTag, SpecInput};

/// Analyze a repository and write its spec document.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// A local directory or a git URL.
    pub target: String,
    /// Output language of the document (BCP-47 tag).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Write the document here instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Document format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: export::Format,
    /// Where the SQLite database lives.
    #[arg(long, env = "SPECLINE_LOCAL__DATA_DIR", default_value = ".specline")]
    pub data_dir: PathBuf,
}

/// Runs `analyze_repository` with the Tree-sitter analyzer.
struct Analyzer;

impl Step for Analyzer {
    type Kind = AnalyzeRepository;
    async fn run(&self, ctx: StepContext, c: AnalyzeContext) -> Result<Inventory, JobError> {
        let _ = ctx
            .progress(5, Some(serde_json::json!({"target": c.input.target})))
            .await;
        let target = c.input.target.clone();
        // A private repository's token comes from this process's environment at run time;
        // it is never part of the run's input, so it is never stored in the database.
        let token = std::env::var("SPECLINE_GIT_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        let inv = tokio::task::spawn_blocking(move || {
            specline_inventory::cli::inventory_of(
                &target,
                None,
                token,
                &specline_inventory::scan::ScanOptions::default(),
            )
        })
        .await
        .map_err(|e| JobError::retryable("PANIC", e))?
        .map_err(|e| JobError::permanent("ANALYZE_FAILED", format!("{e:#}")))?;
        let _ = ctx
            .progress(
                100,
                Some(serde_json::json!({"files": inv.stats.test_files, "tests": inv.stats.tests})),
            )
            .await;
        Ok(inv)
    }
}

/// Runs `generate_spec_document` with the offline generator.
struct OfflineGenerator;

impl Step for OfflineGenerator {
    type Kind = GenerateSpecDocument;
    async fn run(&self, _ctx: StepContext, c: GenerateContext) -> Result<Document, JobError> {
        let bad = |e: &dyn std::fmt::Display| JobError::permanent("SPEC_FAILED", e.to_string());
        let lang = LanguageTag::parse(&c.input.lang).map_err(|e| bad(&e))?;
        let input = SpecInput::from_inventory(&c.analyze_repository, None).map_err(|e| bad(&e))?;
        let opts = GenerateOptions::new(lang);
        let doc = phases::generate(&Generator::offline(), &input, &opts, 1)
            .await
            .map_err(|e| bad(&e))?;
        let format = match c.input.format.as_str() {
            "json" => export::Format::Json,
            _ => export::Format::Markdown,
        };
        Ok(Document {
            behaviors: doc.stats.behaviors,
            text: export::render(&doc, format),
        })
    }
}

pub async fn run(args: AnalyzeArgs) -> anyhow::Result<()> {
    LanguageTag::parse(&args.lang)?;
    let path = args.data_dir.join("specline.sqlite3");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteConfig::new(&path))
            .await
            .with_context(|| format!("opening {}", path.display()))?,
    );
    store.migrate().await?;
    let pipeline = specline_app::analyze_and_generate();
    let worker = Worker::builder(store.clone())
        .registry(Registry::new().step(Analyzer).step(OfflineGenerator))
        .queue(specline_app::ANALYZE_QUEUE, 1)
        .queue(specline_app::SPEC_QUEUE, 1)
        .build()?
        .start()
        .await?;
    let client = Client::new(store.clone());
    let request = AnalysisRequest {
        target: args.target.clone(),
        lang: args.lang.clone(),
        format: match args.format {
            export::Format::Json => "json".into(),
            _ => "md".into(),
        },
    };
    let run = client
        .submit(&pipeline, "local", &request, SubmitOpts::default())
        .await?;
    let mut events = Box::pin(client.events("local", run.run_id, 0).await?);
    let mut err = std::io::stderr();
    while let Some(ev) = events.next().await {
        let ev = ev?;
        let stage = ev.stage.as_deref().unwrap_or("");
        let detail = ev
            .payload
            .as_ref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        let _ = writeln!(
            err,
            "[{:>3}%] {stage}: {}{detail}",
            ev.progress,
            ev.status.as_str()
        );
        if ev.status == EventStatus::Failed || ev.status == EventStatus::Done {
            break;
        }
    }
    worker.shutdown(Duration::from_secs(10)).await?;
    match client.run_status("local", run.run_id).await? {
        RunStatus::Done { result } => {
            let doc: Document = serde_json::from_value(result).context("reading the document")?;
            match &args.out {
                Some(out) => {
                    std::fs::write(out, &doc.text)
                        .with_context(|| format!("writing {}", out.display()))?;
                    eprintln!(
                        "wrote the spec document ({} behaviors) to {} (run {} in {})",
                        doc.behaviors,
                        out.display(),
                        run.run_id,
                        path.display()
                    );
                }
                None => std::io::stdout().write_all(doc.text.as_bytes())?,
            }
            Ok(())
        }
        RunStatus::Failed { code, message } => bail!("{code}: {message}"),
        other => bail!("run {} ended in an unexpected state: {other:?}", run.run_id),
    }
}
