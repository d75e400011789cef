//! The analyzer's step: `analyze_repository` on the `analyze` queue.
//!
//! 1. Decrypt the request's access token, if any (only this binary holds the key).
//! 2. For a git URL, ask the remote which commit it would clone (`git ls-remote`); if a
//!    complete analysis of that commit by this parser version exists, reuse it — no clone,
//!    no scan.
//! 3. Otherwise clone shallowly (or open the local directory), and scan with a bounded pool
//!    while a second task writes the files to the inventory tables in batches, so a large
//!    repository never sits whole in memory.
//! 4. Record the statistics and per-file errors; hand on a small [`AnalysisSummary`].
//!
//! A retried attempt (crash, timeout) restarts its analysis: `begin_analysis` clears the
//! rows the earlier attempt of the same run wrote.

pub mod extraction;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use specline_app::policy::{RunPolicy, Target};
use specline_app::store::{AppStore, NewAnalysis};
use specline_app::{AnalysisSummary, AnalyzeContext, AnalyzeRepository, StepError};
use specline_inventory::pin::Pin;
use specline_inventory::scan::{record_omitted, scan_each, CancelToken, ScanOptions};
use specline_inventory::source::{
    prepare_opts, remote_head, Checkout, GitOptions, SourceSpec, Token,
};
use specline_inventory_model::TestFile;
use specline_queue::pipeline::{Step, StepContext};
use specline_queue::rollout::{Rollout, VariantContext};
use specline_queue::{JobError, Registry};
use specline_settings::{AnalyzerSection, TokenCipher};
use tokio::sync::mpsc;

use extraction::{Extracted, Extractor, FileTests};

/// Files written per transaction.
const BATCH_FILES: usize = 200;

/// The analyzer's tunables, from `[analyzer]`.
#[derive(Debug, Clone)]
pub struct AnalyzerConfig {
    pub max_file_bytes: u64,
    pub clone_timeout: Duration,
    /// Bytes one clone directory may hold (`CLONE_TOO_LARGE` past it).
    pub clone_max_bytes: u64,
    /// Parse threads per analysis (0 = one per core).
    pub threads: usize,
    pub git_program: PathBuf,
    /// Where clone directories are made, and swept at start ([`sweep_stale_clones`]).
    pub work_root: PathBuf,
}

impl AnalyzerConfig {
    pub fn from_settings(s: &AnalyzerSection) -> Self {
        AnalyzerConfig {
            max_file_bytes: s.max_file_bytes,
            clone_timeout: s.clone_timeout(),
            clone_max_bytes: s.clone_max_bytes,
            threads: 0,
            git_program: PathBuf::from("git"),
            work_root: std::env::temp_dir(),
        }
    }

    fn git_options(&self) -> GitOptions {
        GitOptions {
            program: self.git_program.clone(),
            timeout: Some(self.clone_timeout),
            max_file_bytes: self.max_file_bytes,
            disk_budget: Some(self.clone_max_bytes),
            work_root: self.work_root.clone(),
        }
    }
}

/// Removes the clone directories that analyzers killed before `started` left behind (ours
/// by name, of processes no longer running); returns how many. Run once at start.
pub fn sweep_stale_clones(config: &AnalyzerConfig, started: std::time::SystemTime) -> usize {
    match specline_inventory::workdir::sweep_stale(&config.work_root, started) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not sweep stale clone directories");
            0
        }
    }
}

/// Runs `analyze_repository`.
pub struct Analyzer {
    pub app: Arc<dyn AppStore>,
    /// `None` when no encryption key is configured: requests carrying a token then fail
    /// with `TOKEN_KEY_MISSING` instead of cloning without it.
    pub cipher: Option<TokenCipher>,
    pub config: AnalyzerConfig,
    /// The repository policy, checked again here before anything is fetched.
    pub policy: RunPolicy,
    /// The extractor's rollout: the current one, or a candidate beside or instead of it
    /// ([`extraction`]); `off` unless an operator sets it.
    pub extract: Rollout<Extracted>,
}

/// The registry of everything this binary runs.
pub fn registry(analyzer: Analyzer) -> Registry {
    Registry::new().step(analyzer)
}

/// `registry` with what the analyzer's settings give it: its job time limit, and the
/// per-owner limit and owners' fairness weights of `analyze_repository` (an operator's
/// override in the database still wins over both).
pub fn with_settings(registry: Registry, section: &AnalyzerSection) -> Registry {
    registry
        .with_timeout(section.job_timeout())
        .with_per_partition(section.analyses_per_owner)
        .with_weights(&section.owner_weights)
}

/// Queues this binary consumes.
pub const QUEUES: &[&str] = &[specline_app::ANALYZE_QUEUE];

impl Step for Analyzer {
    type Kind = AnalyzeRepository;

    async fn run(&self, ctx: StepContext, c: AnalyzeContext) -> Result<AnalysisSummary, JobError> {
        let req = c.input;
        let checked = self.policy.check(ctx.run_id(), &req).await?;
        let mut spec = SourceSpec::parse(&req.target, req.git_ref.clone(), None)?;
        if let (
            SourceSpec::Git { pin, .. },
            Target::Remote {
                host, port, addrs, ..
            },
        ) = (&mut spec, checked)
        {
            *pin = Pin::new(&host.to_string(), port, addrs);
        }
        let repository = match &spec {
            SourceSpec::Git { url, .. } => url.clone(),
            SourceSpec::Local(path) => std::fs::canonicalize(path)
                .map_err(|e| StepError::TargetMissing {
                    path: path.display().to_string(),
                    problem: e.to_string(),
                })?
                .display()
                .to_string(),
        };
        let token = match (&req.encrypted_token, &self.cipher) {
            (None, _) => None,
            (Some(_), None) => return Err(StepError::TokenKeyMissing.into()),
            (Some(stored), Some(cipher)) => Some(cipher.decrypt(stored, &repository)?),
        };
        if let (SourceSpec::Git { token: slot, .. }, Some(t)) = (&mut spec, token) {
            *slot = Some(Token::new(t.expose()));
        }
        let git = self.config.git_options();

        let _ = ctx
            .progress(
                2,
                Some(serde_json::json!({"stage": "resolving", "repository": repository})),
            )
            .await;
        let head = {
            let (spec, git) = (spec.clone(), git.clone());
            tokio::task::spawn_blocking(move || remote_head(&spec, &git))
                .await
                .map_err(StepError::from)??
        };
        if let Some(commit) = &head {
            if let Some(found) = self
                .app
                .find_reusable_analysis(&repository, commit, specline_inventory::PARSER_VERSION)
                .await?
            {
                let stats = found.stats.clone().unwrap_or_default();
                let _ = ctx
                    .progress(
                        100,
                        Some(serde_json::json!({"reused": found.id, "commit": commit})),
                    )
                    .await;
                return Ok(AnalysisSummary {
                    analysis_id: found.id,
                    repository,
                    commit: found.commit,
                    parser_version: found.parser_version,
                    reused: true,
                    files: stats.test_files,
                    tests: stats.tests,
                    errors: stats.errored,
                    truncated: stats.truncated,
                });
            }
        }

        let _ = ctx
            .progress(5, Some(serde_json::json!({"stage": "cloning"})))
            .await;
        let checkout = tokio::task::spawn_blocking(move || prepare_opts(&spec, &git))
            .await
            .map_err(StepError::from)??;
        let source = checkout.source().clone();
        let analysis = self
            .app
            .begin_analysis(&NewAnalysis {
                repository: repository.clone(),
                commit: source.commit.clone(),
                branch: source.branch.clone(),
                commit_time: source.commit_time,
                parser_version: specline_inventory::PARSER_VERSION.to_string(),
                run_id: Some(ctx.run_id()),
            })
            .await?;
        let _ = ctx
            .progress(
                10,
                Some(serde_json::json!({"stage": "scanning", "analysis": analysis.id, "commit": source.commit})),
            )
            .await;

        // Both sides may scan the checkout (a shadow candidate at the same time as the
        // primary); it is removed when the last one is done with it.
        let checkout = Arc::new(checkout);
        let (mine, theirs) = (checkout.clone(), checkout.clone());
        drop(checkout);
        let extracted = self
            .extract
            .run(
                ctx.job(),
                &repository,
                |_| self.scan_and_store(&ctx, analysis.id, mine, Extractor::Current),
                |v| self.candidate(&ctx, analysis.id, theirs, v),
            )
            .await;
        match extracted {
            Ok(Extracted {
                summary: Some(summary),
                ..
            }) => Ok(summary),
            Ok(Extracted { summary: None, .. }) => {
                // Only a shadow candidate stores nothing, and it never serves.
                let e = JobError::from(StepError::ScanFailed(
                    "the extractor that served stored no analysis".into(),
                ));
                let _ = self.app.fail_analysis(analysis.id, &e.to_string()).await;
                Err(e)
            }
            Err(e) => {
                let _ = self.app.fail_analysis(analysis.id, &e.to_string()).await;
                Err(e)
            }
        }
    }
}

impl Analyzer {
    /// The candidate extractor: in shadow, a scan of the same checkout that stores nothing;
    /// serving, the analysis itself.
    async fn candidate(
        &self,
        ctx: &StepContext,
        analysis_id: i64,
        checkout: Arc<Checkout>,
        v: VariantContext,
    ) -> Result<Extracted, JobError> {
        if !v.is_shadow() {
            return self
                .scan_and_store(ctx, analysis_id, checkout, Extractor::DropSkipped)
                .await;
        }
        let cancel = CancelToken::new();
        let opts = ScanOptions {
            max_file_size: self.config.max_file_bytes,
            threads: self.config.threads,
            cancel: cancel.clone(),
            keep_files: false,
            ..ScanOptions::default()
        };
        // The candidate's timeout (or the job's end) stops its scan too.
        let token = v.cancellation_token();
        let stop = tokio::spawn(async move {
            token.cancelled().await;
            cancel.cancel();
        });
        let scanned = tokio::task::spawn_blocking(move || {
            let mut files = Vec::new();
            scan_each(checkout.path(), &opts, |f| {
                files.push(FileTests::of(&Extractor::DropSkipped.apply(f)));
            })
            .map(|_| files)
        })
        .await;
        stop.abort();
        let files = scanned
            .map_err(StepError::from)?
            .map_err(|e| StepError::ScanFailed(e.to_string()))?;
        Ok(Extracted {
            summary: None,
            files,
        })
    }

    async fn scan_and_store(
        &self,
        ctx: &StepContext,
        analysis_id: i64,
        checkout: Arc<Checkout>,
        extractor: Extractor,
    ) -> Result<Extracted, JobError> {
        let (tx, mut rx) = mpsc::channel::<Vec<TestFile>>(4);
        let cancel = CancelToken::new();
        let opts = ScanOptions {
            max_file_size: self.config.max_file_bytes,
            threads: self.config.threads,
            cancel: cancel.clone(),
            ..ScanOptions::default()
        };
        let scan = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH_FILES);
            let mut receiver_gone = false;
            // What was stored, test by test: what a shadow candidate is compared with.
            let mut extracted = Vec::new();
            let mut result = scan_each(checkout.path(), &opts, |f| {
                if receiver_gone {
                    return;
                }
                let f = extractor.apply(f);
                extracted.push(FileTests::of(&f));
                batch.push(f);
                if batch.len() >= BATCH_FILES {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_FILES));
                    // Blocks while the writer is behind: the scan never runs far ahead of
                    // the database, so memory stays bounded.
                    if tx.blocking_send(full).is_err() {
                        receiver_gone = true;
                        opts.cancel.cancel();
                    }
                }
            });
            if !batch.is_empty() && !receiver_gone {
                let _ = tx.blocking_send(batch);
            }
            if let Ok(inventory) = &mut result {
                if let Err(e) = record_omitted(inventory, checkout.omitted(), opts.max_file_size) {
                    result = Err(e);
                }
            }
            drop(checkout);
            result.map(|inventory| (inventory, extracted))
        });

        let mut stored = 0usize;
        let mut write_error = None;
        while let Some(batch) = rx.recv().await {
            if ctx.is_cancelled() {
                cancel.cancel();
            }
            if let Err(e) = self.app.insert_files(analysis_id, &batch).await {
                write_error = Some(JobError::from(e));
                cancel.cancel();
                break;
            }
            stored += batch.len();
            let _ = ctx
                .progress(
                    50,
                    Some(serde_json::json!({"stage": "scanning", "files": stored})),
                )
                .await;
        }
        drop(rx);
        let (inventory, extracted) = scan
            .await
            .map_err(StepError::from)?
            .map_err(|e| StepError::ScanFailed(e.to_string()))?;
        if let Some(e) = write_error {
            return Err(e);
        }
        if ctx.is_cancelled() {
            return Err(JobError::cancel("the analysis was cancelled"));
        }
        self.app
            .insert_file_errors(analysis_id, &inventory.errors)
            .await?;
        let record = self
            .app
            .finish_analysis(analysis_id, &inventory.stats)
            .await?;
        let stats = inventory.stats;
        let _ = ctx
            .progress(
                100,
                Some(serde_json::json!({"files": stats.test_files, "tests": stats.tests, "errors": stats.errored})),
            )
            .await;
        Ok(Extracted {
            summary: Some(AnalysisSummary {
                analysis_id,
                repository: record.repository,
                commit: record.commit,
                parser_version: record.parser_version,
                reused: false,
                files: stats.test_files,
                tests: stats.tests,
                errors: stats.errored,
                truncated: stats.truncated,
            }),
            files: extracted,
        })
    }
}

#[cfg(test)]
mod tests {
    use specline_inventory::InventoryError;

    use super::*;

    fn class(e: InventoryError) -> (&'static str, String) {
        match JobError::from(e) {
            JobError::Permanent { code, .. } => ("permanent", code),
            JobError::Retryable { code, .. } => ("retryable", code),
            other => ("other", format!("{other:?}")),
        }
    }

    #[test]
    fn a_missing_ref_and_other_lasting_faults_are_permanent() {
        assert_eq!(
            class(InventoryError::RefNotFound("nope".into())),
            ("permanent", "REF_NOT_FOUND".into())
        );
        assert_eq!(
            class(InventoryError::CloneTooLarge { budget: 1 }),
            ("permanent", "CLONE_TOO_LARGE".into())
        );
        let refused = SourceSpec::parse("https://tok3n@h.invalid/r", None, None).unwrap_err();
        assert_eq!(class(refused), ("permanent", "CREDENTIALS_IN_URL".into()));
        // The job's history records the message, which never repeats the token.
        let refused = SourceSpec::parse("https://tok3n@h.invalid/r", None, None).unwrap_err();
        let recorded = JobError::from(refused).to_string();
        assert!(!recorded.contains("tok3n"), "{recorded}");
        assert_eq!(
            class(InventoryError::NotADirectory("/nope".into())),
            ("permanent", "TARGET_NOT_FOUND".into())
        );
        // The network may come back.
        assert_eq!(
            class(InventoryError::GitTimeout { action: "clone" }),
            ("retryable", "GIT_TIMEOUT".into())
        );
        assert_eq!(
            class(InventoryError::Git {
                action: "clone",
                message: "connection refused".into()
            }),
            ("retryable", "GIT_FAILED".into())
        );
    }
}
