//! Rust: `#[test]`, attribute macros such as `#[tokio::test]`, `#[ignore]`, `mod tests`.

use crate::extract::{Kind, RawItem};
use crate::framework::{rule, Effect, FrameworkDef, Grammar, LanguageDef};
use crate::model::Status;

const TESTS: &str = include_str!("../../queries/rust/tests.scm");
const HINTS: &str = include_str!("../../queries/rust/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[FrameworkDef {
    attr_rules: &[
        rule(r"^#\[\s*(\w+::)*test\b", Effect::Test),
        rule(r"^#\[\s*(rstest|test_case|quickcheck)\b", Effect::Test),
        rule(r"^#\[\s*(test_case|case|values)\b", Effect::Dynamic),
        rule(r"^#\[\s*ignore\b", Effect::Skip),
    ],
    prune_empty_suites: true,
    ..FrameworkDef::new("rust-test", TESTS)
}];

pub const RUST: LanguageDef = LanguageDef {
    id: "rust",
    extensions: &[("rs", Grammar::Rust)],
    candidates: &["**/*.rs"],
    prefilter: Some(r"#\[\s*(\w+::)*test\b|#\[\s*(rstest|test_case|quickcheck)\b"),
    hints_query: HINTS,
    noise_receivers: &[
        "self", "Self", "std", "Vec", "String", "Some", "Ok", "Box", "Arc", "Default",
    ],
    frameworks: FRAMEWORKS,
    default_framework: "rust-test",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &["attribute_item"],
    hook: None,
};

/// A `macro_rules!` macro whose expansion holds `#[test]` functions: each of its rules
/// with what it matches and the tests it writes.
#[derive(Debug, Clone, Default)]
pub struct TestMacro {
    rules: Vec<MacroRule>,
}

#[derive(Debug, Clone)]
struct MacroRule {
    matcher: Vec<Pat>,
    tests: Vec<MacroTest>,
}

/// One top-level piece of a rule's matcher.
#[derive(Debug, Clone, PartialEq)]
enum Pat {
    /// A token to be written as is (`,`, `=>`, a keyword).
    Tok(String),
    /// `$name:frag`.
    Var(String, String),
    /// A delimited group: matches one token tree of the invocation.
    Group,
    /// `$( … )*`: what follows cannot be matched token by token.
    Repeat,
}

#[derive(Debug, Clone)]
struct MacroTest {
    name: FnName,
    /// The `#[ignore]` attribute, when the expansion writes one.
    ignored: Option<String>,
    /// Inside `$( … )*`: one test per repetition, how many is not known here.
    repeated: bool,
}

#[derive(Debug, Clone)]
enum FnName {
    Literal(String),
    Var(String),
    /// Built by another macro (`paste!`'s `[<test_ $name>]`).
    Unknown,
}

fn node_text(node: tree_sitter::Node<'_>, src: &[u8]) -> String {
    crate::extract::text(node, src).into_owned()
}

/// The test-generating `macro_rules!` definitions of a Rust source, by name.
pub fn test_macros(src: &[u8]) -> Vec<(String, TestMacro)> {
    let mut parser = tree_sitter::Parser::new();
    if parser.set_language(&Grammar::Rust.language()).is_err() {
        return Vec::new();
    }
    let Some(tree) = parser.parse(src, None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "macro_definition" {
            if let Some(found) = test_macro(node, src) {
                out.push(found);
            }
            continue;
        }
        // Definitions sit at item level (in modules and function bodies), never in
        // expressions, so only nodes that hold items are searched.
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if matches!(
                child.kind(),
                "macro_definition" | "mod_item" | "declaration_list" | "function_item" | "block"
            ) {
                stack.push(child);
            }
        }
    }
    out
}

fn test_macro(def: tree_sitter::Node<'_>, src: &[u8]) -> Option<(String, TestMacro)> {
    let name = node_text(def.child_by_field_name("name")?, src);
    let mut mac = TestMacro::default();
    let mut cursor = def.walk();
    for rule in def.named_children(&mut cursor) {
        if rule.kind() != "macro_rule" {
            continue;
        }
        let (Some(left), Some(right)) = (
            rule.child_by_field_name("left"),
            rule.child_by_field_name("right"),
        ) else {
            continue;
        };
        let mut tests = Vec::new();
        transcriber_tests(right, src, false, &mut tests);
        mac.rules.push(MacroRule {
            matcher: matcher(left, src),
            tests,
        });
    }
    mac.rules
        .iter()
        .any(|r| !r.tests.is_empty())
        .then_some((name, mac))
}

/// The inner tokens of a delimited group (without its delimiters).
fn inner<'t>(group: tree_sitter::Node<'t>) -> Vec<tree_sitter::Node<'t>> {
    let mut cursor = group.walk();
    let all: Vec<_> = group.children(&mut cursor).collect();
    let n = all.len();
    if n >= 2 {
        all[1..n - 1].to_vec()
    } else {
        Vec::new()
    }
}

fn matcher(left: tree_sitter::Node<'_>, src: &[u8]) -> Vec<Pat> {
    inner(left)
        .into_iter()
        .map(|n| match n.kind() {
            "token_binding_pattern" => Pat::Var(
                n.child_by_field_name("name")
                    .map(|v| node_text(v, src).trim_start_matches('$').to_string())
                    .unwrap_or_default(),
                n.child_by_field_name("type")
                    .map(|v| node_text(v, src))
                    .unwrap_or_default(),
            ),
            "token_tree_pattern" => Pat::Group,
            "token_repetition_pattern" => Pat::Repeat,
            _ => Pat::Tok(node_text(n, src)),
        })
        .collect()
}

/// Finds `#[test] … fn NAME` in a rule's expansion, at any depth.
fn transcriber_tests(
    tree: tree_sitter::Node<'_>,
    src: &[u8],
    repeated: bool,
    out: &mut Vec<MacroTest>,
) {
    let toks = inner(tree);
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        match t.kind() {
            "token_tree" => transcriber_tests(t, src, repeated, out),
            "token_repetition" => transcriber_tests(t, src, true, out),
            _ => {}
        }
        let is_attr = |j: usize| {
            toks.get(j).is_some_and(|n| node_text(*n, src) == "#")
                && toks.get(j + 1).is_some_and(|n| n.kind() == "token_tree")
        };
        if !is_attr(i) {
            i += 1;
            continue;
        }
        // A run of attributes, then the item they belong to.
        let mut is_test = false;
        let mut ignored = None;
        while is_attr(i) {
            let attr = format!("#{}", node_text(toks[i + 1], src));
            if is_test_attr(&attr) {
                is_test = true;
            }
            if attr
                .trim_start_matches("#[")
                .trim_start()
                .starts_with("ignore")
            {
                ignored = Some(attr);
            }
            i += 2;
        }
        while toks.get(i).is_some_and(|n| {
            matches!(
                node_text(*n, src).as_str(),
                "pub" | "async" | "unsafe" | "const" | "extern"
            ) || n.kind() == "string_literal"
        }) {
            i += 1;
        }
        if !is_test || toks.get(i).is_none_or(|n| node_text(*n, src) != "fn") {
            continue;
        }
        let Some(name) = toks.get(i + 1) else { break };
        let name = match name.kind() {
            "identifier" => FnName::Literal(node_text(*name, src)),
            "metavariable" => FnName::Var(node_text(*name, src).trim_start_matches('$').into()),
            _ => FnName::Unknown,
        };
        out.push(MacroTest {
            name,
            ignored,
            repeated,
        });
        i += 2;
    }
}

/// `#[test]`, `#[tokio::test]`, `#[rstest]`…: the attributes of [`FRAMEWORKS`] that say
/// "test".
fn is_test_attr(attr: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^#\[\s*((\w+::)*test|rstest|test_case|quickcheck)\b").ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(attr))
}

impl TestMacro {
    /// The tests one invocation writes, given the invocation's token tree: each with its
    /// name (`None` when it cannot be known without expanding) and its `#[ignore]`.
    fn expand(&self, args: &[(String, bool)]) -> Vec<(Option<String>, Option<String>, bool)> {
        let chosen = self
            .rules
            .iter()
            .find_map(|r| bind(&r.matcher, args).map(|b| (r, b)))
            .or_else(|| {
                self.rules
                    .iter()
                    .find(|r| !r.tests.is_empty())
                    .map(|r| (r, HashMap::new()))
            });
        let Some((rule, bindings)) = chosen else {
            return Vec::new();
        };
        rule.tests
            .iter()
            .map(|t| {
                let name = match &t.name {
                    FnName::Literal(n) => Some(n.clone()),
                    FnName::Var(v) if !t.repeated => bindings.get(v).cloned(),
                    FnName::Var(_) | FnName::Unknown => None,
                };
                (name, t.ignored.clone(), t.repeated)
            })
            .collect()
    }
}

use std::collections::HashMap;

/// Matches an invocation's tokens (text, is a group) against a matcher; the bindings of
/// single-token fragments, or `None` when the rule does not match.
fn bind(matcher: &[Pat], args: &[(String, bool)]) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mut j = 0;
    for (i, p) in matcher.iter().enumerate() {
        match p {
            Pat::Repeat => return Some(out),
            Pat::Tok(t) => {
                if args.get(j)?.0 != *t {
                    return None;
                }
                j += 1;
            }
            Pat::Group => {
                if !args.get(j)?.1 {
                    return None;
                }
                j += 1;
            }
            Pat::Var(name, frag) => match frag.as_str() {
                "ident" | "literal" | "lifetime" | "tt" => {
                    out.insert(name.clone(), args.get(j)?.0.clone());
                    j += 1;
                }
                _ => {
                    // An expression, type, path…: everything up to the next literal
                    // token of the matcher (at least one token).
                    let next = matcher.get(i + 1..).and_then(|rest| {
                        rest.iter().find_map(|p| match p {
                            Pat::Tok(t) => Some(t.clone()),
                            _ => None,
                        })
                    });
                    args.get(j)?;
                    j += 1;
                    while let Some((t, _)) = args.get(j) {
                        if next.as_deref() == Some(t.as_str()) {
                            break;
                        }
                        j += 1;
                    }
                }
            },
        }
    }
    // A trailing comma or semicolon is often allowed by a `$(,)?` the loop returned at.
    (j == args.len()).then_some(out)
}

/// Rust's file pass: every item-level invocation of a test-generating macro (defined in
/// this file or anywhere in the repository) becomes its tests.
pub fn file_pass(ctx: &crate::extract::FilePassCtx<'_>) -> Vec<RawItem> {
    if ctx.defs.rust_macros.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut stack = vec![ctx.tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "mod_item" => {
                    if let Some(body) = child.child_by_field_name("body") {
                        stack.push(body);
                    }
                }
                "macro_invocation" => invocation(ctx, child, &mut out),
                "expression_statement" => {
                    if let Some(m) = child
                        .named_child(0)
                        .filter(|m| m.kind() == "macro_invocation")
                    {
                        invocation(ctx, m, &mut out);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn invocation(
    ctx: &crate::extract::FilePassCtx<'_>,
    call: tree_sitter::Node<'_>,
    out: &mut Vec<RawItem>,
) {
    let Some(name) = call.child_by_field_name("macro") else {
        return;
    };
    let name = node_text(name, ctx.src);
    let Some(mac) = ctx.defs.rust_macro(&name, ctx.rel) else {
        return;
    };
    let mut cursor = call.walk();
    let Some(tree) = call
        .named_children(&mut cursor)
        .find(|c| c.kind() == "token_tree")
    else {
        return;
    };
    let args: Vec<(String, bool)> = inner(tree)
        .into_iter()
        .map(|n| (node_text(n, ctx.src), n.kind() == "token_tree"))
        .collect();
    for (k, (test, ignored, repeated)) in mac.expand(&args).into_iter().enumerate() {
        // Items with one span merge; the tests of one invocation keep its location but
        // get byte ranges of their own.
        let mut item = RawItem::new(
            Kind::Test,
            call.start_byte()..call.end_byte().saturating_sub(k),
            call.start_position(),
            call.end_position(),
        );
        match test {
            Some(n) => item.name = Some(n),
            None => {
                item.name = Some(format!("{name}!"));
                item.name_is_literal = false;
            }
        }
        item.dynamic = repeated;
        if let Some(attr) = ignored {
            item.set_status(Status::Skipped, &attr);
        }
        out.push(item);
    }
}
