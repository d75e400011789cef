//! JavaScript/TypeScript fixtures: Jest, Vitest (globals mode), Mocha, Playwright, Cypress,
//! and detection conflicts (a Playwright file and Cypress specs inside a Jest repository).
#![allow(clippy::unwrap_used)]

mod common;
use common::{assert_file, scan_fixture};

#[test]
fn jest_repo_with_playwright_and_cypress_files() {
    let inv = scan_fixture("js-jest-repo");
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    // node_modules is ignored; src/helpers.js does not follow a test naming convention.
    assert_eq!(
        paths,
        vec![
            "cypress/e2e/home.cy.js",
            "e2e/checkout.spec.ts",
            "e2e/login.spec.ts",
            "src/__tests__/Widget.jsx",
            "src/cart.test.js"
        ]
    );
    assert_file(
        &inv,
        "src/cart.test.js",
        "jest",
        &[
            "T top level ${1 + 1} (dynamic) | dynamic",
            "S cart",
            "T cart :: starts empty",
            "T cart :: supports gift cards | todo .todo",
            "T cart :: rounds totals | skipped xit",
            "T cart :: adds an item | focused fit",
            "T cart :: handles negative prices | xfail .failing",
            "T cart :: adds %i + %i (dynamic) | dynamic",
            "T cart :: \"fits a \" + size + \" box\" (dynamic) | dynamic",
            "S cart > discounts | skipped .skip",
            "T cart > discounts :: applies a coupon | skipped",
            "T cart > discounts :: stacks coupons | skipped",
            "S cart > currency %s (dynamic)",
            "T cart > currency %s (dynamic) :: formats",
        ],
    );
    assert_file(
        &inv,
        "src/__tests__/Widget.jsx",
        "jest",
        &["S Widget", "T Widget :: renders"],
    );
    assert_file(
        &inv,
        "e2e/login.spec.ts",
        "playwright",
        &[
            "T known broken | xfail .fail",
            "S login",
            // test.skip(condition, "why") inside the test skips it (conditionally).
            "T login :: shows the form | skipped .skip",
            "T login :: remembers the user | skipped .fixme",
            "S login > errors | focused .only",
            "T login > errors :: wrong password | focused",
        ],
    );
    assert_file(
        &inv,
        "cypress/e2e/home.cy.js",
        "cypress",
        &[
            "S home page",
            "T home page :: has a title",
            "T home page :: has a footer | skipped .skip",
            "S home page > when logged in",
            "T home page > when logged in :: shows the avatar",
        ],
    );
    // The Playwright config (testDir ./e2e) claims the spec that imports local fixtures,
    // while src/ stays with the Jest config beside it.
    assert_file(
        &inv,
        "e2e/checkout.spec.ts",
        "playwright",
        &["T pays with a card"],
    );
    assert_eq!(inv.stats.test_files, 5);
    assert_eq!(inv.stats.tests, 11 + 1 + 4 + 3 + 1);
}

#[test]
fn vitest_globals_mode_is_found_by_the_nearest_config() {
    let inv = scan_fixture("js-vitest-globals");
    assert_file(
        &inv,
        "pkg/src/parse.test.ts",
        "vitest",
        &[
            "S parse",
            "T parse :: parses %s (dynamic) | dynamic",
            "T parse :: handles paths | skipped .skipIf",
            "T parse :: rejects garbage | xfail .fails",
            "T parse :: runs conditionally",
            "T parse :: table $a (dynamic) | dynamic",
        ],
    );
    assert_file(
        &inv,
        "pkg/src/view.test.tsx",
        "vitest",
        &["S View", "T View :: renders <span>"],
    );
    let f = common::file(&inv, "pkg/src/view.test.tsx");
    assert_eq!(f.language, "typescript");
    assert_eq!(f.domain_hints.imports, vec!["vitest".to_string()]);
}

#[test]
fn mocha_bdd_and_tdd_interfaces() {
    let inv = scan_fixture("js-mocha");
    assert_file(
        &inv,
        "test/api.js",
        "mocha",
        &[
            "T \"responds for \" + app (dynamic) | dynamic",
            "S api",
            "T api :: deletes users | skipped .skip",
            "S api > GET /users",
            "T api > GET /users :: lists users",
            "T api > GET /users :: paginates | todo pending",
            // Escaped quotes and backslashes in a quoted name are decoded, as Mocha shows them.
            "T api > GET /users :: keeps the user's \"quotes\" and a \\ backslash",
            "S api > POST /users | focused .only",
            "T api > POST /users :: creates a user | focused",
            "S tdd style",
            "T tdd style :: works",
        ],
    );
    let f = common::file(&inv, "test/api.js");
    assert_eq!(f.language, "javascript");
    assert_eq!(
        f.domain_hints.imports,
        vec!["assert".to_string(), "../lib/api".to_string()]
    );
    assert_eq!(f.domain_hints.calls, vec!["api.get".to_string()]);
}
