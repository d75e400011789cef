//! Incremental placement, the estimate and version diffs, against a fake model server on
//! 127.0.0.1 that counts every call: a version on top of the previous one sends only new tests
//! to the model, unless it is asked to start afresh or too much changed.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::fake::{good_answer, FakeServer, Reply, Wire};
use specline_specdoc::cache::MemoryCache;
use specline_specdoc::cli::{ModelConfig, ModelProvider};
use specline_specdoc::diff;
use specline_specdoc::phases::{self, GenerateOptions, Generator};
use specline_specdoc::{LanguageTag, SpecDocument, SpecInput};

async fn server() -> FakeServer {
    FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &good_answer(req))).await
}

fn generator(server: &FakeServer) -> Generator {
    let mut config = ModelConfig::new(ModelProvider::OpenAi, "fake-model");
    config.base_url = Some(server.base_url.clone());
    config
        .build()
        .unwrap()
        .with_cache(Arc::new(MemoryCache::new()))
}

fn opts() -> GenerateOptions {
    GenerateOptions::new(LanguageTag::parse("en").unwrap())
}

/// The shop with `n` tests added to its Go file.
fn shop_plus(n: usize) -> SpecInput {
    let mut inv = common::shop();
    for i in 0..n {
        inv.files[0].tests.push(common::test(
            &format!("TestLogin_NewCase{i}"),
            100 + i as u32,
        ));
    }
    SpecInput::from_inventory(&inv, None).unwrap()
}

/// How many test lines the classify calls since request `from` sent.
fn classified_since(server: &FakeServer, from: usize) -> usize {
    server.requests()[from..]
        .iter()
        .filter(|r| r.phase() == "classify")
        .map(|r| r.lines().len())
        .sum()
}

/// (domain, feature, sentence) by test name.
fn places(doc: &SpecDocument) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = doc
        .domains
        .iter()
        .flat_map(|d| {
            d.features.iter().flat_map(move |f| {
                f.behaviors.iter().map(move |b| {
                    (
                        b.test_name.clone(),
                        d.name.clone(),
                        f.name.clone(),
                        b.sentence.clone(),
                    )
                })
            })
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn one_new_test_is_the_only_one_sent_and_the_rest_keep_their_place_and_sentence() {
    let server = server().await;
    let gen = generator(&server);
    let first = phases::generate(&gen, &shop_plus(0), &opts(), 1)
        .await
        .unwrap();
    let before = server.requests().len();
    let input = shop_plus(1);
    let estimate = phases::estimate(&gen, &input, &opts(), Some(&first)).await;
    assert_eq!(
        (
            estimate.classify_calls,
            estimate.convert_calls,
            estimate.tests_to_convert
        ),
        (1, 1, 1)
    );
    let second = phases::generate_from(&gen, &input, &opts(), Some(&first), 2)
        .await
        .unwrap();
    let calls = &server.requests()[before..];
    let new_index = input
        .tests
        .iter()
        .find(|t| t.name == "TestLogin_NewCase0")
        .unwrap()
        .index;
    let phases: Vec<&str> = calls.iter().map(|r| r.phase()).collect();
    assert_eq!(phases, ["classify", "convert"], "the summary was kept");
    for call in calls {
        let sent: Vec<usize> = call.lines().into_iter().map(|(i, _)| i).collect();
        assert_eq!(sent, [new_index], "{} sent {sent:?}", call.phase());
    }
    // The classify prompt listed the existing structure for the new test to join.
    assert!(
        calls[0].system().contains("Domain auth"),
        "{}",
        calls[0].system()
    );
    let kept: Vec<_> = places(&second)
        .into_iter()
        .filter(|p| p.0 != "TestLogin_NewCase0")
        .collect();
    assert_eq!(kept, places(&first));
    assert_eq!(second.summary, first.summary);
    assert!(
        second.notes.iter().any(|n| n
            == "Placed on version 1: 13 behaviors kept their domain, feature and sentence; 1 new, 0 removed."),
        "{:?}",
        second.notes
    );

    // The diff says exactly that.
    let d = diff::between(&first, &second);
    assert_eq!(
        (
            d.counts.added,
            d.counts.removed,
            d.counts.reworded,
            d.counts.moved,
            d.counts.unchanged
        ),
        (1, 0, 0, 0, 13)
    );
    assert_eq!(d.added[0].test_name, "TestLogin_NewCase0");
}

#[tokio::test]
async fn fresh_or_too_much_change_classifies_every_test_again() {
    let server = server().await;
    let gen = generator(&server);
    let first = phases::generate(&gen, &shop_plus(0), &opts(), 1)
        .await
        .unwrap();

    // 5 new tests of 13 is 38 %, over the default 30 %.
    let before = server.requests().len();
    let input = shop_plus(5);
    let doc = phases::generate_from(&gen, &input, &opts(), Some(&first), 2)
        .await
        .unwrap();
    assert_eq!(
        classified_since(&server, before),
        input.tests.len(),
        "every test was classified"
    );
    assert!(doc.notes.iter().all(|n| !n.starts_with("Placed on")));

    // One new test, but `fresh`.
    let before = server.requests().len();
    let mut o = opts();
    o.fresh = true;
    phases::generate_from(&gen, &shop_plus(1), &o, Some(&first), 2)
        .await
        .unwrap();
    assert_eq!(classified_since(&server, before), 14);

    // A higher threshold lets the 5 new tests be placed incrementally.
    let before = server.requests().len();
    let mut o = opts();
    o.max_changed_percent = 50;
    phases::generate_from(&gen, &shop_plus(5), &o, Some(&first), 2)
        .await
        .unwrap();
    assert_eq!(classified_since(&server, before), 5);
}

#[tokio::test]
async fn a_diff_tells_reworded_from_moved_and_removed() {
    let server = server().await;
    let gen = generator(&server);
    let first = phases::generate(&gen, &shop_plus(0), &opts(), 1)
        .await
        .unwrap();
    let mut second = first.clone();
    second.version = 2;
    // Reword one behavior, move another to a new feature, remove a third.
    second.domains[0].features[0].behaviors[0].sentence = "Reworded.".into();
    let moved = second.domains[1].features[0].behaviors.remove(0);
    let removed = second.domains[2].features[0].behaviors.remove(0);
    second.domains[0]
        .features
        .push(specline_specdoc::document::Feature {
            name: "Elsewhere".into(),
            fallback: None,
            behaviors: vec![moved.clone()],
        });
    let d = diff::between(&first, &second);
    assert_eq!(
        (
            d.counts.added,
            d.counts.removed,
            d.counts.reworded,
            d.counts.moved
        ),
        (0, 1, 1, 1)
    );
    assert_eq!(d.removed[0].test_name, removed.test_name);
    assert_eq!(d.moved[0].test_name, moved.test_name);
    assert_eq!(d.moved[0].after.feature, "Elsewhere");
    assert_eq!(d.reworded[0].sentence_after, "Reworded.");
    let text = diff::to_text(&d);
    assert!(
        text.starts_with("version 1 -> 2: +0 added, -1 removed, ~1 reworded, >1 moved"),
        "{text}"
    );
}
