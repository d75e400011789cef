//! Issue 16's classes of misses for Rust, the JVM, RSpec and GoogleTest: each fixture
//! holds what a runner counts and the analyzer used to miss or misread.
#![allow(clippy::unwrap_used)]

mod common;
use common::{assert_file, scan_fixture};

/// Class 1: `macro_rules!` macros whose body holds `#[test] fn $name` count one test per
/// invocation, named from the invocation, whether the macro is defined in the file or in
/// another file of the crate; `#[test_case]`/`#[rstest]` stay one dynamic test each.
#[test]
fn rust_tests_written_by_macros_count_per_invocation() {
    let inv = scan_fixture("rust-macro-tests");
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["src/lib.rs", "tests/cases.rs", "tests/uses_shared.rs"]
    );
    assert_file(
        &inv,
        "src/lib.rs",
        "rust-test",
        &[
            "S tests",
            "T tests :: zero",
            "T tests :: two",
            "T tests :: negative",
            "T tests :: forwarded",
            "T tests :: plain",
        ],
    );
    assert_file(
        &inv,
        "tests/uses_shared.rs",
        "rust-test",
        &[
            "T first_slow | skipped #[ignore = \"slow\"]",
            "T second_slow | skipped #[ignore = \"slow\"]",
            // `paste!` builds the name: one test, its name unknown until expansion.
            "T pasted! (dynamic) | dynamic",
            "T closure_args",
            "T three_args",
        ],
    );
    assert_file(
        &inv,
        "tests/cases.rs",
        "rust-test",
        &[
            "T doubles (dynamic) | dynamic",
            "T doubles_rstest (dynamic) | dynamic",
        ],
    );
}

/// A file analysed on its own sees the macros it defines itself.
#[test]
fn a_single_file_expands_its_own_test_macros() {
    let src = std::fs::read(common::fixture("rust-macro-tests").join("src/lib.rs")).unwrap();
    let f = specline_inventory::analyze_bytes("src/lib.rs", &src)
        .unwrap()
        .unwrap();
    let names: Vec<&str> = f.suites[0].tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["zero", "two", "negative", "forwarded", "plain"]);
}

/// Classes 2 and 3: a TestNG class-level `@Test` makes public methods tests; composed
/// annotations declared in the repository (also through another composed one) make
/// tests; jqwik's `@Property` and `@Example` are tests.
#[test]
fn jvm_class_level_composed_and_jqwik_tests() {
    let inv = scan_fixture("jvm-composed");
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "src/test/java/shop/CartTest.java",
            "src/test/java/shop/PropertiesTest.java",
            "src/test/java/shop/SuiteLevelTest.java",
        ]
    );
    assert_file(
        &inv,
        "src/test/java/shop/CartTest.java",
        "junit5",
        &[
            "S CartTest",
            "T CartTest :: startsEmpty",
            "T CartTest :: qualified",
            "T CartTest :: transitively",
            "T CartTest :: quantities (dynamic) | dynamic",
        ],
    );
    assert_file(
        &inv,
        "src/test/java/shop/PropertiesTest.java",
        "jqwik",
        &[
            "S PropertiesTest",
            "T PropertiesTest :: absoluteValueIsPositive",
            "T PropertiesTest :: zeroIsZero",
        ],
    );
    assert_file(
        &inv,
        "src/test/java/shop/SuiteLevelTest.java",
        "testng",
        &[
            "S SuiteLevelTest",
            "T SuiteLevelTest :: addsItems",
            "T SuiteLevelTest :: disabledOne | skipped @Test(enabled = false)",
        ],
    );
}

/// Class 5: a `skip` in a `before` hook skips the group only when nothing conditions it;
/// under `if`/`unless` the group (or test) is conditional and stays active.
#[test]
fn rspec_conditional_skip_in_hooks_is_not_a_skip() {
    let inv = scan_fixture("ruby-rspec-hooks");
    assert_file(
        &inv,
        "spec/hooks_spec.rb",
        "rspec",
        &[
            "S Payments",
            "T Payments :: inside a test, a conditional skip | conditional: skip \"flaky on CI\"",
            "S Payments > with a gateway | conditional: skip \"no gateway configured\"",
            "T Payments > with a gateway :: charges",
            "S Payments > on old rubies | conditional: skip \"needs Ruby 3\"",
            "T Payments > on old rubies :: pattern matches",
            "S Payments > always | skipped skip \"not ported yet\"",
            "T Payments > always :: refunds | skipped",
        ],
    );
}

/// Class 8: `GTEST_TEST`, typed and value-parameterized tests, a suite name built by a
/// macro, and tests that the grammar's error recovery swallowed (a test named with a
/// keyword, at top level and inside `#if`) are all found; a header in a comment is not.
#[test]
fn googletest_aliases_built_names_and_broken_regions() {
    let inv = scan_fixture("cpp-gtest-macros");
    assert_file(
        &inv,
        "tests/typed_test.cc",
        "googletest",
        &["S Alias", "T Alias :: Works"],
    );
    assert_file(
        &inv,
        "tests/gen_test.cc",
        "googletest",
        &[
            "S Stack",
            "T Stack :: Pushes (dynamic) | dynamic",
            "S Queue",
            "T Queue :: Pops (dynamic) | dynamic",
            "S Param",
            "T Param :: Holds (dynamic) | dynamic",
            "S SUITE_NAME(Built)",
            "T SUITE_NAME(Built) :: Named (dynamic) | dynamic",
            "S Stream",
            "T Stream :: template",
            "T Stream :: AfterKeyword",
            "S Platform",
            "T Platform :: template",
            "S After",
            "T After :: StillFound",
            "T After :: AlsoFound",
        ],
    );
}
