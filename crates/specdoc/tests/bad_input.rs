//! Bad input gives a defined, documented result (docs/specdoc-schema.md, "Bad input"), never
//! a panic: empty inventories, 100,000 tests, hostile names, invalid tags and files.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake::{good_answer, FakeServer, Recorded, Reply};
use specline_inventory_model::Status;
use specline_specdoc::cache::MemoryCache;
use specline_specdoc::cli::{self, ProviderKind, SpecArgs};
use specline_specdoc::export::{self, Format};
use specline_specdoc::phases::{self, GenerateOptions, Generator};
use specline_specdoc::provider::openai::{OpenAi, OpenAiConfig};
use specline_specdoc::reliability::{ClientConfig, ModelClient};
use specline_specdoc::{LanguageTag, SpecDocument, SpecInput};

fn en() -> GenerateOptions {
    GenerateOptions::new(LanguageTag::parse("en").unwrap())
}

#[tokio::test]
async fn an_empty_inventory_gives_an_empty_document() {
    let input =
        SpecInput::from_inventory(&common::inventory("https://h/o/empty", vec![]), None).unwrap();
    let doc = phases::generate(&Generator::offline(), &input, &en(), 1)
        .await
        .unwrap();
    assert_eq!(doc.stats.behaviors, 0);
    assert!(doc.domains.is_empty());
    assert_eq!(
        doc.summary,
        "The inventory has no tests, so this specification has no behaviors yet. Add tests to the repository and regenerate the document."
    );
    let md = export::to_markdown(&doc);
    assert!(md.contains("_No behaviors: the inventory has no tests._"));
}

#[tokio::test]
async fn an_empty_inventory_costs_no_model_call() {
    let server = FakeServer::start(|_, r: &Recorded| Reply::ok(r.wire(), &good_answer(r))).await;
    let mut cfg = OpenAiConfig::new("m", None);
    cfg.base_url = format!("{}/v1", server.base_url);
    let gen = Generator::with_model(
        ModelClient::new(Arc::new(OpenAi::new(cfg).unwrap()), ClientConfig::default()),
        Arc::new(MemoryCache::new()),
    );
    let input =
        SpecInput::from_inventory(&common::inventory("https://h/o/empty", vec![]), None).unwrap();
    let doc = phases::generate(&gen, &input, &en(), 1).await.unwrap();
    assert_eq!(doc.stats.behaviors, 0);
    assert_eq!(server.requests().len(), 0);
    assert_eq!(doc.usage.calls, 0);
}

/// 1,000 files of 100 tests, in a mix of naming styles.
fn hundred_thousand() -> SpecInput {
    let styles = [
        "TestOrder_Case{n}",
        "should reject request {n}",
        "test_parse_value_{n}",
        "returns {n} items when filtered",
    ];
    let files = (0..1000)
        .map(|f| {
            let tests = (0..100)
                .map(|t| common::test(&styles[t % 4].replace("{n}", &t.to_string()), t as u32 + 1))
                .collect();
            common::file(
                &format!("area{}/thing{f}_test.go", f % 17),
                "go",
                "go-testing",
                vec![],
                tests,
            )
        })
        .collect();
    SpecInput::from_inventory(&common::inventory("https://h/o/big", files), None).unwrap()
}

#[tokio::test]
async fn a_hundred_thousand_tests_each_appear_once() {
    let input = hundred_thousand();
    assert_eq!(input.tests.len(), 100_000);
    let started = Instant::now();
    let doc = phases::generate(&Generator::offline(), &input, &en(), 1)
        .await
        .unwrap();
    let md = export::to_markdown(&doc);
    let elapsed = started.elapsed();
    assert_eq!(doc.stats.behaviors, 100_000);
    let mut seen = vec![false; 100_000];
    for b in doc.behaviors() {
        assert!(
            !std::mem::replace(&mut seen[b.test_index], true),
            "test {} twice",
            b.test_index
        );
    }
    assert!(seen.iter().all(|s| *s));
    assert_eq!(doc.stats.domains, 17);
    assert_eq!(md.matches("\n- ").count(), 100_000);
    // Generous for an unoptimised build on a shared 2-core machine, where it takes several
    // seconds (`examples/bench_offline.rs` times each phase).
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn large_classification_chunks_keep_files_whole() {
    let input = hundred_thousand();
    let chunks = phases::chunk_by_file(&input.tests, 300);
    assert_eq!(
        chunks.len(),
        334,
        "three files of 100 per chunk, and one left over"
    );
    assert!(chunks.iter().all(|c| c.len() == 300 || c.len() == 100));
    // Every chunk starts at a file boundary.
    assert!(chunks.iter().all(|c| c.start % 100 == 0));
}

#[test]
fn more_than_a_million_tests_is_refused() {
    let tests = (0..1_000_001)
        .map(|i| common::test("t", i as u32))
        .collect();
    let inv = common::inventory(
        "h",
        vec![common::file("a_test.go", "go", "go-testing", vec![], tests)],
    );
    let err = SpecInput::from_inventory(&inv, None).unwrap_err();
    assert_eq!(err.code(), "TOO_MANY_TESTS");
}

#[tokio::test]
async fn hostile_names_are_kept_in_json_and_neutralised_in_markdown() {
    let control = "rejects\u{0}the\u{1b}[31m login\r\nnow\u{7}";
    let huge = "x".repeat(10_000);
    let markup = "renders <script>alert(1)</script> and `ticks` | pipes";
    let inv = common::inventory(
        "https://h/o/hostile",
        vec![common::file(
            "web/evil.test.js",
            "javascript",
            "jest",
            vec![common::suite(
                "Evil\u{0}suite",
                1,
                vec![],
                vec![common::test(control, 2), common::test(&huge, 3)],
            )],
            vec![
                common::with_status(common::test(markup, 9), Status::Focused),
                common::test("", 10),
            ],
        )],
    );
    let input = SpecInput::from_inventory(&inv, None).unwrap();
    let doc = phases::generate(&Generator::offline(), &input, &en(), 1)
        .await
        .unwrap();
    assert_eq!(doc.stats.behaviors, 4);

    // JSON: original names intact, and it round-trips.
    let json = export::to_json(&doc);
    let back: SpecDocument = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = back.behaviors().map(|b| b.test_name.as_str()).collect();
    assert!(names.contains(&control));
    assert!(names.contains(&huge.as_str()));

    // Sentences: clean and bounded.
    let sentences: Vec<&str> = doc.behaviors().map(|b| b.sentence.as_str()).collect();
    assert!(sentences.contains(&"Rejects the [31m login now"));
    assert!(sentences.contains(&"Unnamed test"));
    assert!(doc.behaviors().all(|b| b.sentence.chars().count() <= 301));

    // Markdown: no control characters, no raw HTML, no unbounded lines.
    let md = export::to_markdown(&doc);
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'));
    // The sentence is escaped; the test name shows only inside a code span, where HTML is
    // literal text.
    assert!(md.contains("- Renders \\<script\\>alert(1)\\</script\\>"));
    for line in md.lines().filter(|l| l.contains("<script>")) {
        let at = line.find("<script>").unwrap();
        assert!(
            line[..at].contains("``"),
            "raw HTML outside a code span: {line}"
        );
    }
    assert!(
        md.lines().all(|l| l.chars().count() < 800),
        "a line is too long"
    );
    assert!(md.contains("_(focused)_"));
}

#[test]
fn invalid_language_tags_are_refused_with_a_code() {
    for tag in [
        "",
        "english please",
        "en-",
        "12",
        "e\u{0}n",
        &"x".repeat(10_000),
    ] {
        let err = LanguageTag::parse(tag).unwrap_err();
        assert_eq!(err.code(), "INVALID_LANGUAGE", "{tag:?}");
    }
}

#[test]
fn invalid_inventories_are_refused_with_a_code() {
    for json in ["", "not json", "{}", r#"{"schema_version": 1}"#] {
        let err = SpecInput::from_inventory_json(json, None).unwrap_err();
        assert_eq!(err.code(), "INVALID_INVENTORY", "{json:?}");
    }
    let mut inv = common::shop();
    inv.schema_version = 99;
    let err = SpecInput::from_inventory(&inv, None).unwrap_err();
    assert_eq!(err.code(), "INVALID_INVENTORY");
    assert!(err.to_string().contains("99"));
}

fn args(
    input: std::path::PathBuf,
    out: std::path::PathBuf,
    format: Format,
    lang: &str,
) -> SpecArgs {
    SpecArgs {
        input,
        lang: lang.into(),
        format,
        out: Some(out),
        provider: ProviderKind::Offline,
        model: None,
        base_url: None,
        api_key_env: None,
        repository: None,
        doc_version: 1,
        concurrency: 4,
        timeout_secs: 120,
        requests_per_minute: 60,
        json_schema: false,
        thinking_budget: None,
    }
}

#[tokio::test]
async fn the_cli_writes_markdown_and_json_and_reports_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = dir.path().join("inventory.json");
    std::fs::write(&inv_path, serde_json::to_string(&common::shop()).unwrap()).unwrap();

    let md_path = dir.path().join("spec.md");
    cli::run(args(
        inv_path.clone(),
        md_path.clone(),
        Format::Markdown,
        "en",
    ))
    .await
    .unwrap();
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.contains("- Rejects negative amounts\n"));

    let json_path = dir.path().join("spec.json");
    cli::run(args(
        inv_path.clone(),
        json_path.clone(),
        Format::Json,
        "de",
    ))
    .await
    .unwrap();
    let doc: SpecDocument =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(doc.language.as_str(), "de");
    assert_eq!(doc.stats.behaviors, 13);

    let err = cli::run(args(
        inv_path.clone(),
        md_path.clone(),
        Format::Markdown,
        "!!",
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().starts_with("INVALID_LANGUAGE"), "{err}");
    let missing = dir.path().join("nope.json");
    let err = cli::run(args(missing, md_path.clone(), Format::Markdown, "en"))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("INVALID_INVENTORY"), "{err}");

    // A model provider without its key fails before any network use, naming the variable.
    let mut a = args(inv_path, md_path, Format::Markdown, "en");
    a.provider = ProviderKind::Gemini;
    a.model = Some("gemini-test".into());
    a.api_key_env = Some("SPECLINE_TEST_SURELY_UNSET_KEY".into());
    let err = cli::run(a).await.unwrap_err();
    assert!(
        err.to_string().contains("SPECLINE_TEST_SURELY_UNSET_KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn regenerating_gives_the_next_version() {
    let reg = specline_specdoc::document::VersionRegistry::new();
    let input = SpecInput::from_inventory(&common::shop(), None).unwrap();
    let opts = en();
    let mut versions = Vec::new();
    for _ in 0..3 {
        let v = reg.assign(&input.analysis_id, &opts.language);
        versions.push(
            phases::generate(&Generator::offline(), &input, &opts, v)
                .await
                .unwrap()
                .version,
        );
    }
    assert_eq!(versions, [1, 2, 3]);
}
