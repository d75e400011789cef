//! JavaScript and TypeScript (incl. JSX/TSX): Jest, Vitest, Mocha, Playwright Test, Cypress.
//!
//! All five share one query (`queries/javascript/tests.scm`); they differ in detection and
//! in a few words of the call chain, which [`hook`] reads.

use crate::extract::{Kind, RawItem};
use crate::framework::{
    config, config_scoped, config_with, FrameworkDef, Grammar, HookCtx, LanguageDef,
};
use crate::model::Status;

const TESTS: &str = include_str!("../../queries/javascript/tests.scm");
const HINTS: &str = include_str!("../../queries/javascript/hints.scm");

/// Candidate paths: the conventions of the five runners' default `testMatch`/`specPattern`.
pub const CANDIDATES: &[&str] = &[
    "**/*.{test,spec}.{js,jsx,mjs,cjs,ts,tsx,mts,cts}",
    "**/*.{test,spec}-d.{ts,tsx}",
    "**/*.cy.{js,jsx,ts,tsx}",
    "**/__tests__/**/*.{js,jsx,mjs,cjs,ts,tsx,mts,cts}",
    "**/{test,tests,spec,specs,e2e}/**/*.{js,jsx,mjs,cjs,ts,tsx,mts,cts}",
    "{test,tests,spec,specs,e2e}/**/*.{js,jsx,mjs,cjs,ts,tsx,mts,cts}",
    "**/cypress/{e2e,integration,component}/**/*.{js,jsx,ts,tsx}",
];

const NOISE: &[&str] = &[
    "expect",
    "jest",
    "vi",
    "cy",
    "console",
    "test",
    "it",
    "describe",
    "assert",
    "sinon",
    "chai",
    "Object",
    "JSON",
    "Math",
    "Promise",
    "Array",
    "page",
    "screen",
    "userEvent",
    "fireEvent",
    "window",
    "document",
    "process",
    "Date",
    "Number",
    "String",
    "mock",
    "t",
    "context",
];

const JS_CONFIGS_JEST: &[crate::framework::ConfigRule] = &[
    config("jest.config.{js,ts,mjs,cjs,json}"),
    config_with("package.json", "\"jest\""),
];

pub const FRAMEWORKS: &[FrameworkDef] = &[
    FrameworkDef {
        imports: &["^@playwright/test$", "^@playwright/experimental-ct-"],
        // A Playwright config claims only its `testDir` (default: its own directory), so a
        // Jest test beside it in a monorepo package is not taken for Playwright.
        configs: &[config_scoped(
            "playwright.config.{js,ts,mjs,cjs,mts}",
            r#"testDir\s*:\s*['"]([^'"]+)['"]"#,
        )],
        content: &[r"\btest\.describe\(", r"\bpage\.goto\("],
        ..FrameworkDef::new("playwright", TESTS)
    },
    FrameworkDef {
        imports: &["^cypress$"],
        paths: &["**/*.cy.*", "**/cypress/**"],
        configs: &[
            config("cypress.config.{js,ts,mjs,cjs}"),
            config("cypress.json"),
        ],
        content: &[r"\bcy\.\w+\("],
        ..FrameworkDef::new("cypress", TESTS)
    },
    FrameworkDef {
        imports: &["^vitest$", "^vitest/"],
        configs: &[
            config("vitest.config.{js,ts,mjs,cjs,mts,cts}"),
            config("vitest.workspace.{js,ts,mjs,json}"),
            config_with("package.json", "\"vitest\""),
        ],
        content: &[r"\bvi\.(fn|mock|spyOn)\("],
        ..FrameworkDef::new("vitest", TESTS)
    },
    FrameworkDef {
        imports: &["^@jest/globals$"],
        configs: JS_CONFIGS_JEST,
        content: &[r"\bjest\.(fn|mock|spyOn)\("],
        ..FrameworkDef::new("jest", TESTS)
    },
    FrameworkDef {
        imports: &["^mocha$"],
        configs: &[
            config(".mocharc.{js,cjs,json,jsonc,yaml,yml}"),
            config_with("package.json", "\"mocha\""),
        ],
        content: &[
            r"\bthis\.timeout\(",
            r#"require\(['"]chai['"]\)"#,
            r"from ['\x22]chai['\x22]",
        ],
        ..FrameworkDef::new("mocha", TESTS)
    },
];

const fn language(id: &'static str, extensions: &'static [(&'static str, Grammar)]) -> LanguageDef {
    LanguageDef {
        id,
        extensions,
        candidates: CANDIDATES,
        prefilter: Some(
            r"\b(describe|it|test|suite|specify|context|xit|fit|xdescribe|fdescribe|xtest)\s*[.(`]",
        ),
        hints_query: HINTS,
        noise_receivers: NOISE,
        frameworks: FRAMEWORKS,
        default_framework: "jest",
        loop_kinds: &[
            "for_statement",
            "for_in_statement",
            "while_statement",
            "do_statement",
        ],
        loop_calls: &["forEach", "map", "flatMap"],
        tests_nest: false,
        sibling_attr_kinds: &[],
        hook: Some(hook),
    }
}

pub const JAVASCRIPT: LanguageDef = language(
    "javascript",
    &[
        ("js", Grammar::JavaScript),
        ("jsx", Grammar::JavaScript),
        ("mjs", Grammar::JavaScript),
        ("cjs", Grammar::JavaScript),
    ],
);

pub const TYPESCRIPT: LanguageDef = language(
    "typescript",
    &[
        ("ts", Grammar::TypeScript),
        ("mts", Grammar::TypeScript),
        ("cts", Grammar::TypeScript),
        ("tsx", Grammar::Tsx),
    ],
);

/// Reads a call chain such as `describe.skip.each` or `test.describe.only`.
///
/// The root word gives the kind (and `x`/`f` prefixes a status); each later word must be a
/// known modifier, otherwise the call is not a suite or test (`test.step`, `test.use`).
fn hook(item: &mut RawItem, ctx: &HookCtx<'_>) -> bool {
    let Some(chain) = item.chain.clone() else {
        return item.kind != Kind::Hook;
    };
    if item.name.is_none() {
        return false;
    }
    // `test(app)`: one non-literal argument and no function is a call to a helper that
    // happens to share the name (Express's suite does this), not a test definition.
    if item.arg_count == Some(1) && !item.name_is_literal {
        return false;
    }
    let mut words = chain.split('.');
    let root = words.next().unwrap_or_default();
    let mut kind = match root {
        "describe" | "context" | "suite" | "fdescribe" | "fcontext" | "xdescribe" | "xcontext" => {
            Kind::Suite
        }
        _ => Kind::Test,
    };
    match root {
        "fdescribe" | "fcontext" | "fit" => item.set_status(Status::Focused, root),
        "xdescribe" | "xcontext" | "xit" | "xtest" | "xspecify" => {
            item.set_status(Status::Skipped, root)
        }
        _ => {}
    }
    let mut annotation = false;
    for w in words {
        let modifier = format!(".{w}");
        match w {
            "describe" if root == "test" => kind = Kind::Suite,
            "skip" | "skipIf" | "fixme" => {
                annotation = true;
                item.set_status(Status::Skipped, &modifier)
            }
            "only" => item.set_status(Status::Focused, &modifier),
            "todo" => item.set_status(Status::Todo, &modifier),
            "failing" | "fails" | "fail" => {
                annotation = true;
                item.set_status(Status::Xfail, &modifier)
            }
            "each" | "for" => item.dynamic = true,
            "concurrent" | "sequential" | "serial" | "parallel" | "shuffle" | "runIf" => {}
            _ => return false,
        }
    }
    // Playwright's `test.skip(condition, "reason")` inside a test is an annotation: it
    // skips (or marks as failing) the enclosing test or group, conditionally.
    if ctx.framework == "playwright" && annotation && !item.name_is_literal {
        item.kind = Kind::Annotation;
        return true;
    }
    // Mocha and Cypress: a test without a function is pending.
    if kind == Kind::Test
        && item.arg_count == Some(1)
        && matches!(ctx.framework, "mocha" | "cypress")
        && !item.dynamic
    {
        item.set_status(Status::Todo, "pending");
    }
    item.kind = kind;
    true
}
