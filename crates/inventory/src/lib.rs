//! Test inventory analyzer: finds the test files of a source tree, tells which framework
//! each uses, and extracts their suites and tests with Tree-sitter.
//!
//! It knows nothing of queues or databases; the analyzer binary wraps it. The output is
//! the shared model of `specline-inventory-model` (re-exported as [`model`]).
//!
//! - [`scan`] / [`scan_with`]: scan a directory (parallel, streaming, cancellable).
//! - [`source`]: get a directory from a local path or a shallow git clone.
//! - [`cli`]: the `specline inventory` command.
//!
//! Languages and frameworks are data ([`framework`], [`lang`]) interpreted by one engine
//! ([`extract`]); see the crate README for how to add a framework.

pub mod cli;
pub mod detect;
pub mod error;
pub mod extract;
pub mod framework;
pub mod lang;
pub mod registry;
pub mod scan;
pub mod source;

pub use specline_inventory_model as model;

pub use error::InventoryError;
pub use scan::{scan, scan_with, CancelToken, ScanOptions};

/// Version of this crate, recorded as `parser_version` in every inventory.
pub const PARSER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Detects the framework of a parsed file and extracts it; `None` when it holds no test.
pub(crate) fn analyze_tree(
    tree: &tree_sitter::Tree,
    src: &[u8],
    grammar: framework::Grammar,
    lang: &registry::Language,
    configs: &detect::ConfigIndex,
    rel: &str,
    abs: &std::path::Path,
) -> Option<model::TestFile> {
    let (imports, calls) = extract::hints(tree, src, grammar, lang);
    let (fw_id, _reason) = configs.resolve(lang, rel, abs, &imports, src);
    let fw = lang.framework(fw_id)?;
    let (suites, tests) = extract::extract(tree, src, grammar, lang, fw);
    scan::build_file(
        rel,
        lang,
        fw_id,
        suites,
        tests,
        model::DomainHints { imports, calls },
    )
}
