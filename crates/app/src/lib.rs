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
                    limits: per_owner(SPEC_STEPS_PER_OWNER),
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
    /// Phase 2: turn each feature's tests into behavior sentences (checkpointed per feature).
    ConvertBehaviors, "convert_behaviors", serde_json::Value, 60 * 60
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
pub fn analyze_and_generate() -> Pipeline {
    Pipeline::new(ANALYZE_AND_GENERATE)
        .step::<AnalyzeRepository>()
        .step::<ClassifyTests>()
        .step::<ConvertBehaviors>()
        .step::<SummarizeDocument>()
        .step::<GenerateSpecDocument>()
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
                ("convert_behaviors", "spec"),
                ("summarize_document", "spec"),
                ("generate_spec_document", "spec"),
            ]
        );
    }

    #[test]
    fn every_step_is_limited_per_run_owner() {
        let input = serde_json::json!({"target": "https://example.org/r.git", "lang": "en"});
        let metadata = serde_json::json!({"owner": "alice"});
        for kind in analyze_and_generate().kinds() {
            let limits = &kind.options.limits;
            let expected = if kind.kind == AnalyzeRepository::NAME {
                ANALYSES_PER_OWNER
            } else {
                SPEC_STEPS_PER_OWNER
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
