//! Rust (#[test] and attribute macros), Swift (XCTest, Swift Testing) and C++ (GoogleTest).
#![allow(clippy::unwrap_used)]

mod common;
use common::{assert_file, scan_fixture};

#[test]
fn rust_tests_modules_ignore_and_attribute_macros() {
    let inv = scan_fixture("rust-crate");
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["src/lib.rs", "tests/api.rs"]);
    assert_file(
        &inv,
        "src/lib.rs",
        "rust-test",
        &[
            "S tests",
            "T tests :: adds",
            "T tests :: adds_big_numbers | skipped #[ignore = \"slow\"]",
            "T tests :: adds_async",
            "S tests > nested",
            "T tests > nested :: overflows",
        ],
    );
    assert_file(
        &inv,
        "tests/api.rs",
        "rust-test",
        &["T integration_adds", "T cases (dynamic) | dynamic"],
    );
}

#[test]
fn swift_xctest_and_swift_testing() {
    let inv = scan_fixture("swift");
    assert_file(
        &inv,
        "Tests/ShopTests/CartTests.swift",
        "xctest",
        &[
            "S CartTests",
            "T CartTests :: testStartsEmpty",
            "T CartTests :: testAddsItems",
        ],
    );
    assert_file(
        &inv,
        "Tests/ShopTests/PricingTests.swift",
        "swift-testing",
        &[
            "T freeFunction",
            // Display names from @Suite("…") and @Test("…") are what the runner shows.
            "S Pricing",
            "T Pricing :: addsTax",
            "T Pricing :: rounds half up | skipped @Test(\"rounds half up\", .disabled(\"rounding bug\"))",
            "T Pricing :: quantities (dynamic) | dynamic",
            "S Pricing > Discounts",
            "T Pricing > Discounts :: stacks",
        ],
    );
}

#[test]
fn googletest_macros_group_into_suites() {
    let inv = scan_fixture("cpp-gtest");
    assert_file(
        &inv,
        "tests/cart_test.cc",
        "googletest",
        &[
            "S CartTest",
            "T CartTest :: StartsEmpty",
            "T CartTest :: DISABLED_AppliesDiscount | skipped DISABLED_",
            "S CartFixture",
            "T CartFixture :: AddsItems",
            "S QtyTest",
            "T QtyTest :: AcceptsQuantity (dynamic) | dynamic",
            "S DISABLED_Legacy | skipped DISABLED_",
            "T DISABLED_Legacy :: Old | skipped DISABLED_",
        ],
    );
    let f = common::file(&inv, "tests/cart_test.cc");
    assert_eq!(
        f.domain_hints.imports,
        vec!["gtest/gtest.h".to_string(), "shop/cart.h".to_string()]
    );
}
