//! The application's pipelines and job kinds, as declarations only.
//!
//! Every binary links this crate: the ones that submit work (enqueue, the API) and the ones
//! that run it (analyzer, spec generator). It therefore holds names, queues, options and the
//! data that travels between steps — and nothing that a step needs to *run*: the analyzer
//! implements [`AnalyzeRepository`] with Tree-sitter, the spec generator implements
//! [`GenerateSpecDocument`] with the model providers, and neither links the other's
//! dependencies.

pub mod store;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use specline_inventory_model::Inventory;
use specline_queue::{KindOptions, Pipeline, StepKind};

pub use store::{AppStore, PgAppStore, SqliteAppStore};

/// Queue of the analyzer: short, CPU-bound jobs.
pub const ANALYZE_QUEUE: &str = "analyze";
/// Queue of the spec generator: long, I/O-bound jobs.
pub const SPEC_QUEUE: &str = "spec";

/// What a client asks for: analyze a repository and write its spec document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisRequest {
    /// A local directory or a git URL (never with credentials in it).
    pub target: String,
    /// Output language of the document (BCP-47).
    pub lang: String,
    /// `md` or `json`.
    pub format: String,
}

/// The context `analyze_repository` reads.
#[derive(Debug, Clone, Deserialize)]
pub struct AnalyzeContext {
    pub input: AnalysisRequest,
}

/// Clone or open the repository and extract its test inventory.
pub struct AnalyzeRepository;

impl StepKind for AnalyzeRepository {
    const NAME: &'static str = "analyze_repository";
    const QUEUE: &'static str = ANALYZE_QUEUE;
    type Context = AnalyzeContext;
    type Output = Inventory;
    fn options() -> KindOptions {
        KindOptions {
            timeout: Duration::from_secs(15 * 60),
            max_attempts: 3,
            ..KindOptions::default()
        }
    }
}

/// The context `generate_spec_document` reads: the request and the inventory.
#[derive(Debug, Clone, Deserialize)]
pub struct GenerateContext {
    pub input: AnalysisRequest,
    pub analyze_repository: Inventory,
}

/// A rendered spec document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The document in the requested format.
    pub text: String,
    /// How many behaviors it holds (one per test).
    pub behaviors: usize,
}

/// Turn the inventory into a spec document.
pub struct GenerateSpecDocument;

impl StepKind for GenerateSpecDocument {
    const NAME: &'static str = "generate_spec_document";
    const QUEUE: &'static str = SPEC_QUEUE;
    type Context = GenerateContext;
    type Output = Document;
    fn options() -> KindOptions {
        KindOptions {
            timeout: Duration::from_secs(60 * 60),
            max_attempts: 3,
            ..KindOptions::default()
        }
    }
}

/// "Analyze and generate" as one run, so a client follows one run id from clone to document.
pub fn analyze_and_generate() -> Pipeline {
    Pipeline::new("analyze_and_generate")
        .step::<AnalyzeRepository>()
        .step::<GenerateSpecDocument>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_runs_analysis_on_the_analyze_queue_then_the_document_on_the_spec_queue() {
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
                ("generate_spec_document", "spec")
            ]
        );
    }
}
