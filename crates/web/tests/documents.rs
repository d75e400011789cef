//! The document pages beside the Spec tab: what changed in a version (`/documents/{id}/diff`)
//! and what it cost (`/documents/{id}/cost`), reached from the Spec tab's links in a real
//! browser; the same pages on PostgreSQL over HTTP, a first version's page, another owner's
//! "not found", and names from the repository escaped.
#![allow(clippy::unwrap_used)]

mod support;

use specline_api_testkit::document_of;
use specline_app::store::{NewDocumentDiff, PhaseUsage};
use specline_specdoc_model::diff::{Changed, DiffBehavior, DiffCounts, DocumentDiff, Place};
use support::browser::Browser;
use support::{page, ui_server, Backend, Server};

const REPO: &str = "https://git.example/acme/shop.git";
/// A sentence from a hostile repository: it must reach the page as text.
const HOSTILE: &str = "Refuses <script>alert(1)</script> in coupons";

fn place(domain: &str, feature: &str) -> Place {
    Place {
        domain: domain.into(),
        feature: feature.into(),
    }
}

/// Written by hand: one behavior added, one removed, one reworded, one moved.
fn diff(from: u32, to: u32) -> DocumentDiff {
    DocumentDiff {
        from_version: from,
        to_version: to,
        counts: DiffCounts {
            added: 1,
            removed: 1,
            reworded: 1,
            moved: 1,
            unchanged: 4,
        },
        added: vec![DiffBehavior {
            test_name: "refuses script coupons".into(),
            file: "src/coupon.test.ts".into(),
            suite_path: vec!["Coupons".into()],
            place: place("Cart", "Coupons"),
            sentence: HOSTILE.into(),
        }],
        removed: vec![DiffBehavior {
            test_name: "signs up".into(),
            file: "tests/test_auth.py".into(),
            suite_path: vec![],
            place: place("Auth", "Sign-up"),
            sentence: "Signs up a new user".into(),
        }],
        reworded: vec![Changed {
            test_name: "adds tax".into(),
            file: "src/cart.test.ts".into(),
            suite_path: vec!["Cart".into(), "totals".into()],
            before: place("Cart", "Totals"),
            after: place("Cart", "Totals"),
            sentence_before: "It adds tax".into(),
            sentence_after: "Adds tax to the total".into(),
        }],
        moved: vec![Changed {
            test_name: "removes an item".into(),
            file: "src/cart.test.ts".into(),
            suite_path: vec!["Cart".into()],
            before: place("Cart", "Items"),
            after: place("Cart", "Basket"),
            sentence_before: "Removes an item".into(),
            sentence_after: "Removes an item".into(),
        }],
    }
}

/// An analysis with two versions of its document: the first made by the fixture's pipeline
/// (with a run), the second stored with the hand-written diff and the run's usage rows.
/// Returns (analysis, first version's id, second version's id, run).
async fn two_versions(server: &Server, token: &str) -> (i64, i64, i64, i64) {
    let analysis = server.analyse(token, REPO, None).await;
    let app = &server.dbs.app;
    let repository = app
        .get_analysis(analysis)
        .await
        .unwrap()
        .unwrap()
        .repository;
    let first = app
        .latest_document(&repository, "en")
        .await
        .unwrap()
        .unwrap();
    let run = first.head.run_id.unwrap();
    let mut doc = document_of(&repository, &specline_api_testkit::sample_files());
    doc.version = 2;
    doc.generator.kind = "openai".into();
    doc.generator.model = "gpt-4o-mini".into();
    let second = server.store_document(analysis, &doc).await;
    let d = diff(first.head.version as u32, 2);
    app.store_document_diff(&NewDocumentDiff {
        document_id: second,
        base_document_id: first.head.id,
        added: 1,
        removed: 1,
        reworded: 1,
        moved: 1,
        content: serde_json::to_value(&d).unwrap(),
    })
    .await
    .unwrap();
    for (phase, calls, tokens_in, tokens_out) in
        [("classify", 1, 1_200, 300), ("convert", 3, 4_500, 900)]
    {
        app.record_usage(&PhaseUsage {
            run_id: run,
            owner: "alice".into(),
            repository: repository.clone(),
            language: "en".into(),
            phase: phase.into(),
            calls,
            prompt_tokens: tokens_in,
            output_tokens: tokens_out,
        })
        .await
        .unwrap();
    }
    app.attach_usage(run, second).await.unwrap();
    (analysis, first.head.id, second, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_tab_links_to_what_changed_and_what_it_cost() {
    let server = ui_server(Backend::Sqlite).await;
    let token = server.token("alice", false).await;
    let (analysis, _, second, run) = two_versions(&server, &token).await;
    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &token).await;

    b.goto(&server.url(&format!("/analyses/{analysis}?tab=spec&doc={second}")))
        .await;
    // Five behaviors, one of them proved by a test of 3 literal cases: 7 runner cases
    // (hand-counted from the fixture).
    b.wait_text("#runner-tests", |t| t.trim() == "(7 runner cases)")
        .await;
    let proved = b
        .find("li.behavior:has(.badge.cases)")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        proved.contains("test_invoice_total") && proved.contains("×3 cases"),
        "{proved}"
    );
    b.click("#diff-link").await;
    b.wait_text("main h1", |t| t == "What changed").await;
    assert_eq!(
        b.url().await,
        server.url(&format!("/documents/{second}/diff"))
    );
    for (id, n) in [
        ("#diff-added", "1"),
        ("#diff-removed", "1"),
        ("#diff-reworded", "1"),
        ("#diff-moved", "1"),
        ("#diff-unchanged", "4"),
    ] {
        b.wait_text(id, |t| t == n).await;
    }
    let added = b
        .find("#diff-added-list li.added")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        added.contains(HOSTILE) && added.contains("Cart › Coupons"),
        "{added}"
    );
    // The sentence is text, not markup: no script element came from it.
    let scripts = b
        .eval("return document.querySelectorAll('#diff-added-list script').length")
        .await;
    assert_eq!(scripts, serde_json::json!(0));
    let reworded = b
        .find("#diff-reworded-list li.reworded")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        reworded.contains("It adds tax") && reworded.contains("Adds tax to the total"),
        "{reworded}"
    );
    let moved = b
        .find("#diff-moved-list li.moved")
        .await
        .text()
        .await
        .unwrap();
    assert!(moved.contains("Cart › Items → Cart › Basket"), "{moved}");
    let removed = b
        .find("#diff-removed-list li.removed")
        .await
        .text()
        .await
        .unwrap();
    assert!(removed.contains("Signs up a new user"), "{removed}");
    b.screenshot("document-diff").await;

    b.click("nav.document-links a[href$='/cost']").await;
    b.wait_text("main h1", |t| t == "Cost").await;
    b.wait_text("#cost-calls", |t| t == "4").await;
    b.wait_text("#cost-tokens-in", |t| t == "5700").await;
    b.wait_text("#cost-tokens-out", |t| t == "1200").await;
    let table = b.find("#cost-phases tbody").await.text().await.unwrap();
    assert!(
        table.contains("classify") && table.contains("convert"),
        "{table}"
    );
    let paid = b.find("#cost-paid").await.text().await.unwrap();
    assert_eq!(paid, format!("Paid by alice in run {run}."));
    // The fixture's run reported no estimate.
    b.find("#no-estimate").await;
    b.screenshot("document-cost").await;

    // Back to the version in its Spec tab.
    b.click("nav.document-links a[href*='tab=spec']").await;
    b.wait_text("#behavior-count", |t| t.ends_with("behaviors"))
        .await;
    assert!(b.url().await.contains(&format!("doc={second}")));
    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pages_a_first_version_and_another_owners_document() {
    let server = ui_server(Backend::Postgres).await;
    let alice = server.token("alice", false).await;
    let bob = server.token("bob", false).await;
    let (_, first, second, _) = two_versions(&server, &alice).await;

    let (status, html) = page(&server, &alice, &format!("/documents/{second}/diff")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Refuses &lt;script&gt;alert(1)&lt;/script&gt; in coupons"),
        "the sentence is escaped"
    );
    assert!(!html.contains(HOSTILE));
    let (status, html) = page(&server, &alice, &format!("/documents/{second}/cost")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<th class="num" id="cost-calls">4</th>"#),
        "{html}"
    );

    // The first version has no diff and no usage: both pages say so.
    let (status, html) = page(&server, &alice, &format!("/documents/{first}/diff")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="no-diff""#), "{html}");
    let (status, html) = page(&server, &alice, &format!("/documents/{first}/cost")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="no-usage""#) && html.contains(r#"id="no-estimate""#));

    for path in [
        format!("/documents/{second}/diff"),
        format!("/documents/{second}/cost"),
        "/documents/0/diff".to_string(),
        "/documents/x/cost".to_string(),
        format!("/documents/{}/diff", second + 1000),
    ] {
        let (status, html) = page(&server, &bob, &path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains("coupons"), "{path}");
    }
    server.stop().await;
}
