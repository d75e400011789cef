//! C# (xUnit, NUnit, MSTest), Ruby (RSpec, Minitest) and PHP (PHPUnit) fixtures.
#![allow(clippy::unwrap_used)]

mod common;
use common::{assert_file, scan_fixture};

#[test]
fn csharp_xunit_nunit_mstest() {
    let inv = scan_fixture("dotnet");
    assert_file(
        &inv,
        "Shop.Tests/CartTests.cs",
        "xunit",
        &[
            "S CartTests",
            "T CartTests :: A new cart is empty",
            "T CartTests :: AppliesDiscount | skipped [Fact(Skip = \"pricing service is down\")]",
            "T CartTests :: AcceptsQuantities (dynamic) | dynamic",
        ],
    );
    assert_file(
        &inv,
        "Shop.NUnit/OrderTests.cs",
        "nunit",
        &[
            "S OrderTests",
            "T OrderTests :: PlacesOrder",
            "T OrderTests :: PersistsOrder | skipped [Test, Ignore(\"needs a database\")]",
            "T OrderTests :: CountsItems (dynamic) | dynamic",
            "T OrderTests :: Loops (dynamic) | skipped [Ignore(\"no timeout on this target\")] | dynamic",
            "T OrderTests :: OnlyInFullBuilds",
            "T OrderTests :: InTheLastBranch",
            "S OrderTests > Legacy | skipped [Ignore(\"legacy\")]",
            "T OrderTests > Legacy :: Old | skipped",
        ],
    );
    assert_file(
        &inv,
        "Shop.MSTest/PaymentTests.cs",
        "mstest",
        &[
            "S PaymentTests",
            "T PaymentTests :: Charges",
            "T PaymentTests :: Refunds | skipped [Ignore]",
            "T PaymentTests :: Settles (dynamic) | dynamic",
        ],
    );
    let f = common::file(&inv, "Shop.Tests/CartTests.cs");
    assert_eq!(
        f.domain_hints.calls,
        vec!["Cart.Empty".to_string(), "pricing.Quote".to_string()]
    );
}

#[test]
fn rspec_groups_statuses_one_liners_and_loops() {
    let inv = scan_fixture("ruby-rspec");
    assert_file(
        &inv,
        "spec/models/user_spec.rb",
        "rspec",
        &[
            "S User",
            "T User :: is valid with a name",
            "T User :: (anonymous)",
            "T User :: sends a welcome email | todo pending",
            "T User :: archives old users | skipped xit",
            "T User :: is slow | skipped :skip",
            "T User :: merges duplicates | xfail pending",
            "T User :: exports to csv | skipped skip \"exporter not ready\"",
            "T User :: supports the #{plan} plan (dynamic) | dynamic",
            "S User > #admin?",
            "S User > #admin? > when the role is admin",
            "T User > #admin? > when the role is admin :: is true | focused fit",
            "S User > billing | skipped xcontext",
            "T User > billing :: charges | skipped",
        ],
    );
}

#[test]
fn minitest_classes_active_support_and_spec_style() {
    let inv = scan_fixture("ruby-minitest");
    assert_file(
        &inv,
        "test/order_test.rb",
        "minitest",
        &[
            "S OrderTest",
            "T OrderTest :: test_total",
            "T OrderTest :: test_tax | skipped skip \"tax rules pending\"",
            "T OrderTest :: test_discount=",
            "S InvoiceTest",
            "T InvoiceTest :: renders a pdf",
            "S Order",
            "T Order :: ships",
        ],
    );
}

#[test]
fn phpunit_names_attributes_docblocks_and_runtime_markers() {
    let inv = scan_fixture("php");
    assert_file(
        &inv,
        "tests/Unit/CartTest.php",
        "phpunit",
        &[
            "S CartTest",
            "T CartTest :: testStartsEmpty",
            "T CartTest :: Adds items to the cart",
            "T CartTest :: accepts_quantities (dynamic) | dynamic",
            "T CartTest :: testRejectsNegative (dynamic) | dynamic",
            "T CartTest :: testDiscount | skipped $this->markTestSkipped('pricing service is down')",
            "T CartTest :: testGiftCards | todo $this->markTestIncomplete('not built yet')",
        ],
    );
    let f = common::file(&inv, "tests/Unit/CartTest.php");
    assert_eq!(
        f.domain_hints.calls,
        vec!["Cart.empty".to_string(), "cart.add".to_string()]
    );
    assert_eq!(f.domain_hints.imports[0], "App\\Cart");
}
