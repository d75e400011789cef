//! The offline generator on real-looking names and inventories. Every expected sentence here
//! was written by hand from the naming conventions, not copied from the generator's output.
#![allow(clippy::unwrap_used)]

mod common;

use specline_specdoc::offline::naming::{sentence, title};
use specline_specdoc::offline::{domain_for, file_title};
use specline_specdoc::phases::{self, GenerateOptions, Generator};
use specline_specdoc::{export, LanguageTag, SpecInput};

fn s(name: &str) -> String {
    sentence(name, &[])
}

#[test]
fn go_names_read_as_subject_and_case() {
    assert_eq!(s("TestLogin_ExpiredPassword"), "Login: expired password");
    assert_eq!(s("TestHTTPServer_Returns404"), "HTTP server returns 404");
    assert_eq!(s("TestParse/empty_input"), "Parse: empty input");
    assert_eq!(s("TestLogout_ClearsSession"), "Logout clears session");
    assert_eq!(s("BenchmarkEncodeJSON"), "Benchmark: encode JSON");
    assert_eq!(s("TestVersion7FromReader"), "Version7 from reader");
    assert_eq!(s("BenchmarkUUIDs_Strings"), "Benchmark: UUIDs strings");
    assert_eq!(s("TestRandomUUID_Pooled"), "Random UUID: pooled");
}

#[test]
fn jest_and_mocha_phrases_lose_their_scaffolding() {
    assert_eq!(s("rejects expired passwords"), "Rejects expired passwords");
    assert_eq!(
        s("should reject expired passwords"),
        "Rejects expired passwords"
    );
    assert_eq!(s("returns 404 when missing"), "Returns 404 when missing");
    assert_eq!(
        s("should not allow duplicate emails"),
        "Does not allow duplicate emails"
    );
    assert_eq!(
        s("should be disabled when the form is invalid"),
        "Is disabled when the form is invalid"
    );
    assert_eq!(s("it renders the header."), "Renders the header");
}

#[test]
fn a_leading_condition_moves_behind_its_verb() {
    assert_eq!(
        s("with valid data creates a user"),
        "Creates a user with valid data"
    );
    assert_eq!(s("when missing returns 404"), "Returns 404 when missing");
    // Ambiguous or structured phrases stay as written.
    assert_eq!(
        s("when the list is empty returns nothing"),
        "When the list is empty returns nothing"
    );
    assert_eq!(
        s("given a user, then it works"),
        "Given a user, then it works"
    );
    assert_eq!(s("with defaults"), "With defaults");
}

#[test]
fn a_condition_suite_completes_the_sentence() {
    assert_eq!(
        sentence(
            "rejects the login",
            &["when the password is expired".to_string()]
        ),
        "Rejects the login when the password is expired"
    );
    assert_eq!(
        sentence(
            "returns the user",
            &["#find".to_string(), "with a valid id".to_string()]
        ),
        "Returns the user with a valid id"
    );
    // A suite that is a name, not a condition, is not glued on.
    assert_eq!(sentence("works", &["Parser".to_string()]), "Works");
}

#[test]
fn python_and_rust_snake_case() {
    assert_eq!(s("test_login_expired_password"), "Login expired password");
    assert_eq!(s("test_create_user_with_email"), "Creates user with email");
    assert_eq!(
        s("test_empty_input_returns_none"),
        "Empty input returns none"
    );
    assert_eq!(s("test_add[1-2-3]"), "Adds (1-2-3)");
    assert_eq!(s("test_order_total"), "Order total");
    assert_eq!(s("rejects_expired_password"), "Rejects expired password");
    assert_eq!(s("it_works"), "Works");
    assert_eq!(
        s("parse_empty_input_is_error"),
        "Parse empty input is error"
    );
}

#[test]
fn java_kotlin_csharp_method_names() {
    assert_eq!(s("shouldRejectExpiredPassword"), "Rejects expired password");
    assert_eq!(
        s("testLoginFailsWithExpiredPassword"),
        "Login fails with expired password"
    );
    assert_eq!(
        s("withdraw_insufficientFunds_throwsException"),
        "Withdraw: throws exception when insufficient funds"
    );
    assert_eq!(
        s("shouldReturnUser_whenIdExists"),
        "Returns user when id exists"
    );
    assert_eq!(
        s("givenExpiredPassword_whenLogin_thenRejected"),
        "Given expired password, when login, then rejected"
    );
    assert_eq!(
        s("Login_WithExpiredPassword_ReturnsUnauthorized"),
        "Login returns unauthorized with expired password"
    );
    assert_eq!(
        s("should reject expired password"),
        "Rejects expired password"
    );
}

#[test]
fn php_swift_and_gtest_names() {
    assert_eq!(
        s("testItRejectsExpiredPasswords"),
        "Rejects expired passwords"
    );
    assert_eq!(
        s("testFetchUsersReturnsEmptyListWhenOffline"),
        "Fetch users returns empty list when offline"
    );
    assert_eq!(s("RejectsExpiredPassword"), "Rejects expired password");
}

#[test]
fn table_driven_placeholders_become_ellipses() {
    assert_eq!(s("should serialize name: %s"), "Serializes name: …");
    assert_eq!(
        s("should throw when maxAge is %s"),
        "Throws when maxAge is …"
    );
    assert_eq!(s("adds $a + $b"), "Adds … + …");
    assert_eq!(s("formats ${user.name} greeting"), "Formats … greeting");
    assert_eq!(s("parses {0} as a date"), "Parses … as a date");
    assert_eq!(s("costs $100"), "Costs $100");
    assert_eq!(s("accepts <email> as login"), "Accepts … as login");
    assert_eq!(s("escapes <b>x</b>"), "Escapes <b>x</b>");
}

#[test]
fn a_condition_suite_is_not_added_to_a_sentence_with_its_own_clause() {
    assert_eq!(
        sentence(
            "should set sameSite to 'Strict' when option is 'Strict'",
            &["with \"sameSite\"".to_string()]
        ),
        "Sets sameSite to 'Strict' when option is 'Strict'"
    );
    // A condition whose words the sentence already holds adds nothing.
    assert_eq!(
        sentence(
            "should use custom decode function",
            &["with \"decode\" option".to_string()]
        ),
        "Uses custom decode function"
    );
    assert_eq!(
        sentence(
            "should ignore invalid max-age",
            &["with \"max-age\"".to_string()]
        ),
        "Ignores invalid max-age"
    );
    assert_eq!(
        sentence("returns the profile", &["with an admin user".to_string()]),
        "Returns the profile with an admin user"
    );
}

#[test]
fn code_references_stay_as_written_in_titles() {
    assert_eq!(title("cookie.parseCookie"), "cookie.parseCookie");
    assert_eq!(title("User#save"), "User#save");
    assert_eq!(title("TestLoginHandler"), "Login handler");
}

#[test]
fn names_in_other_scripts_are_kept() {
    assert_eq!(
        s("만료된 비밀번호로 로그인하면 거부한다"),
        "만료된 비밀번호로 로그인하면 거부한다"
    );
    assert_eq!(
        s("期限切れのパスワードを拒否する"),
        "期限切れのパスワードを拒否する"
    );
    assert_eq!(
        s("rechaza contraseñas caducadas"),
        "Rechaza contraseñas caducadas"
    );
}

#[test]
fn hostile_names_give_bounded_clean_sentences() {
    assert_eq!(
        s("rejects\u{0}expired\npasswords\u{1b}"),
        "Rejects expired passwords"
    );
    assert_eq!(s(""), "Unnamed test");
    assert_eq!(s("\u{7}\u{7}"), "Unnamed test");
    let long = s(&"a".repeat(10_000));
    assert!(long.chars().count() <= 301, "{}", long.chars().count());
    assert!(long.ends_with('…'));
}

#[test]
fn domains_come_from_meaningful_folders_or_file_names() {
    assert_eq!(domain_for("auth/login_test.go"), "Auth");
    assert_eq!(
        domain_for("src/test/java/com/acme/billing/InvoiceServiceTest.java"),
        "Billing"
    );
    assert_eq!(domain_for("tests/test_login.py"), "Login");
    assert_eq!(
        domain_for("packages/core/src/__tests__/parser.test.ts"),
        "Core"
    );
    assert_eq!(domain_for("tests/api/v1/users_test.py"), "Api");
    assert_eq!(domain_for("user-accounts/signup.test.js"), "User accounts");
    assert_eq!(file_title("LoginServiceTest.java"), "Login service");
    assert_eq!(file_title("login.test.ts"), "Login");
}

#[tokio::test]
async fn a_shop_inventory_becomes_a_readable_document() {
    let input = SpecInput::from_inventory(&common::shop(), None).unwrap();
    let opts = GenerateOptions::new(LanguageTag::parse("en").unwrap());
    let doc = phases::generate(&Generator::offline(), &input, &opts, 1)
        .await
        .unwrap();

    let domains: Vec<&str> = doc.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(domains, ["Auth", "Billing", "Web", "Search"]);
    let auth: Vec<&str> = doc.domains[0]
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(auth, ["Login", "Logout"]);
    assert_eq!(doc.domains[1].features[0].name, "Invoice service");
    assert_eq!(doc.domains[2].features[0].name, "Cart");

    let sentences: Vec<&str> = doc.behaviors().map(|b| b.sentence.as_str()).collect();
    assert_eq!(
        sentences,
        [
            "Login: expired password",
            "Login: valid credentials",
            "Logout clears session",
            "Rejects negative amounts",
            "Withdraw: throws exception when insufficient funds",
            "Sends reminder email",
            "Adds an item",
            "Returns 404 when the product is missing",
            "Shows a placeholder when the cart is empty",
            "Disables checkout when the cart is empty",
            "Search returns matching products",
            "Creates index with synonyms",
            "Order total",
        ]
    );
    // Every test exactly once, with its trace.
    let mut idx: Vec<usize> = doc.behaviors().map(|b| b.test_index).collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..13).collect::<Vec<_>>());
    let b = doc
        .behaviors()
        .find(|b| b.test_name == "disables checkout")
        .unwrap();
    assert_eq!(b.file, "web/src/__tests__/cart.test.ts");
    assert_eq!(b.suite_path, ["Cart", "when the cart is empty"]);
    assert_eq!(b.line, 12);

    assert_eq!(doc.stats.behaviors, 13);
    assert_eq!(doc.stats.by_status.get("skipped"), Some(&1));
    assert_eq!(doc.stats.by_status.get("todo"), Some(&1));
    assert_eq!(
        doc.summary,
        "This specification describes 13 behaviors of shop, in 4 domains and 5 features. \
         Most of it concerns Web (4), Auth (3) and Billing (3). \
         Not every behavior is proven by an active test: 1 skipped, 1 still to do."
    );
    assert_eq!(doc.generator.kind, "offline");
    assert_eq!(doc.content_language.as_str(), "en");
    assert!(doc.notes.is_empty(), "{:?}", doc.notes);

    let md = export::to_markdown(&doc);
    assert!(md.starts_with("# Specification: shop\n"));
    assert!(md.contains("### 2.1 Invoice service\n"));
    assert!(md.contains("- Sends reminder email _(skipped)_\n"));
    assert!(md.contains("<sub>`TestLogin_ExpiredPassword` · `auth/login_test.go:10`</sub>"));
    assert!(md.contains("· Cart › when the cart is empty</sub>"));
}

/// A test's literal cases reach its behavior, the document's runner count and the Markdown;
/// they are not part of the content hash (no model answer depends on them).
#[tokio::test]
async fn literal_cases_reach_the_behavior_the_runner_count_and_the_markdown() {
    let inv = common::with_literal_cases();
    let input = SpecInput::from_inventory(&inv, None).unwrap();
    let opts = GenerateOptions::new(LanguageTag::parse("en").unwrap());
    let doc = phases::generate(&Generator::offline(), &input, &opts, 1)
        .await
        .unwrap();
    let cases = |name: &str| doc.behaviors().find(|b| b.test_name == name).unwrap().cases;
    assert_eq!(cases("test_rounds_each_currency"), Some(4));
    assert_eq!(cases("adds %s"), Some(2));
    assert_eq!(cases("test_sends_the_invoice"), None);
    assert_eq!(cases("empties"), None);
    assert_eq!(doc.stats.behaviors, 5);
    assert_eq!(doc.stats.runner_tests, Some(9));

    let md = export::to_markdown(&doc);
    assert!(
        md.contains("<sub>`test_rounds_each_currency` ×4 · `billing/invoice_test.py:3`</sub>"),
        "{md}"
    );
    assert!(md.contains("<sub>`empties` · `web/cart.test.ts:8`"), "{md}");

    let mut without = inv.clone();
    for f in &mut without.files {
        f.tests.iter_mut().for_each(|t| t.cases = None);
        for s in &mut f.suites {
            s.tests.iter_mut().for_each(|t| t.cases = None);
        }
    }
    let plain = SpecInput::from_inventory(&without, None).unwrap();
    assert_eq!(plain.content_hash, input.content_hash);
    let doc = phases::generate(&Generator::offline(), &plain, &opts, 1)
        .await
        .unwrap();
    assert!(doc.behaviors().all(|b| b.cases.is_none()));
    assert_eq!(doc.stats.runner_tests, Some(5));
}

#[tokio::test]
async fn other_languages_offline_keep_english_and_say_so() {
    let input = SpecInput::from_inventory(&common::shop(), None).unwrap();
    let opts = GenerateOptions::new(LanguageTag::parse("ko").unwrap());
    let doc = phases::generate(&Generator::offline(), &input, &opts, 1)
        .await
        .unwrap();
    assert_eq!(doc.language.as_str(), "ko");
    assert_eq!(doc.content_language.as_str(), "en");
    assert!(
        doc.notes
            .iter()
            .any(|n| n.contains("English") && n.contains("Korean")),
        "{:?}",
        doc.notes
    );
    let md = export::to_markdown(&doc);
    assert!(md.contains("| Language | ko requested; sentences in en |"));
}

#[tokio::test]
async fn json_export_round_trips() {
    let input = SpecInput::from_inventory(&common::shop(), None).unwrap();
    let opts = GenerateOptions::new(LanguageTag::parse("en").unwrap());
    let doc = phases::generate(&Generator::offline(), &input, &opts, 3)
        .await
        .unwrap();
    let json = export::to_json(&doc);
    let back: specline_specdoc::SpecDocument = serde_json::from_str(&json).unwrap();
    assert_eq!(back, doc);
    // A document written before case counts existed (no `cases`, no `runner_tests`) reads.
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    old["stats"].as_object_mut().unwrap().remove("runner_tests");
    let old: specline_specdoc::SpecDocument = serde_json::from_value(old).unwrap();
    assert_eq!(old.stats.runner_tests, None);
    assert!(old.behaviors().all(|b| b.cases.is_none()));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["version"], 3);
    assert_eq!(
        v["domains"][0]["features"][0]["behaviors"][0]["status"],
        "active"
    );
}

#[tokio::test]
async fn suites_inside_a_file_wide_wrapper_name_the_features() {
    use common::{file, inventory, suite, test};
    let inv = inventory(
        "https://git.example/acme/cookie",
        vec![file(
            "src/stringify.spec.ts",
            "typescript",
            "vitest",
            vec![suite(
                "cookie.stringify",
                1,
                vec![
                    suite(
                        "roundtrip with parse",
                        20,
                        vec![],
                        vec![test("should roundtrip empty values", 21)],
                    ),
                    suite(
                        "when encoding is off",
                        30,
                        vec![],
                        vec![test("keeps raw values", 31)],
                    ),
                ],
                vec![test("should stringify object", 2)],
            )],
            vec![],
        )],
    );
    let input = SpecInput::from_inventory(&inv, None).unwrap();
    let doc = phases::generate(
        &Generator::offline(),
        &input,
        &GenerateOptions::new(LanguageTag::english()),
        1,
    )
    .await
    .unwrap();
    assert_eq!(doc.domains.len(), 1);
    assert_eq!(doc.domains[0].name, "Stringify");
    let features: Vec<(&str, Vec<&str>)> = doc.domains[0]
        .features
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.behaviors.iter().map(|b| b.sentence.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        features,
        vec![
            (
                "cookie.stringify",
                vec![
                    "Stringifies object",
                    "Keeps raw values when encoding is off"
                ]
            ),
            ("Roundtrip with parse", vec!["Roundtrips empty values"]),
        ]
    );
}

#[tokio::test]
async fn the_analyzers_dynamic_marker_is_not_repeated_in_the_sentence() {
    let json = r#"{"schema_version":1,"parser_version":"0.1.0","source":{"location":"x"},
        "files":[{"path":"src/parse.spec.ts","language":"typescript","framework":"vitest",
          "tests":[{"name":"domain (dynamic)","location":{"start_line":3,"start_column":1,"end_line":3,"end_column":9},
                    "status":"active","dynamic":true}]}],
        "stats":{"files_seen":1,"test_files":1,"suites":0,"tests":1,"skipped_too_large":0,
                 "skipped_binary":0,"errored":0,"truncated":false,"duration_ms":1}}"#;
    let input = SpecInput::from_inventory_json(json, None).unwrap();
    let opts = GenerateOptions::new(LanguageTag::parse("en").unwrap());
    let doc = phases::generate(&Generator::offline(), &input, &opts, 1)
        .await
        .unwrap();
    let sentences: Vec<&str> = doc.behaviors().map(|b| b.sentence.as_str()).collect();
    assert_eq!(sentences, ["Domain (each case)"]);
}
