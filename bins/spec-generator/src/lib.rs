//! The spec generator's steps: the phases of the spec document library, each a pipeline step
//! on the `spec` queue whose output is its checkpoint.
//!
//! | step | phase | checkpoint inside the step |
//! |---|---|---|
//! | `classify_tests` | group tests into domains and features | after each chunk |
//! | `list_features` | the features to convert, in document order | — |
//! | `convert_behaviors` | one job per feature: its test names → behavior sentences | the feature's output |
//! | `summarize_document` | the summary | — |
//! | `generate_spec_document` | assemble and store the next document version | — |
//!
//! A generator killed mid-phase loses at most the request in flight: the step runs again
//! (on any generator process) and resumes from its last checkpoint. The conversion fans out
//! (a mapped step): each feature is a job of its own that any generator may take, so two
//! generators convert one document together; the summary step joins the features in feature
//! order, so the document is the same whichever process converted what. If the same analysis,
//! language and generator already produced a document, every step passes it through
//! instead of calling the model again.

pub mod cache;
pub mod call_gate;
pub mod cost;
pub mod input_memo;
pub mod model_rollout;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use specline_app::store::{AppStore, NewDocument, NewDocumentDiff, StoreError};
use specline_app::{
    ClassifyTests, ConvertBehaviors, DocumentSummary, GenerateSpecDocument, ListFeatures,
    SpecContext, StepError, SummarizeDocument,
};
use specline_queue::pipeline::{Outcome, Step, StepContext};
use specline_queue::rollout::{Rollout, RolloutOptions, VariantContext};
use specline_queue::store::Store;
use specline_queue::{JobError, Registry};
use specline_service::db::Databases;
use specline_settings::{ProviderKind, ProviderSettings, SpecGeneratorSection};
use specline_specdoc::cache::MemoryCache;
use specline_specdoc::cli::{ModelConfig, ModelProvider};
use specline_specdoc::phases::{
    self, AssembleMeta, Behaviors, Classification, ClassifyProgress, FeatureConversion, FeatureRef,
    GenerateOptions, Generator, Summary,
};
use specline_specdoc::provider::ApiKey;
use specline_specdoc::{LanguageTag, SpecDocument, SpecError, SpecInput};
use tokio::sync::watch;

use model_rollout::Classified;

/// Queues this binary consumes.
pub const QUEUES: &[&str] = &[specline_app::SPEC_QUEUE];

/// The generator the `[provider]` section asks for (`none` = offline), its calls limited per
/// provider key across every process on `jobs` when `requests_per_minute` is set.
pub fn generator_from_settings(
    p: &ProviderSettings,
    jobs: Option<Arc<dyn Store>>,
) -> Result<Generator, SpecError> {
    model_generator(
        p,
        p.model.as_deref(),
        p.base_url.as_deref(),
        p.api_key.as_ref(),
        jobs,
    )
}

/// The candidate model of `provider.candidate_model`, at the same provider kind, if one is
/// set: the rollout `classify_tests.model` ([`model_rollout`]).
pub fn candidate_from_settings(
    p: &ProviderSettings,
    jobs: Option<Arc<dyn Store>>,
) -> Result<Option<Generator>, SpecError> {
    let Some(model) = p.candidate_model.as_deref() else {
        return Ok(None);
    };
    if p.kind == ProviderKind::None {
        return Err(SpecError::InvalidConfig(
            "provider.candidate_model needs provider.kind = \"gemini\" or \"openai\"".into(),
        ));
    }
    let base_url = p.candidate_base_url.as_deref().or(p.base_url.as_deref());
    let api_key = p.candidate_api_key.as_ref().or(p.api_key.as_ref());
    model_generator(p, Some(model), base_url, api_key, jobs).map(Some)
}

/// A generator of `p`'s kind and limits for `model` at `base_url` with `api_key`, its calls
/// held to `requests_per_minute` per key across every process on `jobs` (the rate gate).
fn model_generator(
    p: &ProviderSettings,
    model: Option<&str>,
    base_url: Option<&str>,
    api_key: Option<&specline_settings::Secret>,
    jobs: Option<Arc<dyn Store>>,
) -> Result<Generator, SpecError> {
    let provider = match p.kind {
        ProviderKind::None => return Ok(Generator::offline()),
        ProviderKind::Gemini => ModelProvider::Gemini,
        ProviderKind::OpenAi => ModelProvider::OpenAi,
    };
    let mut config = ModelConfig::new(provider, model.unwrap_or_default().to_string());
    config.api_key = api_key.map(|k| ApiKey::new(k.expose()));
    config.base_url = base_url.map(str::to_string);
    config.timeout = p.timeout();
    config.max_attempts = p.max_retries.saturating_add(1);
    config.requests_per_minute = p.requests_per_minute.unwrap_or(0);
    if let (Some(jobs), Some(key), Some(rpm)) = (jobs, &config.api_key, p.requests_per_minute) {
        let gate = call_gate::ModelCallGate::new(jobs, provider.name(), key, rpm);
        config.gate = Some(Arc::new(gate));
    }
    config.build()
}

/// What the four steps share.
pub struct SpecGenerator {
    pub app: Arc<dyn AppStore>,
    /// The engine's store: who owns a run (for cost accounting and budgets).
    pub jobs: Arc<dyn Store>,
    pub generator: Generator,
    /// Past this share of changed tests (percent), a new version is classified from scratch
    /// instead of incrementally (`spec_generator.max_changed_percent`).
    pub max_changed_percent: u8,
    /// Model calls an owner may spend over 24 hours (`spec_generator.owner_calls_per_day`).
    pub owner_calls_per_day: Option<u64>,
    /// The candidate model of the rollout `classify_tests.model` (`provider.candidate_model`),
    /// with the same caches as `generator`; `None`: the classification is the primary's only.
    pub candidate: Option<Generator>,
    /// The classification's rollout ([`model_rollout`]); `off` unless an operator sets it.
    pub model: Rollout<Classified>,
    /// The inputs of the last few analyses, so the per-feature jobs of a document do not
    /// each load its inventory again.
    pub inputs: input_memo::InputMemo,
}

/// Analyses whose inputs a generator keeps in memory: as many documents as it converts at
/// once in the usual case (a few owners' documents, 12 features of each at most).
const KEPT_INPUTS: usize = 4;

impl SpecGenerator {
    /// The steps' shared state as a binary's settings ask: the `[provider]`'s generator, the
    /// `[spec_generator]` rules, the caches in the application's tables.
    pub fn from_settings(
        dbs: &Databases,
        provider: &ProviderSettings,
        section: &SpecGeneratorSection,
    ) -> Result<Self, SpecError> {
        let mut s = Self::new(
            dbs.app.clone(),
            dbs.jobs.clone(),
            generator_from_settings(provider, Some(dbs.jobs.clone()))?,
        );
        s.max_changed_percent = section.max_changed_percent;
        s.owner_calls_per_day = section.owner_calls_per_day;
        s.model = model_rollout::rollout(section.job_timeout());
        s.candidate = candidate_from_settings(provider, Some(dbs.jobs.clone()))?
            .map(|g| g.with_cache(Arc::new(cache::StoreCache::new(s.app.clone()))));
        Ok(s)
    }

    /// The steps' shared state, with the generator's caches in the application's tables
    /// (shared by every spec generator process on this database).
    pub fn new(app: Arc<dyn AppStore>, jobs: Arc<dyn Store>, generator: Generator) -> Self {
        let generator = generator.with_cache(Arc::new(cache::StoreCache::new(app.clone())));
        Self {
            app,
            jobs,
            generator,
            max_changed_percent: phases::DEFAULT_MAX_CHANGED_PERCENT,
            owner_calls_per_day: None,
            candidate: None,
            model: model_rollout::rollout(RolloutOptions::default().candidate_timeout),
            inputs: input_memo::InputMemo::new(KEPT_INPUTS),
        }
    }
}

/// The registry of everything this binary runs.
pub fn registry(shared: SpecGenerator) -> Registry {
    let shared = Arc::new(shared);
    Registry::new()
        .step(Classify(shared.clone()))
        .step(List)
        .step(Convert(shared.clone()))
        .step(Summarize(shared.clone()))
        .step(Assemble(shared))
}

/// `registry` with the per-owner limits its settings give: `steps_per_owner` for every spec
/// step, then `features_per_owner` for the per-feature conversion, and the owners' fairness
/// weights for all of them (an operator's override in the database still wins over each).
pub fn with_owner_limits(registry: Registry, section: &SpecGeneratorSection) -> Registry {
    registry
        .with_per_partition(section.steps_per_owner)
        .with_kind_per_partition(
            <specline_app::ConvertBehaviors as specline_queue::pipeline::StepKind>::NAME,
            section.features_per_owner,
        )
        .with_weights(&section.owner_weights)
}

/// A spec step's output: its phase's value, or the id of an existing document every later
/// step passes through.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Phase<T> {
    Reused { reused_document: i64 },
    Done(T),
}

/// A failed phase as the job's error (an open circuit breaker snoozes the step: see
/// [`SpecError`]'s class), logged when it snoozes so a paused provider shows in the log.
fn spec_error(e: SpecError) -> JobError {
    snooze_logged(JobError::from(e))
}

fn snooze_logged(job: JobError) -> JobError {
    if let JobError::Snooze(wait) = &job {
        tracing::info!(?wait, "provider paused by its circuit breaker; snoozing");
    }
    job
}

fn bad_checkpoint(step: &str, e: impl std::fmt::Display) -> JobError {
    SpecError::InconsistentInput(format!("the output of `{step}` cannot be read: {e}")).into()
}

/// The output of an earlier spec step, typed.
fn earlier<T: DeserializeOwned>(
    value: &Option<serde_json::Value>,
    step: &str,
) -> Result<Phase<T>, JobError> {
    let v = value
        .clone()
        .ok_or_else(|| bad_checkpoint(step, "it is missing from the run's context"))?;
    serde_json::from_value(v).map_err(|e| bad_checkpoint(step, e))
}

fn to_value<T: Serialize>(phase: &Phase<T>) -> Result<serde_json::Value, JobError> {
    json(phase)
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, JobError> {
    Ok(serde_json::to_value(value).map_err(StepError::from)?)
}

/// A feature's failed conversion as its job's error under the provider's own code (the code
/// the document shows for a feature that falls back), classed as the provider error says:
/// retried, snoozed while the circuit is open, or permanent. Other errors keep their code.
fn feature_error(e: SpecError) -> JobError {
    match e {
        SpecError::ConvertFailed { last_error, .. } => snooze_logged(JobError::from(last_error)),
        other => spec_error(other),
    }
}

impl SpecGenerator {
    fn options(&self, c: &SpecContext) -> Result<GenerateOptions, JobError> {
        let language = LanguageTag::parse(&c.input.lang).map_err(SpecError::from)?;
        let mut opts = GenerateOptions::new(language);
        opts.fresh = c.input.fresh;
        opts.max_changed_percent = self.max_changed_percent;
        Ok(opts)
    }

    /// The latest document of this repository and language, if this generator (kind, model,
    /// prompt version) wrote it: the start of incremental placement. A document of another
    /// generator, or one that cannot be read, means classifying from scratch.
    async fn previous(&self, c: &SpecContext) -> Result<Option<SpecDocument>, JobError> {
        let info = self.generator.info();
        let Some(record) = self
            .app
            .latest_document(&c.analyze_repository.repository, &c.input.lang)
            .await?
        else {
            return Ok(None);
        };
        if (
            record.head.generator_kind.as_str(),
            record.head.model.as_str(),
            record.head.prompt_version.as_str(),
        ) != (
            info.kind.as_str(),
            info.model.as_str(),
            info.prompt_version.as_str(),
        ) {
            return Ok(None);
        }
        match serde_json::from_value::<SpecDocument>(record.content) {
            Ok(doc) => Ok(Some(doc)),
            Err(e) => {
                tracing::warn!(document = record.head.id, error = %e, "the previous document cannot be read; classifying from scratch");
                Ok(None)
            }
        }
    }

    /// The analysis's spec input, from memory when a job of the same analysis built it.
    async fn input(&self, c: &SpecContext) -> Result<Arc<SpecInput>, JobError> {
        let analysis = c.analyze_repository.analysis_id;
        if let Some(input) = self.inputs.get(analysis) {
            return Ok(input);
        }
        let inventory = self.app.load_inventory(analysis).await?;
        let input = SpecInput::from_inventory(&inventory, Some(&c.analyze_repository.repository))
            .map_err(spec_error)?;
        let input = Arc::new(input);
        self.inputs.put(analysis, input.clone());
        Ok(input)
    }

    /// A document this analysis, language and generator already produced.
    async fn existing(&self, c: &SpecContext) -> Result<Option<i64>, JobError> {
        let info = self.generator.info();
        Ok(self
            .app
            .find_document(
                c.analyze_repository.analysis_id,
                &c.input.lang,
                &info.kind,
                &info.model,
                &info.prompt_version,
            )
            .await?
            .map(|d| d.head.id))
    }
}

/// Runs `f` while writing each value `f` reports to the step's checkpoint `key` (the latest
/// one wins when the database is slower than the phase).
async fn with_checkpoints<T, R, F, Fut>(ctx: &StepContext, key: &str, f: F) -> R
where
    T: Serialize + Clone + Send + Sync,
    F: FnOnce(watch::Sender<Option<T>>) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    let (tx, mut rx) = watch::channel::<Option<T>>(None);
    let work = f(tx);
    let writer = async {
        while rx.changed().await.is_ok() {
            let value = rx.borrow_and_update().clone();
            if let Some(v) = value {
                if let Err(e) = ctx.checkpoint(key, &v).await {
                    tracing::warn!(error = %e, key, "could not save a checkpoint");
                }
            }
        }
    };
    let (result, ()) = tokio::join!(work, writer);
    result
}

/// The candidate model's classification: in shadow, with a cache of its own in memory (it
/// stores nothing); serving, with the generator's caches like the primary.
async fn classify_candidate(
    candidate: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
    previous: Option<&SpecDocument>,
    v: VariantContext,
    tests: Arc<Vec<String>>,
) -> Result<Classified, JobError> {
    let shadow;
    let gen = if v.is_shadow() {
        shadow = candidate.clone().with_cache(Arc::new(MemoryCache::new()));
        &shadow
    } else {
        candidate
    };
    let classification = phases::classify_from(gen, input, opts, previous, None, None)
        .await
        .map_err(spec_error)?;
    Ok(Classified {
        classification,
        tests,
    })
}

struct Classify(Arc<SpecGenerator>);
struct List;
struct Convert(Arc<SpecGenerator>);
struct Summarize(Arc<SpecGenerator>);
struct Assemble(Arc<SpecGenerator>);

impl Step for Classify {
    type Kind = ClassifyTests;
    async fn run(&self, ctx: StepContext, c: SpecContext) -> Result<serde_json::Value, JobError> {
        let s = &self.0;
        if !c.input.fresh {
            if let Some(id) = s.existing(&c).await? {
                return to_value(&Phase::<()>::Reused {
                    reused_document: id,
                });
            }
        }
        let input = s.input(&c).await?;
        let opts = s.options(&c)?;
        let previous = if opts.fresh {
            None
        } else {
            s.previous(&c).await?
        };
        let resume: Option<ClassifyProgress> = ctx.restore("classify").await?;
        let chunks = phases::chunk_by_file(&input.tests, opts.classify_chunk_tests).len();
        let gen = &s.generator;
        let owner = cost::owner_of(&s.jobs, ctx.run_id()).await?;
        let estimate = phases::estimate(gen, &input, &opts, previous.as_ref()).await;
        tracing::info!(
            run = ctx.run_id(),
            calls = estimate.total_calls(),
            classify = estimate.classify_calls,
            convert = estimate.convert_calls,
            summarize = estimate.summarize_calls,
            "estimated model calls"
        );
        cost::check_budget(&*s.app, &owner, &estimate, s.owner_calls_per_day).await?;
        let primary = with_checkpoints(&ctx, "classify", |tx| {
            let (input, opts, ctx, previous) = (&input, &opts, &ctx, &previous);
            async move {
                let mut hook = move |p: &ClassifyProgress| {
                    let _ = tx.send(Some(p.clone()));
                };
                let _ = ctx
                    .progress(
                        0,
                        Some(serde_json::json!({"chunks": chunks, "estimate": estimate})),
                    )
                    .await;
                phases::classify_from(gen, input, opts, previous.as_ref(), resume, Some(&mut hook))
                    .await
            }
        });
        let classification = match &s.candidate {
            None => primary.await.map_err(spec_error)?,
            Some(candidate) => {
                let tests = model_rollout::test_labels(&input);
                let theirs = tests.clone();
                let (input, opts, previous) = (&input, &opts, previous.as_ref());
                s.model
                    .run(
                        ctx.job(),
                        &c.analyze_repository.repository,
                        |_| async move {
                            let classification = primary.await.map_err(spec_error)?;
                            Ok(Classified {
                                classification,
                                tests,
                            })
                        },
                        |v| classify_candidate(candidate, input, opts, previous, v, theirs),
                    )
                    .await?
                    .classification
            }
        };
        cost::record(
            &s.jobs,
            &*s.app,
            &c,
            ctx.run_id(),
            "classify",
            &classification.usage,
        )
        .await?;
        let _ = ctx
            .progress(
                100,
                Some(serde_json::json!({"domains": classification.domains.len()})),
            )
            .await;
        to_value(&Phase::Done(classification))
    }
}

impl Step for List {
    type Kind = ListFeatures;
    async fn run(&self, _ctx: StepContext, c: SpecContext) -> Result<serde_json::Value, JobError> {
        match earlier::<Classification>(&c.classify_tests, "classify_tests")? {
            // Nothing to convert: every later step passes the document through.
            Phase::Reused { .. } => json(&Vec::<FeatureRef>::new()),
            Phase::Done(classification) => json(&phases::features(&classification)),
        }
    }
}

impl Step for Convert {
    type Kind = ConvertBehaviors;
    async fn run(&self, ctx: StepContext, c: SpecContext) -> Result<serde_json::Value, JobError> {
        let s = &self.0;
        let classification = match earlier::<Classification>(&c.classify_tests, "classify_tests")? {
            Phase::Reused { .. } => {
                return Err(bad_checkpoint(
                    "list_features",
                    "a reused document has no feature to convert",
                ))
            }
            Phase::Done(c) => c,
        };
        let at: FeatureRef = serde_json::from_value(
            c.item
                .clone()
                .ok_or_else(|| bad_checkpoint("list_features", "the job has no item"))?,
        )
        .map_err(|e| bad_checkpoint("list_features", e))?;
        let input = s.input(&c).await?;
        let opts = s.options(&c)?;
        match phases::convert_one(&s.generator, &input, &classification, &opts, &at).await {
            Ok(done) => json(&done),
            Err(e) => {
                // The attempt's calls are paid for whether it is retried or falls back.
                if let SpecError::ConvertFailed { partial, .. } = &e {
                    cost::add_failed_conversion(&s.jobs, &*s.app, &c, ctx.run_id(), &partial.usage)
                        .await;
                }
                Err(feature_error(e))
            }
        }
    }
}

/// The features' outcomes joined into the conversion's behaviors, in feature order (more
/// than half of them failed: `FEATURES_FAILED`, permanent).
fn joined(
    c: &SpecContext,
    input: &SpecInput,
    classification: &Classification,
    opts: &GenerateOptions,
) -> Result<Behaviors, JobError> {
    let outcomes: Vec<Outcome<FeatureConversion>> =
        serde_json::from_value(c.convert_behaviors.clone().ok_or_else(|| {
            bad_checkpoint("convert_behaviors", "it is missing from the run's context")
        })?)
        .map_err(|e| bad_checkpoint("convert_behaviors", e))?;
    let outcomes = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Ok(done) => Ok(done),
            Outcome::Failed { code, message } => Err((code, message)),
        })
        .collect();
    phases::join(input, classification, opts, outcomes).map_err(spec_error)
}

impl Step for Summarize {
    type Kind = SummarizeDocument;
    async fn run(&self, ctx: StepContext, c: SpecContext) -> Result<serde_json::Value, JobError> {
        let s = &self.0;
        let classification = match earlier::<Classification>(&c.classify_tests, "classify_tests")? {
            Phase::Reused { reused_document } => {
                return to_value(&Phase::<()>::Reused { reused_document })
            }
            Phase::Done(c) => c,
        };
        let input = s.input(&c).await?;
        let opts = s.options(&c)?;
        let behaviors = joined(&c, &input, &classification, &opts)?;
        // The conversion's cost, once for all its features (a retried join replaces it).
        cost::record(
            &s.jobs,
            &*s.app,
            &c,
            ctx.run_id(),
            "convert",
            &behaviors.usage,
        )
        .await?;
        let summary =
            phases::summarize(&s.generator, &input, &classification, &behaviors, &opts).await;
        cost::record(
            &s.jobs,
            &*s.app,
            &c,
            ctx.run_id(),
            "summarize",
            &summary.usage,
        )
        .await?;
        to_value(&Phase::Done(summary))
    }
}

impl Step for Assemble {
    type Kind = GenerateSpecDocument;
    async fn run(&self, ctx: StepContext, c: SpecContext) -> Result<DocumentSummary, JobError> {
        let s = &self.0;
        let summary_of = |id: i64, d: &specline_app::store::DocumentRecord| DocumentSummary {
            document_id: id,
            analysis_id: d.head.analysis_id,
            repository: d.head.repository.clone(),
            language: d.head.language.clone(),
            version: d.head.version,
            behaviors: d.head.behaviors,
            reused: true,
        };
        let reused = |id: i64| async move {
            let d = s
                .app
                .get_document(id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("document {id} is gone")))?;
            Ok::<_, JobError>(summary_of(id, &d))
        };
        let classification = match earlier::<Classification>(&c.classify_tests, "classify_tests")? {
            Phase::Reused { reused_document } => return reused(reused_document).await,
            Phase::Done(v) => v,
        };
        let summary = match earlier::<Summary>(&c.summarize_document, "summarize_document")? {
            Phase::Reused { reused_document } => return reused(reused_document).await,
            Phase::Done(v) => v,
        };
        let input = s.input(&c).await?;
        let opts = s.options(&c)?;
        let behaviors = joined(&c, &input, &classification, &opts)?;
        let analysis = &c.analyze_repository;
        // Only a guess: the store assigns the version under its lock and writes it into the
        // stored JSON (`store_document`), so concurrent generations cannot disagree.
        let latest = s
            .app
            .latest_document(&analysis.repository, &c.input.lang)
            .await?;
        let next_version = latest
            .as_ref()
            .map_or(1, |d| d.head.version.saturating_add(1));
        let info = s.generator.info();
        let mut document = phases::assemble(
            &input,
            &classification,
            &behaviors,
            &summary,
            &opts,
            AssembleMeta {
                version: u32::try_from(next_version).unwrap_or(1),
                generator: info.clone(),
                generated_at: chrono::Utc::now(),
            },
        )
        .map_err(spec_error)?;
        document.analysis_id = analysis.analysis_id.to_string();
        document.commit = analysis.commit.clone();
        let behaviors_count = i64::try_from(document.stats.behaviors).unwrap_or(i64::MAX);
        let content = serde_json::to_value(&document).map_err(StepError::from)?;
        let record = s
            .app
            .store_document(&NewDocument {
                analysis_id: analysis.analysis_id,
                repository: analysis.repository.clone(),
                language: c.input.lang.clone(),
                generator_kind: info.kind,
                model: info.model,
                prompt_version: info.prompt_version,
                content,
                behaviors: behaviors_count,
                run_id: Some(ctx.run_id()),
            })
            .await?;
        if let Err(e) = s.app.attach_usage(ctx.run_id(), record.head.id).await {
            tracing::warn!(document = record.head.id, error = %e, "model usage could not be tied to its document");
        }
        if let Some(base) = latest.filter(|b| b.head.id != record.head.id) {
            document.version = u32::try_from(record.head.version).unwrap_or(document.version);
            store_diff(&*s.app, &base, record.head.id, &document).await;
        }
        Ok(DocumentSummary {
            reused: false,
            ..summary_of(record.head.id, &record)
        })
    }
}

/// Stores what changed from `base` to the new version. A diff is an addition to the document,
/// not part of it: a failure is logged, and the CLI can still compute it from both versions.
async fn store_diff(
    app: &dyn AppStore,
    base: &specline_app::store::DocumentRecord,
    document_id: i64,
    document: &SpecDocument,
) {
    let previous = match serde_json::from_value::<SpecDocument>(base.content.clone()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(document = base.head.id, error = %e, "the previous version cannot be read; no diff stored");
            return;
        }
    };
    let diff = specline_specdoc::diff::between(&previous, document);
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let new = NewDocumentDiff {
        document_id,
        base_document_id: base.head.id,
        added: count(diff.counts.added),
        removed: count(diff.counts.removed),
        reworded: count(diff.counts.reworded),
        moved: count(diff.counts.moved),
        content: match serde_json::to_value(&diff) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    if let Err(e) = app.store_document_diff(&new).await {
        tracing::warn!(document = document_id, error = %e, "the diff could not be stored");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use specline_specdoc::{ProviderError, ProviderErrorCode};

    use super::*;

    fn provider(code: ProviderErrorCode, retry_after: Option<Duration>) -> ProviderError {
        let mut e = ProviderError::new(code, "x");
        e.retry_after = retry_after;
        e
    }

    /// `CONVERT_FAILED` of `failed` of `total` features, nothing converted.
    fn convert_failed(failed: usize, total: usize, last_error: ProviderError) -> SpecError {
        SpecError::ConvertFailed {
            failed,
            total,
            last_error,
            partial: Box::new(Behaviors {
                content_hash: String::new(),
                language: LanguageTag::parse("en").unwrap(),
                classification: String::new(),
                features: vec![],
                usage: specline_specdoc::document::TokenUsage::default(),
            }),
        }
    }

    /// A feature's job fails under its provider error's code (what the document shows when
    /// the feature falls back), retried, permanent or snoozed as that error is.
    #[test]
    fn a_failed_feature_fails_its_job_under_the_provider_code() {
        let feature = |p: ProviderError| convert_failed(1, 1, p);
        match feature_error(feature(provider(ProviderErrorCode::ServerError, None))) {
            JobError::Retryable { code, message } => {
                assert_eq!(code, "SERVER_ERROR");
                assert!(message.starts_with("SERVER_ERROR: "), "{message}");
            }
            other => panic!("expected a retry, got {other}"),
        }
        match feature_error(feature(provider(ProviderErrorCode::Unauthorized, None))) {
            JobError::Permanent { code, .. } => assert_eq!(code, "UNAUTHORIZED"),
            other => panic!("expected a permanent failure, got {other}"),
        }
        let open = provider(ProviderErrorCode::CircuitOpen, Some(Duration::from_secs(3)));
        assert!(matches!(
            feature_error(feature(open)),
            JobError::Snooze(d) if d == Duration::from_secs(3)
        ));
        let join = SpecError::FeaturesFailed {
            failed: 3,
            total: 4,
            last_code: "SERVER_ERROR".into(),
        };
        assert!(matches!(
            spec_error(join),
            JobError::Permanent { code, .. } if code == "FEATURES_FAILED"
        ));
    }

    /// An open breaker snoozes the step until its next trial; other provider failures keep
    /// their retryable or permanent class.
    #[test]
    fn an_open_circuit_snoozes_the_job_until_the_next_trial() {
        let open = provider(ProviderErrorCode::CircuitOpen, Some(Duration::from_secs(7)));
        match spec_error(SpecError::ClassifyFailed(open.clone())) {
            JobError::Snooze(d) => assert_eq!(d, Duration::from_secs(7)),
            other => panic!("expected a snooze, got {other}"),
        }
        let convert = convert_failed(3, 4, open);
        assert!(matches!(spec_error(convert), JobError::Snooze(_)));
        assert!(matches!(
            spec_error(SpecError::ClassifyFailed(provider(
                ProviderErrorCode::ServerError,
                None
            ))),
            JobError::Retryable { .. }
        ));
        assert!(matches!(
            spec_error(SpecError::ClassifyFailed(provider(
                ProviderErrorCode::Unauthorized,
                None
            ))),
            JobError::Permanent { .. }
        ));
    }
}
