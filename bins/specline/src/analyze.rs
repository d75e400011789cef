//! `specline analyze`: the whole job on one machine.
//!
//! One pipeline run, in this process, on the embedded SQLite database (or PostgreSQL when
//! `database.url` is set): `analyze_repository` (clone or open the tree, scan it, store the
//! inventory) then the spec phases (`classify_tests`, `convert_behaviors`,
//! `summarize_document`, `generate_spec_document`; offline unless a provider is set). The
//! same step implementations as the separate binaries run here. Progress shows as a bar on
//! a terminal and as one line per event otherwise; the document is written where `--out`
//! says (or printed).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use specline_app::{DocumentSummary, SYSTEM_OWNER};
use specline_queue::{Client, EventStatus, RunEvent, RunStatus, SubmitOpts, Worker};
use specline_service::CommonArgs;
use specline_specdoc::{export, LanguageTag, SpecDocument};

use crate::local;

/// Analyze a repository and write its spec document.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub request: specline_enqueue::RequestArgs,
    /// Write the document here instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Document format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: export::Format,
    /// Where the SQLite database lives (overrides `local.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// One line per event instead of a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Shows the run's progress: a bar on a terminal, lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    steps: Vec<String>,
}

impl Progress {
    fn new(steps: Vec<String>, bar: bool) -> Self {
        let bar = bar.then(|| {
            let b = ProgressBar::new(100);
            b.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar, steps }
    }

    /// The whole run's percentage: each step is an equal share.
    fn overall(&self, ev: &RunEvent) -> u64 {
        specline_enqueue::overall_progress(&self.steps, ev)
    }

    fn show(&self, ev: &RunEvent) {
        let stage = ev.stage.as_deref().unwrap_or("");
        match &self.bar {
            Some(bar) => {
                // Never backwards: a step's first event may carry less than the last one.
                bar.set_position(self.overall(ev).max(bar.position()));
                bar.set_message(format!("{stage}: {}", ev.status.as_str()));
            }
            None => eprintln!("{}", specline_enqueue::event_line_of(&self.steps, ev)),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Spec jobs of the run at once in `specline analyze`: features converted in parallel.
const CONVERT_SLOTS: usize = 4;

pub async fn run(args: AnalyzeArgs) -> anyhow::Result<()> {
    LanguageTag::parse(&args.request.lang)?;
    let settings = local::settings(&args.common, args.data_dir.clone())?;
    let dbs = local::open(&settings).await?;
    let cipher = local::cipher(&settings, true)?;
    let request = args.request.request(cipher.as_ref())?;
    let registry = local::merged(local::registry(&settings, &dbs, cipher)?);
    let pipeline = specline_app::analyze_and_generate();
    let client = Client::new(dbs.jobs.clone());
    let run = client
        .submit(&pipeline, SYSTEM_OWNER, &request, SubmitOpts::default())
        .await?;
    // Only this run: the database may be shared with a server (or another `analyze`) whose
    // queued runs must not be taken, failed or written with this command's generator.
    let worker = Worker::builder(dbs.jobs.clone())
        .registry(registry)
        .catalog(specline_service::worker::catalog())
        .queue(specline_app::ANALYZE_QUEUE, 1)
        // Each feature's conversion is a job: four at a time, as one conversion job converted
        // four features at a time before the fan-out (the other spec steps run one by one,
        // since each waits for the one before).
        .queue(specline_app::SPEC_QUEUE, CONVERT_SLOTS)
        .only_run(run.run_id)
        .build()?
        .start()
        .await?;
    let progress = Progress::new(
        pipeline.steps.iter().map(|s| s.kind.clone()).collect(),
        !args.no_progress && std::io::stderr().is_terminal(),
    );
    let mut events = Box::pin(client.events(SYSTEM_OWNER, run.run_id, 0).await?);
    while let Some(ev) = events.next().await {
        let ev = ev?;
        progress.show(&ev);
        if matches!(ev.status, EventStatus::Failed | EventStatus::Done) {
            break;
        }
    }
    progress.finish();
    worker.shutdown(Duration::from_secs(10)).await?;
    let summary: DocumentSummary = match client.run_status(SYSTEM_OWNER, run.run_id).await? {
        RunStatus::Done { result } => {
            serde_json::from_value(result).context("reading the run's result")?
        }
        RunStatus::Failed { code, message } => bail!("{code}: {message}"),
        other => bail!("run {} ended in an unexpected state: {other:?}", run.run_id),
    };
    let record = dbs
        .app
        .get_document(summary.document_id)
        .await?
        .with_context(|| format!("document {} is missing", summary.document_id))?;
    let document: SpecDocument =
        serde_json::from_value(record.content).context("reading the stored document")?;
    let text = export::render(&document, args.format);
    match &args.out {
        Some(out) => {
            std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote the spec document ({} behaviors, version {}{}) to {} (run {} in {})",
                summary.behaviors,
                summary.version,
                if summary.reused { ", reused" } else { "" },
                out.display(),
                run.run_id,
                dbs.describe
            );
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}
