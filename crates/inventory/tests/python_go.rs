//! Python (pytest, unittest) and Go (testing) fixtures.
#![allow(clippy::unwrap_used)]

mod common;
use common::{assert_file, scan_fixture};

#[test]
fn pytest_functions_classes_marks_and_parametrize() {
    let inv = scan_fixture("py-pytest");
    // conftest.py is configuration, not a test file.
    assert_eq!(inv.files.len(), 1);
    assert_file(
        &inv,
        "tests/unit/test_orders.py",
        "pytest",
        &[
            "T test_create_order",
            "T test_totals (dynamic) | dynamic",
            "T test_pay | skipped @pytest.mark.skip(reason=\"payment sandbox down\")",
            "T test_windows_paths | skipped @pytest.mark.skipif(True, reason=\"windows only\")",
            "T test_refund_rounding | xfail @pytest.mark.xfail(strict=True)",
            "T test_with_local_class",
            "T test_needs_network | skipped pytest.skip(\"offline\")",
            "S TestShipping",
            "T TestShipping :: test_domestic",
            "T TestShipping :: test_international | xfail @pytest.mark.xfail",
            "S TestShipping > TestExpress",
            "T TestShipping > TestExpress :: test_next_day",
            "S TestLegacy | skipped @pytest.mark.skip",
            "T TestLegacy :: test_old_api | skipped",
        ],
    );
    let f = common::file(&inv, "tests/unit/test_orders.py");
    assert_eq!(
        f.domain_hints.imports,
        vec![
            "pytest".to_string(),
            "shop".to_string(),
            "unittest".to_string()
        ]
    );
    assert_eq!(
        f.domain_hints.calls,
        vec![
            "orders.create".to_string(),
            "orders.total".to_string(),
            "orders.online".to_string()
        ]
    );
}

#[test]
fn unittest_classes_and_decorators() {
    let inv = scan_fixture("py-unittest");
    assert_file(
        &inv,
        "pkg/test_math.py",
        "unittest",
        &[
            "S MathTest",
            "T MathTest :: test_add",
            "T MathTest :: test_div | skipped @unittest.skip(\"not implemented\")",
            "T MathTest :: test_pow | skipped @unittest.skipIf(True, \"slow\")",
            "T MathTest :: test_broken | xfail @unittest.expectedFailure",
            "T MathTest :: test_mod | skipped self.skipTest(\"platform\")",
        ],
    );
}

#[test]
fn go_tests_subtests_and_tables() {
    let inv = scan_fixture("go-testing");
    assert_file(
        &inv,
        "calc/calc_test.go",
        "go-testing",
        &[
            "T TestAdd",
            "T TestSkipped | skipped t.Skip(\"flaky on CI\")",
            "T FuzzParse",
            "S TestDivide",
            "T TestDivide :: exact | skipped t.Skipf(\"needs %s\", \"fpu\")",
            "S TestDivide > by zero",
            "T TestDivide > by zero :: positive",
            "T TestDivide > by zero :: negative",
            "S TestTable",
            "T TestTable :: tc.name (dynamic) | dynamic",
            "S TestLoopLiteral",
            "T TestLoopLiteral :: same name (dynamic) | dynamic",
            // `b.Run` sub-benchmarks of BenchmarkSizes are not tests.
            "S TestNamedSubtest",
            "T TestNamedSubtest :: named",
            "T TestNamedSubtest :: no params",
        ],
    );
    let f = common::file(&inv, "calc/calc_test.go");
    assert_eq!(
        f.domain_hints.imports,
        vec![
            "testing".to_string(),
            "example.invalid/calc/internal/parse".to_string()
        ]
    );
    assert_eq!(f.domain_hints.calls, vec!["parse.Number".to_string()]);
}
