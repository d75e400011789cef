//! Builders of real-looking inventories for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use specline_inventory_model::{
    DomainHints, Inventory, Location, ScanStats, Source, Status, Suite, Test, TestFile,
    SCHEMA_VERSION,
};

pub fn loc(line: u32) -> Location {
    Location {
        start_line: line,
        start_column: 1,
        end_line: line,
        end_column: 10,
    }
}

pub fn test(name: &str, line: u32) -> Test {
    Test {
        name: name.into(),
        location: loc(line),
        status: Status::Active,
        modifier: None,
        dynamic: false,
        cases: None,
        doc: None,
    }
}

/// `t` as a parameterised test whose runner reports `count` cases.
pub fn with_cases(mut t: Test, count: u64) -> Test {
    t.dynamic = true;
    t.cases = Some(specline_inventory_model::Cases {
        count,
        names: Vec::new(),
    });
    t
}

/// Two files of a repository, one test with 4 literal cases and one with 2: 5 behaviors,
/// 9 runner items (hand-counted).
pub fn with_literal_cases() -> Inventory {
    inventory(
        "https://git.example/acme/billing",
        vec![
            file(
                "billing/invoice_test.py",
                "python",
                "pytest",
                vec![],
                vec![
                    with_cases(test("test_rounds_each_currency", 3), 4),
                    test("test_sends_the_invoice", 12),
                ],
            ),
            file(
                "web/cart.test.ts",
                "typescript",
                "jest",
                vec![suite(
                    "Cart",
                    1,
                    vec![],
                    vec![
                        with_cases(test("adds %s", 2), 2),
                        test("empties", 8),
                        test("checks out", 14),
                    ],
                )],
                vec![],
            ),
        ],
    )
}

pub fn with_status(mut t: Test, status: Status) -> Test {
    t.status = status;
    t
}

pub fn suite(name: &str, line: u32, suites: Vec<Suite>, tests: Vec<Test>) -> Suite {
    Suite {
        name: name.into(),
        location: loc(line),
        status: Status::Active,
        modifier: None,
        suites,
        tests,
    }
}

pub fn file(
    path: &str,
    language: &str,
    framework: &str,
    suites: Vec<Suite>,
    tests: Vec<Test>,
) -> TestFile {
    TestFile {
        path: path.into(),
        language: language.into(),
        framework: framework.into(),
        domain_hints: DomainHints::default(),
        suites,
        tests,
    }
}

pub fn inventory(location: &str, files: Vec<TestFile>) -> Inventory {
    Inventory {
        schema_version: SCHEMA_VERSION,
        parser_version: "test".into(),
        source: Source {
            location: location.into(),
            commit: Some("0123456789abcdef".into()),
            branch: None,
            commit_time: None,
        },
        files,
        stats: ScanStats::default(),
        errors: vec![],
    }
}

/// A small web shop, the way several stacks would test it.
pub fn shop() -> Inventory {
    inventory(
        "https://git.example/acme/shop.git",
        vec![
            file(
                "auth/login_test.go",
                "go",
                "go-testing",
                vec![],
                vec![
                    test("TestLogin_ExpiredPassword", 10),
                    test("TestLogin_ValidCredentials", 30),
                    test("TestLogout_ClearsSession", 50),
                ],
            ),
            file(
                "src/test/java/com/acme/billing/InvoiceServiceTest.java",
                "java",
                "junit5",
                vec![suite(
                    "InvoiceServiceTest",
                    5,
                    vec![],
                    vec![
                        test("shouldRejectNegativeAmounts", 12),
                        test("withdraw_insufficientFunds_throwsException", 20),
                        with_status(test("shouldSendReminderEmail", 31), Status::Skipped),
                    ],
                )],
                vec![],
            ),
            file(
                "web/src/__tests__/cart.test.ts",
                "typescript",
                "jest",
                vec![suite(
                    "Cart",
                    1,
                    vec![suite(
                        "when the cart is empty",
                        8,
                        vec![],
                        vec![
                            test("shows a placeholder", 9),
                            test("disables checkout", 12),
                        ],
                    )],
                    vec![
                        test("adds an item", 3),
                        test("returns 404 when the product is missing", 5),
                    ],
                )],
                vec![],
            ),
            file(
                "tests/test_search.py",
                "python",
                "pytest",
                vec![],
                vec![
                    test("test_search_returns_matching_products", 4),
                    test("test_create_index_with_synonyms", 9),
                    with_status(test("test_order_total", 14), Status::Todo),
                ],
            ),
        ],
    )
}

/// A minimal model call, for tests of the HTTP client and its reliability rules.
pub fn model_request() -> specline_specdoc::provider::ModelRequest {
    specline_specdoc::provider::ModelRequest {
        system: "system".into(),
        user: "user".into(),
        schema: serde_json::json!({"type": "object"}),
        schema_name: "answer",
        max_output_tokens: 100,
    }
}

pub mod fake;
