//! pytest's own configuration decides what is collected: `python_files`, `python_classes`,
//! `python_functions` and `testpaths`, from the file pytest would read.
#![allow(clippy::unwrap_used)]

mod common;
use std::path::Path;

use common::{assert_file, scan_fixture};
use specline_inventory::{scan, ScanOptions};

fn paths(inv: &specline_inventory::model::Inventory) -> Vec<&str> {
    inv.files.iter().map(|f| f.path.as_str()).collect()
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn pytest_ini_names_files_classes_functions_and_testpaths() {
    let inv = scan_fixture("py-pytest-config");
    // testpaths = checks leaves scripts/ out; python_files leaves test_named_by_default.py
    // out; pytest.ini wins over setup.cfg's [tool:pytest] in the same directory.
    assert_eq!(
        paths(&inv),
        vec!["checks/payment_checks.py", "checks/unit/check_cart.py"]
    );
    assert_file(
        &inv,
        "checks/unit/check_cart.py",
        "pytest",
        &[
            "T check_total",
            "S CartChecks",
            "T CartChecks :: check_add",
            "T CartChecks :: it_removes | skipped @pytest.mark.skip(reason=\"slow\")",
            "S CartChecks > NestedChecks",
            "T CartChecks > NestedChecks :: check_nested",
            "S DescribeCheckout",
            "T DescribeCheckout :: it_pays",
        ],
    );
    // A TestCase's methods are unittest's `test*`, whatever python_functions says.
    assert_file(
        &inv,
        "checks/payment_checks.py",
        "unittest",
        &[
            "T check_payment",
            "S PaymentTest",
            "T PaymentTest :: test_refund",
        ],
    );
}

#[test]
fn pyproject_and_a_nearer_tox_ini() {
    let inv = scan_fixture("py-pytest-pyproject");
    assert_eq!(paths(&inv), vec!["sub/calc_spec.py", "tests/spec_calc.py"]);
    assert_file(&inv, "tests/spec_calc.py", "pytest", &["T should_add"]);
    // sub/tox.ini's [pytest] is nearer: its python_files, and pytest's default names.
    assert_file(&inv, "sub/calc_spec.py", "pytest", &["T test_in_sub"]);
}

#[test]
fn without_a_configuration_pytest_defaults_apply() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tests/test_a.py",
        b"class TestA:\n    def test_x(self):\n        pass\n\nclass Helper:\n    def test_not_collected(self):\n        pass\n\ndef test_top():\n    pass\n",
    );
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    assert_file(
        &inv,
        "tests/test_a.py",
        "pytest",
        &["T test_top", "S TestA", "T TestA :: test_x"],
    );
}

#[test]
fn unreadable_configurations_are_errors_and_conventions_apply() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "a/pyproject.toml",
        b"[tool.pytest.ini_options\npython_files = [",
    );
    write(root, "a/test_a.py", b"def test_a():\n    pass\n");
    let mut big = b"[pytest]\npython_files = check_*.py\n".to_vec();
    big.resize(2 << 20, b'#');
    write(root, "b/pytest.ini", &big);
    write(root, "b/test_b.py", b"def test_b():\n    pass\n");
    write(root, "c/pytest.ini", b"[pytest]\n\0\0binary");
    write(root, "c/test_c.py", b"def test_c():\n    pass\n");
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(
        paths(&inv),
        vec!["a/test_a.py", "b/test_b.py", "c/test_c.py"]
    );
    let codes: Vec<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("a/pyproject.toml", "CONFIG_UNREADABLE"),
            ("b/pytest.ini", "CONFIG_UNREADABLE"),
            ("c/pytest.ini", "CONFIG_UNREADABLE")
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_configuration_is_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "pytest.ini",
        b"[pytest]\npython_files = nothing_*.py\n",
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "test_a.py", b"def test_a():\n    pass\n");
    std::os::unix::fs::symlink(
        outside.path().join("pytest.ini"),
        dir.path().join("pytest.ini"),
    )
    .unwrap();
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&inv), vec!["test_a.py"]);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
}

#[test]
fn pytest_9_native_toml_tables() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // pyproject.toml's native [tool.pytest] table (pytest 9) wins over ini_options.
    write(
        root,
        "a/pyproject.toml",
        b"[tool.pytest]\npython_files = [\"check_*.py\"]\ntestpaths = [\"t\"]\n\n[tool.pytest.ini_options]\npython_files = \"test_*.py\"\n",
    );
    write(root, "a/t/check_a.py", b"def test_a():\n    pass\n");
    write(root, "a/t/test_a.py", b"def test_a():\n    pass\n");
    // pytest.toml comes first of all, even over pytest.ini.
    write(
        root,
        "b/pytest.toml",
        b"[pytest]\npython_functions = [\"should_\"]\n",
    );
    write(root, "b/pytest.ini", b"[pytest]\npython_functions = test\n");
    write(
        root,
        "b/test_b.py",
        b"def should_b():\n    pass\n\ndef test_b():\n    pass\n",
    );
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    assert_eq!(paths(&inv), vec!["a/t/check_a.py", "b/test_b.py"]);
    assert_file(&inv, "b/test_b.py", "pytest", &["T should_b"]);
}
