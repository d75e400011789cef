//! Robustness: arbitrary and mutated bytes in every grammar, unbalanced brackets, and a
//! 100,000-file tree. None of it may panic or fail the scan (deep nesting: deep_nesting.rs).
#![allow(clippy::unwrap_used)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use specline_inventory::model::Inventory;
use std::time::Duration;

use specline_inventory::{analyze_bytes, analyze_bytes_within, scan, InventoryError, ScanOptions};

/// One file name per grammar, with a real fixture as the base for mutations.
const SAMPLES: &[(&str, &[u8])] = &[
    (
        "a.test.js",
        include_bytes!("fixtures/js-jest-repo/src/cart.test.js"),
    ),
    (
        "a.test.jsx",
        include_bytes!("fixtures/js-jest-repo/src/__tests__/Widget.jsx"),
    ),
    (
        "a.test.ts",
        include_bytes!("fixtures/js-vitest-globals/pkg/src/parse.test.ts"),
    ),
    (
        "a.test.tsx",
        include_bytes!("fixtures/js-vitest-globals/pkg/src/view.test.tsx"),
    ),
    (
        "test_a.py",
        include_bytes!("fixtures/py-pytest/tests/unit/test_orders.py"),
    ),
    (
        "a_test.go",
        include_bytes!("fixtures/go-testing/calc/calc_test.go"),
    ),
    (
        "ATest.java",
        include_bytes!("fixtures/jvm/junit5/src/test/java/shop/CartTest.java"),
    ),
    (
        "ASpec.kt",
        include_bytes!("fixtures/jvm/kotlin/src/test/kotlin/shop/PricingSpec.kt"),
    ),
    (
        "ATests.cs",
        include_bytes!("fixtures/dotnet/Shop.NUnit/OrderTests.cs"),
    ),
    (
        "a_spec.rb",
        include_bytes!("fixtures/ruby-rspec/spec/models/user_spec.rb"),
    ),
    (
        "ATest.php",
        include_bytes!("fixtures/php/tests/Unit/CartTest.php"),
    ),
    ("a.rs", include_bytes!("fixtures/rust-crate/src/lib.rs")),
    (
        "ATests.swift",
        include_bytes!("fixtures/swift/Tests/ShopTests/PricingTests.swift"),
    ),
    (
        "a_test.cc",
        include_bytes!("fixtures/cpp-gtest/tests/cart_test.cc"),
    ),
];

fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    match rng.random_range(0..4) {
        // Pure noise.
        0 => (0..rng.random_range(0..2048))
            .map(|_| rng.random())
            .collect(),
        // Flipped bytes.
        1 => {
            let mut v = base.to_vec();
            for _ in 0..rng.random_range(1..32) {
                let i = rng.random_range(0..v.len());
                v[i] = rng.random();
            }
            v
        }
        // Truncated at a random point (often inside a string or a block).
        2 => base[..rng.random_range(0..base.len())].to_vec(),
        // A slice spliced somewhere else.
        _ => {
            let a = rng.random_range(0..base.len());
            let b = rng.random_range(a..base.len());
            let at = rng.random_range(0..base.len());
            let mut v = base[..at].to_vec();
            v.extend_from_slice(&base[a..b]);
            v.extend_from_slice(&base[at..]);
            v
        }
    }
}

#[test]
fn arbitrary_and_mutated_bytes_never_panic_in_any_grammar() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for (name, base) in SAMPLES {
        // The unmutated base is a real test file.
        let file = analyze_bytes(name, base).unwrap();
        assert!(file.is_some(), "{name}: fixture should hold tests");
        for _ in 0..120 {
            let input = mutate(&mut rng, base);
            let got = analyze_bytes(name, &input);
            assert!(got.is_ok(), "{name}: {got:?}");
        }
    }
}

#[test]
fn unbalanced_brackets_in_bulk_do_not_panic() {
    for (name, _) in SAMPLES {
        for unit in ["(", "{", "[", "\"", "describe(() => {"] {
            let src = unit.repeat(3_000);
            // Ok, or a clean timeout error: never a panic or a hang.
            match analyze_bytes_within(name, src.as_bytes(), Some(Duration::from_secs(5))) {
                Ok(_) | Err(InventoryError::FileTimeout) => {}
                Err(e) => panic!("{name} {unit}: {e}"),
            }
        }
    }
}

#[test]
fn a_100k_file_tree_is_scanned_completely() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected_tests = 0;
    for d in 0..1000 {
        let sub = dir.path().join(format!("pkg{d}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..99 {
            std::fs::write(sub.join(format!("f{f}.txt")), b"x").unwrap();
        }
        std::fs::write(
            sub.join("p_test.go"),
            "package p\nimport \"testing\"\nfunc TestP(t *testing.T) {}\n",
        )
        .unwrap();
        expected_tests += 1;
    }
    let inv: Inventory = scan(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(inv.stats.files_seen, 100_000);
    assert_eq!(inv.stats.test_files, 1000);
    assert_eq!(inv.stats.tests, expected_tests);
    assert!(!inv.stats.truncated);
    assert!(inv.errors.is_empty());
}

#[test]
fn a_file_over_its_time_budget_is_an_error_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.test.js"), b"test('a', () => {});\n").unwrap();
    // Pathological nesting: slow enough to exceed a 200 ms budget.
    let deep = "describe('d', () => {\n".repeat(12000) + "it('x', () => {});";
    std::fs::write(dir.path().join("deep.test.js"), deep).unwrap();
    let opts = ScanOptions {
        file_timeout: Some(Duration::from_millis(200)),
        threads: 1,
        ..ScanOptions::default()
    };
    let inv = scan(dir.path(), &opts).unwrap();
    assert_eq!(inv.stats.errored, 1);
    assert_eq!(inv.errors[0].path, "deep.test.js");
    assert_eq!(inv.errors[0].code, "PARSE_TIMEOUT");
    assert!(!inv.stats.truncated);
}
