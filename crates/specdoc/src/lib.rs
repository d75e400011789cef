//! `specline-specdoc`: turns a test inventory into a spec document a product person can read —
//! an executive summary, then domains → features → behaviors, each behavior a short
//! specification sentence traceable to the test that proves it.
//!
//! The crate knows nothing of Tree-sitter (it reads the inventory model of
//! `specline-inventory-model`) and nothing of the job queue: generation is four plain async
//! functions with serde inputs and outputs ([`phases::classify`], [`phases::convert`],
//! [`phases::summarize`], [`phases::assemble`]), each ready to be wrapped as a resumable
//! pipeline step whose output is its checkpoint.
//!
//! Sentences are written by a model ([`provider::gemini`], [`provider::openai`], behind the
//! retry/breaker/rate-limit rules of [`reliability`]) or, with no model configured, by the
//! deterministic [`offline`] generator.
//!
//! ```no_run
//! # async fn demo(json: &str) -> Result<(), specline_specdoc::SpecError> {
//! use specline_specdoc::{export, phases, LanguageTag, SpecInput};
//! let input = SpecInput::from_inventory_json(json, None)?;
//! let opts = phases::GenerateOptions::new(LanguageTag::parse("en")?);
//! let doc = phases::generate(&phases::Generator::offline(), &input, &opts, 1).await?;
//! println!("{}", export::to_markdown(&doc));
//! # Ok(()) }
//! ```

pub mod cache;
// The document and its renderers live in `specline-specdoc-model` (so the API can render
// without linking a model provider); re-exported here under the paths they always had.
pub use specline_specdoc_model::{diff, document, export, lang};
pub mod cli;
pub mod error;
pub mod input;
pub mod inventory_file;
pub mod model_metrics;
pub mod offline;
pub mod phases;
pub mod prompts;
pub mod provider;
pub mod reliability;

pub use document::SpecDocument;
pub use error::{ProviderError, ProviderErrorCode, SpecCode, SpecError};
pub use input::SpecInput;
pub use lang::LanguageTag;
