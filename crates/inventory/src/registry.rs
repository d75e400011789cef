//! The definitions compiled once: regexes, globs and Tree-sitter queries per grammar.
//!
//! Compiling is done lazily the first time a scanner is built and shared by every thread
//! (queries and regexes are `Sync`). A definition that fails to compile is a bug in this
//! crate's data, reported as [`InventoryError::Definition`] instead of a panic; the test
//! suite compiles every definition so such a bug never ships.

use std::collections::HashMap;
use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexSet};
use tree_sitter::Query;

use crate::error::InventoryError;
use crate::framework::{Effect, FrameworkDef, Grammar, LanguageDef};

/// A compiled [`FrameworkDef`].
pub struct Framework {
    pub def: &'static FrameworkDef,
    pub imports: Vec<Regex>,
    pub paths: GlobSet,
    pub configs: Vec<CompiledConfig>,
    pub content: Option<RegexSet>,
    pub attr_rules: Vec<(Regex, Effect)>,
    pub name_rules: Vec<(Regex, Effect)>,
}

/// A compiled [`crate::framework::ConfigRule`].
pub struct CompiledConfig {
    pub file: GlobMatcher,
    pub contains: Option<&'static str>,
    pub scope: Option<Regex>,
}

/// A compiled [`LanguageDef`].
pub struct Language {
    pub def: &'static LanguageDef,
    pub candidates: GlobSet,
    pub prefilter: Option<Regex>,
    /// Hints and items in one query per grammar (see [`crate::extract::analyze`]),
    /// compiled on first use: compiling every grammar's query up front costs more than
    /// scanning a small repository.
    queries: HashMap<Grammar, OnceLock<Result<CompiledQuery, String>>>,
    query_source: String,
    pub frameworks: Vec<Framework>,
}

/// A compiled query and the node kinds its patterns start at.
pub struct CompiledQuery {
    pub query: Query,
    /// Sorted kind ids of the patterns' root nodes, when every pattern is rooted in one
    /// named node kind: the query then need only run at nodes of those kinds (see
    /// [`crate::extract::analyze`]). `None` means the query runs over the whole tree.
    pub roots: Option<Vec<u16>>,
}

impl Language {
    /// The language's query for `grammar`, compiled on first use.
    pub fn query(&self, grammar: Grammar) -> Result<&Query, InventoryError> {
        self.compiled(grammar).map(|c| &c.query)
    }

    /// The language's query for `grammar` with its root kinds, compiled on first use.
    pub fn compiled(&self, grammar: Grammar) -> Result<&CompiledQuery, InventoryError> {
        let cell = self.queries.get(&grammar).ok_or_else(|| {
            InventoryError::Definition(format!("{} has no grammar {grammar:?}", self.def.id))
        })?;
        cell.get_or_init(|| query(grammar, &self.query_source, self.def.id))
            .as_ref()
            .map_err(|e| InventoryError::Definition(e.clone()))
    }

    /// Compiles every query of the language now (the test suite uses it to check them all).
    pub fn compile_all(&self) -> Result<(), InventoryError> {
        for g in self.queries.keys() {
            self.query(*g)?;
        }
        Ok(())
    }

    /// The framework with this id, if the language has it.
    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.def.id == id)
    }
}

/// Every language, compiled.
pub struct Registry {
    pub languages: Vec<Language>,
    by_extension: HashMap<&'static str, (usize, Grammar)>,
}

impl Registry {
    /// The language and grammar for a file name, by extension.
    pub fn for_file_name(&self, name: &str) -> Option<(&Language, Grammar)> {
        let ext = name.rsplit_once('.')?.1;
        let (idx, grammar) = self.by_extension.get(ext)?;
        Some((self.languages.get(*idx)?, *grammar))
    }
}

static REGISTRY: OnceLock<Result<Registry, String>> = OnceLock::new();

/// The shared compiled registry of [`crate::lang::LANGUAGES`].
pub fn registry() -> Result<&'static Registry, InventoryError> {
    REGISTRY
        .get_or_init(|| compile(crate::lang::LANGUAGES))
        .as_ref()
        .map_err(|e| InventoryError::Definition(e.clone()))
}

fn glob(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("glob {pattern:?}: {e}"))
}

fn glob_set(patterns: &[&str]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(glob(p)?);
    }
    b.build().map_err(|e| e.to_string())
}

fn regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("regex {pattern:?}: {e}"))
}

fn rules(rules: &[crate::framework::Rule]) -> Result<Vec<(Regex, Effect)>, String> {
    rules
        .iter()
        .map(|r| Ok((regex(r.pattern)?, r.effect)))
        .collect()
}

fn grammars(def: &LanguageDef) -> Vec<Grammar> {
    let mut g: Vec<Grammar> = def.extensions.iter().map(|(_, g)| *g).collect();
    g.sort();
    g.dedup();
    g
}

fn query(grammar: Grammar, source: &str, what: &str) -> Result<CompiledQuery, String> {
    let language = grammar.language();
    let query =
        Query::new(&language, source).map_err(|e| format!("query {what} for {grammar:?}: {e}"))?;
    let roots = root_kinds(&query, source, &language);
    Ok(CompiledQuery { query, roots })
}

/// The node kind each pattern of `query` starts with, read from the pattern's text
/// (`(call_expression ...`), as sorted kind ids; `None` when a pattern is not rooted in a
/// single named node (a wildcard, an alternation, a string, several top-level nodes).
fn root_kinds(query: &Query, source: &str, language: &tree_sitter::Language) -> Option<Vec<u16>> {
    let mut roots = Vec::with_capacity(query.pattern_count());
    for i in 0..query.pattern_count() {
        if !query.is_pattern_rooted(i) || query.is_pattern_non_local(i) {
            return None;
        }
        let text = source
            .get(query.start_byte_for_pattern(i)..)?
            .strip_prefix('(')?;
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let kind = text.get(..end)?;
        if kind.is_empty() || kind == "_" {
            return None;
        }
        match language.id_for_node_kind(kind, true) {
            0 => return None,
            id if language.supertypes().contains(&id) => return None,
            id => roots.push(id),
        }
    }
    roots.sort_unstable();
    roots.dedup();
    Some(roots)
}

/// Compiles every definition; the error names the faulty one.
pub fn compile(defs: &'static [LanguageDef]) -> Result<Registry, String> {
    let mut languages = Vec::new();
    let mut by_extension = HashMap::new();
    for (idx, def) in defs.iter().enumerate() {
        let gs = grammars(def);
        // One traversal per file: the frameworks of a language share their item query
        // (they differ in detection and rules), so it is joined with the hints query.
        let tests = def.frameworks.first().map_or("", |f| f.query);
        if let Some(fw) = def.frameworks.iter().find(|f| f.query != tests) {
            return Err(format!(
                "language {}: framework {} has a query of its own; frameworks of a language share one",
                def.id, fw.id
            ));
        }
        let query_source = format!("{}\n{}", def.hints_query, tests);
        let queries = gs.iter().map(|g| (*g, OnceLock::new())).collect();
        let mut frameworks = Vec::new();
        for fw in def.frameworks {
            frameworks.push(Framework {
                def: fw,
                imports: fw
                    .imports
                    .iter()
                    .map(|p| regex(p))
                    .collect::<Result<_, _>>()?,
                paths: glob_set(fw.paths)?,
                configs: fw
                    .configs
                    .iter()
                    .map(|c| {
                        Ok(CompiledConfig {
                            file: glob(c.file)?.compile_matcher(),
                            contains: c.contains,
                            scope: c.scope.map(regex).transpose()?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
                content: if fw.content.is_empty() {
                    None
                } else {
                    Some(RegexSet::new(fw.content).map_err(|e| e.to_string())?)
                },
                attr_rules: rules(fw.attr_rules)?,
                name_rules: rules(fw.name_rules)?,
            });
        }
        if !def.frameworks.iter().any(|f| f.id == def.default_framework) {
            return Err(format!(
                "language {}: default framework {} is not defined",
                def.id, def.default_framework
            ));
        }
        for (ext, g) in def.extensions {
            by_extension.insert(*ext, (idx, *g));
        }
        languages.push(Language {
            def,
            candidates: glob_set(def.candidates)?,
            prefilter: def.prefilter.map(regex).transpose()?,
            queries,
            query_source,
            frameworks,
        });
    }
    Ok(Registry {
        languages,
        by_extension,
    })
}
