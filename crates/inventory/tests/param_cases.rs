//! Issue 16, beyond: the cases of parameterised tests that are literal in the source,
//! counted as each framework's runner counts them. Every expected figure below was
//! checked against the runner on the fixture itself (pytest 9.2 `--collect-only`,
//! `cargo test -- --list` with rstest 0.23 and test-case 3, `go test -json`, RSpec 3.12
//! `--dry-run`, PHPUnit 9.6 `--list-tests`, the JUnit 5.9 console launcher), except C#
//! (no NUnit runner for these attributes here; see docs/inventory-accuracy.md).
#![allow(clippy::unwrap_used)]

mod common;
use common::{file, scan_fixture};
use specline_inventory::model::{Suite, TestFile};

/// `suite > … :: test = count [names]` for every test, `-` when the cases are not known.
fn cases(f: &TestFile) -> Vec<String> {
    fn line(path: &[&str], t: &specline_inventory::model::Test) -> String {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{} :: ", path.join(" > "))
        };
        let cases = match &t.cases {
            None => "-".to_string(),
            Some(c) if c.names.is_empty() => c.count.to_string(),
            Some(c) => format!("{} [{}]", c.count, c.names.join(", ")),
        };
        format!("{prefix}{} = {cases}", t.name)
    }
    fn suite<'a>(s: &'a Suite, path: &mut Vec<&'a str>, out: &mut Vec<String>) {
        path.push(&s.name);
        out.extend(s.tests.iter().map(|t| line(path, t)));
        for c in &s.suites {
            suite(c, path, out);
        }
        path.pop();
    }
    let mut out: Vec<String> = f.tests.iter().map(|t| line(&[], t)).collect();
    for s in &f.suites {
        suite(s, &mut Vec::new(), &mut out);
    }
    out
}

fn assert_cases(f: &TestFile, expected: &[&str], runner: u64) {
    assert_eq!(cases(f), expected, "cases of {}", f.path);
    assert_eq!(f.runner_count(), runner, "runner count of {}", f.path);
}

/// pytest: literal lists, stacked decorators (a product, the nearest decorator's ids
/// first), `pytest.param` ids, `ids=`, pytest's ids for numbers, booleans, `None` and
/// containers, its suffixes for repeated ids, `range(…)` of literals, a parametrized
/// class around parametrized methods; a list that is a variable or holds a splat stays
/// unknown.
#[test]
fn pytest_parametrize_cases_and_ids() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "py/test_params.py"),
        &[
            "test_single (dynamic) = 3 [1, 2, 3]",
            "test_pairs (dynamic) = 2 [1-one, 2-two]",
            "test_stacked (dynamic) = 6 [a-0, a-1, b-0, b-1, c-0, c-1]",
            "test_params_and_ids (dynamic) = 6 [first, 2, None, True, -7, value5]",
            "test_duplicates (dynamic) = 3 [dup0, dup1, zed]",
            "test_duplicate_numbers (dynamic) = 2 [1_0, 1_1]",
            "test_tuple_names (dynamic) = 2 [1-2, 3-4]",
            "test_runtime_table (dynamic) = -",
            "test_spread (dynamic) = -",
            // Two values, whose ids depend on what `make` returns.
            "test_values_known_only_at_run_time (dynamic) = 2",
            "test_plain = -",
            "test_range (dynamic) = 3 [0, 1, 2]",
            "test_range_down (dynamic) = 3 [10, 6, 2]",
            // Counted, not named: over `Cases::MAX_NAMES`.
            "test_range_long (dynamic) = 100000",
            "TestClassLevel (dynamic) :: test_both (dynamic) = 6",
            "TestClassLevel (dynamic) :: test_class_only = 2 [1, 2]",
        ],
        // pytest collects 100,046: the two unknown tables hold 2 and 3 values.
        3 + 2 + 6 + 6 + 3 + 2 + 2 + 1 + 1 + 2 + 1 + 3 + 3 + 100_000 + 6 + 2,
    );
}

/// Jest/Vitest: `each` with an array or a template table, `describe.each` multiplying
/// the tests inside, loops over literal arrays; a table in a variable or with a spread
/// stays unknown.
#[test]
fn javascript_each_tables_and_literal_loops() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "js/table.test.js"),
        &[
            "add(%i, %i) -> %i (dynamic) = 3",
            "template $a + $b (dynamic) = 2",
            "fits ${size} (dynamic) = 4",
            "moves along ${axis} (dynamic) = 2",
            "runtime table %i (dynamic) = -",
            "spread %i (dynamic) = -",
            "plain = -",
            "group $n (dynamic) :: is positive = 2",
            "group $n (dynamic) :: scales %i (dynamic) = 4",
        ],
        3 + 2 + 4 + 2 + 1 + 1 + 1 + 2 + 4,
    );
}

/// Rust: `#[test_case]` attributes, rstest `#[case]` (named `case_N`, zero-padded, with
/// `_description`), `#[values]` lists multiplied, and both together.
#[test]
fn rust_test_case_and_rstest_cases() {
    let inv = scan_fixture("param-cases");
    let ten: Vec<String> = (1..=10).map(|i| format!("case_{i:02}")).collect();
    let ten_line = format!("ten_cases (dynamic) = 10 [{}]", ten.join(", "));
    assert_cases(
        file(&inv, "rust/tests/cases.rs"),
        &[
            "doubles (dynamic) = 3",
            "doubles_rstest (dynamic) = 2 [case_1, case_2_five]",
            &ten_line,
            "value_lists (dynamic) = 6",
            "cases_times_values (dynamic) = 6",
            "plain = -",
        ],
        3 + 2 + 10 + 6 + 6 + 1,
    );
}

/// Go: `t.Run` in a `range` over a composite literal, inline or bound once in the
/// function; a slice appended to before the loop stays unknown.
#[test]
fn go_table_driven_subtests() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "go/table_test.go"),
        &[
            "TestPlain = -",
            "TestInline :: tc.name (dynamic) = 3",
            "TestBound :: name (dynamic) = 2",
            "TestAppended :: n (dynamic) = -",
        ],
        1 + 3 + 2 + 1,
    );
}

/// JUnit 5: `@ValueSource`, `@CsvSource` (array and text block with a header), null and
/// empty sources adding up, `@RepeatedTest(n)`; enum and method sources stay unknown.
#[test]
fn junit_parameterized_and_repeated_cases() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "java/src/test/java/shop/PriceTest.java"),
        &[
            "PriceTest :: positive (dynamic) = 3",
            "PriceTest :: strings (dynamic) = 2",
            "PriceTest :: blanks (dynamic) = 3",
            "PriceTest :: csv (dynamic) = 3",
            "PriceTest :: csvBlock (dynamic) = 2",
            "PriceTest :: repeated (dynamic) = 4",
            "PriceTest :: sizes (dynamic) = -",
            "PriceTest :: fromMethod (dynamic) = -",
            "PriceTest :: plain = -",
        ],
        3 + 2 + 3 + 3 + 2 + 4 + 1 + 1 + 1,
    );
}

/// JUnit 5 in Kotlin: the same annotations with Kotlin's `[…]` arrays (not run here: the
/// Java fixture checks the annotations against the launcher).
#[test]
fn junit_cases_in_kotlin() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "kotlin/src/test/kotlin/PriceKtTest.kt"),
        &[
            "PriceKtTest :: positive (dynamic) = 3",
            "PriceKtTest :: csv (dynamic) = 2",
            "PriceKtTest :: repeated (dynamic) = 2",
            "PriceKtTest :: plain = -",
        ],
        3 + 2 + 2 + 1,
    );
}

/// PHPUnit: data providers of the same class returning a literal array or yielding,
/// named as PHPUnit names data sets (integer keys renumbered), `@testWith` rows; a
/// computed provider or one that delegates with `yield from` stays unknown.
#[test]
fn phpunit_data_providers_and_test_with() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "php/tests/PriceTest.php"),
        &[
            "PriceTest :: testSquares (dynamic) = 3 [data set \"zero\", data set \"one\", data set \"two\"]",
            "PriceTest :: testList (dynamic) = 4 [data set #0, data set #1, data set #2, data set #3]",
            "PriceTest :: testYielded (dynamic) = 2 [data set \"first\", data set #0]",
            // `yield from` another generator: found on guzzle/psr7.
            "PriceTest :: testDelegated (dynamic) = -",
            "PriceTest :: testComputed (dynamic) = -",
            "PriceTest :: testWithRows (dynamic) = 3",
            "PriceTest :: testPlain = -",
        ],
        3 + 4 + 2 + 1 + 1 + 3 + 1,
    );
}

/// RSpec: examples in loops over literal arrays, word lists, ranges and `n.times`, and
/// a group in such a loop multiplying its examples; a loop over a constant stays
/// unknown.
#[test]
fn rspec_examples_in_literal_loops() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "ruby/spec/loops_spec.rb"),
        &[
            "loops :: handles #{n} (dynamic) = 3",
            "loops :: counts #{i} (dynamic) = 4",
            "loops :: repeats #{i} (dynamic) = 3",
            "loops :: sizes #{s} (dynamic) = -",
            "loops :: is plain = -",
            "loops > in #{color} (dynamic) :: paints = 2",
        ],
        3 + 4 + 3 + 1 + 1 + 2,
    );
}

/// NUnit: one case per `[TestCase]`, several in one attribute list too; a case source
/// or `[Values]` on parameters stays unknown.
#[test]
fn nunit_test_case_attributes() {
    let inv = scan_fixture("param-cases");
    assert_cases(
        file(&inv, "dotnet/PriceTests.cs"),
        &[
            "PriceTests :: Doubles (dynamic) = 3",
            "PriceTests :: TwoInOneList (dynamic) = 2",
            "PriceTests :: FromSource (dynamic) = -",
            "PriceTests :: Combined (dynamic) = -",
            "PriceTests :: Plain = -",
        ],
        3 + 2 + 1 + 1 + 1,
    );
}

/// The scan's total is the sum of the files' runner counts, beside the definitions.
#[test]
fn scan_stats_carry_the_runner_total() {
    let inv = scan_fixture("param-cases");
    let total: u64 = inv.files.iter().map(TestFile::runner_count).sum();
    let defs: u64 = inv.files.iter().map(TestFile::test_count).sum();
    assert_eq!(inv.stats.runner_tests, total);
    assert_eq!(inv.stats.tests, defs);
    assert_eq!(total, 100_043 + 20 + 28 + 7 + 20 + 8 + 15 + 14 + 8);
}

/// Hostile input: a table of 100,000 literals keeps its count and no names; stacked
/// `range`s whose product overflows saturate; a JavaScript table of 100,000 rows counts
/// its rows. (No time limit on the file: under a loaded debug build the parse alone may
/// take seconds, and the test is about the counts.)
#[test]
fn huge_literal_tables_keep_their_count_not_their_names() {
    let n: u64 = 100_000;
    let list: String = (0..n).map(|i| format!("{i},")).collect();
    let src = format!(
        "import pytest\n\n@pytest.mark.parametrize(\"x\", [{list}])\ndef test_big(x):\n    pass\n\n\
         @pytest.mark.parametrize(\"a\", range(4_000_000_000))\n\
         @pytest.mark.parametrize(\"b\", range(4_000_000_000))\n\
         @pytest.mark.parametrize(\"c\", range(4_000_000_000))\ndef test_product(a, b, c):\n    pass\n"
    );
    let f = specline_inventory::analyze_bytes_within("test_big.py", src.as_bytes(), None)
        .unwrap()
        .unwrap();
    let big = f.tests[0].cases.as_ref().unwrap();
    assert_eq!((big.count, big.names.len()), (n, 0));
    let product = f.tests[1].cases.as_ref().unwrap();
    assert_eq!((product.count, product.names.len()), (u64::MAX, 0));
    assert_eq!(f.runner_count(), u64::MAX, "the file's sum saturates too");

    let rows: String = (0..n).map(|i| format!("[{i}],")).collect();
    let js = format!("test.each([{rows}])('row %i', (r) => {{}});\n");
    let f = specline_inventory::analyze_bytes_within("big.test.js", js.as_bytes(), None)
        .unwrap()
        .unwrap();
    assert_eq!(f.tests[0].cases.as_ref().map(|c| c.count), Some(n));
}

/// A data provider is looked for among the first 2,000 members of the class only (so a
/// class of many tests that each name a provider stays linear): past them the cases are
/// unknown, and say so by their absence.
#[test]
fn a_provider_past_the_member_limit_is_not_looked_for() {
    let filler: String = (0..2_100)
        .map(|i| format!("    public function helper{i}(): void {{}}\n"))
        .collect();
    let provider = "    public static function cases(): array { return [[1], [2]]; }\n";
    let test = "    /** @dataProvider cases */\n    public function testIt(int $x): void {}\n";
    for (before, want) in [(true, Some(2)), (false, None)] {
        let body = if before {
            format!("{provider}{filler}{test}")
        } else {
            format!("{filler}{provider}{test}")
        };
        let src = format!(
            "<?php\nuse PHPUnit\\Framework\\TestCase;\nclass BigTest extends TestCase\n{{\n{body}}}\n"
        );
        let f = specline_inventory::analyze_bytes_within("tests/BigTest.php", src.as_bytes(), None)
            .unwrap()
            .unwrap();
        let t = &f.suites[0].tests[0];
        assert_eq!(t.name, "testIt (dynamic)");
        assert_eq!(
            t.cases.as_ref().map(|c| c.count),
            want,
            "provider first: {before}"
        );
    }
}
