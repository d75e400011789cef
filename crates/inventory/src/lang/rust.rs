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
    let name = crate::extract::text(name, ctx.src).into_owned();
    if !ctx.defs.is_rust_test_macro(&name) {
        return;
    }
    let mut cursor = call.walk();
    let Some(tree) = call
        .named_children(&mut cursor)
        .find(|c| c.kind() == "token_tree")
    else {
        return;
    };
    let tests = super::rust_macros::expand(ctx.defs, ctx.rel, &name, tree, ctx.src);
    for (k, test) in tests.into_iter().enumerate() {
        // Items with one span merge; the tests of one invocation keep its location but
        // get byte ranges of their own.
        let mut item = RawItem::new(
            Kind::Test,
            call.start_byte()..call.end_byte().saturating_sub(k),
            call.start_position(),
            call.end_position(),
        );
        match test.name {
            Some(n) => item.name = Some(n),
            None => {
                item.name = Some(format!("{name}!"));
                item.name_is_literal = false;
            }
        }
        item.dynamic = test.repeated;
        if let Some(attr) = test.ignored {
            item.set_status(Status::Skipped, &attr);
        }
        out.push(item);
    }
}
