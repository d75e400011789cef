//! Rust: `#[test]`, attribute macros such as `#[tokio::test]`, `#[ignore]`, `mod tests`.

use crate::framework::{rule, Effect, FrameworkDef, Grammar, LanguageDef};

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
