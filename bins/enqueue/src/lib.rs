//! `specline-enqueue`: the operator's tool, as a library so the all-in-one `specline`
//! mounts the same commands.
//!
//! Every command prints a short human line by default and the full record with `--json`,
//! and exits non-zero with a coded message on failure (`NOT_FOUND`, `TOKEN_KEY_MISSING`,
//! ...), so scripts can rely on both.

mod progress;
mod token;

pub use progress::{event_line, event_line_of, overall_progress, pipeline_steps};

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures::StreamExt;
use specline_app::store::{ApiStore, AppStore, WatchedRepository};
use specline_app::{analyze_and_generate, AnalysisRequest, DocumentSummary, SYSTEM_OWNER};
use specline_inventory_model::target::{check_ref, Target};
use specline_inventory_model::terminal::{terminal_safe, terminal_safe_except};
use specline_queue::store::Store;
use specline_queue::{
    CancelOutcome, Client, EventStatus, JobFilter, JobState, RunCancelOutcome, RunStatus,
    SubmitOpts,
};
use specline_settings::{Secret, TokenCipher};
use specline_specdoc_model::lang::LanguageTag;
use specline_specdoc_model::SpecDocument;

/// The operator commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Submit "analyze and generate" for a repository; prints the run id.
    Analyze(AnalyzeArgs),
    /// Inspect and steer pipeline runs.
    #[command(subcommand)]
    Run(RunCommand),
    /// Inspect and steer jobs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Read stored spec documents.
    #[command(subcommand)]
    Document(DocumentCommand),
    /// Read stored analyses.
    #[command(subcommand)]
    Analysis(AnalysisCommand),
    /// Repositories the scheduler re-analyses periodically.
    #[command(subcommand)]
    Watch(WatchCommand),
    /// The HTTP API's access tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The engine's concurrency and rate limits: show, override, clear.
    #[command(subcommand)]
    Limits(limits::LimitsCommand),
    /// A queue's jobs and why they wait.
    #[command(subcommand)]
    Queue(limits::QueueCommand),
    /// Candidate implementations beside their primaries: show, set the mode, report.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
}

/// What to analyze: shared by `specline-enqueue analyze` and `specline analyze`.
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// A git URL (without credentials) or a directory the analyzer can read.
    pub target: String,
    /// Branch or tag (default: the remote's default branch).
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Language of the document (BCP-47).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Name of an environment variable holding an access token for a private repository.
    /// The token is encrypted with `security.encryption_key` before it is stored.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Classify every test again instead of placing only new tests into the previous
    /// document version's domains and features (and write a new version even if this commit
    /// already has a document).
    #[arg(long)]
    pub fresh: bool,
}

impl RequestArgs {
    /// The request, its token read from `token_env` and encrypted with `cipher` (bound to the
    /// repository's credential-free location).
    pub fn request(&self, cipher: Option<&TokenCipher>) -> anyhow::Result<AnalysisRequest> {
        check_target(&self.target, self.git_ref.as_deref())?;
        let encrypted_token = match &self.token_env {
            None => None,
            Some(var) => {
                let token = std::env::var(var)
                    .ok()
                    .filter(|t| !t.is_empty())
                    .with_context(|| format!("TOKEN_MISSING: the variable {var} is not set"))?;
                let cipher = cipher.context(
                    "TOKEN_KEY_MISSING: storing an access token needs security.encryption_key \
                     (SPECLINE_SECURITY__ENCRYPTION_KEY), the analyzer's key",
                )?;
                Some(cipher.encrypt(&Secret::new(token), &self.target)?)
            }
        };
        Ok(AnalysisRequest {
            target: self.target.clone(),
            git_ref: self.git_ref.clone(),
            lang: self.lang.clone(),
            encrypted_token,
            fresh: self.fresh,
        })
    }
}

/// The most rows a listing returns.
pub const MAX_LIMIT: usize = 10_000;

/// `--limit`: exactly the rows asked for, 1 to [`MAX_LIMIT`]. Zero is refused rather than
/// read as "the default", which printed 100 rows to someone who asked for none.
fn limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "INVALID_LIMIT: the limit must be a whole number from 1 to {MAX_LIMIT}"
        )),
    }
}

/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// `--idempotency-key`: 1-200 characters, none of them a control character, not only
/// spaces. An empty key used to be accepted as a key, so every `--idempotency-key ""`
/// submission after the first returned the same run.
fn idempotency_key(text: &str) -> Result<String, String> {
    let ok = !text.trim().is_empty()
        && text.chars().count() <= MAX_IDEMPOTENCY_KEY
        && !text.chars().any(char::is_control);
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "INVALID_IDEMPOTENCY_KEY: a key is 1-{MAX_IDEMPOTENCY_KEY} characters, not only \
             spaces, with no control characters"
        ))
    }
}

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Submit once per key: the same key and request return the same run (1-200 printable
    /// characters; an empty key is refused, not taken as "no key").
    #[arg(long, value_parser = idempotency_key)]
    pub idempotency_key: Option<String>,
    /// Follow the run's events until it ends, then print the document's id.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RunCommand {
    /// A run's state, step and result.
    Show { id: i64 },
    /// A run's events; `--follow` waits for new ones until the run ends.
    Events {
        id: i64,
        #[arg(long)]
        follow: bool,
    },
    /// Restart a failed run from its first step without a checkpoint.
    Resume { id: i64 },
    /// Cancel the step that is running or waiting (the run then fails).
    Cancel { id: i64 },
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobCommand {
    /// Jobs, newest first.
    List {
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// available, scheduled, running, retryable, completed, cancelled, discarded
        #[arg(long)]
        state: Option<String>,
        /// 1 to 10000.
        #[arg(long, default_value_t = 50, value_parser = limit)]
        limit: usize,
    },
    Show {
        id: i64,
    },
    /// Run again now (a finished job gets one more attempt).
    Retry {
        id: i64,
    },
    Cancel {
        id: i64,
    },
    /// Give up on a job that is not running.
    Discard {
        id: i64,
    },
    /// Counts per state, per queue.
    Counts {
        #[arg(long)]
        queue: Option<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum DocumentCommand {
    /// A document by id: its JSON, or with `--markdown` the rendered text's summary line.
    Show { id: i64 },
    /// The newest document of a repository and language.
    Latest {
        repository: String,
        #[arg(long, default_value = "en")]
        lang: String,
    },
    List {
        #[arg(long)]
        repository: Option<String>,
        /// 1 to 10000.
        #[arg(long, default_value_t = 20, value_parser = limit)]
        limit: usize,
    },
    /// What changed in a document version: behaviors added, removed, reworded and moved
    /// between features. Without `--from`, against the version before it (stored when the
    /// version was made); with `--from ID`, against that document.
    Diff {
        id: i64,
        #[arg(long)]
        from: Option<i64>,
    },
    /// What a document version cost: model calls and tokens in and out per phase, and who
    /// paid (the run's owner).
    Cost { id: i64 },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AnalysisCommand {
    Show {
        id: i64,
    },
    List {
        #[arg(long)]
        repository: Option<String>,
        /// 1 to 10000.
        #[arg(long, default_value_t = 20, value_parser = limit)]
        limit: usize,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum WatchCommand {
    /// Watch a repository (or update its branch, language or token).
    Add {
        repository: String,
        #[arg(long = "ref")]
        git_ref: Option<String>,
        #[arg(long, default_value = "en")]
        lang: String,
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
    },
    Remove {
        repository: String,
    },
    List,
}

/// What the commands need.
pub struct Tools {
    pub jobs: Arc<dyn Store>,
    pub app: Arc<dyn AppStore>,
    /// The API's tables (tokens).
    pub api: Arc<dyn ApiStore>,
    /// `None` without `security.encryption_key`: commands given a token refuse.
    pub cipher: Option<TokenCipher>,
    pub json: bool,
}

/// `println!` for human-readable output: the line goes through [`terminal_safe`], since it
/// may hold repository names, branch names or error messages from a repository.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", terminal_safe(&format!($($arg)*)))
    };
}

mod limits;
mod rollout;

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A target and ref as the analyzer will accept them, refused here with the same codes
/// (`CREDENTIALS_IN_URL`, `TARGET_OPTION`, `INVALID_REF`, …) before anything is stored.
fn check_target(target: &str, git_ref: Option<&str>) -> anyhow::Result<()> {
    Target::parse(target)?;
    if let Some(r) = git_ref {
        check_ref(r)?;
    }
    Ok(())
}

impl Tools {
    pub async fn run(&self, command: Command) -> anyhow::Result<()> {
        let client = Client::new(self.jobs.clone());
        match command {
            Command::Analyze(a) => self.analyze(&client, a).await,
            Command::Run(c) => self.run_command(&client, c).await,
            Command::Job(c) => self.job_command(&client, c).await,
            Command::Document(c) => self.document_command(c).await,
            Command::Analysis(c) => self.analysis_command(c).await,
            Command::Watch(c) => self.watch_command(c).await,
            Command::Token(c) => self.token_command(c).await,
            Command::Limits(c) => self.limits_command(&client, c).await,
            Command::Queue(c) => self.queue_command(&client, c).await,
            Command::Rollout(c) => self.rollout_command(c).await,
        }
    }

    async fn analyze(&self, client: &Client, a: AnalyzeArgs) -> anyhow::Result<()> {
        check_language(&a.request.lang)?;
        let request = a.request.request(self.cipher.as_ref())?;
        let mut opts = SubmitOpts::default();
        if let Some(k) = &a.idempotency_key {
            opts = opts.idempotency_key(k.clone());
        }
        let submitted = client
            .submit(&analyze_and_generate(), SYSTEM_OWNER, &request, opts)
            .await?;
        if self.json && !a.wait {
            return print_json(&serde_json::json!({
                "run_id": submitted.run_id, "existing": submitted.existing
            }));
        }
        if !self.json {
            say!(
                "run {}{}",
                submitted.run_id,
                if submitted.existing {
                    " (existing)"
                } else {
                    ""
                }
            );
        }
        if a.wait {
            let doc = follow(client, submitted.run_id, !self.json).await?;
            if self.json {
                return print_json(&doc);
            }
            say!(
                "document {} (version {}, {} behaviors{})",
                doc.document_id,
                doc.version,
                doc.behaviors,
                if doc.reused { ", reused" } else { "" }
            );
        }
        Ok(())
    }

    async fn run_command(&self, client: &Client, c: RunCommand) -> anyhow::Result<()> {
        match c {
            RunCommand::Show { id } => {
                let run = client.get_run(SYSTEM_OWNER, id).await?;
                let status = client.run_status(SYSTEM_OWNER, id).await?;
                let graph = client.run_graph(SYSTEM_OWNER, id).await?;
                if self.json {
                    let result = match &status {
                        RunStatus::Done { result } => Some(result.clone()),
                        _ => None,
                    };
                    return print_json(
                        &serde_json::json!({"run": run, "result": result, "graph": graph}),
                    );
                }
                let step = usize::try_from(run.current_step)
                    .ok()
                    .and_then(|i| run.steps.get(i))
                    .map_or("-", |s| s.kind.as_str());
                say!(
                    "run {} {} step {} ({}%){}",
                    run.id,
                    run.state.as_str(),
                    step,
                    run.progress,
                    match (&run.error_code, &run.error_message) {
                        (Some(c), Some(m)) => format!(": {c}: {m}"),
                        _ => String::new(),
                    }
                );
                for node in &graph.nodes {
                    say!("{}", node_line(&graph, node));
                }
                Ok(())
            }
            RunCommand::Events { id, follow: true } => follow(client, id, true).await.map(|_| ()),
            RunCommand::Events { id, follow: false } => {
                let events = client.store().run_events(id, 0, 10_000).await?;
                if events.is_empty() {
                    client.get_run(SYSTEM_OWNER, id).await?;
                }
                if self.json {
                    return print_json(&events);
                }
                for ev in events {
                    say!("{}", event_line(&ev));
                }
                Ok(())
            }
            RunCommand::Resume { id } => {
                client.resume(SYSTEM_OWNER, id).await?;
                say!("run {id} resumed");
                Ok(())
            }
            RunCommand::Cancel { id } => {
                // The run, not the job of its last event: that job may have just finished
                // while the next step started.
                match client.cancel_run(SYSTEM_OWNER, id).await? {
                    RunCancelOutcome::Cancelled {
                        step_job: Some(job),
                    } => say!("run {id} cancelled (step job {job} cancelled or told to stop)"),
                    RunCancelOutcome::Cancelled { step_job: None } => {
                        say!("run {id} cancelled")
                    }
                    RunCancelOutcome::AlreadyFinal(state) => {
                        say!("run {id} was already {}; nothing changed", state.as_str())
                    }
                }
                Ok(())
            }
        }
    }

    async fn job_command(&self, client: &Client, c: JobCommand) -> anyhow::Result<()> {
        match c {
            JobCommand::List {
                queue,
                kind,
                state,
                limit,
            } => {
                let state = state
                    .as_deref()
                    .map(|s| {
                        JobState::parse(s).map_err(|_| {
                            anyhow::anyhow!(
                                "INVALID_STATE: `{s}` is not a job state (available, scheduled, \
                                 running, retryable, completed, cancelled, discarded)"
                            )
                        })
                    })
                    .transpose()?;
                let jobs = client
                    .list(&JobFilter {
                        queue,
                        kind,
                        state,
                        limit,
                        ..JobFilter::default()
                    })
                    .await?;
                if self.json {
                    return print_json(&jobs);
                }
                for j in jobs {
                    say!(
                        "{:>8} {:<24} {:<8} {:<10} attempt {}/{}",
                        j.id,
                        j.kind,
                        j.queue,
                        j.state.as_str(),
                        j.attempt,
                        j.max_attempts
                    );
                }
                Ok(())
            }
            JobCommand::Show { id } => {
                let job = client
                    .get(id)
                    .await?
                    .with_context(|| format!("NOT_FOUND: no job {id}"))?;
                print_json(&job)
            }
            JobCommand::Retry { id } => {
                let job = client.retry(id).await?;
                say!("job {id} is {}", job.state.as_str());
                Ok(())
            }
            JobCommand::Cancel { id } => {
                let outcome = client.cancel(id).await?;
                say!("job {id} {}", cancel_text(&outcome));
                Ok(())
            }
            JobCommand::Discard { id } => {
                let job = client.discard(id).await?;
                say!("job {id} is {}", job.state.as_str());
                Ok(())
            }
            JobCommand::Counts { queue } => {
                let counts = client.counts(queue.as_deref()).await?;
                if self.json {
                    let map: serde_json::Map<String, serde_json::Value> = counts
                        .iter()
                        .map(|(s, n)| (s.as_str().to_string(), (*n).into()))
                        .collect();
                    return print_json(&map);
                }
                for (state, n) in counts {
                    say!("{:<10} {n}", state.as_str());
                }
                Ok(())
            }
        }
    }

    async fn document_command(&self, c: DocumentCommand) -> anyhow::Result<()> {
        match c {
            DocumentCommand::Show { id } => {
                let doc = self
                    .app
                    .get_document(id)
                    .await?
                    .with_context(|| format!("NOT_FOUND: no document {id}"))?;
                print_json(&doc.content)
            }
            DocumentCommand::Latest { repository, lang } => {
                let doc = self
                    .app
                    .latest_document(&repository, &lang)
                    .await?
                    .with_context(|| format!("NOT_FOUND: no {lang} document of {repository}"))?;
                print_json(&doc.content)
            }
            DocumentCommand::List { repository, limit } => {
                let docs = self
                    .app
                    .list_documents(repository.as_deref(), limit)
                    .await?;
                if self.json {
                    return print_json(&docs);
                }
                for d in docs {
                    say!(
                        "{:>6} {} [{}] v{} {} behaviors, {} {} ({})",
                        d.id,
                        d.repository,
                        d.language,
                        d.version,
                        d.behaviors,
                        d.generator_kind,
                        d.model,
                        d.created_at.format("%Y-%m-%d %H:%M")
                    );
                }
                Ok(())
            }
            DocumentCommand::Cost { id } => {
                let rows = self.app.document_usage(id).await?;
                if self.json {
                    return print_json(&rows);
                }
                for r in &rows {
                    let u = &r.usage;
                    say!(
                        "{:<10} {:>5} calls {:>9} tokens in {:>8} out  (owner {}, run {})",
                        u.phase,
                        u.calls,
                        u.prompt_tokens,
                        u.output_tokens,
                        u.owner,
                        u.run_id
                    );
                }
                if rows.is_empty() {
                    say!("no model usage recorded for document {id} (offline, or reused)");
                }
                Ok(())
            }
            DocumentCommand::Diff { id, from } => {
                let diff = self.document_diff(id, from).await?;
                if self.json {
                    return print_json(&diff);
                }
                // Names and sentences come from the repository: no terminal escapes through.
                let text = specline_specdoc_model::diff::to_text(&diff);
                let mut out = std::io::stdout().lock();
                out.write_all(terminal_safe_except(&text, &['\n']).as_bytes())?;
                Ok(())
            }
        }
    }

    /// The diff of document `id`: the stored one against its predecessor, or computed
    /// against document `from`.
    async fn document_diff(
        &self,
        id: i64,
        from: Option<i64>,
    ) -> anyhow::Result<specline_specdoc_model::diff::DocumentDiff> {
        let read = |id: i64| async move {
            let record = self
                .app
                .get_document(id)
                .await?
                .with_context(|| format!("NOT_FOUND: no document {id}"))?;
            serde_json::from_value::<SpecDocument>(record.content)
                .with_context(|| format!("APP_CORRUPT: document {id} cannot be read"))
        };
        match from {
            Some(base) => Ok(specline_specdoc_model::diff::between(
                &read(base).await?,
                &read(id).await?,
            )),
            None => {
                let stored = self.app.document_diff(id).await?.with_context(|| {
                    format!(
                        "NOT_FOUND: document {id} has no stored diff (a first version, or made \
                         before diffs were stored); name the other version with --from ID"
                    )
                })?;
                serde_json::from_value(stored.diff.content).with_context(|| {
                    format!("APP_CORRUPT: the diff of document {id} cannot be read")
                })
            }
        }
    }

    async fn analysis_command(&self, c: AnalysisCommand) -> anyhow::Result<()> {
        match c {
            AnalysisCommand::Show { id } => {
                let a = self
                    .app
                    .get_analysis(id)
                    .await?
                    .with_context(|| format!("NOT_FOUND: no analysis {id}"))?;
                print_json(&a)
            }
            AnalysisCommand::List { repository, limit } => {
                let list = self
                    .app
                    .list_analyses(repository.as_deref(), None, limit)
                    .await?;
                if self.json {
                    return print_json(&list);
                }
                for a in list {
                    let stats = a.stats.clone().unwrap_or_default();
                    say!(
                        "{:>6} {} {} {:?} {} files {} tests",
                        a.id,
                        a.repository,
                        a.commit
                            .as_deref()
                            .map_or_else(|| "-".to_string(), |c| c.chars().take(12).collect()),
                        a.state,
                        stats.test_files,
                        stats.tests
                    );
                }
                Ok(())
            }
        }
    }

    async fn watch_command(&self, c: WatchCommand) -> anyhow::Result<()> {
        match c {
            WatchCommand::Add {
                repository,
                git_ref,
                lang,
                token_env,
            } => {
                check_language(&lang)?;
                let encrypted_token = RequestArgs {
                    target: repository.clone(),
                    git_ref: git_ref.clone(),
                    lang: lang.clone(),
                    token_env,
                    fresh: false,
                }
                .request(self.cipher.as_ref())?
                .encrypted_token;
                self.app
                    .watch(&WatchedRepository {
                        repository: repository.clone(),
                        branch: git_ref,
                        language: lang,
                        encrypted_token,
                        created_at: chrono::Utc::now(),
                    })
                    .await?;
                say!("watching {repository}");
                Ok(())
            }
            WatchCommand::Remove { repository } => {
                self.app.unwatch(&repository).await?;
                say!("no longer watching {repository}");
                Ok(())
            }
            WatchCommand::List => {
                let list = self.app.watched().await?;
                if self.json {
                    return print_json(&list);
                }
                for w in list {
                    say!(
                        "{} {} [{}]{}",
                        w.repository,
                        w.branch.as_deref().unwrap_or("(default branch)"),
                        w.language,
                        if w.encrypted_token.is_some() {
                            " (token)"
                        } else {
                            ""
                        }
                    );
                }
                Ok(())
            }
        }
    }
}

/// Language tags are checked where they are typed, not when the run reaches the spec step.
/// The generator's own rule (`specline_specdoc_model::lang`), so a tag refused here is the
/// tag the spec generator would refuse, and no second copy of it exists.
fn check_language(lang: &str) -> anyhow::Result<()> {
    if let Err(e) = LanguageTag::parse(lang) {
        bail!(
            "{}: {lang:?} is not a well-formed BCP-47 language tag",
            e.code()
        );
    }
    Ok(())
}

fn cancel_text(outcome: &CancelOutcome) -> String {
    match outcome {
        CancelOutcome::Cancelled => "cancelled".into(),
        CancelOutcome::Requested => "asked to stop (it is running)".into(),
        CancelOutcome::AlreadyFinal(s) => format!("already {}", s.as_str()),
    }
}

/// Follow a run's events (printing them to stderr when `print`) until it ends; its document.
pub async fn follow(client: &Client, run_id: i64, print: bool) -> anyhow::Result<DocumentSummary> {
    let mut events = Box::pin(client.events(SYSTEM_OWNER, run_id, 0).await?);
    while let Some(ev) = events.next().await {
        let ev = ev?;
        if print {
            eprintln!("{}", event_line(&ev));
        }
        if matches!(ev.status, EventStatus::Done | EventStatus::Failed) {
            break;
        }
    }
    match client.run_status(SYSTEM_OWNER, run_id).await? {
        RunStatus::Done { result } => {
            serde_json::from_value(result).context("reading the run's result")
        }
        RunStatus::Failed { code, message } => bail!("{code}: {message}"),
        other => bail!("run {run_id} ended in an unexpected state: {other:?}"),
    }
}

/// One step of a run's graph as `run show` prints it: name, state, what it waits for, and a
/// mapped step's items.
fn node_line(graph: &specline_queue::RunGraph, node: &specline_queue::GraphNode) -> String {
    let name_of = |i: &usize| graph.nodes.get(*i).map_or("?", |n| n.name.as_str());
    let after: Vec<&str> = node.after.iter().map(name_of).collect();
    let state = serde_json::to_value(node.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut line = format!("  - {}: {state}", node.name);
    if !after.is_empty() {
        line.push_str(&format!(", after {}", after.join(" and ")));
    }
    if let Some(items) = node.items {
        line.push_str(&format!(", items {}/{}", items.done, items.total));
    }
    if node.allow_failure {
        line.push_str(", may fail");
    }
    line
}

#[cfg(test)]
mod node_line_tests {
    use super::node_line;
    use specline_queue::run_graph::{GraphNode, ItemProgress, NodeState, RunGraph};

    fn node(index: usize, name: &str, after: Vec<usize>, state: NodeState) -> GraphNode {
        GraphNode {
            index,
            name: name.into(),
            queue: "q".into(),
            after,
            map_over: None,
            allow_failure: false,
            state,
            items: None,
        }
    }

    #[test]
    fn a_step_line_names_its_state_dependencies_and_items() {
        let mut mapped = node(1, "convert", vec![0], NodeState::Running);
        mapped.items = Some(ItemProgress { total: 40, done: 3 });
        mapped.allow_failure = true;
        let graph = RunGraph {
            run_id: 1,
            nodes: vec![node(0, "classify", vec![], NodeState::Done), mapped],
        };
        assert_eq!(node_line(&graph, &graph.nodes[0]), "  - classify: done");
        assert_eq!(
            node_line(&graph, &graph.nodes[1]),
            "  - convert: running, after classify, items 3/40, may fail"
        );
    }
}
