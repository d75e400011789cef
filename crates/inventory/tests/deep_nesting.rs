//! Suites nested deeper than the model keeps (48 levels) lose no test, in any language:
//! the deepest tests are flattened onto the 48th suite, at 80 and at 1,000 levels, and
//! nothing overflows the stack.
#![allow(clippy::unwrap_used)]

use specline_inventory::analyze_bytes_within;
use specline_inventory::model::{Suite, TestFile};

fn nested(open: &str, leaf: &str, close: &str, n: usize) -> Vec<u8> {
    let mut s = open.repeat(n);
    s.push_str(leaf);
    s.push_str(&close.repeat(n));
    s.into_bytes()
}

/// A file of every grammar whose only test sits under `n` nested suites.
fn cases(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut py = String::new();
    for i in 0..n {
        py.push_str(&" ".repeat(i));
        py.push_str("class TestD:\n");
    }
    py.push_str(&" ".repeat(n));
    py.push_str("def test_leaf(self): pass\n");
    let describe = || {
        nested(
            "describe('d', () => {\n",
            "it('leaf', () => {});\n",
            "});\n",
            n,
        )
    };
    vec![
        ("deep.test.js", describe()),
        ("deep.test.ts", describe()),
        ("DeepTest.php", {
            let mut s = b"<?php\n".to_vec();
            s.extend(nested(
                "class C { function f() { $x = new class {\n",
                "public function testLeaf() {}\n",
                "}; } }\n",
                n,
            ));
            s
        }),
        (
            "deep_test.cc",
            nested("namespace n {\n", "TEST(S, Leaf) {}\n", "}\n", n),
        ),
        ("deep_test.go", {
            let mut s = b"package p\nimport \"testing\"\nfunc TestDeep(t *testing.T) {\n".to_vec();
            s.extend(nested(
                "t.Run(\"d\", func(t *testing.T) {\n",
                "t.Run(\"leaf\", func(t *testing.T) {})\n",
                "})\n",
                n,
            ));
            s.extend(b"}\n");
            s
        }),
        (
            "deep_spec.rb",
            nested("describe 'd' do\n", "it 'leaf' do\nend\n", "end\n", n),
        ),
        (
            "DeepTest.java",
            nested("class C {\n", "@Test void leaf() {}\n", "}\n", n),
        ),
        (
            "DeepTests.cs",
            nested("class C {\n", "[Fact] void Leaf() {}\n", "}\n", n),
        ),
        (
            "deep.rs",
            nested("mod m {\n", "#[test] fn leaf() {}\n", "}\n", n),
        ),
        (
            "DeepSpec.kt",
            nested("class C {\n", "@Test fun leaf() {}\n", "}\n", n),
        ),
        (
            "DeepTests.swift",
            nested("class C: XCTestCase {\n", "func testLeaf() {}\n", "}\n", n),
        ),
        ("test_deep.py", py.into_bytes()),
    ]
}

fn depth(suites: &[Suite]) -> usize {
    suites
        .iter()
        .map(|s| 1 + depth(&s.suites))
        .max()
        .unwrap_or(0)
}

fn test_names(file: &TestFile) -> Vec<String> {
    fn walk(s: &Suite, out: &mut Vec<String>) {
        out.extend(s.tests.iter().map(|t| t.name.clone()));
        for c in &s.suites {
            walk(c, out);
        }
    }
    let mut out: Vec<String> = file.tests.iter().map(|t| t.name.clone()).collect();
    for s in &file.suites {
        walk(s, &mut out);
    }
    out
}

fn check(n: usize) {
    for (name, src) in cases(n) {
        // No time limit: this is about nesting, not speed, and a debug build on a loaded
        // machine can take longer than the default per-file budget at 1,000 levels.
        let file = analyze_bytes_within(name, &src, None)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} at {n} levels: no test found"));
        let tests = test_names(&file);
        let leaves = tests.iter().filter(|t| t.to_lowercase().contains("leaf"));
        assert_eq!(leaves.count(), 1, "{name} at {n} levels: {tests:?}");
        // In Go a subtest is a test whether or not it has subtests: the flattened `t.Run`s
        // below the 48th level are tests too. Elsewhere the leaf is the only test.
        if !name.ends_with(".go") {
            assert_eq!(tests.len(), 1, "{name} at {n} levels: {tests:?}");
        }
        let d = depth(&file.suites);
        assert!(d <= 49, "{name} at {n} levels: depth {d}");
        let json = serde_json::to_string(&file).unwrap();
        let back: TestFile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, file, "{name}");
    }
}

#[test]
fn eighty_levels_keep_their_tests_in_every_language() {
    check(80);
}

#[test]
fn a_thousand_levels_keep_their_tests_without_overflowing_the_stack() {
    // Run on a thread with a small stack: recursion on nesting depth would overflow it.
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| check(1000))
        .unwrap()
        .join()
        .unwrap();
}
