//! A test's docstring or leading comment reaches the inventory (`Test::doc`), in every
//! language, from a real git repository cloned through a file:// URL: markers stripped,
//! attributes and decorators skipped over, tool directives and tags dropped, a comment after
//! code or behind a blank line not taken, control characters refused.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use specline_inventory::source::{prepare, SourceSpec};
use specline_inventory::{scan, ScanOptions};

#[path = "common/git_repos.rs"]
mod git_repos;

const PYTHON: &str = r#"import pytest

def test_empty_cart():
    """When the cart is empty, checkout is refused.

    More detail for readers of the code.
    """
    assert True

# Totals are rounded to cents.
@pytest.mark.parametrize("x", [1, 2])
def test_rounding(x):
    assert x

class TestLogin:
    def test_lockout(self):
        r'''Three wrong passwords lock the account.'''

    def test_plain(self):
        assert True
"#;

const RUST: &str = r#"#[cfg(test)]
mod tests {
    /// An expired token is refused.
    ///
    /// # Panics
    /// Never.
    #[test]
    #[ignore = "slow"]
    fn expired_token() {}

    const X: u8 = 1; // trailing comment of the line above
    #[test]
    fn after_code() {}

    // A leading plain comment.

    #[test]
    fn blank_line_between() {}

    //! inner docs are the module's
    #[test]
    fn inner_doc() {}
}
"#;

const JS: &str = r#"describe('cart', () => {
  // Adds an item once.
  // eslint-disable-next-line no-undef
  it('adds', () => {});

  /**
   * Removes the last item.
   * @see {@link Cart#remove}
   */
  test('removes', () => {});

  it('bare', () => {});
});
"#;

const GO: &str = r#"package calc

import "testing"

// TestSub checks that two numbers are subtracted.
//go:noinline
func TestSub(t *testing.T) {}

// A test with subtests is a suite: the subtests carry documentation.
func TestAdd(t *testing.T) {
	// Negative numbers too.
	t.Run("negative", func(t *testing.T) {})
}
"#;

const JAVA: &str = r#"import org.junit.jupiter.api.Test;

class CartTest {
    /**
     * Refuses a negative quantity; see {@code Cart#add}.
     *
     * @throws Exception never
     */
    @Test
    void negativeQuantity() {}

    // ----------------------------------
    @Test
    void banner() {}
}
"#;

const CSHARP: &str = r#"using Xunit;

public class OrderTests
{
    /// <summary>
    /// Rejects an <see cref="Order"/> without lines.
    /// </summary>
    [Fact]
    public void EmptyOrder() {}
}
"#;

const RUBY: &str = r#"RSpec.describe Cart do
  # Keeps the newest price.
  it "reprices" do
  end
end
"#;

/// `# Bidi: "admin<U+202E>txt"` above a test: dropped whole.
fn trojan() -> String {
    "def test_trojan():\n    \"\"\"admin\u{202E}txt is refused\"\"\"\n\n# Comment\u{7} with a bell.\ndef test_bell():\n    pass\n".to_string()
}

/// Every test of the inventory by `file: name` with its documentation.
fn docs() -> BTreeMap<String, Option<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let trojan = trojan();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("tests/test_cart.py", PYTHON.as_bytes().to_vec()),
        ("tests/test_trojan.py", trojan.into_bytes()),
        ("src/lib.rs", RUST.as_bytes().to_vec()),
        ("web/cart.test.js", JS.as_bytes().to_vec()),
        ("calc/calc_test.go", GO.as_bytes().to_vec()),
        ("java/CartTest.java", JAVA.as_bytes().to_vec()),
        ("dotnet/OrderTests.cs", CSHARP.as_bytes().to_vec()),
        ("spec/cart_spec.rb", RUBY.as_bytes().to_vec()),
    ];
    let (url, _) = git_repos::served(tmp.path(), &files, false);
    let checkout = prepare(&SourceSpec::parse(&url, None, None).unwrap()).unwrap();
    let inv = scan(checkout.path(), &ScanOptions::default()).unwrap();
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    inv.walk_tests()
        .into_iter()
        .map(|t| {
            (
                format!("{}: {}", t.file.path, t.test.name),
                t.test.doc.clone(),
            )
        })
        .collect()
}

#[test]
fn docstrings_and_leading_comments_are_captured_in_every_language() {
    let got = docs();
    let some = |s: &str| Some(s.to_string());
    let want: BTreeMap<String, Option<String>> = [
        (
            "tests/test_cart.py: test_empty_cart",
            some("When the cart is empty, checkout is refused.\n\nMore detail for readers of the code."),
        ),
        (
            "tests/test_cart.py: test_rounding (dynamic)",
            some("Totals are rounded to cents."),
        ),
        (
            "tests/test_cart.py: test_lockout",
            some("Three wrong passwords lock the account."),
        ),
        ("tests/test_cart.py: test_plain", None),
        ("tests/test_trojan.py: test_trojan", None),
        ("tests/test_trojan.py: test_bell", None),
        (
            "src/lib.rs: expired_token",
            some("An expired token is refused.\n\n# Panics\nNever."),
        ),
        ("src/lib.rs: after_code", None),
        ("src/lib.rs: blank_line_between", None),
        ("src/lib.rs: inner_doc", None),
        ("web/cart.test.js: adds", some("Adds an item once.")),
        ("web/cart.test.js: removes", some("Removes the last item.")),
        ("web/cart.test.js: bare", None),
        (
            "calc/calc_test.go: TestSub",
            some("TestSub checks that two numbers are subtracted."),
        ),
        ("calc/calc_test.go: negative", some("Negative numbers too.")),
        (
            "java/CartTest.java: negativeQuantity",
            some("Refuses a negative quantity; see Cart#add."),
        ),
        ("java/CartTest.java: banner", None),
        (
            "dotnet/OrderTests.cs: EmptyOrder",
            some("Rejects an Order without lines."),
        ),
        ("spec/cart_spec.rb: reprices", some("Keeps the newest price.")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn documentation_is_written_to_json_only_when_present() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = git_repos::served(
        tmp.path(),
        &[("web/cart.test.js", JS.as_bytes().to_vec())],
        false,
    );
    let checkout = prepare(&SourceSpec::parse(&url, None, None).unwrap()).unwrap();
    let inv = scan(checkout.path(), &ScanOptions::default()).unwrap();
    let json = serde_json::to_value(&inv).unwrap();
    let tests = &json["files"][0]["suites"][0]["tests"];
    assert_eq!(tests[0]["doc"], "Adds an item once.");
    assert!(tests[2].get("doc").is_none(), "{}", tests[2]);
}
