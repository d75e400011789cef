//! Signing in and out in a real browser, and what the session cookie allows.
#![allow(clippy::unwrap_used)]

mod support;

use support::browser::Browser;
use support::{ui_server, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_a_token_then_sign_out() {
    let server = ui_server(Backend::Sqlite).await;
    let token = server.token("alice", false).await;
    let b = Browser::start(1280).await;

    // A page asks for sign-in first, and comes back after it.
    b.goto(&server.url("/")).await;
    b.find("#token").await;
    assert!(b.url().await.contains("/sign-in?next=/"));
    b.screenshot("sign-in").await;

    b.fill("#token", "spl_notatoken").await;
    b.click("form[action='/sign-in'] button[type=submit]").await;
    b.wait_text("#sign-in-error", |t| {
        t.contains("unknown, revoked or expired")
    })
    .await;

    b.fill("#token", &token).await;
    b.click("form[action='/sign-in'] button[type=submit]").await;
    b.wait_text("header.top .owner", |t| t == "alice").await;

    // The cookie is HttpOnly: the page's scripts cannot read the token.
    let visible = b.eval("return document.cookie").await;
    assert_eq!(visible, serde_json::json!(""));

    b.click("header.top .who button[type=submit]").await;
    b.find("#token").await;
    b.goto(&server.url("/")).await;
    b.find("#token").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let server = ui_server(Backend::Sqlite).await;
    let token = server.token("alice", false).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!("specline_session={token}");
    let r = http
        .post(server.url("/sign-out"))
        .header("Cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());

    // A sign-in posted from another site's page is refused.
    let r = http
        .post(server.url("/sign-in"))
        .header("Origin", "https://evil.example")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    server.stop().await;
}

#[tokio::test]
async fn the_cookie_reads_the_api_but_changes_nothing_through_it() {
    let server = ui_server(Backend::Sqlite).await;
    let token = server.token("alice", false).await;
    let http = reqwest::Client::new();
    let cookie = format!("specline_session={token}");
    let r = http
        .get(server.url("/api/v1/runs"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(server.url("/api/v1/analyses"))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"repository": "https://git.example/o/r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let server = ui_server(Backend::Sqlite).await;
    let r = reqwest::get(server.url("/sign-in")).await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let html = r.text().await.unwrap();
    let href = html
        .split("href=\"/assets/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let css = reqwest::get(server.url(&format!("/assets/{href}")))
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    server.stop().await;
}
