//! Java: JUnit 4, JUnit 5 (nested classes, `@ParameterizedTest`, `@Disabled`, composed
//! annotations of the repository), TestNG (a class-level `@Test` makes public methods
//! tests) and jqwik (`@Property`, `@Example`).
//!
//! The three share one query and one set of annotation rules; they differ in detection.
//! The rules are shared with Kotlin, whose JUnit tests use the same annotations.

use crate::framework::{config_with, rule, Effect, FrameworkDef, Grammar, LanguageDef, Rule};

const TESTS: &str = include_str!("../../queries/java/tests.scm");
const HINTS: &str = include_str!("../../queries/java/hints.scm");

/// JVM test annotations: JUnit 4/5 and TestNG.
pub const ANNOTATIONS: &[Rule] = &[
    rule(r"^@([\w.]+\.)?Test\b", Effect::Test),
    rule(
        r"^@([\w.]+\.)?(ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\b",
        Effect::Test,
    ),
    rule(
        r"^@([\w.]+\.)?(ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\b",
        Effect::Dynamic,
    ),
    rule(
        r"(?s)^@([\w.]+\.)?Test\s*\(.*\bdataProvider\s*=",
        Effect::Dynamic,
    ),
    rule(r"^@([\w.]+\.)?(Disabled\w*|Ignore)\b", Effect::Skip),
    rule(
        r"(?s)^@([\w.]+\.)?Test\s*\(.*\benabled\s*=\s*false",
        Effect::Skip,
    ),
    rule(
        r#"^@([\w.]+\.)?DisplayName\s*\(\s*"(?P<name>(?:[^"\\]|\\.)*)""#,
        Effect::DisplayName,
    ),
    // TestNG configuration and data methods stay out even under a class-level `@Test`.
    rule(
        r"^@([\w.]+\.)?((Before|After)(Method|Class|Test|Suite|Groups)|DataProvider|Factory)\b",
        Effect::NotTest,
    ),
];

/// jqwik, a JUnit Platform engine: `@Property` and `@Example` methods are its tests.
const JQWIK: &[Rule] = &[
    rule(r"^@([\w.]+\.)?(Property|Example)\b", Effect::Test),
    rule(r"^@([\w.]+\.)?Disabled\b", Effect::Skip),
    rule(
        r#"^@([\w.]+\.)?Label\s*\(\s*"(?P<name>(?:[^"\\]|\\.)*)""#,
        Effect::DisplayName,
    ),
];

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &[r"^net\.jqwik\b"],
        attr_rules: JQWIK,
        prune_empty_suites: true,
        ..FrameworkDef::new("jqwik", TESTS)
    },
    FrameworkDef {
        imports: &[r"^org\.junit\.jupiter\b"],
        configs: &[
            config_with("pom.xml", "junit-jupiter"),
            config_with("build.gradle", "junit-jupiter"),
            config_with("build.gradle.kts", "junit-jupiter"),
        ],
        attr_rules: ANNOTATIONS,
        prune_empty_suites: true,
        ..FrameworkDef::new("junit5", TESTS)
    },
    FrameworkDef {
        imports: &[r"^org\.testng\b"],
        configs: &[
            config_with("pom.xml", "<artifactId>testng"),
            config_with("build.gradle", "testng"),
            config_with("build.gradle.kts", "testng"),
        ],
        attr_rules: ANNOTATIONS,
        prune_empty_suites: true,
        ..FrameworkDef::new("testng", TESTS)
    },
    FrameworkDef {
        imports: &[r"^org\.junit\b", r"^junit\.framework\b"],
        configs: &[
            config_with("pom.xml", "<artifactId>junit</artifactId>"),
            config_with("build.gradle", "junit:junit"),
        ],
        attr_rules: ANNOTATIONS,
        prune_empty_suites: true,
        ..FrameworkDef::new("junit4", TESTS)
    },
];

/// Conventional test source locations of Maven and Gradle, and common class-name suffixes.
pub const JVM_CANDIDATES: &[&str] = &[
    "**/src/test/**",
    "**/src/*Test/**",
    "**/src/test*/**",
    "**/*Test.{java,kt}",
    "**/*Tests.{java,kt}",
    "**/*TestCase.{java,kt}",
    "**/*IT.{java,kt}",
    "**/*Spec.kt",
    "**/Test*.{java,kt}",
];

pub const JAVA: LanguageDef = LanguageDef {
    id: "java",
    extensions: &[("java", Grammar::Java)],
    candidates: JVM_CANDIDATES,
    prefilter: Some(
        r"@(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate|Property|Example|org\.junit|org\.testng)\b",
    ),
    hints_query: HINTS,
    noise_receivers: &[
        "Assertions",
        "Assert",
        "Mockito",
        "System",
        "Arrays",
        "List",
        "Map",
        "Set",
        "Collections",
        "String",
        "Math",
        "Objects",
        "Optional",
        "assertThat",
    ],
    frameworks: FRAMEWORKS,
    default_framework: "junit5",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: None,
};
