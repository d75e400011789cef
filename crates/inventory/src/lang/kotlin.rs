//! Kotlin: Kotest (spec styles) and JUnit 5/4 in Kotlin.

use crate::extract::{Kind, RawItem};
use crate::framework::{
    config_with, rule, Effect, FrameworkDef, Grammar, HookCtx, LanguageDef, Rule,
};
use crate::model::Status;

/// All three frameworks share the query (the engine runs one query per language); the
/// Kotest DSL patterns find nothing in JUnit classes.
const KOTEST: &str = concat!(
    include_str!("../../queries/kotlin/junit.scm"),
    include_str!("../../queries/kotlin/kotest.scm")
);
const HINTS: &str = include_str!("../../queries/kotlin/hints.scm");

/// Kotest's name prefixes: `f:` focuses, `!` disables.
const KOTEST_NAMES: &[Rule] = &[rule(r"^f:", Effect::Focus), rule(r"^!", Effect::Skip)];

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &[r"^io\.kotest\b"],
        configs: &[
            config_with("build.gradle.kts", "io.kotest"),
            config_with("build.gradle", "io.kotest"),
        ],
        content: &[
            r"\b(FunSpec|StringSpec|DescribeSpec|BehaviorSpec|ShouldSpec|FreeSpec|WordSpec|FeatureSpec|ExpectSpec|AnnotationSpec)\s*\(",
        ],
        attr_rules: super::java::ANNOTATIONS,
        name_rules: KOTEST_NAMES,
        prune_empty_suites: true,
        ..FrameworkDef::new("kotest", KOTEST)
    },
    FrameworkDef {
        imports: &[r"^org\.junit\.jupiter\b"],
        configs: &[
            config_with("build.gradle.kts", "junit-jupiter"),
            config_with("build.gradle", "junit-jupiter"),
        ],
        attr_rules: super::java::ANNOTATIONS,
        prune_empty_suites: true,
        ..FrameworkDef::new("junit5", KOTEST)
    },
    FrameworkDef {
        imports: &[r"^org\.junit\b", r"^kotlin\.test\b"],
        attr_rules: super::java::ANNOTATIONS,
        prune_empty_suites: true,
        ..FrameworkDef::new("junit4", KOTEST)
    },
];

pub const KOTLIN: LanguageDef = LanguageDef {
    id: "kotlin",
    extensions: &[("kt", Grammar::Kotlin), ("kts", Grammar::Kotlin)],
    candidates: super::java::JVM_CANDIDATES,
    prefilter: Some(r"@Test\b|@ParameterizedTest\b|io\.kotest|Spec\s*\("),
    hints_query: HINTS,
    noise_receivers: &["Assertions", "Assert", "System", "Mockito", "assertThat"],
    frameworks: FRAMEWORKS,
    default_framework: "junit5",
    loop_kinds: &["for_statement"],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: Some(hook),
};

/// Reads a Kotest callee word: container words make suites, leaf words tests, an `x`
/// prefix disables (`xtest`, `xdescribe`).
fn hook(item: &mut RawItem, _ctx: &HookCtx<'_>) -> bool {
    let Some(word) = item.chain.clone() else {
        return true;
    };
    let (base, disabled) = match word.strip_prefix('x') {
        Some(rest) if rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => {
            (rest.to_string(), true)
        }
        _ => (word.clone(), false),
    };
    item.kind = match base.as_str() {
        "context" | "describe" | "feature" | "given" | "Given" | "when" | "When" | "and"
        | "And" => Kind::Suite,
        "test" | "it" | "should" | "expect" | "scenario" | "then" | "Then" => Kind::Test,
        _ => return false,
    };
    if disabled {
        item.set_status(Status::Skipped, &word);
    }
    // `.config(enabled = false)` disables; `enabledIf`/`enabledOrReasonIf` may.
    if let Some(args) = item.args.as_deref() {
        let compact: String = args.split_whitespace().collect();
        if compact.contains("enabled=false") {
            item.set_status(Status::Skipped, &format!(".config{args}"));
        }
    }
    true
}
