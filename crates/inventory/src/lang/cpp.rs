//! C++: GoogleTest (`TEST`, `TEST_F`, `TEST_P`, typed tests, `DISABLED_`).

use crate::framework::{rule, Effect, FrameworkDef, Grammar, LanguageDef};

const TESTS: &str = include_str!("../../queries/cpp/tests.scm");
const HINTS: &str = include_str!("../../queries/cpp/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[FrameworkDef {
    imports: &[r"gtest/", r"gmock/"],
    name_rules: &[rule(r"^DISABLED_", Effect::Skip)],
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
    sibling_attr_kinds: &[],
    hook: None,
};
