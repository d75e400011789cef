//! Inventory extraction per grammar: the first byte picks a grammar (by a file name of
//! it), the rest is the source. Nothing may panic, hang past the time budget or produce
//! JSON that does not read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specline_inventory::model::TestFile;

/// One file name per grammar (and per path convention that changes the framework).
const NAMES: &[&str] = &[
    "a.test.js",
    "a.test.jsx",
    "a.test.ts",
    "a.test.tsx",
    "a.spec.ts",
    "test_a.py",
    "a_test.go",
    "src/test/java/ATest.java",
    "src/test/kotlin/ASpec.kt",
    "ATests.cs",
    "spec/a_spec.rb",
    "test/a_test.rb",
    "tests/ATest.php",
    "src/a.rs",
    "tests/a.rs",
    "Tests/ATests.swift",
    "a_test.cc",
    "cypress/e2e/a.cy.ts",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, src)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let limit = Some(std::time::Duration::from_secs(2));
    if let Ok(Some(file)) = specline_inventory::analyze_bytes_within(name, src, limit) {
        let json = serde_json::to_string(&file).expect("a test file serialises");
        let back: TestFile = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(back, file);
    }
});
