//! PHPUnit: `#[TestWith(…)]` / `#[TestWithJson(…)]` attributes and `@testWith` rows
//! (one case each), and a data provider of the same class (`#[DataProvider('name')]`,
//! `@dataProvider name`) whose body is `return [ … ];` or a straight run of `yield`s:
//! one case per element, named as PHPUnit names it (`data set "key"`, `data set #0`).
//! Several providers add up; a provider in another class, or one that computes its
//! data, makes the cases unknown.

use tree_sitter::Node;

use super::{elements, text, CaseSet, Param, MAX_SIBLINGS};

pub(super) fn of_item(node: Node<'_>, src: &[u8]) -> Option<Param> {
    if node.kind() != "method_declaration" {
        return None;
    }
    let mut sources: Vec<Param> = Vec::new();
    if let Some(attrs) = node.child_by_field_name("attributes") {
        let mut stack = vec![attrs];
        while let Some(n) = stack.pop() {
            for c in elements(n) {
                if c.kind() != "attribute" {
                    stack.push(c);
                    continue;
                }
                let t = text(c, src);
                let name = t
                    .split(|ch: char| ch == '(' || ch.is_whitespace())
                    .next()
                    .unwrap_or_default();
                match name.rsplit('\\').next().unwrap_or_default() {
                    "TestWith" | "TestWithJson" => sources.push(Param::count(1)),
                    "DataProvider" => sources.push(provider(node, &first_literal(&t)?, src)),
                    "DataProviderExternal" => sources.push(Param::Unknown),
                    _ => {}
                }
            }
        }
    }
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev.filter(|p| p.kind() == "comment") {
        let doc = text(p, src);
        if doc.starts_with("/**") {
            sources.extend(docblock(node, &doc, src));
        }
        prev = p.prev_named_sibling();
    }
    let mut sources = sources.into_iter();
    let first = sources.next()?;
    Some(sources.fold(first, |acc, next| add(&acc, &next)))
}

/// Two sources of one test: their cases one after the other.
fn add(a: &Param, b: &Param) -> Param {
    match (a, b) {
        (Param::Known(x), Param::Known(y)) => {
            let names = match (&x.names, &y.names) {
                (Some(p), Some(q)) => Some(p.iter().chain(q).cloned().collect()),
                _ => None,
            };
            match names {
                Some(n) => Param::Known(CaseSet::named(n)),
                None => Param::count(x.count.saturating_add(y.count)),
            }
        }
        _ => Param::Unknown,
    }
}

/// `@testWith` rows (each line of the annotation that starts with `[`) and
/// `@dataProvider name` providers of a docblock.
fn docblock(method: Node<'_>, doc: &str, src: &[u8]) -> Vec<Param> {
    let mut out = Vec::new();
    let mut in_test_with = false;
    for line in doc.lines() {
        let l = line
            .trim()
            .trim_start_matches("/**")
            .trim_start_matches('*')
            .trim_end_matches("*/")
            .trim();
        if let Some(rest) = l.strip_prefix("@testWith") {
            in_test_with = true;
            if rest.trim_start().starts_with('[') {
                out.push(Param::count(1));
            }
            continue;
        }
        if in_test_with && l.starts_with('[') {
            out.push(Param::count(1));
            continue;
        }
        in_test_with = false;
        if let Some(rest) = l.strip_prefix("@dataProvider") {
            match rest.split_whitespace().next() {
                Some(name) if !name.contains("::") => out.push(provider(method, name, src)),
                _ => out.push(Param::Unknown),
            }
        }
    }
    out
}

/// The first quoted string in an attribute's text (`DataProvider('cases')`).
fn first_literal(t: &str) -> Option<String> {
    let start = t.find(['\'', '"'])?;
    let quote = t[start..].chars().next()?;
    let rest = &t[start + 1..];
    Some(rest[..rest.find(quote)?].to_string())
}

/// The cases of provider method `name` in the class that holds `method`.
fn provider(method: Node<'_>, name: &str, src: &[u8]) -> Param {
    let Some(class_body) = method.parent() else {
        return Param::Unknown;
    };
    let found = elements(class_body).take(MAX_SIBLINGS).find(|m| {
        m.kind() == "method_declaration"
            && m.child_by_field_name("name")
                .is_some_and(|n| text(n, src) == name)
    });
    found
        .and_then(|m| m.child_by_field_name("body"))
        .and_then(|body| provider_body(body, src))
        .map_or(Param::Unknown, Param::Known)
}

/// `return [ … ];` alone, or only `yield` statements (no loop, no condition).
fn provider_body(body: Node<'_>, src: &[u8]) -> Option<CaseSet> {
    let stmts: Vec<Node<'_>> = elements(body).collect();
    if let [only] = stmts.as_slice() {
        if only.kind() == "return_statement" {
            let array = elements(*only).next()?;
            if array.kind() != "array_creation_expression" {
                return None;
            }
            let keys: Vec<Key> = elements(array)
                .map(|e| element_key(e, src))
                .collect::<Option<_>>()?;
            return Some(named(keys));
        }
    }
    let mut keys = Vec::new();
    for s in stmts {
        let y = (s.kind() == "expression_statement")
            .then(|| s.named_child(0))
            .flatten()
            .filter(|y| y.kind() == "yield_expression")?;
        keys.push(yield_key(y, src)?);
    }
    (!keys.is_empty()).then(|| named(keys))
}

/// The key an element is stored under, as far as the source says.
enum Key {
    Text(String),
    Int(i64),
    Next,
    /// A constant or expression: counted, but the names are not known.
    Unknown,
}

fn element_key(e: Node<'_>, src: &[u8]) -> Option<Key> {
    if e.kind() != "array_element_initializer" {
        return None;
    }
    let parts: Vec<Node<'_>> = elements(e).collect();
    match parts.as_slice() {
        [key, _value] => Some(key_of(*key, src)),
        [value] if value.kind() == "variadic_unpacking" => None,
        [_] => Some(Key::Next),
        _ => None,
    }
}

fn yield_key(y: Node<'_>, src: &[u8]) -> Option<Key> {
    // `yield from other()`: as many cases as the other generator has.
    let words: Vec<String> = text(y, src)
        .split_whitespace()
        .take(2)
        .map(str::to_string)
        .collect();
    if words
        .get(1)
        .is_some_and(|w| w == "from" || w.starts_with("from("))
    {
        return None;
    }
    let inner = y.named_child(0)?;
    match inner.kind() {
        "array_element_initializer" => element_key(inner, src),
        _ => Some(Key::Next),
    }
}

fn key_of(key: Node<'_>, src: &[u8]) -> Key {
    let t = text(key, src);
    match key.kind() {
        "integer" => t.parse().map_or(Key::Unknown, Key::Int),
        "string" | "encapsed_string" => {
            let inner = crate::extract::unquote(&t);
            // Escapes, and variables in a double-quoted key, are not decoded.
            let interpolated = key.kind() == "encapsed_string" && inner.contains('$');
            if interpolated || inner.contains('\\') {
                Key::Unknown
            } else {
                Key::Text(inner)
            }
        }
        _ => Key::Unknown,
    }
}

/// PHPUnit's data set names: a string key as `data set "key"`, an integer key as
/// `data set #N` where N counts the integer keys in order (PHPUnit merges the provided
/// arrays with `array_merge`, which renumbers them). A repeated key overwrites the
/// earlier element in place, as PHP arrays do.
fn named(keys: Vec<Key>) -> CaseSet {
    if keys.iter().any(|k| matches!(k, Key::Unknown)) {
        // The keys are not all known: the count is right unless a key repeats; the names
        // are not known.
        return CaseSet::counted(u64::try_from(keys.len()).unwrap_or(u64::MAX));
    }
    let mut next: i64 = 0;
    let mut resolved: Vec<Result<String, i64>> = Vec::new();
    let mut seen: std::collections::HashSet<Result<String, i64>> = std::collections::HashSet::new();
    for k in keys {
        let key = match k {
            Key::Text(s) => match s.parse::<i64>() {
                Ok(i) if i.to_string() == s => Err(i),
                _ => Ok(s),
            },
            Key::Int(i) => Err(i),
            Key::Next => Err(next),
            Key::Unknown => continue,
        };
        if let Err(i) = key {
            if i >= next {
                next = i.saturating_add(1);
            }
        }
        if seen.insert(key.clone()) {
            resolved.push(key);
        }
    }
    let mut ints = 0u64;
    CaseSet::named(
        resolved
            .into_iter()
            .map(|k| match k {
                Ok(s) => super::cap_name(format!("data set \"{s}\"")),
                Err(_) => {
                    ints += 1;
                    format!("data set #{}", ints - 1)
                }
            })
            .collect(),
    )
}
