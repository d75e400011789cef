//! C#: xUnit, NUnit and MSTest. One query, one set of attribute rules; detection differs.

use crate::framework::{config_with, rule, Effect, FrameworkDef, Grammar, LanguageDef, Rule};

const TESTS: &str = include_str!("../../queries/csharp/tests.scm");
const HINTS: &str = include_str!("../../queries/csharp/hints.scm");

/// Attribute lists such as `[Fact(Skip = "why")]`, `[Theory, InlineData(1)]`, `[Ignore]`.
const ATTRIBUTES: &[Rule] = &[
    rule(
        r"\b(Fact|Theory|Test|TestCase|TestCaseSource|TestMethod|DataTestMethod)\b",
        Effect::Test,
    ),
    rule(
        r"\b(Theory|TestCase|TestCaseSource|DataTestMethod|DataRow|DynamicData|InlineData|MemberData|ClassData)\b",
        Effect::Dynamic,
    ),
    rule(r"\bSkip\s*=", Effect::Skip),
    rule(r"\b(Ignore|Explicit)\b", Effect::Skip),
    rule(
        r#"\bDisplayName\s*=\s*"(?P<name>(?:[^"\\]|\\.)*)""#,
        Effect::DisplayName,
    ),
];

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &[r"^Xunit\b"],
        configs: &[config_with("*.csproj", "xunit")],
        content: &[r"\[(Fact|Theory)\b"],
        attr_rules: ATTRIBUTES,
        prune_empty_suites: true,
        ..FrameworkDef::new("xunit", TESTS)
    },
    FrameworkDef {
        imports: &[r"^NUnit\b"],
        configs: &[config_with("*.csproj", "NUnit")],
        content: &[r"\[(Test|TestFixture|TestCase)\b"],
        attr_rules: ATTRIBUTES,
        prune_empty_suites: true,
        ..FrameworkDef::new("nunit", TESTS)
    },
    FrameworkDef {
        imports: &[r"^Microsoft\.VisualStudio\.TestTools\b"],
        configs: &[config_with("*.csproj", "MSTest")],
        content: &[r"\[(TestMethod|TestClass|DataTestMethod)\b"],
        attr_rules: ATTRIBUTES,
        prune_empty_suites: true,
        ..FrameworkDef::new("mstest", TESTS)
    },
];

pub const CSHARP: LanguageDef = LanguageDef {
    id: "csharp",
    extensions: &[("cs", Grammar::CSharp)],
    // Every C# file: a test class is known by its attributes, not by where it lives
    // (`unittests/`, `FooTESTS.cs` and `Specs/` are all common), so the prefilter decides.
    candidates: &["**/*.cs"],
    // An attribute list holding a test attribute, first or not, qualified or not:
    // `[Fact]`, `[Category("x"), Test]`, `[NUnit.Framework.TestCase(1)]`.
    prefilter: Some(
        r"[\[,]\s*(?:\w+\.)*(Fact|Theory|Test|TestCase|TestMethod|DataTestMethod|TestCaseSource)\s*[\](,]",
    ),
    hints_query: HINTS,
    noise_receivers: &[
        "Assert",
        "Mock",
        "It",
        "Console",
        "String",
        "Task",
        "Enumerable",
        "CollectionAssert",
        "StringAssert",
    ],
    frameworks: FRAMEWORKS,
    default_framework: "xunit",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: None,
};
