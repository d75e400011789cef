//! Languages and frameworks as *definitions*: plain data that the engine interprets.
//!
//! A [`LanguageDef`] says which files are candidates, which Tree-sitter grammar parses
//! them and how to read imports; each of its [`FrameworkDef`]s says how to recognise the
//! framework (imports, paths, config files, content) and carries a Tree-sitter query
//! (`queries/<lang>/*.scm`) that finds suites and tests. Adding a framework is mostly a new
//! entry here, a query file and fixtures; only a language whose call syntax is
//! combinatorial (JavaScript's `describe.skip.each`) needs a small hook in Rust.
//!
//! # Query capture conventions
//!
//! | capture | meaning |
//! |---|---|
//! | `@suite` | the node defining a suite (its span nests children) |
//! | `@test` | the node defining a test |
//! | `@test.candidate` | a test only if an attribute or name rule says [`Effect::Test`] |
//! | `@item` | kind decided by the language hook (JavaScript call chains) |
//! | `@name` | a declared name (identifier or literal), used as is |
//! | `@name.expr` | a name given as an expression: a non-literal makes the item dynamic |
//! | `@attr` | an attribute, annotation, decorator or docblock, matched against [`FrameworkDef::attr_rules`] |
//! | `@chain` | the callee text handed to the hook (`describe.skip.each`) |
//! | `@args` | the argument list handed to the hook |
//! | `@group` | the item belongs to a synthetic suite of this name (GoogleTest `TEST(Suite, Name)`) |
//! | `@skip` `@todo` `@only` `@xfail` | status set directly; the captured text is the modifier |
//! | `@dynamic` | the item is dynamic (generated at run time) |
//! | `@params` | the declaration takes parameters: name rules alone do not make it a test |
//! | `@pending` | a call without a body (`it "x"`): status todo |
//! | `@annotation.skip` `@annotation.todo` `@annotation.xfail` | a runtime status call (`t.Skip()`, `pytest.skip()`): gives that status to the enclosing item |
//!
//! Captures starting with `_` are for predicates only.

use crate::model::Status;

/// What a matching attribute or name rule does to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The candidate is a test (`@Test`, `#[test]`, `[Fact]`).
    Test,
    /// The item is a suite (rare; used by Swift `@Suite`).
    Suite,
    /// Status: skipped (`@Disabled`, `#[ignore]`, `DISABLED_`).
    Skip,
    /// Status: todo.
    Todo,
    /// Status: focused.
    Focus,
    /// Status: expected failure (`@pytest.mark.xfail`, `[ExpectedException]` is not this).
    Xfail,
    /// The test is generated at run time (`@ParameterizedTest`, `parametrize`).
    Dynamic,
    /// Never a test, whatever else says so: a TestNG configuration or data-provider method
    /// (`@BeforeMethod`, `@DataProvider`) in a class whose `@Test` makes public methods tests.
    NotTest,
    /// The rule's named group `name` is the display name (`@DisplayName("…")`,
    /// `@Test("…")`, `[Fact(DisplayName = "…")]`): what the runner reports.
    DisplayName,
}

impl Effect {
    pub(crate) fn status(self) -> Option<Status> {
        match self {
            Effect::Skip => Some(Status::Skipped),
            Effect::Todo => Some(Status::Todo),
            Effect::Focus => Some(Status::Focused),
            Effect::Xfail => Some(Status::Xfail),
            Effect::Test
            | Effect::Suite
            | Effect::Dynamic
            | Effect::DisplayName
            | Effect::NotTest => None,
        }
    }
}

/// A regular expression and what a match does.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub pattern: &'static str,
    pub effect: Effect,
}

/// Shorthand for a [`Rule`] in definition tables.
pub const fn rule(pattern: &'static str, effect: Effect) -> Rule {
    Rule { pattern, effect }
}

/// A config file whose presence in a directory (or an ancestor) selects a framework.
#[derive(Debug, Clone, Copy)]
pub struct ConfigRule {
    /// Glob on the file name, e.g. `jest.config.*`.
    pub file: &'static str,
    /// When set, the file must contain this text (e.g. `[tool.pytest` in `pyproject.toml`).
    pub contains: Option<&'static str>,
    /// A regex whose first group, read from the config, names the directory (relative to
    /// the config) the framework's tests live in, e.g. Playwright's `testDir`: the config
    /// then claims only files under it.
    pub scope: Option<&'static str>,
}

/// Shorthand for a [`ConfigRule`] that needs only the file.
pub const fn config(file: &'static str) -> ConfigRule {
    ConfigRule {
        file,
        contains: None,
        scope: None,
    }
}

/// Shorthand for a [`ConfigRule`] that needs the file to contain some text.
pub const fn config_with(file: &'static str, contains: &'static str) -> ConfigRule {
    ConfigRule {
        file,
        contains: Some(contains),
        scope: None,
    }
}

/// Shorthand for a [`ConfigRule`] whose content may narrow it to a test directory.
pub const fn config_scoped(file: &'static str, scope: &'static str) -> ConfigRule {
    ConfigRule {
        file,
        contains: None,
        scope: Some(scope),
    }
}

/// A test framework: how to recognise it and how to read its suites and tests.
#[derive(Debug, Clone, Copy)]
pub struct FrameworkDef {
    /// Identifier written in the inventory (`jest`, `pytest`, `junit5`).
    pub id: &'static str,
    /// Regexes on imported module names (`^vitest$`); the strongest signal.
    pub imports: &'static [&'static str],
    /// Globs on the relative path (`**/*.cy.ts`) that settle the framework.
    pub paths: &'static [&'static str],
    /// Config files; the nearest directory that has one of any framework decides.
    pub configs: &'static [ConfigRule],
    /// Regexes on the file content, the last resort before the language default.
    pub content: &'static [&'static str],
    /// The Tree-sitter query finding suites and tests (see the module docs).
    pub query: &'static str,
    /// Rules on `@attr` text.
    pub attr_rules: &'static [Rule],
    /// Rules on item names (`^test` makes a PHPUnit method a test; `^DISABLED_` skips).
    pub name_rules: &'static [Rule],
    /// Drop suites without any test (classes and modules that merely hold helpers).
    pub prune_empty_suites: bool,
}

impl FrameworkDef {
    /// A definition with every optional part empty, to be filled with struct update syntax.
    pub const fn new(id: &'static str, query: &'static str) -> Self {
        FrameworkDef {
            id,
            imports: &[],
            paths: &[],
            configs: &[],
            content: &[],
            query,
            attr_rules: &[],
            name_rules: &[],
            prune_empty_suites: false,
        }
    }
}

/// Which compiled grammar parses a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grammar {
    JavaScript,
    TypeScript,
    Tsx,
    Python,
    Go,
    Java,
    Kotlin,
    CSharp,
    Ruby,
    Php,
    Rust,
    Swift,
    Cpp,
}

impl Grammar {
    /// The Tree-sitter language of this grammar.
    pub fn language(self) -> tree_sitter::Language {
        match self {
            Grammar::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Grammar::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Grammar::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Grammar::Python => tree_sitter_python::LANGUAGE.into(),
            Grammar::Go => tree_sitter_go::LANGUAGE.into(),
            Grammar::Java => tree_sitter_java::LANGUAGE.into(),
            Grammar::Kotlin => tree_sitter_kotlin_ng::LANGUAGE.into(),
            Grammar::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Grammar::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Grammar::Php => tree_sitter_php::LANGUAGE_PHP.into(),
            Grammar::Rust => tree_sitter_rust::LANGUAGE.into(),
            Grammar::Swift => tree_sitter_swift::LANGUAGE.into(),
            Grammar::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }
}

/// What a language hook sees besides the item.
pub struct HookCtx<'a> {
    /// The framework chosen for the file.
    pub framework: &'a str,
}

/// A language-specific refinement of a raw item; returns `false` to drop it.
pub type Hook = fn(&mut crate::extract::RawItem, &HookCtx<'_>) -> bool;

/// A language: which files, which grammar, how to read imports, which frameworks.
#[derive(Debug, Clone, Copy)]
pub struct LanguageDef {
    /// Identifier written in the inventory (`typescript`, `python`).
    pub id: &'static str,
    /// File extensions (without dot) and the grammar for each.
    pub extensions: &'static [(&'static str, Grammar)],
    /// Globs on the relative path that make a file a candidate test file.
    pub candidates: &'static [&'static str],
    /// A regex the content must match before the file is parsed at all (cheap rejection).
    pub prefilter: Option<&'static str>,
    /// Query with `@import` captures (module names) and `@call.recv`/`@call.name` pairs (`a.b` calls).
    pub hints_query: &'static str,
    /// Receivers ignored in `@call` hints (`t`, `self`, `expect`): test plumbing, not domain.
    pub noise_receivers: &'static [&'static str],
    /// Frameworks in priority order: on a tie the first wins.
    pub frameworks: &'static [FrameworkDef],
    /// The framework when nothing else decides.
    pub default_framework: &'static str,
    /// Node kinds that are loops: an item inside one (below its parent) is dynamic.
    pub loop_kinds: &'static [&'static str],
    /// Call names that loop over a table (`forEach`, `each`): a call to one is a loop.
    pub loop_calls: &'static [&'static str],
    /// Node kinds of preceding siblings read as attributes (Rust `attribute_item`, PHP docblocks).
    pub sibling_attr_kinds: &'static [&'static str],
    /// Whether a test can contain tests (Go's `t.Run`); elsewhere anything inside a test is
    /// not collected by the runner and is dropped.
    pub tests_nest: bool,
    /// Optional refinement in Rust for what queries cannot say cleanly.
    pub hook: Option<Hook>,
}
