//! The pages fit a phone (360 px) and a wide screen (1920 px): nothing scrolls sideways.
#![allow(clippy::unwrap_used)]

mod support;

use support::browser::Browser;
use support::{ui_server, Backend};

async fn page_fits(width: u32, shot: &str) {
    let server = ui_server(Backend::Sqlite).await;
    let token = server.token("alice", false).await;
    let b = Browser::start(width).await;
    b.sign_in(&server.base, &token).await;
    for path in ["/", "/runs"] {
        b.goto(&server.url(path)).await;
        b.find("main h1").await;
        let fits = b
            .eval("return document.documentElement.scrollWidth <= window.innerWidth")
            .await;
        assert_eq!(
            fits,
            serde_json::json!(true),
            "{path} scrolls sideways at {width} px"
        );
    }
    b.goto(&server.url("/")).await;
    b.find("main h1").await;
    b.screenshot(shot).await;
    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_and_runs_fit_a_phone() {
    page_fits(360, "home-360").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_and_runs_fit_a_wide_screen() {
    page_fits(1920, "home-1920").await;
}
