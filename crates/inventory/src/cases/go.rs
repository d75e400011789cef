//! Go: `t.Run` in a `for … range` over a composite literal, written in the loop
//! (`range []struct{…}{{…}, {…}}`) or bound to a variable once in the same function
//! (`tests := []struct{…}{…}` / `var tests = …` then `range tests`).

use tree_sitter::Node;

use super::{count_elements, elements, text};

pub(super) fn of_loop(node: Node<'_>, src: &[u8]) -> Option<u64> {
    if node.kind() != "for_statement" {
        return None;
    }
    let range = elements(node).find(|c| c.kind() == "range_clause")?;
    let right = range.child_by_field_name("right")?;
    match right.kind() {
        "composite_literal" => literal_len(right),
        "identifier" => bound_literal(node, &text(right, src), src),
        _ => None,
    }
}

/// Elements of a slice, array or map composite literal.
fn literal_len(node: Node<'_>) -> Option<u64> {
    let body = node.child_by_field_name("body")?;
    count_elements(body, &[])
}

/// The one composite literal that `name` is bound to in the function around `loop_node`
/// (before the loop); `None` when it is assigned more than once or not by a literal.
fn bound_literal(loop_node: Node<'_>, name: &str, src: &[u8]) -> Option<u64> {
    let func = std::iter::successors(loop_node.parent(), Node::parent)
        .find(|n| matches!(n.kind(), "function_declaration" | "func_literal"))?;
    let body = func.child_by_field_name("body")?;
    let mut found: Option<Node<'_>> = None;
    let mut bindings = 0usize;
    for stmt in elements(body) {
        if stmt.start_byte() >= loop_node.start_byte() {
            break;
        }
        let (left, right) = match stmt.kind() {
            "short_var_declaration" | "assignment_statement" => (
                stmt.child_by_field_name("left"),
                stmt.child_by_field_name("right"),
            ),
            "var_declaration" => {
                let spec = elements(stmt).find(|c| c.kind() == "var_spec");
                (
                    spec.and_then(|s| s.child_by_field_name("name")),
                    spec.and_then(|s| s.child_by_field_name("value")),
                )
            }
            _ => continue,
        };
        let (Some(left), Some(right)) = (left, right) else {
            continue;
        };
        if text(left, src).trim() != name {
            continue;
        }
        bindings += 1;
        found = elements(right)
            .next()
            .filter(|v| v.kind() == "composite_literal");
    }
    if bindings != 1 {
        return None;
    }
    literal_len(found?)
}
