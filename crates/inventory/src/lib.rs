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

pub mod cases;
pub mod cli;
pub mod detect;
pub mod doc_comments;
pub mod error;
pub mod extract;
pub mod framework;
mod git;
pub mod git_index;
mod head;
pub mod lang;
mod local_imports;
pub mod materialize;
pub mod pin;
pub mod registry;
pub mod repo_defs;
pub mod runner_config;
pub mod scan;
pub mod source;
pub mod untrusted_file;
pub mod workdir;

pub use specline_inventory_model as model;

pub use error::{InventoryCode, InventoryError};
pub use scan::{scan, scan_each, scan_with, CancelToken, ScanOptions};

/// Version of this crate, recorded as `parser_version` in every inventory, with the
/// extractors' revision as semver build metadata. An analysis is reused for the same commit
/// only when its parser version matches, so the revision goes up whenever the same tree
/// yields a different inventory (`r2`: tests carry their documentation, `doc`; `r3`: tests
/// carry their literal `cases`, which the application stores from app migration 8 on, so an
/// analysis stored before, whose rows lost them, is not reused).
pub const PARSER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+r3");

/// Analyses one file given by its relative path and content, outside any tree: the
/// framework comes from imports, path conventions, content or the language default (there
/// are no config files to look at). Unlike a scan it parses even files that the cheap
/// content prefilter would skip. `Ok(None)` when the path is not a supported source file
/// or the file holds no test.
pub fn analyze_bytes(
    rel_path: &str,
    src: &[u8],
) -> Result<Option<model::TestFile>, InventoryError> {
    analyze_bytes_within(rel_path, src, ScanOptions::default().file_timeout)
}

/// [`analyze_bytes`] with a time limit for the file ([`InventoryError::FileTimeout`] past it).
pub fn analyze_bytes_within(
    rel_path: &str,
    src: &[u8],
    limit: Option<std::time::Duration>,
) -> Result<Option<model::TestFile>, InventoryError> {
    let registry = registry::registry()?;
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let Some((lang, grammar)) = registry.for_file_name(name) else {
        return Ok(None);
    };
    lang.query(grammar)?;
    let budget = extract::Budget::new(limit, CancelToken::new());
    let mut parsers = std::collections::HashMap::new();
    let tree = scan::parse(&mut parsers, grammar, src, &budget)
        .map_err(InventoryError::Definition)?
        .ok_or(InventoryError::FileTimeout)?;
    // On its own, a file sees only what it defines itself.
    let mut defs = repo_defs::RepoDefs::empty();
    defs.add_file(lang.def.id, rel_path, src);
    let defs = defs.finish();
    let origin = extract::Origin {
        rel: rel_path,
        defs: &defs,
        pytest: None,
    };
    analyze_tree(&tree, src, grammar, lang, None, origin, &budget)
        .map_err(|_| InventoryError::FileTimeout)
}

/// Detects the framework of a parsed file and extracts it; `None` when it holds no test.
pub(crate) fn analyze_tree(
    tree: &tree_sitter::Tree,
    src: &[u8],
    grammar: framework::Grammar,
    lang: &registry::Language,
    configs: Option<(&detect::ConfigIndex, &std::path::Path)>,
    origin: extract::Origin<'_>,
    budget: &extract::Budget,
) -> Result<Option<model::TestFile>, OutOfTime> {
    let rel = origin.rel;
    let choose = |imports: &[String]| detect::resolve(configs, lang, rel, imports, src).0;
    let pytest = (lang.def.id == "python").then(|| match configs {
        Some((index, abs)) => index.runners().pytest_for(abs),
        None => None,
    });
    let found = pytest.flatten();
    let rules = match (&found, lang.def.id) {
        (Some(f), _) => Some(&f.config),
        (None, "python") => Some(runner_config::pytest::defaults()),
        _ => None,
    };
    let origin = extract::Origin {
        pytest: rules,
        ..origin
    };
    let a = extract::analyze(tree, src, grammar, lang, budget, origin, choose).ok_or(OutOfTime)?;
    Ok(scan::build_file(
        rel,
        lang,
        a.framework,
        a.suites,
        a.tests,
        model::DomainHints {
            imports: a.imports,
            calls: a.calls,
        },
    ))
}

/// The file's time budget ran out (or the scan was cancelled) while querying it.
#[derive(Debug)]
pub(crate) struct OutOfTime;
