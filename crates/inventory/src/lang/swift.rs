//! Swift: XCTest (`test*` methods of test classes) and Swift Testing (`@Test`, `@Suite`).

use crate::framework::{rule, Effect, FrameworkDef, Grammar, LanguageDef, Rule};

const TESTS: &str = include_str!("../../queries/swift/tests.scm");
const HINTS: &str = include_str!("../../queries/swift/hints.scm");

/// Both frameworks' markers: one file may hold XCTest classes and Swift Testing suites
/// (it often imports both), so each framework reads both styles.
const RULES: &[Rule] = &[
    rule(r"^@Test\b", Effect::Test),
    rule(r"(?s)^@(Test|Suite)\b.*\.disabled\b", Effect::Skip),
    rule(r"(?s)^@Test\b.*\barguments\s*:", Effect::Dynamic),
    rule(
        r#"^@(Test|Suite)\s*\(\s*"(?P<name>(?:[^"\\]|\\.)*)""#,
        Effect::DisplayName,
    ),
];

/// XCTest runs `test*` methods (of its classes and their extensions).
const XCTEST_NAMES: &[Rule] = &[rule(r"^test", Effect::Test)];

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &["^XCTest$"],
        content: &[r"\bXCTestCase\b"],
        attr_rules: RULES,
        name_rules: XCTEST_NAMES,
        prune_empty_suites: true,
        ..FrameworkDef::new("xctest", TESTS)
    },
    FrameworkDef {
        imports: &["^Testing$"],
        content: &[r"@Test\b", r"@Suite\b"],
        attr_rules: RULES,
        prune_empty_suites: true,
        ..FrameworkDef::new("swift-testing", TESTS)
    },
];

pub const SWIFT: LanguageDef = LanguageDef {
    id: "swift",
    extensions: &[("swift", Grammar::Swift)],
    candidates: &[
        "**/*Tests.swift",
        "**/*Test.swift",
        "**/Tests/**/*.swift",
        "**/*Tests/**/*.swift",
    ],
    prefilter: Some(r"XCTest|@Test\b|@Suite\b"),
    hints_query: HINTS,
    noise_receivers: &["self", "XCTAssert", "Issue"],
    frameworks: FRAMEWORKS,
    default_framework: "xctest",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: None,
};
