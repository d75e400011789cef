//! `specline-specdoc-model`: the spec document — executive summary, then domains → features →
//! behaviors — and its Markdown and JSON renderings.
//!
//! A crate of its own, apart from `specline-specdoc` (which writes documents with model
//! providers over HTTP), so that what only *reads* documents — the API's export route — gets
//! the very renderer the CLI uses without linking an AI client (`scripts/check-deps`).
//! `specline-specdoc` re-exports these modules under their old paths.

pub mod diff;
pub mod document;
pub mod export;
mod labels;
pub mod lang;
pub mod text;

pub use document::SpecDocument;
pub use lang::{InvalidLanguage, LanguageTag};
