//! Rust tests written by `macro_rules!` macros: a macro whose expansion holds
//! `#[test] fn $name`, invoked once per case (`check!(adds, 1 + 1 => 2);`), writes one
//! test per invocation, named by the invocation. Without expanding macros for real, the
//! names are bound by matching the invocation's tokens against each rule's matcher, the
//! way `macro_rules!` tries its rules in order; a rule that forwards to another macro
//! (`toregex!($name, $re)` → `toregex!($name, $re, Options::default())`, or
//! `literal!($($tt)*)` → `extract!(literal, $($tt)*)`) is followed, a few levels deep.
//! A name that cannot be bound (a `paste!`-built `[<test_ $name>]`, a test inside a
//! `$( … )*` repetition) leaves the test dynamic.

use std::collections::HashMap;

use tree_sitter::Node;

use crate::repo_defs::RepoDefs;

/// How many forwarding steps are followed from one invocation.
const MAX_DEPTH: usize = 8;

/// One `macro_rules!` definition: its rules, what they match and what they write.
#[derive(Debug, Clone, Default)]
pub struct Macro {
    rules: Vec<MacroRule>,
}

#[derive(Debug, Clone)]
struct MacroRule {
    matcher: Vec<Pat>,
    tests: Vec<MacroTest>,
    /// Macro invocations at the top level of the expansion, as token templates.
    calls: Vec<(String, Vec<Tpl>)>,
}

/// A token of an invocation: its text and whether it is a delimited group.
type Tok = (String, bool);

/// One top-level piece of a rule's matcher.
#[derive(Debug, Clone, PartialEq)]
enum Pat {
    /// A token to be written as is (`,`, `=>`, a keyword).
    Tok(String),
    /// `$name:frag`.
    Var(String, String),
    /// A delimited group: matches one token tree of the invocation.
    Group,
    /// `$( … )*`: takes the rest of the invocation, bound to each variable inside.
    Repeat(Vec<String>),
}

/// One top-level piece of a forwarded invocation in an expansion.
#[derive(Debug, Clone)]
enum Tpl {
    Tok(String, bool),
    /// `$name`.
    Var(String),
    /// `$( … )*` over variables: replaced by what they were bound to.
    Repeat(Vec<String>),
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

/// A test an invocation writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Expanded {
    /// `None` when it cannot be known without expanding.
    pub name: Option<String>,
    pub ignored: Option<String>,
    pub repeated: bool,
}

impl Macro {
    /// Whether an expansion writes a test itself.
    pub fn has_tests(&self) -> bool {
        self.rules.iter().any(|r| !r.tests.is_empty())
    }

    /// The macros its expansions invoke.
    pub fn calls(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .flat_map(|r| r.calls.iter().map(|(n, _)| n.as_str()))
    }
}

fn text(node: Node<'_>, src: &[u8]) -> String {
    crate::extract::text(node, src).into_owned()
}

/// Every `macro_rules!` definition of a Rust source, by name.
pub fn definitions(src: &[u8]) -> Vec<(String, Macro)> {
    let mut parser = tree_sitter::Parser::new();
    if parser
        .set_language(&crate::framework::Grammar::Rust.language())
        .is_err()
    {
        return Vec::new();
    }
    // Only the definitions are parsed, not the whole file (the file itself is parsed
    // once more when it is analysed); if they cannot be cut out, the whole file is.
    let cut = definition_sources(src);
    let src = cut.as_deref().unwrap_or(src);
    let Some(tree) = parser.parse(src, None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "macro_definition" {
            if let Some(found) = definition(node, src) {
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

/// The `macro_rules! name { … }` definitions of a source, one after the other, cut out
/// by matching brackets (skipping string and character literals and comments); `None`
/// when one does not close.
fn definition_sources(src: &[u8]) -> Option<Vec<u8>> {
    const KEYWORD: &[u8] = b"macro_rules!";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = src
        .get(from..)?
        .windows(KEYWORD.len())
        .position(|w| w == KEYWORD)
    {
        let start = from + at;
        let open = start + src[start..].iter().position(|b| b"{([".contains(b))?;
        let close = closing_bracket(src, open)?;
        out.extend_from_slice(&src[start..=close]);
        out.extend_from_slice(if src[open] == b'{' { b"\n" } else { b";\n" });
        from = close + 1;
    }
    Some(out)
}

/// The offset of the bracket closing the one at `open`.
fn closing_bracket(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&b) = src.get(i) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => {
                i += 1;
                while let Some(&c) = src.get(i) {
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            // A character literal ('{', '\''), not a lifetime ('a).
            b'\'' if src.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if src.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while src.get(i).is_some_and(|c| *c != b'\'') {
                    i += 1;
                }
            }
            b'/' if src.get(i + 1) == Some(&b'/') => {
                while src.get(i).is_some_and(|c| *c != b'\n') {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn definition(def: Node<'_>, src: &[u8]) -> Option<(String, Macro)> {
    let name = text(def.child_by_field_name("name")?, src);
    let mut mac = Macro::default();
    let mut cursor = def.walk();
    for rule in def.named_children(&mut cursor) {
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
            calls: calls(right, src),
        });
    }
    Some((name, mac))
}

/// The inner tokens of a delimited group (without its delimiters).
fn inner(group: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = group.walk();
    let all: Vec<_> = group.children(&mut cursor).collect();
    match all.len() {
        n if n >= 2 => all[1..n - 1].to_vec(),
        _ => Vec::new(),
    }
}

fn var_name(node: Node<'_>, src: &[u8]) -> String {
    text(node, src).trim_start_matches('$').to_string()
}

/// The variables named anywhere inside a node (`$( $name:ident ),*` → `name`).
fn vars_inside(node: Node<'_>, src: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "metavariable" {
            out.push(var_name(n, src));
        }
        let mut cursor = n.walk();
        stack.extend(n.children(&mut cursor));
    }
    out
}

fn matcher(left: Node<'_>, src: &[u8]) -> Vec<Pat> {
    inner(left)
        .into_iter()
        .map(|n| match n.kind() {
            "token_binding_pattern" => Pat::Var(
                n.child_by_field_name("name")
                    .map(|v| var_name(v, src))
                    .unwrap_or_default(),
                n.child_by_field_name("type")
                    .map(|v| text(v, src))
                    .unwrap_or_default(),
            ),
            "token_tree_pattern" => Pat::Group,
            "token_repetition_pattern" => Pat::Repeat(vars_inside(n, src)),
            _ => Pat::Tok(text(n, src)),
        })
        .collect()
}

/// `name!( … )` invocations at the top level of an expansion.
fn calls(right: Node<'_>, src: &[u8]) -> Vec<(String, Vec<Tpl>)> {
    let toks = inner(right);
    let mut out = Vec::new();
    for w in toks.windows(3) {
        let [name, bang, args] = w else { continue };
        if name.kind() != "identifier" || text(*bang, src) != "!" || args.kind() != "token_tree" {
            continue;
        }
        let template = inner(*args)
            .into_iter()
            .map(|n| match n.kind() {
                "metavariable" => Tpl::Var(var_name(n, src)),
                "token_repetition" => Tpl::Repeat(vars_inside(n, src)),
                k => Tpl::Tok(text(n, src), k == "token_tree"),
            })
            .collect();
        out.push((text(*name, src), template));
    }
    out
}

/// Finds `#[test] … fn NAME` in a rule's expansion, at any depth.
fn transcriber_tests(tree: Node<'_>, src: &[u8], repeated: bool, out: &mut Vec<MacroTest>) {
    let toks = inner(tree);
    let is_attr = |j: usize| {
        toks.get(j).is_some_and(|n| text(*n, src) == "#")
            && toks.get(j + 1).is_some_and(|n| n.kind() == "token_tree")
    };
    let mut i = 0;
    while i < toks.len() {
        match toks[i].kind() {
            "token_tree" => transcriber_tests(toks[i], src, repeated, out),
            "token_repetition" => transcriber_tests(toks[i], src, true, out),
            _ => {}
        }
        if !is_attr(i) {
            i += 1;
            continue;
        }
        // A run of attributes, then the item they belong to.
        let mut is_test = false;
        let mut ignored = None;
        while is_attr(i) {
            let attr = format!("#{}", text(toks[i + 1], src));
            is_test |= is_test_attr(&attr);
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
                text(*n, src).as_str(),
                "pub" | "async" | "unsafe" | "const" | "extern"
            ) || n.kind() == "string_literal"
        }) {
            i += 1;
        }
        if !is_test || toks.get(i).is_none_or(|n| text(*n, src) != "fn") {
            continue;
        }
        let Some(name) = toks.get(i + 1) else { break };
        let name = match name.kind() {
            "identifier" => FnName::Literal(text(*name, src)),
            "metavariable" => FnName::Var(var_name(*name, src)),
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

/// `#[test]`, `#[tokio::test]`, `#[rstest]`…: the attributes that say "test".
fn is_test_attr(attr: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^#\[\s*((\w+::)*test|rstest|test_case|quickcheck)\b").ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(attr))
}

/// The tests an invocation of macro `name` (its token tree `args`) writes, as seen from
/// the file `rel`.
pub fn expand(defs: &RepoDefs, rel: &str, name: &str, args: Node<'_>, src: &[u8]) -> Vec<Expanded> {
    let toks: Vec<Tok> = inner(args)
        .into_iter()
        .map(|n| (text(n, src), n.kind() == "token_tree"))
        .collect();
    let mut out = Vec::new();
    expand_tokens(defs, rel, name, &toks, 0, &mut out);
    out
}

fn expand_tokens(
    defs: &RepoDefs,
    rel: &str,
    name: &str,
    args: &[Tok],
    depth: usize,
    out: &mut Vec<Expanded>,
) {
    let Some(mac) = defs.rust_macro(name, rel) else {
        return;
    };
    let chosen = mac
        .rules
        .iter()
        .find_map(|r| bind(&r.matcher, args).map(|b| (r, b)));
    let Some((rule, bindings)) = chosen else {
        // No rule matches as far as this reading can tell: one test per test the first
        // test-writing rule holds, names unknown.
        if let Some(rule) = mac.rules.iter().find(|r| !r.tests.is_empty()) {
            out.extend(rule.tests.iter().map(|t| Expanded {
                name: None,
                ignored: t.ignored.clone(),
                repeated: t.repeated,
            }));
        }
        return;
    };
    for t in &rule.tests {
        let name = match &t.name {
            FnName::Literal(n) => Some(n.clone()),
            FnName::Var(v) if !t.repeated => bindings
                .get(v)
                .and_then(|b| (b.len() == 1).then(|| b[0].0.clone())),
            FnName::Var(_) | FnName::Unknown => None,
        };
        out.push(Expanded {
            name,
            ignored: t.ignored.clone(),
            repeated: t.repeated,
        });
    }
    if depth >= MAX_DEPTH {
        return;
    }
    for (callee, template) in &rule.calls {
        if !defs.is_rust_test_macro(callee) {
            continue;
        }
        let mut forwarded = Vec::new();
        for t in template {
            match t {
                Tpl::Tok(s, g) => forwarded.push((s.clone(), *g)),
                Tpl::Var(v) => match bindings.get(v) {
                    Some(b) => forwarded.extend(b.iter().cloned()),
                    None => forwarded.push((format!("${v}"), false)),
                },
                Tpl::Repeat(vars) => {
                    if let Some(b) = vars.iter().find_map(|v| bindings.get(v)) {
                        forwarded.extend(b.iter().cloned());
                    }
                }
            }
        }
        expand_tokens(defs, rel, callee, &forwarded, depth + 1, out);
    }
}

/// Matches an invocation's tokens against a matcher: what each variable took, or `None`
/// when the rule does not match.
fn bind(matcher: &[Pat], args: &[Tok]) -> Option<HashMap<String, Vec<Tok>>> {
    let mut out = HashMap::new();
    bind_from(matcher, args, 0, &mut out).then_some(out)
}

/// Tries the rest of the matcher (`matcher`) on the rest of the invocation (`args`),
/// backtracking over where multi-token fragments end. `steps` bounds the work.
fn bind_from(
    matcher: &[Pat],
    args: &[Tok],
    steps: usize,
    out: &mut HashMap<String, Vec<Tok>>,
) -> bool {
    const MAX_STEPS: usize = 64;
    let Some((p, rest)) = matcher.split_first() else {
        return args.is_empty();
    };
    if steps > MAX_STEPS {
        return false;
    }
    match p {
        Pat::Repeat(vars) => {
            for v in vars {
                out.insert(v.clone(), args.to_vec());
            }
            true
        }
        Pat::Tok(t) => {
            args.first().is_some_and(|a| a.0 == *t) && bind_from(rest, &args[1..], steps + 1, out)
        }
        Pat::Group => {
            args.first().is_some_and(|a| a.1) && bind_from(rest, &args[1..], steps + 1, out)
        }
        Pat::Var(name, frag) => {
            if args.is_empty() {
                return false;
            }
            if matches!(frag.as_str(), "ident" | "literal" | "lifetime" | "tt") {
                out.insert(name.clone(), args[..1].to_vec());
                return bind_from(rest, &args[1..], steps + 1, out);
            }
            // An expression, type, path…: at least one token, ending before the next
            // literal token of the matcher or the end, and never past a `,`, `;` or `=>`
            // (which cannot continue one) outside a closure's `|…|` parameters.
            let next = rest.iter().find_map(|p| match p {
                Pat::Tok(t) => Some(t.as_str()),
                _ => None,
            });
            let mut pipes = 0;
            for end in 1..=args.len() {
                if args[end - 1].0 == "|" {
                    pipes += 1;
                }
                let at = args.get(end).map(|a| a.0.as_str());
                let separator = pipes % 2 == 0 && matches!(at, Some("," | ";" | "=>"));
                if at.is_none() || separator || at == next {
                    out.insert(name.clone(), args[..end].to_vec());
                    if bind_from(rest, &args[end..], steps + end, out) {
                        return true;
                    }
                }
                if separator {
                    break;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brackets inside string and character literals and comments do not end a
    /// definition early; lifetimes are not character literals.
    #[test]
    fn definitions_are_cut_out_past_brackets_in_literals() {
        let src = br#"fn main() { let x = 1; }
macro_rules! check {
    ($name:ident) => {
        #[test]
        fn $name<'a>() { let _ = ("}", '}', '\''); // )
        }
    };
}
fn after() {}
macro_rules! other ( () => {} );
"#;
        let cut = definition_sources(src).unwrap();
        let cut = String::from_utf8(cut).unwrap();
        assert!(cut.starts_with("macro_rules! check {"), "{cut}");
        assert!(
            cut.contains("};\n}\nmacro_rules! other ( () => {} );\n"),
            "{cut}"
        );
        assert!(!cut.contains("fn after"), "{cut}");
        let names: Vec<String> = definitions(src).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["other".to_string(), "check".to_string()]);
    }
}
