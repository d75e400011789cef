//! RSpec and Minitest/Spec: examples in a loop over a literal (`[…].each`,
//! `%w[…].each`, `(1..3).each`, `3.times`, `{…}.each_pair`, `for x in […]`).

use tree_sitter::Node;

use super::{count_elements, elements, text};

const SPREADS: &[&str] = &["splat_argument", "hash_splat_argument"];

pub(super) fn of_loop(node: Node<'_>, src: &[u8]) -> Option<u64> {
    let subject = match node.kind() {
        "call" => node.child_by_field_name("receiver")?,
        "for" => node.child_by_field_name("value")?.named_child(0)?,
        _ => return None,
    };
    let method = node
        .child_by_field_name("method")
        .map(|m| text(m, src).into_owned());
    if method.as_deref() == Some("times") {
        return integer(subject, src);
    }
    literal_len(subject, src)
}

/// Elements of an array, word list, hash or integer range literal.
fn literal_len(node: Node<'_>, src: &[u8]) -> Option<u64> {
    match node.kind() {
        "array" | "string_array" | "symbol_array" | "hash" => count_elements(node, SPREADS),
        "parenthesized_statements" => {
            let mut inner = elements(node);
            let only = inner.next()?;
            inner
                .next()
                .is_none()
                .then(|| literal_len(only, src))
                .flatten()
        }
        "range" => {
            let lo = integer(node.child_by_field_name("begin")?, src)?;
            let hi = integer(node.child_by_field_name("end")?, src)?;
            let op = node.child_by_field_name("operator").map(|o| text(o, src));
            let inclusive = op.as_deref() != Some("...");
            let span = hi.checked_sub(lo)?;
            Some(if inclusive {
                span.saturating_add(1)
            } else {
                span
            })
        }
        _ => None,
    }
}

fn integer(node: Node<'_>, src: &[u8]) -> Option<u64> {
    if node.kind() != "integer" {
        return None;
    }
    text(node, src).replace('_', "").parse().ok()
}
