//! C++: GoogleTest (`TEST`, `TEST_F`, `TEST_P`, typed tests, `DISABLED_`).

use crate::extract::{FilePassCtx, Kind, RawItem};
use crate::framework::{FrameworkDef, Grammar, HookCtx, LanguageDef};
use crate::model::Status;

const TESTS: &str = include_str!("../../queries/cpp/tests.scm");
const HINTS: &str = include_str!("../../queries/cpp/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[FrameworkDef {
    imports: &[r"gtest/", r"gmock/"],
    ..FrameworkDef::new("googletest", TESTS)
}];

pub const CPP: LanguageDef = LanguageDef {
    id: "cpp",
    extensions: &[
        ("cc", Grammar::Cpp),
        ("cpp", Grammar::Cpp),
        ("cxx", Grammar::Cpp),
        ("c++", Grammar::Cpp),
    ],
    candidates: &[
        "**/*_test.{cc,cpp,cxx,c++}",
        "**/*_tests.{cc,cpp,cxx,c++}",
        "**/*_unittest.{cc,cpp,cxx}",
        "**/*Test.{cc,cpp,cxx}",
        "**/*Tests.{cc,cpp,cxx}",
        "**/test_*.{cc,cpp,cxx}",
        "**/test/**/*.{cc,cpp,cxx}",
        "**/tests/**/*.{cc,cpp,cxx}",
        "**/unittests/**/*.{cc,cpp,cxx}",
    ],
    prefilter: Some(r"\b(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)\s*\("),
    hints_query: HINTS,
    noise_receivers: &["std", "testing", "absl"],
    frameworks: FRAMEWORKS,
    default_framework: "googletest",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: Some(hook),
};

/// Reads `(Suite, Name)` from the macro's argument text; parameterized and typed tests
/// are dynamic, `DISABLED_` on either name skips. A name built by a macro
/// (`TEST(SUITE(x), Name)`) is kept as written and makes the test dynamic: the runner's
/// name is only known after preprocessing.
fn hook(item: &mut RawItem, _ctx: &HookCtx<'_>) -> bool {
    let (Some(mac), Some(args)) = (item.chain.clone(), item.args.clone()) else {
        return false;
    };
    let parts = split_args(&args);
    let [group, name] = parts.as_slice() else {
        return false;
    };
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let built = |s: &str| {
        s.split_once('(')
            .is_some_and(|(m, rest)| ident(m.trim()) && rest.ends_with(')'))
    };
    let (group_ok, name_ok) = (ident(group), ident(name));
    if !(group_ok || built(group)) || !(name_ok || built(name)) {
        return false;
    }
    if !(group_ok && name_ok) {
        item.name_is_literal = false;
    }
    if matches!(mac.as_str(), "TEST_P" | "TYPED_TEST" | "TYPED_TEST_P") {
        item.dynamic = true;
    }
    if name.starts_with("DISABLED_") || group.starts_with("DISABLED_") {
        item.set_status(Status::Skipped, "DISABLED_");
    }
    item.group = Some(group.clone());
    item.name = Some(name.clone());
    true
}

/// The top-level, comma-separated arguments of `(a, F(b, c))`, trimmed.
fn split_args(args: &str) -> Vec<String> {
    let inner = args.trim();
    let inner = inner.strip_prefix('(').unwrap_or(inner);
    let inner = inner.strip_suffix(')').unwrap_or(inner);
    let mut parts = Vec::new();
    let (mut depth, mut cur) = (0usize, String::new());
    for c in inner.chars() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur.trim().to_string());
    parts
}

/// Test macro names, as the query matches them.
const MACROS: &str = "TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST";

/// Longest header argument text read by the file pass.
const MAX_HEADER: usize = 300;

/// Finds the test headers that start a line, for those the query did not see because
/// the grammar's error recovery folded them into something else (a test named with a
/// keyword, such as `TEST(ostream_test, template)`, or a broken `#if` branch, can swallow
/// the tests after it). A header inside a comment or a string literal is not one.
pub fn file_pass(ctx: &FilePassCtx<'_>) -> Vec<RawItem> {
    static RE: std::sync::OnceLock<Option<regex::bytes::Regex>> = std::sync::OnceLock::new();
    let Some(re) = RE
        .get_or_init(|| regex::bytes::Regex::new(&format!(r"(?m)^[ \t]*({MACROS})[ \t]*\(")).ok())
        .as_ref()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in re.captures_iter(ctx.src) {
        let (Some(mac), Some(whole)) = (c.get(1), c.get(0)) else {
            continue;
        };
        if in_comment_or_string(ctx, mac.start()) {
            continue;
        }
        let open = whole.end() - 1;
        let Some(close) = matching_paren(ctx.src, open) else {
            continue;
        };
        let root = ctx.tree.root_node();
        let (Some(first), Some(last)) = (
            root.descendant_for_byte_range(mac.start(), mac.start()),
            root.descendant_for_byte_range(close, close),
        ) else {
            continue;
        };
        let mut item = RawItem::new(
            Kind::Test,
            mac.start()..close + 1,
            first.start_position(),
            last.end_position(),
        );
        item.second_look = true;
        item.chain = Some(String::from_utf8_lossy(mac.as_bytes()).into_owned());
        item.args = Some(String::from_utf8_lossy(&ctx.src[open..=close]).into_owned());
        out.push(item);
    }
    out
}

/// Comments are leaves and a literal's text sits one level below it, so the smallest
/// node at `at` and its parent say it all (`Node::parent` costs the depth: a walk up to
/// the root would be quadratic on deep nesting).
fn in_comment_or_string(ctx: &FilePassCtx<'_>, at: usize) -> bool {
    let node = ctx.tree.root_node().descendant_for_byte_range(at, at);
    std::iter::successors(node, tree_sitter::Node::parent)
        .take(2)
        .any(|n| {
            matches!(
                n.kind(),
                "comment" | "string_literal" | "raw_string_literal" | "char_literal"
            )
        })
}

/// The byte offset of the `)` closing the `(` at `open`, within [`MAX_HEADER`] bytes.
fn matching_paren(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in src.get(open..)?.iter().enumerate().take(MAX_HEADER) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            b'{' | b';' => return None,
            _ => {}
        }
    }
    None
}
