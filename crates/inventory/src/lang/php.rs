//! PHP: PHPUnit (`test*` methods, `#[Test]` attributes, `/** @test */` docblocks).

use crate::framework::{config, rule, Effect, FrameworkDef, Grammar, LanguageDef};

const TESTS: &str = include_str!("../../queries/php/tests.scm");
const HINTS: &str = include_str!("../../queries/php/hints.scm");

pub const FRAMEWORKS: &[FrameworkDef] = &[FrameworkDef {
    imports: &[r"^PHPUnit\\"],
    configs: &[config("phpunit.xml"), config("phpunit.xml.dist")],
    attr_rules: &[
        rule(r"^/\*\*(?s).*@test\b", Effect::Test),
        rule(r"(?s)^#\[.*\bTest\b", Effect::Test),
        rule(r"(?s)^/\*\*.*@(dataProvider|testWith)\b", Effect::Dynamic),
        rule(
            r"(?s)^#\[.*\b(DataProvider|DataProviderExternal|TestWith|TestWithJson)\b",
            Effect::Dynamic,
        ),
        rule(
            r"(?s)^#\[.*\bTestDox\(\s*'(?P<name>(?:[^'\\]|\\.)*)'",
            Effect::DisplayName,
        ),
        rule(
            r"^/\*\*(?s:.*?)@testdox[ \t]+(?P<name>[^\n*]*[^\s*])",
            Effect::DisplayName,
        ),
    ],
    name_rules: &[rule(r"^test", Effect::Test)],
    prune_empty_suites: true,
    ..FrameworkDef::new("phpunit", TESTS)
}];

pub const PHP: LanguageDef = LanguageDef {
    id: "php",
    extensions: &[("php", Grammar::Php)],
    candidates: &[
        "**/*Test.php",
        "**/tests/**/*.php",
        "**/Tests/**/*.php",
        "**/test/**/*.php",
    ],
    prefilter: Some(r"function\s+test|@test\b|#\[.*Test"),
    hints_query: HINTS,
    noise_receivers: &["this", "self", "static", "parent"],
    frameworks: FRAMEWORKS,
    default_framework: "phpunit",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &["comment"],
    hook: None,
};
