//! C++: GoogleTest (`TEST`, `TEST_F`, `TEST_P`, typed tests, `DISABLED_`).

use crate::extract::RawItem;
use crate::framework::{FrameworkDef, Grammar, HookCtx, LanguageDef};
use crate::model::Status;

const TESTS: &str = include_str!("../../queries/cpp/tests.scm");
const HINTS: &str = include_str!("../../queries/cpp/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[FrameworkDef {
    imports: &[r"gtest/", r"gmock/"],
    ..FrameworkDef::new("googletest", TESTS)
}];

pub const CPP: LanguageDef = LanguageDef {
    id: "cpp",
    extensions: &[
        ("cc", Grammar::Cpp),
        ("cpp", Grammar::Cpp),
        ("cxx", Grammar::Cpp),
        ("c++", Grammar::Cpp),
    ],
    candidates: &[
        "**/*_test.{cc,cpp,cxx,c++}",
        "**/*_tests.{cc,cpp,cxx,c++}",
        "**/*_unittest.{cc,cpp,cxx}",
        "**/*Test.{cc,cpp,cxx}",
        "**/*Tests.{cc,cpp,cxx}",
        "**/test_*.{cc,cpp,cxx}",
        "**/test/**/*.{cc,cpp,cxx}",
        "**/tests/**/*.{cc,cpp,cxx}",
        "**/unittests/**/*.{cc,cpp,cxx}",
    ],
    prefilter: Some(r"\b(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P)\s*\("),
    hints_query: HINTS,
    noise_receivers: &["std", "testing", "absl"],
    frameworks: FRAMEWORKS,
    default_framework: "googletest",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: Some(hook),
};

/// Reads `(Suite, Name)` from the macro's argument text; parameterized and typed tests
/// are dynamic, `DISABLED_` on either name skips.
fn hook(item: &mut RawItem, _ctx: &HookCtx<'_>) -> bool {
    let (Some(mac), Some(args)) = (item.chain.clone(), item.args.clone()) else {
        return false;
    };
    let inner = args.trim().trim_start_matches('(').trim_end_matches(')');
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    let [group, name] = parts.as_slice() else {
        return false;
    };
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident(group) || !ident(name) {
        return false;
    }
    if matches!(mac.as_str(), "TEST_P" | "TYPED_TEST" | "TYPED_TEST_P") {
        item.dynamic = true;
    }
    if name.starts_with("DISABLED_") || group.starts_with("DISABLED_") {
        item.set_status(Status::Skipped, "DISABLED_");
    }
    item.group = Some((*group).to_string());
    item.name = Some((*name).to_string());
    true
}
