//! Go: the standard `testing` package (`TestX`, `t.Run` subtests, table-driven tests).

use crate::framework::{FrameworkDef, Grammar, LanguageDef};

const TESTS: &str = include_str!("../../queries/go/tests.scm");
const HINTS: &str = include_str!("../../queries/go/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[FrameworkDef {
    imports: &["^testing$"],
    ..FrameworkDef::new("go-testing", TESTS)
}];

pub const GO: LanguageDef = LanguageDef {
    id: "go",
    extensions: &[("go", Grammar::Go)],
    candidates: &["**/*_test.go"],
    prefilter: Some(r"func (Test|Fuzz)"),
    hints_query: HINTS,
    noise_receivers: &[
        "t", "tt", "tc", "b", "f", "s", "assert", "require", "fmt", "errors", "testing", "strings",
        "os", "time", "ctx", "context",
    ],
    frameworks: FRAMEWORKS,
    default_framework: "go-testing",
    loop_kinds: &["for_statement"],
    loop_calls: &[],
    tests_nest: true,
    sibling_attr_kinds: &[],
    hook: None,
};
