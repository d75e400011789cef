//! Statically known cases of parameterised tests: how many items a framework's runner
//! reports for one test definition, read from literals in the source (a `parametrize`
//! list, an `each` table, `[TestCase]` attributes, a loop over a literal array).
//!
//! Each language reads its own syntax ([`of_item`] for what is written on the test or
//! group itself, [`of_loop`] for a loop around it); the engine ([`crate::extract`])
//! multiplies what it finds down the nesting (a parameterised group around a
//! parameterised test). Anything that is not a literal makes the cases unknown, and the
//! test stays a dynamic test counted once, as before.
//!
//! Hostile input: counting is linear in the nodes already parsed (the file size limit
//! bounds them), counts saturate instead of overflowing, names are kept for at most
//! [`Cases::MAX_NAMES`] cases and [`MAX_CASE_NAME`] bytes each, and a lookup of a data
//! provider in the same class gives up after [`MAX_SIBLINGS`] members.

mod dotnet;
mod go;
mod javascript;
mod jvm;
mod php;
mod python;
mod ruby;
mod rust;

use tree_sitter::Node;

use crate::model::Cases;

/// Longest case name kept (bytes; longer ones are cut on a character boundary).
pub const MAX_CASE_NAME: usize = 200;
/// Members of a class looked at when a data provider is looked up by name.
pub const MAX_SIBLINGS: usize = 2_000;

/// What is known about an item's parameterisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// Cases listed by literals: how many, and the runner's names when it derives them.
    Known(CaseSet),
    /// Parameterised, but by something only known at run time.
    Unknown,
}

/// A count of cases and, when the runner derives them from literals, their names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSet {
    pub count: u64,
    /// `None` when the runner's names are not derived from literals, or when there are
    /// more than [`Cases::MAX_NAMES`] cases.
    pub names: Option<Vec<String>>,
}

impl CaseSet {
    /// `count` cases whose names are not known.
    pub fn counted(count: u64) -> Self {
        CaseSet { count, names: None }
    }

    /// Cases with these names (dropped when there are too many).
    pub fn named(names: Vec<String>) -> Self {
        let count = u64::try_from(names.len()).unwrap_or(u64::MAX);
        CaseSet {
            count,
            names: (count <= Cases::MAX_NAMES).then_some(names),
        }
    }
}

impl Param {
    /// `count` cases whose names are not known.
    pub fn count(count: u64) -> Self {
        Param::Known(CaseSet::counted(count))
    }

    /// Every case of `self` runs every case of `inner` (a parameterised group around a
    /// parameterised test, stacked sources). Names do not survive: how a runner joins
    /// them differs by framework, and each language joins its own stacked names itself.
    pub fn times(&self, inner: &Param) -> Param {
        match (self, inner) {
            (Param::Known(a), Param::Known(b)) => Param::count(a.count.saturating_mul(b.count)),
            _ => Param::Unknown,
        }
    }

    /// The model's form: `None` when unknown.
    pub fn into_model(self) -> Option<Cases> {
        match self {
            Param::Known(c) => Some(Cases {
                count: c.count,
                names: c.names.unwrap_or_default(),
            }),
            Param::Unknown => None,
        }
    }
}

/// The cases a test or group declares on itself (decorators, attributes, annotations,
/// an `each` table), or `None` when it declares none. Read from the item's node (the
/// function, method, class or call), once per node; `attrs` are the attribute nodes the
/// query captured for it (Python's decorators, Rust's preceding `#[…]` items).
pub fn of_item(lang: &str, node: Node<'_>, attrs: &[Node<'_>], src: &[u8]) -> Option<Param> {
    match lang {
        "python" => python::of_item(attrs, src),
        "javascript" | "typescript" => javascript::of_item(node, src),
        "rust" => rust::of_item(node, attrs, src),
        "java" | "kotlin" => jvm::of_item(node, src),
        "csharp" => dotnet::of_item(node, src),
        "php" => php::of_item(node, src),
        _ => None,
    }
}

/// The cases a loop around a test produces: one per element of a literal it iterates,
/// [`Param::Unknown`] otherwise.
pub fn of_loop(lang: &str, loop_node: Node<'_>, src: &[u8]) -> Param {
    let known = match lang {
        "javascript" | "typescript" => javascript::of_loop(loop_node, src),
        "ruby" => ruby::of_loop(loop_node, src),
        "go" => go::of_loop(loop_node, src),
        _ => None,
    };
    known.map_or(Param::Unknown, Param::count)
}

/// Named children of `node` that are not comments.
fn elements<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    let mut cursor = node.walk();
    let children: Vec<Node<'t>> = node
        .named_children(&mut cursor)
        .filter(|c| !c.kind().contains("comment"))
        .collect();
    children.into_iter()
}

/// How many elements `node` has, or `None` when one of them is a spread (`...rest`,
/// `*rest`, `**kw`), whose length is not known.
fn count_elements(node: Node<'_>, spread_kinds: &[&str]) -> Option<u64> {
    let mut n: u64 = 0;
    for c in elements(node) {
        if spread_kinds.contains(&c.kind()) {
            return None;
        }
        n = n.saturating_add(1);
    }
    Some(n)
}

/// `s` cut to [`MAX_CASE_NAME`] bytes on a character boundary.
fn cap_name(s: String) -> String {
    if s.len() <= MAX_CASE_NAME {
        return s;
    }
    let mut end = MAX_CASE_NAME;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The text of `node`.
fn text<'a>(node: Node<'_>, src: &'a [u8]) -> std::borrow::Cow<'a, str> {
    crate::extract::text(node, src)
}
