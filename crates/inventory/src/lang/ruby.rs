//! Ruby: RSpec and Minitest (classic `def test_*`, spec-style `describe`/`it`, and
//! ActiveSupport's `test "name" do`).

use crate::extract::{Kind, RawItem};
use crate::framework::{config, FrameworkDef, Grammar, HookCtx, LanguageDef};
use crate::model::Status;

const TESTS: &str = include_str!("../../queries/ruby/tests.scm");
const HINTS: &str = include_str!("../../queries/ruby/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &[r"^(rspec|spec_helper|rails_helper)\b"],
        paths: &["**/*_spec.rb", "spec/**"],
        configs: &[config(".rspec")],
        content: &[r"\bRSpec\.", r"\bdescribe\b.*\bdo\b"],
        prune_empty_suites: true,
        ..FrameworkDef::new("rspec", TESTS)
    },
    FrameworkDef {
        imports: &[r"^(minitest|test_helper|test/unit)\b"],
        paths: &["**/*_test.rb", "**/test_*.rb", "test/**"],
        content: &[r"Minitest::|ActiveSupport::TestCase|Test::Unit"],
        prune_empty_suites: true,
        ..FrameworkDef::new("minitest", TESTS)
    },
];

pub const RUBY: LanguageDef = LanguageDef {
    id: "ruby",
    extensions: &[("rb", Grammar::Ruby)],
    candidates: &[
        "**/*_spec.rb",
        "**/*_test.rb",
        "**/test_*.rb",
        "**/spec/**/*.rb",
        "**/test/**/*.rb",
    ],
    prefilter: Some(r"\b(describe|context|it|test|specify)\b|def test_"),
    hints_query: HINTS,
    noise_receivers: &[
        "RSpec",
        "self",
        "described_class",
        "subject",
        "Time",
        "File",
    ],
    frameworks: FRAMEWORKS,
    default_framework: "rspec",
    loop_kinds: &["for", "while", "until"],
    loop_calls: &["each", "each_with_index", "each_pair", "times", "map"],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: Some(hook),
};

/// Reads the RSpec/Minitest word of a block call and its metadata (`:skip`, `focus: true`).
fn hook(item: &mut RawItem, _ctx: &HookCtx<'_>) -> bool {
    let Some(word) = item.chain.clone() else {
        return true;
    };
    // `it(*args) do` forwards its arguments: a helper that defines tests, not a test.
    if item
        .args
        .as_deref()
        .is_some_and(|a| a.trim_start_matches('(').starts_with(['*', '&']))
    {
        return false;
    }
    // `skip "why"` / `pending "why"` without a block are runtime calls inside a test:
    // they give their status to the enclosing test.
    // Under a runtime condition (`skip "why" if ENV["CI"]`, in a test or in a `before`
    // hook) it may or may not skip: the enclosing item is conditional, not skipped.
    if item.bodyless && matches!(word.as_str(), "skip" | "pending") {
        item.status = crate::model::Status::Active;
        item.modifier = None;
        let status = if word == "skip" {
            Status::Skipped
        } else {
            Status::Xfail
        };
        let text = match item.name.as_deref() {
            Some(reason) => format!("{word} \"{reason}\""),
            None => word.clone(),
        };
        if item.conditional {
            item.set_conditional(&format!("conditional: {text}"));
        } else {
            item.set_status(status, &text);
        }
        item.kind = Kind::Annotation;
        return true;
    }
    item.kind = match word.as_str() {
        "describe" | "context" | "feature" | "example_group" => Kind::Suite,
        "xdescribe" | "xcontext" | "xfeature" => {
            item.set_status(Status::Skipped, &word);
            Kind::Suite
        }
        "fdescribe" | "fcontext" | "ffeature" => {
            item.set_status(Status::Focused, &word);
            Kind::Suite
        }
        "it" | "specify" | "example" | "scenario" | "test" | "its" => Kind::Test,
        "xit" | "xspecify" | "xexample" | "xscenario" | "skip" => {
            item.set_status(Status::Skipped, &word);
            Kind::Test
        }
        "fit" | "fspecify" | "fexample" | "fscenario" | "focus" => {
            item.set_status(Status::Focused, &word);
            Kind::Test
        }
        "pending" => {
            item.set_status(Status::Xfail, &word);
            Kind::Test
        }
        _ => return false,
    };
    if let Some(args) = item.args.clone() {
        for (needle, status) in [
            (":skip", Status::Skipped),
            ("skip:", Status::Skipped),
            (":pending", Status::Xfail),
            ("pending:", Status::Xfail),
            (":focus", Status::Focused),
            ("focus: true", Status::Focused),
        ] {
            if args.contains(needle) {
                item.set_status(status, needle);
            }
        }
    }
    true
}
