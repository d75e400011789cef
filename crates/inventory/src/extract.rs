//! The generic engine: runs a framework's query over a syntax tree and builds the nested
//! suites and tests of the model from the matches.
//!
//! Queries only say *where* suites and tests are; nesting comes from byte ranges (an item
//! inside another item's span is its child), so one query pattern per construct is enough
//! and no language needs a hand-written tree walker. The steps:
//!
//! 1. every match becomes a [`RawItem`] (attributes and names run through the rules);
//! 2. items on the same node merge (two patterns may see one method);
//! 3. candidates without a test rule and items the hook rejects are dropped;
//! 4. items nest by span; a test with children becomes a suite (Go's `t.Run`);
//! 5. status inherits downward (a test in a skipped suite is skipped) and empty suites go
//!    when the framework asks.

use std::collections::HashMap;

use std::time::Instant;

use tree_sitter::{
    Node, Point, QueryCursor, QueryCursorOptions, QueryMatch, StreamingIterator, Tree,
};

use crate::cases::{self, Param};
use crate::framework::{Effect, HookCtx};
use crate::model::{Location, Status, Suite, Test};
use crate::registry::{Framework, Language};
use crate::runner_config::PytestConfig;

/// Deeper suite nesting than this is flattened onto the deepest allowed suite, so that
/// pathological input cannot exhaust the stack of the recursive conversion, and so that
/// the JSON stays under serde_json's default recursion limit (128) for consumers: each
/// suite level is two JSON levels (object and array).
pub const MAX_DEPTH: usize = 48;

/// Longest modifier text kept (attributes can be long).
const MAX_MODIFIER: usize = 200;
/// Longest name kept.
const MAX_NAME: usize = 500;

/// How long one file may take, and the scan's cancel flag: checked by the parser and the
/// query cursors, so one pathological file (Tree-sitter's error recovery and query cursor
/// can be superlinear on deep nesting) cannot hold a worker for long.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub deadline: Option<Instant>,
    pub cancel: crate::CancelToken,
    /// Calls since the clock was last read: Tree-sitter calls back very often, so the
    /// clock and the shared flag are read only every [`Budget::CHECK_EVERY`] calls.
    calls: std::cell::Cell<u32>,
    spent: std::cell::Cell<bool>,
}

impl Budget {
    /// A budget of `limit` from now (none when `limit` is `None`).
    pub fn new(limit: Option<std::time::Duration>, cancel: crate::CancelToken) -> Self {
        Budget {
            deadline: limit.map(|l| Instant::now() + l),
            cancel,
            calls: std::cell::Cell::new(0),
            spent: std::cell::Cell::new(false),
        }
    }

    const CHECK_EVERY: u32 = 32;

    /// True when the file ran out of time or the scan was cancelled (checked every
    /// [`Budget::CHECK_EVERY`] calls; once true it stays true).
    pub fn exhausted(&self) -> bool {
        if self.spent.get() {
            return true;
        }
        let n = self.calls.get().wrapping_add(1);
        self.calls.set(n);
        if n % Self::CHECK_EVERY != 0 {
            return false;
        }
        self.check_now()
    }

    /// Reads the clock and the cancel flag now.
    pub fn check_now(&self) -> bool {
        let spent =
            self.cancel.is_cancelled() || self.deadline.is_some_and(|d| Instant::now() >= d);
        self.spent.set(spent);
        spent
    }
}

/// What a query match says an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Suite,
    Test,
    /// A test only if a rule says so.
    Candidate,
    /// Decided by the language hook.
    Hook,
    /// A runtime status call inside a test (`test.skip(cond, "why")` in Playwright,
    /// `skip "why"` in Minitest): gives its status to the enclosing item, is not an item.
    Annotation,
}

/// One suite or test as found by a query match, before nesting.
#[derive(Debug, Clone)]
pub struct RawItem {
    pub kind: Kind,
    pub start_byte: usize,
    pub end_byte: usize,
    pub start: Point,
    pub end: Point,
    pub name: Option<String>,
    /// False when the name came from a non-literal expression (a variable, a template).
    pub name_is_literal: bool,
    /// The name is a display name from an attribute: it wins when matches merge.
    pub display_name: bool,
    pub status: Status,
    pub modifier: Option<String>,
    pub dynamic: bool,
    /// An attribute or name rule said [`Effect::Test`].
    pub rule_test: bool,
    /// An attribute rule said [`Effect::NotTest`]: it wins over [`RawItem::rule_test`].
    pub rule_not_test: bool,
    /// An attribute rule said [`Effect::Suite`].
    pub rule_suite: bool,
    /// `@chain` text, for the hook.
    pub chain: Option<String>,
    /// Named children of `@args`, for the hook.
    pub arg_count: Option<usize>,
    /// Captured `@pending`: a call without a body (`it "x"`, Mocha's `it("x")`).
    pub bodyless: bool,
    /// Text of `@args` (shortened), for hooks reading metadata (`it "x", :skip do`).
    pub args: Option<String>,
    pub group: Option<String>,
    loop_start: Option<usize>,
    /// Found by a file pass as a second look: dropped when the query's own item at the
    /// same start survives the hook.
    pub second_look: bool,
    /// A bodyless call under a runtime condition in its block (`skip "x" if cond`): as an
    /// annotation it makes the enclosing item conditional, not skipped.
    pub conditional: bool,
    /// The cases the item declares on itself (see [`crate::cases`]).
    pub cases: Option<Param>,
    /// Every loop around the item, innermost first: its start and the cases it makes.
    loops: Vec<(usize, Param)>,
}

/// What a language's file pass ([`crate::lang::file_pass`]) sees: the whole parsed file,
/// and what the files of the repository define (test-generating macros, composed
/// annotations).
pub struct FilePassCtx<'a> {
    pub tree: &'a Tree,
    pub src: &'a [u8],
    pub defs: &'a RepoDefs,
    /// The file's path relative to the scanned root.
    pub rel: &'a str,
}

pub use crate::repo_defs::RepoDefs;

/// Where a file comes from: its path in the tree, what the tree's files define, and the
/// pytest configuration that decides what is collected from it (Python files only).
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub rel: &'a str,
    pub defs: &'a RepoDefs,
    pub pytest: Option<&'a PytestConfig>,
}

impl RawItem {
    /// An item of `kind` spanning `start..end` bytes, with nothing else known yet.
    pub fn new(kind: Kind, range: std::ops::Range<usize>, start: Point, end: Point) -> Self {
        RawItem {
            kind,
            start_byte: range.start,
            end_byte: range.end,
            start,
            end,
            name: None,
            name_is_literal: true,
            display_name: false,
            status: Status::Active,
            modifier: None,
            dynamic: false,
            rule_test: false,
            rule_not_test: false,
            rule_suite: false,
            chain: None,
            arg_count: None,
            args: None,
            bodyless: false,
            group: None,
            loop_start: None,
            second_look: false,
            conditional: false,
            cases: None,
            loops: Vec::new(),
        }
    }

    /// Sets a status unless one is already set: the first word the source says wins.
    pub fn set_status(&mut self, status: Status, modifier: &str) {
        if self.status == Status::Active && status != Status::Active {
            self.status = status;
            self.modifier = Some(truncate(modifier.trim(), MAX_MODIFIER));
        }
    }

    /// Records that a runtime condition may skip the item (`skip "x" if cond`): the
    /// status stays, the modifier says what may skip it, unless the source already gave
    /// the item a status of its own.
    pub fn set_conditional(&mut self, modifier: &str) {
        if self.status == Status::Active && self.modifier.is_none() {
            self.modifier = Some(truncate(modifier.trim(), MAX_MODIFIER));
        }
    }

    fn contains(&self, other: &RawItem) -> bool {
        self.start_byte <= other.start_byte
            && other.end_byte <= self.end_byte
            && (self.start_byte, self.end_byte) != (other.start_byte, other.end_byte)
    }

    fn location(&self) -> Location {
        Location {
            start_line: clamp(self.start.row + 1),
            start_column: clamp(self.start.column + 1),
            end_line: clamp(self.end.row + 1),
            end_column: clamp(self.end.column + 1),
        }
    }
}

fn clamp(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(crate) fn text<'a>(node: Node<'_>, src: &'a [u8]) -> std::borrow::Cow<'a, str> {
    String::from_utf8_lossy(src.get(node.byte_range()).unwrap_or_default())
}

/// True when a node is a string literal without interpolation.
fn is_plain_literal(node: Node<'_>) -> bool {
    let kind = node.kind();
    // Ruby names a group by a constant (`describe User`): static, not dynamic.
    if matches!(kind, "constant" | "scope_resolution") {
        return true;
    }
    if !(kind.contains("string") || kind == "symbol" || kind == "simple_symbol") {
        return false;
    }
    let mut cursor = node.walk();
    let plain = node.named_children(&mut cursor).all(|c| {
        let k = c.kind();
        !(k.contains("interpolation") || k.contains("substitution") || k == "template_substitution")
    });
    plain
}

/// The text of a literal without its quotes and prefixes (`r"x"`, `@"x"`, `'x'`, `:sym`).
pub(crate) fn unquote(raw: &str) -> String {
    let s = raw.trim();
    // Prefixes only count before a quote: `r"x"`, `@"x"`, `$"x"`, `f'x'`.
    let after_prefix =
        s.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '@' || c == '$');
    let s = if after_prefix.starts_with(['"', '\'', '`']) {
        after_prefix
    } else {
        s.strip_prefix(':').unwrap_or(s)
    };
    if let Some(inner) = s.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
        return inner.to_string();
    }
    for q in ["\"\"\"", "'''", "\"", "'", "`"] {
        if let Some(inner) = s.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    // Not a literal after all (an identifier): use the raw text.
    if s.is_empty() {
        raw.trim().to_string()
    } else {
        s.to_string()
    }
}

/// What one file yields: its hints, the framework chosen from them, suites and tests.
pub struct Analysis {
    pub imports: Vec<String>,
    pub calls: Vec<String>,
    pub framework: &'static str,
    pub suites: Vec<Suite>,
    pub tests: Vec<Test>,
}

/// Runs the language's query once over `tree`: hint matches feed `choose`, which names
/// the framework; item matches become the file's suites and tests under that framework's
/// rules. One traversal instead of one per concern keeps the scan close to bare parsing.
pub fn analyze<'t>(
    tree: &'t Tree,
    src: &[u8],
    grammar: crate::framework::Grammar,
    lang: &Language,
    budget: &Budget,
    origin: Origin<'_>,
    choose: impl FnOnce(&[String]) -> &'static str,
) -> Option<Analysis> {
    let Origin { rel, defs, pytest } = origin;
    let compiled = lang.compiled(grammar).ok()?;
    let query = &compiled.query;
    let names = query.capture_names();
    let mut pending: Vec<Pending<'t>> = Vec::new();
    let mut hints = Hints::default();
    let on_match =
        |m: &QueryMatch<'_, 't>, at: Option<At<'_, 't>>| match raw_item(m, at, names, src, lang) {
            Some(p) => pending.push(p),
            None => hints.add(m, names, src, lang),
        };
    let complete = with_cursor(|cursor| match &compiled.roots {
        Some(roots) => run_at_roots(cursor, query, roots, tree, src, budget, on_match),
        None => run_over_tree(cursor, query, tree, src, budget, on_match),
    });
    if !complete || budget.check_now() {
        return None;
    }
    add_cases(&mut pending, lang.def.id, src);
    if let Some(pass) = crate::lang::file_pass(lang.def.id) {
        let ctx = FilePassCtx {
            tree,
            src,
            defs,
            rel,
        };
        pending.extend(pass(&ctx).into_iter().map(|item| Pending {
            item,
            attrs: Vec::new(),
            has_params: false,
            node: None,
            loops: Vec::new(),
        }));
    }
    let framework = choose(&hints.imports);
    let fw = lang.framework(framework)?;
    let items: Vec<RawItem> = pending
        .into_iter()
        .map(|p| apply_framework(p, fw, src, lang, defs))
        .collect();
    let (mut suites, mut tests) = finish(items, lang, fw, pytest);
    crate::doc_comments::attach(tree, src, lang.def.id, &mut suites, &mut tests);
    Some(Analysis {
        imports: hints.imports,
        calls: hints.calls,
        framework,
        suites,
        tests,
    })
}

thread_local! {
    /// One query cursor per thread, reused from file to file (its state arrays stay
    /// allocated).
    static CURSOR: std::cell::RefCell<QueryCursor> = std::cell::RefCell::new(QueryCursor::new());
}

/// Runs `f` with this thread's query cursor (a fresh one if it is already in use).
fn with_cursor<R>(f: impl FnOnce(&mut QueryCursor) -> R) -> R {
    CURSOR.with(|cell| match cell.try_borrow_mut() {
        Ok(mut cursor) => f(&mut cursor),
        Err(_) => f(&mut QueryCursor::new()),
    })
}

/// Runs `query` at every node of `tree` whose kind is one of the patterns' `roots`, each
/// run starting patterns at that node only (maximum start depth 0). A plain tree walk is
/// about three times cheaper per node than the query cursor's own traversal (which
/// computes fields, supertypes and pattern states at every node), and the cursor then
/// only visits the few levels under a root node that its patterns look at. The matches
/// are those of one run over the whole tree; each comes with the node it was found at
/// and that node's ancestors. Returns false when the budget ran out.
fn run_at_roots<'t>(
    cursor: &mut QueryCursor,
    query: &tree_sitter::Query,
    roots: &[u16],
    tree: &'t Tree,
    src: &[u8],
    budget: &Budget,
    mut on_match: impl FnMut(&QueryMatch<'_, 't>, Option<At<'_, 't>>),
) -> bool {
    cursor.set_max_start_depth(Some(0));
    // Ancestors of the visited node, root first, and for each the next child to visit.
    // `Node::child(i)` is cheaper than a `TreeCursor` step (no position or descendant
    // bookkeeping) but costs O(i), so the children of a wide node are listed once with a
    // cursor and taken from that list.
    //
    // Only named children are visited when every root kind is named (as every pattern's
    // is): an anonymous node is a token, without children, that no pattern starts at, and
    // skipping the punctuation and keywords takes a third of the steps out of the walk.
    let language = tree.language();
    let named_only = roots.iter().all(|&k| language.node_kind_is_named(k));
    let mut path: Vec<Node<'t>> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut wide: Vec<Node<'t>> = Vec::new();
    let mut lister = tree.walk();
    let mut node = tree.root_node();
    loop {
        if budget.exhausted() {
            return false;
        }
        // Every depth: a match is never dropped for being deep (suites nested past
        // [`MAX_DEPTH`] are flattened by `build_tree`, not lost). The cursor runs with a
        // maximum start depth of 0 at each root node, so a deep node costs what a shallow
        // one does.
        if roots.binary_search(&node.kind_id()).is_ok() {
            let at = At { node, path: &path };
            let mut matches = cursor.matches(query, node, src);
            while let Some(m) = matches.next() {
                on_match(m, Some(at));
            }
        }
        let count = if named_only {
            node.named_child_count()
        } else {
            node.child_count()
        };
        if count > 0 {
            let listed = (count > Frame::WIDE).then(|| {
                let start = wide.len();
                if named_only {
                    wide.extend(node.named_children(&mut lister));
                } else {
                    wide.extend(node.children(&mut lister));
                }
                start
            });
            frames.push(Frame {
                next: 0,
                count,
                listed,
            });
            path.push(node);
        }
        // The next node in pre-order: the next child of the innermost unfinished ancestor.
        loop {
            let (Some(frame), Some(parent)) = (frames.last_mut(), path.last()) else {
                return true;
            };
            if frame.next < frame.count {
                let i = frame.next;
                frame.next += 1;
                let child = match frame.listed {
                    Some(start) => wide.get(start + i).copied(),
                    None if named_only => parent.named_child(i),
                    None => parent.child(i),
                };
                if let Some(child) = child {
                    node = child;
                    break;
                }
                continue;
            }
            if let Some(start) = frame.listed {
                wide.truncate(start);
            }
            frames.pop();
            path.pop();
        }
    }
}

/// A node on the walk's path: which of its `count` children comes next, and where its
/// children start in the walk's list when it is wide.
struct Frame {
    next: usize,
    count: usize,
    listed: Option<usize>,
}

impl Frame {
    /// Above this many children, `Node::child(i)` (O(i)) would make the walk quadratic.
    const WIDE: usize = 16;
}

/// Where a match was found: the node the query ran at and that node's ancestors (root
/// first), so that looking up an item's ancestors needs no `Node::parent` (each call of
/// which walks down from the root).
#[derive(Clone, Copy)]
struct At<'a, 't> {
    node: Node<'t>,
    path: &'a [Node<'t>],
}

impl<'t> At<'_, 't> {
    /// The ancestors of `node` (a descendant of or equal to `self.node`), innermost first.
    fn ancestors(&self, node: Node<'t>) -> Vec<Node<'t>> {
        let mut down = Vec::new();
        let mut cur = self.node;
        while cur != node {
            match cur.child_with_descendant(node) {
                Some(c) if c != cur => {
                    down.push(cur);
                    cur = c;
                }
                _ => return parents(node).collect(),
            }
        }
        down.reverse();
        down.extend(self.path.iter().rev());
        down
    }
}

/// The ancestors of `node` by `Node::parent`, innermost first.
fn parents(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    std::iter::successors(node.parent(), Node::parent)
}

/// Runs `query` once over the whole tree (for queries whose patterns have no single root
/// kind). Returns false when the budget ran out.
fn run_over_tree<'t>(
    cursor: &mut QueryCursor,
    query: &tree_sitter::Query,
    tree: &'t Tree,
    src: &[u8],
    budget: &Budget,
    mut on_match: impl FnMut(&QueryMatch<'_, 't>, Option<At<'_, 't>>),
) -> bool {
    cursor.set_max_start_depth(None);
    let mut progress = |_: &tree_sitter::QueryCursorState| budget.exhausted();
    let options = QueryCursorOptions::new().progress_callback(&mut progress);
    let mut matches = cursor.matches_with_options(query, tree.root_node(), src, options);
    while let Some(m) = matches.next() {
        on_match(m, None);
    }
    true
}

fn finish(
    items: Vec<RawItem>,
    lang: &Language,
    fw: &Framework,
    pytest: Option<&PytestConfig>,
) -> (Vec<Suite>, Vec<Test>) {
    let mut items = merge_same_node(items);
    if let Some(rules) = pytest {
        pytest_collect(&mut items, rules);
    }
    let ctx = HookCtx {
        framework: fw.def.id,
    };
    let mut kept: Vec<RawItem> = Vec::with_capacity(items.len());
    for mut item in items {
        if item.kind == Kind::Candidate {
            if item.rule_suite {
                item.kind = Kind::Suite;
            } else if item.rule_test && !item.rule_not_test {
                item.kind = Kind::Test;
            } else {
                continue;
            }
        }
        if let Some(hook) = lang.def.hook {
            if !hook(&mut item, &ctx) {
                continue;
            }
        }
        if matches!(item.kind, Kind::Hook | Kind::Candidate) {
            continue;
        }
        kept.push(item);
    }
    if kept.iter().any(|i| i.second_look) {
        let firsts: std::collections::HashSet<usize> = kept
            .iter()
            .filter(|i| !i.second_look)
            .map(|i| i.start_byte)
            .collect();
        kept.retain(|i| !i.second_look || !firsts.contains(&i.start_byte));
    }
    build_tree(kept, fw.def.prune_empty_suites, lang.def.tests_nest)
}

/// pytest's choice among the classes and functions the Python query found: a class is
/// collected when its name matches `python_classes` (or it derives from a `TestCase`)
/// and any class around it is collected too; a module-level function or a method of a
/// collected class is a test when its name matches `python_functions` (`test*` in a
/// `TestCase`, whose methods unittest's own loader picks). Classes that are not
/// collected are dropped with their methods; functions that are not tests stay
/// candidates, which are dropped.
fn pytest_collect(items: &mut Vec<RawItem>, rules: &PytestConfig) {
    // Items are sorted by start, outer before inner: each class's enclosing class is
    // already decided when it is reached.
    let mut classes: Vec<(usize, bool, bool)> = Vec::new();
    let mut keep = vec![true; items.len()];
    for i in 0..items.len() {
        let item = &items[i];
        let inner = classes
            .iter()
            .rev()
            .find(|(j, ..)| items[*j].contains(item))
            .copied();
        match item.kind {
            Kind::Suite => {
                let unittest = item.args.as_deref().is_some_and(|a| a.contains("TestCase"));
                let named = item
                    .name
                    .as_deref()
                    .is_some_and(|n| rules.classes.matches(n));
                let collected = inner.is_none_or(|(_, c, _)| c) && (unittest || named);
                keep[i] = collected;
                classes.push((i, collected, unittest));
            }
            Kind::Candidate => {
                let name = item.name.as_deref().unwrap_or_default();
                let test = match inner {
                    None => rules.functions.matches(name),
                    Some((_, false, _)) => false,
                    Some((_, true, true)) => name.starts_with("test"),
                    Some((_, true, false)) => rules.functions.matches(name),
                };
                items[i].rule_test = test;
            }
            _ => {}
        }
    }
    let mut flags = keep.into_iter();
    items.retain(|_| flags.next().unwrap_or(true));
}

/// An item match before the framework is known: rules still to apply.
struct Pending<'t> {
    item: RawItem,
    attrs: Vec<Node<'t>>,
    has_params: bool,
    /// The item's node (none for items of a file pass).
    node: Option<Node<'t>>,
    /// Loops around the node, innermost first.
    loops: Vec<Node<'t>>,
}

/// Reads each item's cases ([`crate::cases`]): once per node (several matches may see
/// one method) and once per loop (many tests may sit in one loop over a long table).
fn add_cases(pending: &mut [Pending<'_>], lang: &str, src: &[u8]) {
    // Per node, the match that captured the most attributes (a decorated class is seen
    // by a pattern without its decorators too).
    let mut best: HashMap<(usize, usize), usize> = HashMap::new();
    for (i, p) in pending.iter().enumerate() {
        let Some(node) = p.node.filter(|_| p.item.kind != Kind::Annotation) else {
            continue;
        };
        let slot = best
            .entry((node.start_byte(), node.end_byte()))
            .or_insert(i);
        if pending[*slot].attrs.len() < p.attrs.len() {
            *slot = i;
        }
    }
    for i in best.into_values() {
        let p = &mut pending[i];
        if let Some(node) = p.node {
            p.item.cases = cases::of_item(lang, node, &p.attrs, src);
            // Parameterised by what it declares (`[Values]` on NUnit parameters,
            // rstest's `#[values]`), even where no attribute rule said so.
            p.item.dynamic |= p.item.cases.is_some();
        }
    }
    let mut loops: HashMap<usize, Param> = HashMap::new();
    for p in pending.iter_mut() {
        if p.item.kind == Kind::Annotation {
            continue;
        }
        p.item.loops = p
            .loops
            .iter()
            .map(|l| {
                let known = loops
                    .entry(l.start_byte())
                    .or_insert_with(|| cases::of_loop(lang, *l, src));
                (l.start_byte(), known.clone())
            })
            .collect();
    }
}

/// Applies the framework's attribute and name rules to a pending item.
fn apply_framework(
    p: Pending<'_>,
    fw: &Framework,
    src: &[u8],
    lang: &Language,
    defs: &RepoDefs,
) -> RawItem {
    let Pending {
        mut item,
        attrs,
        has_params,
        ..
    } = p;
    for a in attrs {
        let t = text(a, src);
        apply_rules(&mut item, &fw.attr_rules, &t, t.trim());
        // A composed annotation of the repository (`@FastTest` carrying `@Test`).
        if matches!(lang.def.id, "java" | "kotlin") {
            if let Some(dynamic) = defs.jvm_annotation(&t) {
                item.rule_test = true;
                item.dynamic |= dynamic;
            }
        }
    }
    // Name rules stand for runners that pick methods by name alone (`test*`), and those
    // take only methods without parameters (XCTest, PHPUnit without a data provider).
    if let Some(name) = item.name.clone() {
        let was_test = item.rule_test;
        apply_rules(&mut item, &fw.name_rules, &name, &name);
        if has_params && !item.dynamic {
            item.rule_test = was_test;
        }
    }
    if let Some(group) = item.group.clone() {
        // A rule on the group name (GoogleTest `DISABLED_Suite`) applies to the test too.
        apply_rules(&mut item, &fw.name_rules, &group, &group);
    }
    item
}

fn raw_item<'t>(
    m: &QueryMatch<'_, 't>,
    at: Option<At<'_, 't>>,
    names: &[&str],
    src: &[u8],
    lang: &Language,
) -> Option<Pending<'t>> {
    let mut main: Option<(Kind, Node<'_>)> = None;
    let mut annotation: Option<Status> = None;
    for c in m.captures {
        let kind = match names.get(c.index as usize).copied() {
            Some("suite") => Kind::Suite,
            Some("test") => Kind::Test,
            Some("test.candidate") => Kind::Candidate,
            Some("item") => Kind::Hook,
            Some(a) if a.starts_with("annotation.") => {
                annotation = match a {
                    "annotation.skip" => Some(Status::Skipped),
                    "annotation.todo" => Some(Status::Todo),
                    "annotation.xfail" => Some(Status::Xfail),
                    _ => None,
                };
                Kind::Annotation
            }
            _ => continue,
        };
        main = Some((kind, c.node));
    }
    let (kind, node) = main?;
    let mut item = RawItem::new(
        kind,
        node.byte_range(),
        node.start_position(),
        node.end_position(),
    );
    let loops = loop_ancestors(node, at, src, lang);
    item.loop_start = loops.first().map(Node::start_byte);
    let mut attrs: Vec<Node<'t>> = Vec::new();
    let mut has_params = false;
    for c in m.captures {
        let Some(cap) = names.get(c.index as usize).copied() else {
            continue;
        };
        match cap {
            "name" => item.name = Some(truncate(&unquote(&text(c.node, src)), MAX_NAME)),
            "name.expr" => {
                item.name_is_literal = is_plain_literal(c.node);
                let raw = text(c.node, src);
                let name = if item.name_is_literal || c.node.kind().contains("string") {
                    let inner = unquote(&raw);
                    // `'the child\'s'`: a plain quoted literal (JS, Python, Ruby, PHP single
                    // quotes) decodes escaped quotes and backslashes; prefixed literals
                    // (`r'…'`, `@"…"`) and other kinds keep their text as written.
                    if c.node.kind() == "string" && raw.trim_start().starts_with(['\'', '"']) {
                        unescape(&inner)
                    } else {
                        inner
                    }
                } else {
                    raw.trim().to_string()
                };
                item.name = Some(truncate(&name, MAX_NAME));
            }
            "attr" => attrs.push(c.node),
            "chain" => item.chain = Some(text(c.node, src).split_whitespace().collect()),
            "args" => {
                item.arg_count = Some(c.node.named_child_count());
                item.args = Some(truncate(&text(c.node, src), 300));
            }
            "pending" => {
                item.conditional = under_condition(node);
                item.bodyless = true;
                item.set_status(Status::Todo, "pending");
            }
            "group" => item.group = Some(unquote(&text(c.node, src))),
            "skip" => item.set_status(Status::Skipped, &text(c.node, src)),
            "todo" => item.set_status(Status::Todo, &text(c.node, src)),
            "only" => item.set_status(Status::Focused, &text(c.node, src)),
            "xfail" => item.set_status(Status::Xfail, &text(c.node, src)),
            "dynamic" => item.dynamic = true,
            "params" => has_params = true,
            _ => {}
        }
    }
    if !lang.def.sibling_attr_kinds.is_empty() {
        let mut prev = node.prev_named_sibling();
        while let Some(p) = prev {
            if !lang.def.sibling_attr_kinds.contains(&p.kind()) {
                break;
            }
            attrs.push(p);
            prev = p.prev_named_sibling();
        }
    }
    if let Some(status) = annotation {
        let t = text(node, src);
        item.set_status(status, t.trim());
    }
    // Source order so the first status word in the file wins.
    attrs.sort_by_key(|n| n.start_byte());
    Some(Pending {
        item,
        attrs,
        has_params,
        node: Some(node),
        loops,
    })
}

fn apply_rules(
    item: &mut RawItem,
    rules: &[(regex::Regex, Effect)],
    haystack: &str,
    modifier: &str,
) {
    for (re, effect) in rules {
        let Some(found) = re.find(haystack) else {
            continue;
        };
        match effect {
            Effect::DisplayName => {
                if let Some(name) = re.captures(haystack).and_then(|c| c.name("name")) {
                    item.name = Some(truncate(&unescape(name.as_str()), MAX_NAME));
                    item.display_name = true;
                }
            }
            Effect::Test => item.rule_test = true,
            Effect::NotTest => item.rule_not_test = true,
            Effect::Suite => item.rule_suite = true,
            Effect::Dynamic => item.dynamic = true,
            other => {
                if let Some(status) = other.status() {
                    // Attributes are short: keep the whole one; names keep the matched prefix.
                    let m = if modifier.len() <= MAX_MODIFIER
                        && modifier.starts_with(['@', '#', '[', '/'])
                    {
                        modifier
                    } else {
                        found.as_str()
                    };
                    item.set_status(status, m);
                }
            }
        }
    }
}

/// `\"` → `"` and `\\` → `\` in a display name taken from a string literal.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(n @ ('"' | '\'' | '\\'))) => {
                out.push(n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// True when a conditional (`if`, `unless`, a modifier `if`, `case`, `?:`) lies between
/// `node` and the block it is written in.
fn under_condition(node: Node<'_>) -> bool {
    for n in parents(node) {
        match n.kind() {
            "do_block" | "block" | "program" => return false,
            "if" | "unless" | "if_modifier" | "unless_modifier" | "case" | "conditional"
            | "elsif" | "else" | "when" => return true,
            _ => {}
        }
    }
    false
}

/// The loops around `node`, innermost first.
fn loop_ancestors<'t>(
    node: Node<'t>,
    at: Option<At<'_, 't>>,
    src: &[u8],
    lang: &Language,
) -> Vec<Node<'t>> {
    let def = lang.def;
    if def.loop_kinds.is_empty() && def.loop_calls.is_empty() {
        return Vec::new();
    }
    let is_loop = |n: &Node<'_>| {
        def.loop_kinds.contains(&n.kind())
            || (!def.loop_calls.is_empty() && is_loop_call(*n, src, def.loop_calls))
    };
    match at {
        Some(at) => at.ancestors(node).into_iter().filter(is_loop).collect(),
        None => parents(node).filter(is_loop).collect(),
    }
}

/// `table.forEach(...)` (JavaScript) or `cases.each do ... end` (Ruby): a call with a
/// receiver to one of the language's looping methods.
fn is_loop_call(n: Node<'_>, src: &[u8], loop_calls: &[&str]) -> bool {
    match n.kind() {
        "call_expression" => n.child_by_field_name("function").is_some_and(|f| {
            let callee = text(f, src);
            callee.contains('.') && loop_calls.contains(&callee.rsplit('.').next().unwrap_or(""))
        }),
        "call" => {
            n.child_by_field_name("receiver").is_some()
                && n.child_by_field_name("method")
                    .is_some_and(|m| loop_calls.contains(&text(m, src).as_ref()))
        }
        _ => false,
    }
}

fn merge_same_node(mut items: Vec<RawItem>) -> Vec<RawItem> {
    items.sort_by(|a, b| {
        a.start_byte
            .cmp(&b.start_byte)
            .then(b.end_byte.cmp(&a.end_byte))
    });
    let mut out: Vec<RawItem> = Vec::with_capacity(items.len());
    for item in items {
        match out.last_mut() {
            Some(last) if (last.start_byte, last.end_byte) == (item.start_byte, item.end_byte) => {
                merge_into(last, item);
            }
            _ => out.push(item),
        }
    }
    out
}

fn merge_into(into: &mut RawItem, other: RawItem) {
    let rank = |k: Kind| match k {
        Kind::Suite => 3,
        Kind::Test => 2,
        Kind::Hook | Kind::Annotation => 1,
        Kind::Candidate => 0,
    };
    if rank(other.kind) > rank(into.kind) {
        into.kind = other.kind;
    }
    if into.name.is_none() || (other.display_name && !into.display_name) {
        into.name = other.name;
        into.name_is_literal = other.name_is_literal;
        into.display_name = other.display_name;
    }
    if let Some(m) = &other.modifier {
        into.set_status(other.status, m);
    }
    into.dynamic |= other.dynamic;
    into.rule_test |= other.rule_test;
    into.rule_not_test |= other.rule_not_test;
    into.rule_suite |= other.rule_suite;
    into.chain = into.chain.take().or(other.chain);
    into.arg_count = into.arg_count.or(other.arg_count);
    into.args = into.args.take().or(other.args);
    into.bodyless |= other.bodyless;
    into.group = into.group.take().or(other.group);
    into.cases = into.cases.take().or(other.cases);
    if into.loops.is_empty() {
        into.loops = other.loops;
    }
}

/// A node of the nesting tree while it is built.
struct Node2 {
    item: RawItem,
    children: Vec<usize>,
    /// How many times the runner runs this item: its own cases, times the loops between
    /// it and its parent, times its parent's (`None`: once).
    runs: Option<Param>,
}

fn build_tree(items: Vec<RawItem>, prune: bool, tests_nest: bool) -> (Vec<Suite>, Vec<Test>) {
    // Items arrive sorted by start asc, end desc (parents before children).
    let mut nodes: Vec<Node2> = Vec::with_capacity(items.len());
    let mut roots: Vec<usize> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for item in items {
        while let Some(&top) = stack.last() {
            if nodes[top].item.contains(&item) {
                break;
            }
            stack.pop();
        }
        let parent = stack.last().copied();
        if item.kind == Kind::Annotation {
            if let (Some(p), Some(m)) = (parent, item.modifier.as_deref()) {
                if item.status == Status::Active {
                    nodes[p].item.set_conditional(m);
                } else {
                    nodes[p].item.set_status(item.status, m);
                }
            }
            continue;
        }
        // Where tests cannot hold tests (everywhere but Go), whatever a test contains is
        // not collected by the runner: a helper class inside a pytest function, say.
        if !tests_nest && parent.is_some_and(|p| nodes[p].item.kind == Kind::Test) {
            continue;
        }
        let idx = nodes.len();
        let mut item = item;
        let parent_start = parent.map(|p| nodes[p].item.start_byte);
        if let Some(loop_start) = item.loop_start {
            if parent_start.is_none_or(|ps| loop_start > ps) {
                item.dynamic = true;
            }
        }
        if !item.name_is_literal {
            item.dynamic = true;
        }
        let runs = runs(
            &item,
            parent_start,
            parent.and_then(|p| nodes[p].runs.as_ref()),
        );
        nodes.push(Node2 {
            item,
            children: Vec::new(),
            runs,
        });
        match parent {
            Some(p) if stack.len() < MAX_DEPTH => {
                nodes[p].children.push(idx);
                stack.push(idx);
            }
            Some(p) => nodes[p].children.push(idx),
            None => {
                roots.push(idx);
                stack.push(idx);
            }
        }
    }
    let mut suites = Vec::new();
    let mut tests = Vec::new();
    let mut groups: Vec<(String, Suite)> = Vec::new();
    for r in roots {
        let group = nodes[r].item.group.clone();
        match convert(&nodes, r, Status::Active, prune) {
            Some(Converted::Suite(s)) => suites.push(s),
            Some(Converted::Test(t)) => match group {
                Some(g) => add_to_group(&mut groups, &g, t),
                None => tests.push(t),
            },
            None => {}
        }
    }
    suites.extend(groups.into_iter().map(|(_, s)| s));
    suites.sort_by_key(|s| (s.location.start_line, s.location.start_column));
    (suites, tests)
}

/// How many times the runner runs `item`: its own cases, times each loop around it that
/// lies inside its parent (starts after `parent_start`), times what its parent runs.
fn runs(item: &RawItem, parent_start: Option<usize>, parent: Option<&Param>) -> Option<Param> {
    let mut own = item.cases.clone();
    for (start, known) in &item.loops {
        if parent_start.is_none_or(|ps| *start > ps) {
            own = Some(match own {
                Some(o) => known.times(&o),
                None => known.clone(),
            });
        }
    }
    match (parent, own) {
        (None, own) => own,
        (Some(p), None) => Some(p.clone()),
        (Some(p), Some(o)) => Some(p.times(&o)),
    }
}

/// Puts `t` into the synthetic suite named `g`, creating it at the test's location.
fn add_to_group(groups: &mut Vec<(String, Suite)>, g: &str, t: Test) {
    if let Some((_, s)) = groups.iter_mut().find(|(n, _)| n == g) {
        s.location.end_line = t.location.end_line;
        s.location.end_column = t.location.end_column;
        s.tests.push(t);
        return;
    }
    let disabled = g.starts_with("DISABLED_");
    let suite = Suite {
        name: g.to_string(),
        location: t.location,
        status: if disabled {
            Status::Skipped
        } else {
            Status::Active
        },
        modifier: disabled.then(|| "DISABLED_".to_string()),
        suites: Vec::new(),
        tests: vec![t],
    };
    groups.push((g.to_string(), suite));
}

/// A suite's status reaches its children: skipping a suite skips everything in it (even a
/// focused test: runners skip it), while a focused or xfail suite only colours its active
/// children. The child keeps its own modifier only when its own status stands.
fn effective_status(
    inherited: Status,
    own: Status,
    modifier: Option<&String>,
) -> (Status, Option<String>) {
    use Status::{Active, Focused, Skipped, Todo, Xfail};
    match (inherited, own) {
        (Skipped | Todo, Active | Focused) => (inherited, None),
        (Xfail | Focused, Active) => (inherited, None),
        _ => (own, modifier.cloned()),
    }
}

enum Converted {
    Suite(Suite),
    Test(Test),
}

fn convert(nodes: &[Node2], idx: usize, inherited: Status, prune: bool) -> Option<Converted> {
    let n = nodes.get(idx)?;
    let item = &n.item;
    let (status, modifier) = effective_status(inherited, item.status, item.modifier.as_ref());
    let base = item
        .name
        .clone()
        .unwrap_or_else(|| "(anonymous)".to_string());
    let name = if item.dynamic {
        format!("{base} (dynamic)")
    } else {
        base
    };
    // Children first: a test becomes a suite only if something survives inside it (a
    // helper class inside a pytest function is pruned and leaves the test a test).
    let mut suites = Vec::new();
    let mut tests = Vec::new();
    for &c in &n.children {
        match convert(nodes, c, status, prune) {
            Some(Converted::Suite(s)) => suites.push(s),
            Some(Converted::Test(t)) => tests.push(t),
            None => {}
        }
    }
    let is_suite = item.kind == Kind::Suite || !suites.is_empty() || !tests.is_empty();
    if !is_suite {
        return Some(Converted::Test(Test {
            name,
            location: item.location(),
            status,
            modifier,
            dynamic: item.dynamic,
            cases: n.runs.clone().and_then(Param::into_model),
            doc: None,
        }));
    }
    let suite = Suite {
        name,
        location: item.location(),
        status,
        modifier,
        suites,
        tests,
    };
    if prune && suite.tests.is_empty() && suite.suites.is_empty() {
        return None;
    }
    Some(Converted::Suite(suite))
}

/// Module names imported by the file and `a.b` calls (domain hints), deduplicated.
#[derive(Default)]
struct Hints {
    imports: Vec<String>,
    calls: Vec<String>,
    seen: HashMap<String, ()>,
}

impl Hints {
    const MAX: usize = 100;

    fn add(&mut self, m: &QueryMatch<'_, '_>, names: &[&str], src: &[u8], lang: &Language) {
        let (mut recv, mut method) = (None, None);
        for c in m.captures {
            match names.get(c.index as usize).copied() {
                Some("import") if self.imports.len() < Self::MAX => {
                    let t: String = unquote(&text(c.node, src)).split_whitespace().collect();
                    if !t.is_empty() && self.seen.insert(format!("i:{t}"), ()).is_none() {
                        self.imports.push(t);
                    }
                }
                Some("call.recv") => recv = Some(text(c.node, src)),
                Some("call.name") => method = Some(text(c.node, src)),
                _ => {}
            }
        }
        let (Some(recv), Some(method)) = (recv, method) else {
            return;
        };
        let recv = recv.trim().trim_start_matches('$');
        if self.calls.len() >= Self::MAX || lang.def.noise_receivers.contains(&recv) {
            return;
        }
        let call = format!("{recv}.{}", method.trim());
        if self.seen.insert(format!("c:{call}"), ()).is_none() {
            self.calls.push(call);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::registry;

    type Found = Vec<(usize, Vec<(u32, usize, usize)>)>;

    fn collect(
        run: impl FnOnce(
            &mut QueryCursor,
            &mut dyn FnMut(&QueryMatch<'_, '_>, Option<At<'_, '_>>),
        ) -> bool,
    ) -> Found {
        let mut found = Found::new();
        let mut record = |m: &QueryMatch<'_, '_>, _: Option<At<'_, '_>>| {
            let caps = m
                .captures
                .iter()
                .map(|c| (c.index, c.node.start_byte(), c.node.end_byte()))
                .collect();
            found.push((m.pattern_index, caps));
        };
        assert!(run(&mut QueryCursor::new(), &mut record));
        found.sort();
        found
    }

    /// The matches of `src` run over the whole tree, and run at root kinds.
    fn both_ways(
        lang: &Language,
        grammar: crate::framework::Grammar,
        src: &[u8],
    ) -> (Found, Found) {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&grammar.language()).unwrap();
        let tree = parser.parse(src, None).unwrap();
        let compiled = lang.compiled(grammar).unwrap();
        let roots = compiled.roots.as_ref().unwrap();
        let budget = Budget::default();
        let whole = collect(|c, f| run_over_tree(c, &compiled.query, &tree, src, &budget, f));
        let at_roots =
            collect(|c, f| run_at_roots(c, &compiled.query, roots, &tree, src, &budget, f));
        (whole, at_roots)
    }

    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_query_runs_at_its_root_kinds() {
        for lang in &registry().unwrap().languages {
            for (_, grammar) in lang.def.extensions {
                let compiled = lang.compiled(*grammar).unwrap();
                assert!(compiled.roots.is_some(), "{} {grammar:?}", lang.def.id);
            }
        }
    }

    /// The walk visits only named children when every root kind is named: each
    /// language's must be, or its walk would take every token too.
    #[test]
    fn every_root_kind_is_named() {
        for lang in &registry().unwrap().languages {
            for (_, grammar) in lang.def.extensions {
                let compiled = lang.compiled(*grammar).unwrap();
                let language = grammar.language();
                for &k in compiled.roots.as_deref().unwrap_or_default() {
                    assert!(
                        language.node_kind_is_named(k),
                        "{} {grammar:?}: {:?}",
                        lang.def.id,
                        language.node_kind_for_id(k)
                    );
                }
            }
        }
    }

    /// Running the query at root-kind nodes finds exactly the matches of one run over the
    /// whole tree, on every fixture file.
    #[test]
    fn runs_at_roots_find_what_a_whole_tree_run_finds() {
        let registry = registry().unwrap();
        let mut paths = Vec::new();
        files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            &mut paths,
        );
        let mut checked = 0;
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some((lang, grammar)) = registry.for_file_name(&name) else {
                continue;
            };
            let (whole, at_roots) = both_ways(lang, grammar, &std::fs::read(&path).unwrap());
            assert_eq!(whole, at_roots, "{}", path.display());
            checked += usize::from(!whole.is_empty());
        }
        assert!(checked > 30, "{checked} fixture files with matches");
    }

    /// Wide nodes (more children than `Frame::WIDE`) are walked from a list, narrow ones
    /// by index: both ways reach every node.
    #[test]
    fn wide_and_narrow_nodes_are_walked_alike() {
        let (lang, grammar) = registry().unwrap().for_file_name("w.test.js").unwrap();
        for n in [
            1,
            Frame::WIDE - 1,
            Frame::WIDE,
            Frame::WIDE + 1,
            3 * Frame::WIDE,
        ] {
            let body: String = (0..n)
                .map(|i| format!("it('t{i}', () => {{ a.b{i}(); }});\n"))
                .collect();
            let src = format!("import x from 'x';\n{body}describe('s', () => {{\n{body}}});\n");
            let (whole, at_roots) = both_ways(lang, grammar, src.as_bytes());
            // import + per copy of the body: n items and n calls, twice, + the describe.
            assert_eq!(whole.len(), 1 + 4 * n + 1, "{n}");
            assert_eq!(whole, at_roots, "{n}");
        }
    }
}
