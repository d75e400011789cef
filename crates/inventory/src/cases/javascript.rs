//! Jest, Vitest, Mocha: `test.each([…])`, `describe.each([…])`, `test.for([…])` and the
//! tagged-template table `it.each\`a | b ${1} | ${2}\``; loops over a literal array
//! (`for (const x of [...])`, `[...].forEach(…)`).

use tree_sitter::Node;

use super::{count_elements, elements, text, Param};

const SPREADS: &[&str] = &["spread_element"];

pub(super) fn of_item(node: Node<'_>, src: &[u8]) -> Option<Param> {
    let inner = node
        .child_by_field_name("function")
        .filter(|f| f.kind() == "call_expression")?;
    let chain = inner.child_by_field_name("function")?;
    let last = text(chain, src);
    let word = last.rsplit('.').next().unwrap_or_default().trim();
    if !matches!(word, "each" | "for") {
        return None;
    }
    let args = inner.child_by_field_name("arguments")?;
    let known = match args.kind() {
        "template_string" => template_rows(args, src),
        _ => elements(args)
            .next()
            .filter(|t| t.kind() == "array")
            .and_then(|t| count_elements(t, SPREADS)),
    };
    Some(known.map_or(Param::Unknown, Param::count))
}

/// Rows of an `each` template table: its `${…}` cells divided by the header's columns.
fn template_rows(node: Node<'_>, src: &[u8]) -> Option<u64> {
    let cells = elements(node)
        .filter(|c| c.kind() == "template_substitution")
        .count();
    let whole = text(node, src);
    let header = whole
        .trim_start_matches('`')
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    if header.contains("${") {
        return None;
    }
    let columns = header.split('|').filter(|c| !c.trim().is_empty()).count();
    if columns == 0 || cells % columns != 0 {
        return None;
    }
    u64::try_from(cells / columns).ok()
}

pub(super) fn of_loop(node: Node<'_>, src: &[u8]) -> Option<u64> {
    match node.kind() {
        "for_in_statement" => {
            let of = node
                .child_by_field_name("operator")
                .is_some_and(|o| text(o, src) == "of");
            let right = node.child_by_field_name("right")?;
            (of && right.kind() == "array")
                .then(|| count_elements(right, SPREADS))
                .flatten()
        }
        "call_expression" => {
            let receiver = node
                .child_by_field_name("function")?
                .child_by_field_name("object")?;
            (receiver.kind() == "array")
                .then(|| count_elements(receiver, SPREADS))
                .flatten()
        }
        _ => None,
    }
}
