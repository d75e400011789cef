//! Gateway mode: the proxy in front names the owner; the UI has no sign-in of its own.
#![allow(clippy::unwrap_used)]

mod support;

use specline_api::config::AuthMode;
use support::{ui_options, Backend, Server};

async fn gateway_server(trusted: &str) -> Server {
    let mut o = ui_options();
    o.workers = false;
    o.config.auth = AuthMode::Gateway {
        owner_header: "x-user-id".into(),
        trusted: vec![trusted.parse::<ipnet::IpNet>().unwrap()],
    };
    Server::start(Backend::Sqlite, o).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_gateway_names_the_viewer_and_nobody_is_sent_to_a_sign_in_form() {
    let s = gateway_server("127.0.0.1/32").await;
    let http = http();

    let page = http
        .get(s.url("/"))
        .header("x-user-id", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("alice"), "the owner is not on the page");
    assert!(
        !html.contains("action=\"/sign-out\""),
        "the proxy signs users out, not the UI"
    );

    // No header: a 401 page with the API's code, not a redirect to a form that would
    // send the user straight back (a loop).
    let page = http.get(s.url("/runs")).send().await.unwrap();
    assert_eq!(page.status(), 401);
    assert!(page.headers().get("location").is_none());
    assert!(page.text().await.unwrap().contains("UNAUTHENTICATED"));

    // The sign-in form is not offered.
    let page = http.get(s.url("/sign-in?next=/runs")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/runs");
    s.stop().await;
}

#[tokio::test]
async fn a_header_from_an_untrusted_address_names_nobody() {
    let s = gateway_server("10.0.0.0/8").await;
    let page = http()
        .get(s.url("/"))
        .header("x-user-id", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401);
    let html = page.text().await.unwrap();
    assert!(html.contains("UNTRUSTED_PROXY"));
    assert!(!html.contains("alice"));
    s.stop().await;
}
