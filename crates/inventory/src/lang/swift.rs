//! Swift: XCTest (`test*` methods of test classes) and Swift Testing (`@Test`, `@Suite`).

use crate::framework::{rule, Effect, FrameworkDef, Grammar, LanguageDef};

const TESTS: &str = include_str!("../../queries/swift/tests.scm");
const HINTS: &str = include_str!("../../queries/swift/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &["^Testing$"],
        content: &[r"@Test\b", r"@Suite\b"],
        attr_rules: &[
            rule(r"^@Test\b", Effect::Test),
            rule(r"(?s)^@(Test|Suite)\b.*\.disabled\b", Effect::Skip),
            rule(r"(?s)^@Test\b.*\barguments\s*:", Effect::Dynamic),
        ],
        prune_empty_suites: true,
        ..FrameworkDef::new("swift-testing", TESTS)
    },
    FrameworkDef {
        imports: &["^XCTest$"],
        content: &[r"\bXCTestCase\b"],
        name_rules: &[rule(r"^test", Effect::Test)],
        prune_empty_suites: true,
        ..FrameworkDef::new("xctest", TESTS)
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
    sibling_attr_kinds: &[],
    hook: None,
};
