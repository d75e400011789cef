//! Git over HTTP against a real server on 127.0.0.1: a pinned host name is fetched from the
//! checked addresses and never looked up again (the DNS rebinding window), and a redirect
//! is refused with its own code instead of being followed to a server nobody checked.
//!
//! The server is git's "dumb" HTTP protocol (static files after `git update-server-info`),
//! which `ls-remote` speaks; clone and ls-remote get the pin from the same function.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use specline_inventory::pin::Pin;
use specline_inventory::source::{prepare_opts, remote_head, GitOptions, SourceSpec};

#[path = "common/git_repos.rs"]
mod git_repos;

use git_repos::{git, served};

/// Serves the files under `root` over HTTP/1.1 on 127.0.0.1 (one request per connection);
/// any path under `/moved.git/` answers 301 to the same path under `/origin.git/`.
fn serve(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(&root, stream);
        }
    });
    port
}

fn answer(root: &Path, mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let path = request.split(' ').nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or("/");
    let reply = if let Some(rest) = path.strip_prefix("/moved.git/") {
        format!("HTTP/1.1 301 Moved Permanently\r\nLocation: /origin.git/{rest}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    } else {
        match (!path.contains("..")).then(|| std::fs::read(root.join(path.trim_start_matches('/'))))
        {
            Some(Ok(body)) => {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend(body);
                r
            }
            _ => {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            }
        }
    };
    let _ = stream.write_all(&reply);
}

/// A bare repository with one commit, ready for dumb HTTP, served; returns the port and commit.
fn repository_over_http(tmp: &Path) -> (u16, String) {
    let test = "package calc\nimport \"testing\"\nfunc TestAdd(t *testing.T) {}\n";
    let (_, sha) = served(tmp, &[("calc_test.go", test.as_bytes().to_vec())], false);
    git(&tmp.join("origin.git"), &["update-server-info"]);
    (serve(tmp.to_path_buf()), sha)
}

fn spec(url: &str, pin: Option<Pin>) -> SourceSpec {
    let mut spec = SourceSpec::parse(url, None, None).unwrap();
    if let SourceSpec::Git { pin: slot, .. } = &mut spec {
        *slot = pin;
    }
    spec
}

fn loopback(last: u8) -> Vec<IpAddr> {
    vec![IpAddr::from([127, 0, 0, last])]
}

#[test]
fn a_pinned_name_is_fetched_from_the_checked_address_without_a_lookup() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, sha) = repository_over_http(tmp.path());
    // `.invalid` never resolves (RFC 6761): only the pin can take git to the server.
    let url = format!("http://specline-pin.invalid:{port}/origin.git");
    let pin = Pin::new("specline-pin.invalid", port, loopback(1));
    let head = remote_head(&spec(&url, pin), &GitOptions::default()).unwrap();
    assert_eq!(head.as_deref(), Some(sha.as_str()));

    let err = remote_head(&spec(&url, None), &GitOptions::default()).unwrap_err();
    assert_eq!(err.code(), "GIT_FAILED", "{err}");
    assert!(err.to_string().contains("resolve"), "{err}");
}

#[test]
fn a_pin_wins_over_what_the_name_resolves_to_now() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, sha) = repository_over_http(tmp.path());
    // `localhost` resolves to 127.0.0.1, where the server listens; the pin says the name was
    // checked at 127.0.0.2, where nothing listens, and git must go there.
    let url = format!("http://localhost:{port}/origin.git");
    let head = remote_head(&spec(&url, None), &GitOptions::default()).unwrap();
    assert_eq!(
        head.as_deref(),
        Some(sha.as_str()),
        "the name alone reaches the server"
    );
    let pin = Pin::new("localhost", port, loopback(2));
    let err = remote_head(&spec(&url, pin), &GitOptions::default()).unwrap_err();
    assert_eq!(err.code(), "GIT_FAILED", "{err}");
}

#[test]
fn a_redirect_is_refused_with_its_own_code_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, _) = repository_over_http(tmp.path());
    let url = format!("http://127.0.0.1:{port}/moved.git");
    let err = remote_head(&spec(&url, None), &GitOptions::default()).unwrap_err();
    assert_eq!(err.code(), "GIT_REDIRECTED", "{err}");
    assert!(err.to_string().contains("301"), "{err}");

    let opts = GitOptions {
        work_root: tmp.path().join("clones"),
        ..GitOptions::default()
    };
    let err = prepare_opts(&spec(&url, None), &opts).unwrap_err();
    assert_eq!(err.code(), "GIT_REDIRECTED", "{err}");
}
