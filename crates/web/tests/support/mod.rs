//! The UI's test harness: the API fixture serving the UI too, and a real browser.
#![allow(dead_code, clippy::unwrap_used)]

pub mod browser;
pub mod git_repo;

pub use specline_api_testkit::{Backend, Options, Server};

/// Options whose server serves the API and the UI.
pub fn ui_options() -> Options {
    Options {
        router: specline_web::with_api,
        ..Options::new()
    }
}

/// A server with the UI, on `backend`.
pub async fn ui_server(backend: Backend) -> Server {
    Server::start(backend, ui_options()).await
}

/// A page's HTML fetched with `token`'s session cookie, and its status.
pub async fn page(server: &Server, token: &str, path: &str) -> (u16, String) {
    let r = server
        .http
        .get(server.url(path))
        .header("Cookie", format!("specline_session={token}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}
