//! The application's pipelines, job kinds and tables, shared by every binary.
//!
//! Every binary links this crate: the ones that submit work (enqueue, the API, the
//! scheduler) and the ones that run it (analyzer, spec generator). It therefore holds names,
//! queues, options, the data that travels between steps and the application's tables
//! ([`store`]) — and nothing that a step needs to *run*: the analyzer implements
//! [`AnalyzeRepository`] with Tree-sitter, the spec generator implements the spec steps with
//! the model providers, and neither links the other's dependencies. The spec phases' own
//! data (classification, behaviors, summary) is therefore opaque JSON here: only the spec
//! generator reads it.

mod codes;
pub mod policy;
pub mod store;
pub mod tokens;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use specline_queue::{KindOptions, Limits, PartitionBy, Pipeline, StepKind};

pub use codes::{AppCode, StepError};
pub use store::{AppStore, PgAppStore, SqliteAppStore};

/// Queue of the analyzer: short, CPU-bound jobs.
pub const ANALYZE_QUEUE: &str = "analyze";
/// Queue of the spec generator: long, I/O-bound jobs.
pub const SPEC_QUEUE: &str = "spec";

/// Owner of runs submitted by the operator tools (`specline-enqueue`, `specline analyze`,
/// the scheduler). The API (a later issue) submits per user.
pub const SYSTEM_OWNER: &str = "system";

/// What a client asks for: analyze a repository and write its spec document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisRequest {
    /// A local directory or a git URL (never with credentials in it).
    pub target: String,
    /// Branch or tag to clone; `None` means the remote's default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Output language of the document (BCP-47).
    pub lang: String,
    /// An access token for a private repository, encrypted with the deployment's key
    /// (`specline_settings::TokenCipher`). Only the analyzer holds the key to read it, so the
    /// run's stored input never holds a usable secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_token: Option<String>,
    /// Classify every test again instead of starting from the previous document version
    /// (incremental placement), and write a new version even if this analysis already has a
    /// document.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
}

/// The context `analyze_repository` reads.
#[derive(Debug, Clone, Deserialize)]
pub struct AnalyzeContext {
    pub input: AnalysisRequest,
}

/// What `analyze_repository` hands on: a reference to the stored analysis, not the
/// inventory itself (which lives in the inventory tables and can be large).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    pub analysis_id: i64,
    pub repository: String,
    pub commit: Option<String>,
    pub parser_version: String,
    /// True when an earlier complete analysis of the same commit and parser version was
    /// reused instead of scanning again.
    pub reused: bool,
    pub files: u64,
    pub tests: u64,
    pub errors: u64,
    pub truncated: bool,
}

/// Clone or open the repository, extract its test inventory and store it.
pub struct AnalyzeRepository;

impl StepKind for AnalyzeRepository {
    const NAME: &'static str = "analyze_repository";
    const QUEUE: &'static str = ANALYZE_QUEUE;
    type Context = AnalyzeContext;
    type Output = AnalysisSummary;
    fn options() -> KindOptions {
        KindOptions {
            timeout: Duration::from_secs(15 * 60),
            max_attempts: 3,
            limits: per_owner(ANALYSES_PER_OWNER),
            ..KindOptions::default()
        }
    }
}

/// Analyses of one owner running at once, over every analyzer (an operator changes it at
/// runtime with `specline-enqueue limits set analyze_repository '{"per_partition": N}'` or
/// `PUT /api/v1/admin/limits/analyze_repository`): one owner's 500 submissions queue behind
/// each other instead of taking every analyzer, and other owners' runs start in between.
pub const ANALYSES_PER_OWNER: u32 = 2;

/// Each spec step of one owner running at once, over every spec generator (overridable as
/// [`ANALYSES_PER_OWNER`] is).
pub const SPEC_STEPS_PER_OWNER: u32 = 2;

/// Features of one owner converted at once, over every spec generator (`convert_behaviors`
/// runs one job per feature; overridable as [`ANALYSES_PER_OWNER`] is). More than one
/// generator's default `spec_generator.concurrency` (8), so when one generator has filled its
/// slots with an owner's document a second one still takes features of it — one document is
/// converted by two generators in parallel; fewer than two generators' slots (16), so one
/// owner's 40-feature document never holds every slot of a two-generator deployment and
/// other owners' features start in between. (The single conversion job before it held 2 per
/// owner, each converting 4 features at a time: 8 model calls at once.)
pub const FEATURES_PER_OWNER: u32 = 12;

/// A step's limits: partitioned by the run's owner, at most `n` running per owner.
fn per_owner(n: u32) -> Limits {
    Limits::new()
        .partition(PartitionBy::Metadata("owner"))
        .per_partition(n)
}

/// The context every spec step reads: the request, the analysis, and the outputs of the
/// spec steps before it (opaque here; the spec generator gives them their types).
#[derive(Debug, Clone, Deserialize)]
pub struct SpecContext {
    pub input: AnalysisRequest,
    pub analyze_repository: AnalysisSummary,
    #[serde(default)]
    pub classify_tests: Option<serde_json::Value>,
    /// The features to convert, one item each (see [`ListFeatures`]).
    #[serde(default)]
    pub list_features: Option<serde_json::Value>,
    /// In a `convert_behaviors` item job: the feature it converts (an item of
    /// `list_features`).
    #[serde(default)]
    pub item: Option<serde_json::Value>,
    /// Every feature's outcome in feature order (`pipeline::Outcome` of each item).
    #[serde(default)]
    pub convert_behaviors: Option<serde_json::Value>,
    #[serde(default)]
    pub summarize_document: Option<serde_json::Value>,
}

/// The stored document a run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummary {
    pub document_id: i64,
    pub analysis_id: i64,
    pub repository: String,
    pub language: String,
    /// Version of the document for its (repository, language).
    pub version: i32,
    pub behaviors: i64,
    /// True when a document of the same analysis, language and generator already existed.
    pub reused: bool,
}

macro_rules! spec_step {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $output:ty, $timeout_secs:expr) => {
        spec_step!($(#[$doc])* $ty, $name, $output, $timeout_secs, SPEC_STEPS_PER_OWNER);
    };
    ($(#[$doc:meta])* $ty:ident, $name:literal, $output:ty, $timeout_secs:expr, $per_owner:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl StepKind for $ty {
            const NAME: &'static str = $name;
            const QUEUE: &'static str = SPEC_QUEUE;
            type Context = SpecContext;
            type Output = $output;
            fn options() -> KindOptions {
                KindOptions {
                    timeout: Duration::from_secs($timeout_secs),
                    max_attempts: 5,
                    limits: per_owner($per_owner),
                    ..KindOptions::default()
                }
            }
        }
    };
}

spec_step!(
    /// Phase 1: group the tests into domains and features (checkpointed per chunk).
    ClassifyTests, "classify_tests", serde_json::Value, 30 * 60
);
spec_step!(
    /// Between phases 1 and 2: the classification's features in document order, the list
    /// `convert_behaviors` maps over (empty when an existing document is reused).
    ListFeatures, "list_features", serde_json::Value, 60
);
spec_step!(
    /// Phase 2, one job per feature (a mapped step over `list_features`): the feature's tests
    /// become behavior sentences; the item's output is its checkpoint. Its own job, after the
    /// last feature, joins the features' outcomes in feature order.
    ConvertBehaviors, "convert_behaviors", serde_json::Value, 30 * 60, FEATURES_PER_OWNER
);
spec_step!(
    /// Phase 3: the document's summary.
    SummarizeDocument, "summarize_document", serde_json::Value, 10 * 60
);
spec_step!(
    /// Phase 4: assemble the document and store it as the next version.
    GenerateSpecDocument, "generate_spec_document", DocumentSummary, 10 * 60
);

/// Name of the one pipeline.
pub const ANALYZE_AND_GENERATE: &str = "analyze_and_generate";

/// "Analyze and generate" as one run, so a client follows one run id from clone to document.
///
/// A chain except for the conversion, which fans out: one `convert_behaviors` job per feature
/// (on any spec generator), joined before `summarize_document`. A feature that fails after
/// its retries does not fail the run (`allow_failure`): it falls back to its test names, and
/// more than half of the features failing fails the join, as in one process.
pub fn analyze_and_generate() -> Pipeline {
    Pipeline::new(ANALYZE_AND_GENERATE)
        .step::<AnalyzeRepository>()
        .step::<ClassifyTests>()
        .step::<ListFeatures>()
        .map::<ConvertBehaviors>(ListFeatures::NAME, &[ClassifyTests::NAME])
        .allow_failure()
        .after::<SummarizeDocument>(&[ConvertBehaviors::NAME])
        .after::<GenerateSpecDocument>(&[SummarizeDocument::NAME])
}

/// Every queue the application's job kinds use, for checks that each has a consumer.
pub fn queues() -> Vec<&'static str> {
    vec![ANALYZE_QUEUE, SPEC_QUEUE]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_analyzes_on_the_analyze_queue_then_runs_every_spec_phase_on_the_spec_queue() {
        let p = analyze_and_generate();
        let steps: Vec<(&str, &str)> = p
            .steps
            .iter()
            .map(|s| (s.kind.as_str(), s.queue.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("analyze_repository", "analyze"),
                ("classify_tests", "spec"),
                ("list_features", "spec"),
                ("convert_behaviors", "spec"),
                ("summarize_document", "spec"),
                ("generate_spec_document", "spec"),
            ]
        );
    }

    /// The conversion fans out over the listed features, may fail per feature, and is joined
    /// before the summary; everything else is a chain.
    #[test]
    fn the_conversion_is_a_map_over_the_listed_features_joined_before_the_summary() {
        let built = analyze_and_generate().build();
        let steps = match built {
            Ok(p) => p.steps,
            Err(e) => panic!("the pipeline does not build: {e}"),
        };
        let at = |name: &str| steps.iter().position(|s| s.kind == name);
        let convert = &steps[at("convert_behaviors").unwrap_or(usize::MAX)];
        assert_eq!(convert.map_over, at("list_features"));
        assert!(convert.allow_failure);
        let summarize = &steps[at("summarize_document").unwrap_or(usize::MAX)];
        assert_eq!(
            summarize.after,
            Some(vec![at("convert_behaviors").unwrap_or(0)])
        );
        assert!(steps
            .iter()
            .filter(|s| s.kind != "convert_behaviors")
            .all(|s| !s.allow_failure && s.map_over.is_none()));
    }

    #[test]
    fn every_step_is_limited_per_run_owner() {
        let input = serde_json::json!({"target": "https://example.org/r.git", "lang": "en"});
        let metadata = serde_json::json!({"owner": "alice"});
        for kind in analyze_and_generate().kinds() {
            let limits = &kind.options.limits;
            let expected = match kind.kind.as_str() {
                AnalyzeRepository::NAME => ANALYSES_PER_OWNER,
                ConvertBehaviors::NAME => FEATURES_PER_OWNER,
                _ => SPEC_STEPS_PER_OWNER,
            };
            assert_eq!(limits.values.per_partition, Some(expected), "{}", kind.kind);
            assert_eq!(
                limits.partition_of(&input, &metadata).as_deref(),
                Some("alice"),
                "{}",
                kind.kind
            );
        }
    }

    #[test]
    fn a_request_without_a_token_or_ref_serializes_without_those_fields() {
        let r = AnalysisRequest {
            target: "https://example.org/r.git".into(),
            git_ref: None,
            lang: "en".into(),
            encrypted_token: None,
            fresh: false,
        };
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"target": "https://example.org/r.git", "lang": "en"})
        );
    }
}
