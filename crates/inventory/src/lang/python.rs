//! Python: pytest (functions, classes, `parametrize`, marks) and unittest.

use crate::framework::{
    config, config_with, rule, Effect, FrameworkDef, Grammar, LanguageDef, Rule,
};

const TESTS: &str = include_str!("../../queries/python/tests.scm");
const HINTS: &str = include_str!("../../queries/python/hints.scm");

/// Decorators both runners understand (pytest runs unittest classes too).
const DECORATORS: &[Rule] = &[
    rule(r"^@(pytest\.)?mark\.skip(if)?\b", Effect::Skip),
    rule(r"^@(pytest\.)?mark\.xfail\b", Effect::Xfail),
    rule(r"^@(pytest\.)?mark\.parametrize\b", Effect::Dynamic),
    rule(r"^@(unittest\.)?skip(If|Unless)?\b", Effect::Skip),
    rule(r"^@(unittest\.)?expectedFailure\b", Effect::Xfail),
];

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &["^pytest$", "^_pytest"],
        configs: &[
            config("pytest.ini"),
            config("conftest.py"),
            config_with("pyproject.toml", "[tool.pytest"),
            config_with("setup.cfg", "[tool:pytest]"),
            config_with("tox.ini", "[pytest]"),
        ],
        content: &[r"@pytest\.", r"\bpytest\.(raises|fixture|approx)\b"],
        attr_rules: DECORATORS,
        prune_empty_suites: true,
        ..FrameworkDef::new("pytest", TESTS)
    },
    FrameworkDef {
        imports: &["^unittest$"],
        content: &[r"\bunittest\.TestCase\b", r"\(\s*TestCase\s*\)"],
        attr_rules: DECORATORS,
        prune_empty_suites: true,
        ..FrameworkDef::new("unittest", TESTS)
    },
];

pub const PYTHON: LanguageDef = LanguageDef {
    id: "python",
    extensions: &[("py", Grammar::Python)],
    candidates: &["**/test_*.py", "**/*_test.py", "**/tests.py", "**/test*.py"],
    prefilter: Some(r"def test|class Test|TestCase"),
    hints_query: HINTS,
    noise_receivers: &[
        "self",
        "cls",
        "pytest",
        "mock",
        "mocker",
        "unittest",
        "monkeypatch",
        "os",
        "json",
    ],
    frameworks: FRAMEWORKS,
    default_framework: "pytest",
    loop_kinds: &[],
    loop_calls: &[],
    tests_nest: false,
    sibling_attr_kinds: &[],
    hook: None,
};
