//! pytest: `@pytest.mark.parametrize(argnames, argvalues, ids=…)` with literal lists.
//! Stacked decorators multiply; the ids are pytest's own (the value's text for strings,
//! numbers, booleans and `None`, `argname` + index for anything else, `pytest.param(…,
//! id=…)` and a literal `ids=[…]` list first, duplicates made unique with an index) and
//! joined with `-`, the decorator nearest the function first, as pytest names items.

use std::collections::HashMap;

use tree_sitter::Node;

use super::{cap_name, elements, text, CaseSet, Param};

/// Splats whose length is not known.
const SPREADS: &[&str] = &["list_splat", "dictionary_splat"];

/// `attrs` are the decorators the query captured (read from the match, not from the
/// tree: `Node::parent` walks down from the root, which a deep file would pay per test).
pub(super) fn of_item(attrs: &[Node<'_>], src: &[u8]) -> Option<Param> {
    // Decorators apply bottom-up: the nearest one's ids come first in the item name and
    // its cases vary slowest.
    let mut sets: Vec<Param> = Vec::new();
    for attr in attrs.iter().rev() {
        let Some(call) = attr.named_child(0).filter(|c| c.kind() == "call") else {
            continue;
        };
        let Some(function) = call.child_by_field_name("function") else {
            continue;
        };
        let callee: String = text(function, src).split_whitespace().collect();
        if !(callee == "pytest.mark.parametrize" || callee == "mark.parametrize") {
            continue;
        }
        sets.push(parametrize(call, src));
    }
    let mut sets = sets.into_iter();
    let first = sets.next()?;
    Some(sets.fold(first, |acc, next| join(&acc, &next)))
}

/// Two stacked decorators: every id of `outer` (nearer the function) with every id of
/// `inner`, pytest's order (`outer`'s ids vary slowest).
fn join(outer: &Param, inner: &Param) -> Param {
    let (Param::Known(a), Param::Known(b)) = (outer, inner) else {
        return Param::Unknown;
    };
    let count = a.count.saturating_mul(b.count);
    let names = match (&a.names, &b.names) {
        (Some(x), Some(y)) if count <= crate::model::Cases::MAX_NAMES => Some(
            x.iter()
                .flat_map(|p| y.iter().map(move |q| cap_name(format!("{p}-{q}"))))
                .collect(),
        ),
        _ => None,
    };
    Param::Known(CaseSet { count, names })
}

/// One `parametrize(argnames, argvalues, ids=…)` call.
fn parametrize(call: Node<'_>, src: &[u8]) -> Param {
    let Some(args) = call.child_by_field_name("arguments") else {
        return Param::Unknown;
    };
    let mut positional = Vec::new();
    let mut keywords: HashMap<String, Node<'_>> = HashMap::new();
    for a in elements(args) {
        if a.kind() == "keyword_argument" {
            if let (Some(k), Some(v)) = (
                a.child_by_field_name("name"),
                a.child_by_field_name("value"),
            ) {
                keywords.insert(text(k, src).into_owned(), v);
            }
        } else {
            positional.push(a);
        }
    }
    let argnames = positional
        .first()
        .copied()
        .or_else(|| keywords.get("argnames").copied());
    let argvalues = positional
        .get(1)
        .copied()
        .or_else(|| keywords.get("argvalues").copied());
    let (Some(argnames), Some(argvalues)) = (argnames, argvalues) else {
        return Param::Unknown;
    };
    let names = arg_names(argnames, src);
    if argvalues.kind() == "call" {
        return range_call(
            argvalues,
            src,
            keywords.contains_key("ids"),
            names.as_deref(),
        );
    }
    if !matches!(argvalues.kind(), "list" | "tuple") {
        return Param::Unknown;
    }
    let values: Vec<Node<'_>> = elements(argvalues).collect();
    if values.iter().any(|v| SPREADS.contains(&v.kind())) {
        return Param::Unknown;
    }
    if values.is_empty() {
        // pytest collects one item, skipped for the empty parameter set.
        return Param::count(1);
    }
    let count = u64::try_from(values.len()).unwrap_or(u64::MAX);
    if count > crate::model::Cases::MAX_NAMES {
        return Param::count(count);
    }
    let ids = match keywords.get("ids") {
        None => Some(Vec::new()),
        Some(list) if matches!(list.kind(), "list" | "tuple") => {
            let given: Option<Vec<Option<String>>> = elements(*list)
                .map(|e| match e.kind() {
                    "none" => Some(None),
                    _ => plain_string(e, src).map(Some),
                })
                .collect();
            given
        }
        // `ids=callable` or a variable: names only known at run time.
        Some(_) => None,
    };
    let ids = match (ids, names) {
        (Some(ids), Some(argnames)) => values
            .iter()
            .enumerate()
            .map(|(i, v)| match ids.get(i).cloned().flatten() {
                Some(id) => Some(id),
                None => case_id(*v, i, &argnames, src),
            })
            .collect::<Option<Vec<String>>>(),
        _ => None,
    };
    Param::Known(match ids {
        Some(ids) => CaseSet::named(unique(ids).into_iter().map(cap_name).collect()),
        None => CaseSet::counted(count),
    })
}

/// `range(n)`, `range(a, b)` or `range(a, b, step)` of integer literals, with one
/// argument name: one case per number, each number its id.
fn range_call(call: Node<'_>, src: &[u8], ids: bool, argnames: Option<&[String]>) -> Param {
    let callee = call.child_by_field_name("function").map(|f| text(f, src));
    if callee.as_deref() != Some("range") {
        return Param::Unknown;
    }
    let Some(args) = call.child_by_field_name("arguments") else {
        return Param::Unknown;
    };
    let numbers: Option<Vec<i64>> = elements(args)
        .map(|a| value_id(a, "", 0, src).and_then(|t| t.parse().ok()))
        .collect();
    let (start, stop, step) = match numbers.as_deref() {
        Some([stop]) => (0, *stop, 1),
        Some([start, stop]) => (*start, *stop, 1),
        Some([start, stop, step]) if *step != 0 => (*start, *stop, *step),
        _ => return Param::Unknown,
    };
    let span = i128::from(stop) - i128::from(start);
    let step = i128::from(step);
    let count = if (span > 0) == (step > 0) && span != 0 {
        u64::try_from((span.abs() + step.abs() - 1) / step.abs()).unwrap_or(u64::MAX)
    } else {
        0
    };
    if count == 0 {
        return Param::count(1);
    }
    if ids || argnames.is_none_or(|n| n.len() != 1) || count > crate::model::Cases::MAX_NAMES {
        return Param::count(count);
    }
    let names = (0..count)
        .map(|i| (i128::from(start) + step * i128::from(i)).to_string())
        .collect();
    Param::Known(CaseSet::named(names))
}

/// `"a, b"` or `["a", "b"]` / `("a", "b")`.
fn arg_names(node: Node<'_>, src: &[u8]) -> Option<Vec<String>> {
    match node.kind() {
        "string" => Some(
            plain_string(node, src)?
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        "list" | "tuple" => elements(node).map(|e| plain_string(e, src)).collect(),
        _ => None,
    }
}

/// The id of case `index`: `pytest.param(…, id="x")`'s id, else the values' ids joined
/// by `-`. `None` when a value's id is only known at run time (a variable, a call).
fn case_id(value: Node<'_>, index: usize, argnames: &[String], src: &[u8]) -> Option<String> {
    let (values, given): (Vec<Node<'_>>, Option<String>) = match param_call(value, src) {
        Some((vals, id)) => (vals, id),
        None if argnames.len() == 1 => (vec![value], None),
        None if matches!(value.kind(), "tuple" | "list") => (elements(value).collect(), None),
        None => return None,
    };
    if let Some(id) = given {
        return Some(id);
    }
    if values.len() != argnames.len() {
        return None;
    }
    let parts: Option<Vec<String>> = values
        .iter()
        .zip(argnames)
        .map(|(v, name)| value_id(*v, name, index, src))
        .collect();
    Some(parts?.join("-"))
}

/// `pytest.param(v1, v2, id="x", marks=…)`: its values and its id.
fn param_call<'t>(node: Node<'t>, src: &[u8]) -> Option<(Vec<Node<'t>>, Option<String>)> {
    if node.kind() != "call" {
        return None;
    }
    let f: String = text(node.child_by_field_name("function")?, src)
        .split_whitespace()
        .collect();
    if f != "pytest.param" && f != "param" {
        return None;
    }
    let mut values = Vec::new();
    let mut id = None;
    for a in elements(node.child_by_field_name("arguments")?) {
        if a.kind() == "keyword_argument" {
            let key = a.child_by_field_name("name").map(|k| text(k, src));
            if key.as_deref() == Some("id") {
                id = Some(plain_string(a.child_by_field_name("value")?, src)?);
            }
        } else {
            values.push(a);
        }
    }
    Some((values, id))
}

/// pytest's id of one value: strings as written (printable ASCII only; others pytest
/// escapes), numbers, `True`/`False`/`None` as Python prints them; containers and
/// other objects `argname` + index. `None` for an expression whose value (and so whose
/// id) is only known at run time.
fn value_id(node: Node<'_>, argname: &str, index: usize, src: &[u8]) -> Option<String> {
    match node.kind() {
        "string" => plain_string(node, src),
        "integer" => decimal(&text(node, src)),
        "true" => Some("True".into()),
        "false" => Some("False".into()),
        "none" => Some("None".into()),
        "unary_operator" => {
            let t: String = text(node, src).split_whitespace().collect();
            let digits = t.strip_prefix('-')?;
            decimal(digits).map(|d| format!("-{d}"))
        }
        "list"
        | "tuple"
        | "dictionary"
        | "set"
        | "list_comprehension"
        | "dictionary_comprehension"
        | "set_comprehension" => Some(format!("{argname}{index}")),
        _ => None,
    }
}

/// A decimal integer literal as Python prints it (`007` is not valid Python; `1_000`
/// prints `1000`); `None` for hexadecimal and other forms not worth converting.
fn decimal(t: &str) -> Option<String> {
    let digits: String = t.chars().filter(|c| *c != '_').collect();
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.trim_start_matches('0').to_string())
        .map(|d| if d.is_empty() { "0".into() } else { d })
}

/// The text of a plain string literal (no prefix, interpolation or escape) of printable
/// ASCII: what pytest uses unchanged as an id.
fn plain_string(node: Node<'_>, src: &[u8]) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut content = String::new();
    let mut plain_start = false;
    for c in elements(node) {
        match c.kind() {
            // One quote, no prefix (`r`, `b`, `f`) and no triple quote: read from the
            // bytes, without a node lookup or a copy of its text.
            "string_start" => {
                plain_start = c.end_byte() == c.start_byte() + 1
                    && matches!(src.get(c.start_byte()), Some(b'"' | b'\''));
            }
            "string_end" => {}
            "string_content" => content.push_str(&text(c, src)),
            _ => return None,
        }
    }
    if !plain_start {
        return None;
    }
    content
        .chars()
        .all(|c| (' '..='~').contains(&c) && c != '\\')
        .then_some(content)
}

/// pytest's rule for repeated ids: each copy gets its index among the copies, after a
/// `_` when the id ends in a digit (`a` → `a0`, `a1`; `1` → `1_0`, `1_1`).
fn unique(ids: Vec<String>) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let taken: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        if counts.get(id.as_str()).copied().unwrap_or(0) <= 1 {
            out.push(id.clone());
            continue;
        }
        let sep = if id.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        let n = next.entry(id.clone()).or_default();
        let mut candidate = format!("{id}{sep}{n}");
        while taken.contains(&candidate) {
            *n += 1;
            candidate = format!("{id}{sep}{n}");
        }
        *n += 1;
        out.push(candidate);
    }
    out
}
