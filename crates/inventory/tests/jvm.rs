//! Java (JUnit 4, JUnit 5, TestNG) and Kotlin (JUnit 5, Kotest) fixtures.
#![allow(clippy::unwrap_used)]

mod common;
use common::{assert_file, scan_fixture};

#[test]
fn junit5_nested_parameterized_disabled() {
    let inv = scan_fixture("jvm/junit5");
    assert_file(
        &inv,
        "src/test/java/shop/CartTest.java",
        "junit5",
        &[
            "S CartTest",
            "T CartTest :: a new cart is empty",
            "T CartTest :: appliesDiscount | skipped @Disabled(\"pricing service is down\")",
            "T CartTest :: acceptsQuantities (dynamic) | dynamic",
            "S CartTest > WhenFull",
            "T CartTest > WhenFull :: rejectsItems",
            "T CartTest > WhenFull :: isStable (dynamic) | dynamic",
            "S CartTest > Legacy | skipped @Disabled",
            "T CartTest > Legacy :: oldBehaviour | skipped",
        ],
    );
}

#[test]
fn junit4_ignore() {
    let inv = scan_fixture("jvm/junit4");
    assert_file(
        &inv,
        "src/test/java/shop/OrderTest.java",
        "junit4",
        &[
            "S OrderTest",
            "T OrderTest :: placesOrder",
            "T OrderTest :: persistsOrder | skipped @Ignore(\"needs a database\")",
            "T OrderTest :: rejectsEmptyOrder",
        ],
    );
    let f = common::file(&inv, "src/test/java/shop/OrderTest.java");
    assert_eq!(f.domain_hints.calls, vec!["orders.place".to_string()]);
}

#[test]
fn testng_data_providers_and_disabled() {
    let inv = scan_fixture("jvm/testng");
    assert_file(
        &inv,
        "src/test/java/shop/PaymentTest.java",
        "testng",
        &[
            "S PaymentTest",
            "T PaymentTest :: charges (dynamic) | dynamic",
            "T PaymentTest :: refunds | skipped @Test(enabled = false)",
            "T PaymentTest :: settles",
        ],
    );
}

#[test]
fn kotlin_junit5_and_kotest_styles() {
    let inv = scan_fixture("jvm/kotlin");
    assert_file(
        &inv,
        "src/test/kotlin/shop/InvoiceTest.kt",
        "junit5",
        &[
            "S InvoiceTest",
            "T InvoiceTest :: totals lines",
            "T InvoiceTest :: roundsHalfUp | skipped @Disabled(\"rounding bug\")",
            "T InvoiceTest :: parsesNumbers (dynamic) | dynamic",
            "S InvoiceTest > Taxes",
            "T InvoiceTest > Taxes :: appliesVat",
        ],
    );
    assert_file(
        &inv,
        "src/test/kotlin/shop/PricingSpec.kt",
        "kotest",
        &[
            "S PricingSpec",
            "S PricingSpec > pricing",
            "T PricingSpec > pricing :: adds tax",
            "T PricingSpec > pricing :: rounds | skipped xit",
            "S PricingSpec > pricing > discounts",
            "T PricingSpec > pricing > discounts :: stacks",
            "S PricingSpec > legacy | skipped xdescribe",
            "T PricingSpec > legacy :: still here | skipped",
            "S RulesSpec",
            "T RulesSpec :: a rule",
            "T RulesSpec :: configured off | skipped .config(enabled = false)",
            "T RulesSpec :: !disabled by bang | skipped !",
            "T RulesSpec :: f:focused by prefix | focused f:",
            "S RulesSpec > group",
            "T RulesSpec > group :: inner",
            "S WordsSpec",
            "T WordsSpec :: strings are tests",
            "S TreeSpec",
            "S TreeSpec > root",
            "T TreeSpec > root :: leaf",
        ],
    );
}
