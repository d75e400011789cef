//! Rust: `#[test_case(…)]` attributes (one test each), rstest's `#[case(…)]` /
//! `#[case::name(…)]` times the `#[values(…)]` lists of its parameters. rstest names a
//! case `case_N` (zero-padded to the widest number, `_name` appended), which is what
//! `cargo test -- --list` shows under the function's name.

use tree_sitter::Node;

use super::{elements, text, CaseSet, Param};

pub(super) fn of_item(node: Node<'_>, attrs: &[Node<'_>], src: &[u8]) -> Option<Param> {
    let mut test_cases: u64 = 0;
    let mut cases: Vec<Option<String>> = Vec::new();
    let mut rstest = false;
    for a in attrs {
        let t = text(*a, src);
        let body = t.trim_start_matches("#[").trim_start();
        let path: String = body
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        match path.as_str() {
            "test_case" | "test_case::test_case" => test_cases = test_cases.saturating_add(1),
            "rstest" | "rstest::rstest" => rstest = true,
            "case" => cases.push(None),
            p => {
                if let Some(desc) = p.strip_prefix("case::") {
                    cases.push(Some(desc.to_string()));
                } else if p == "test_matrix" || p == "test_case::test_matrix" {
                    return Some(Param::Unknown);
                }
            }
        }
    }
    if test_cases > 0 {
        return Some(Param::count(test_cases));
    }
    if !rstest {
        return None;
    }
    let values = values_product(node, src);
    let n = cases.len();
    let own = if n == 0 {
        None
    } else {
        let width = n.to_string().len();
        Some(CaseSet::named(
            cases
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let base = format!("case_{:0width$}", i + 1);
                    match d {
                        Some(d) => format!("{base}_{d}"),
                        None => base,
                    }
                })
                .collect(),
        ))
    };
    match (own, values) {
        (None, None) => None,
        (Some(c), None) => Some(Param::Known(c)),
        (None, Some(v)) => Some(v),
        (Some(c), Some(v)) => Some(Param::Known(c).times(&v)),
    }
}

/// The product of the lengths of the `#[values(…)]` lists on the function's parameters
/// (`None` when there are none; unknown when another rstest parameter source such as
/// `#[files(…)]` is used).
fn values_product(node: Node<'_>, src: &[u8]) -> Option<Param> {
    let params = node.child_by_field_name("parameters")?;
    let mut product: Option<Param> = None;
    for p in elements(params) {
        if p.kind() != "attribute_item" {
            continue;
        }
        let t = text(p, src);
        let body = t.trim_start_matches("#[").trim_start();
        let len = if body.starts_with("values") {
            p.named_child(0)
                .and_then(|attr| attr.child_by_field_name("arguments"))
                .map_or(Param::Unknown, |tt| Param::count(token_list_len(tt)))
        } else if body.starts_with("files") {
            Param::Unknown
        } else {
            continue;
        };
        product = Some(match product {
            Some(acc) => acc.times(&len),
            None => len,
        });
    }
    product
}

/// Comma-separated entries of a token tree `(a, b, c)`, a trailing comma allowed.
fn token_list_len(tt: Node<'_>) -> u64 {
    let mut entries: u64 = 0;
    let mut in_entry = false;
    let mut cursor = tt.walk();
    let count = tt.child_count();
    for (i, c) in tt.children(&mut cursor).enumerate() {
        if i == 0 || i + 1 == count {
            continue;
        }
        if c.kind() == "," {
            in_entry = false;
        } else if !in_entry {
            in_entry = true;
            entries = entries.saturating_add(1);
        }
    }
    entries
}
