//! A repository's configuration (and the user's) never runs a program: one test per
//! vector, each with a real repository whose configuration points the vector at a script
//! that leaves a marker file. Each test takes every path the analyzer and the CLI take:
//! a local directory (commit read, scan), and a `file://` clone (`ls-remote`, clone,
//! files written, scan), with the same configuration in the served repository and in the
//! global configuration of the `git` program used.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

#[path = "common/git_repos.rs"]
mod git_repos;

use std::io::{Read, Write};
use std::net::TcpListener;

use git_repos::{hostile, Hostile};
use specline_inventory::source::{prepare_opts, remote_head, GitOptions, SourceSpec};
use specline_inventory::{scan, ScanOptions};

fn opts(h: &Hostile) -> GitOptions {
    GitOptions {
        program: h.program.clone(),
        timeout: Some(std::time::Duration::from_secs(60)),
        ..GitOptions::default()
    }
}

/// Every path through the source module, for a local directory and a clone.
fn exercise(h: &Hostile) {
    let opts = opts(h);
    let local = SourceSpec::parse(h.work.to_str().unwrap(), None, None).unwrap();
    let checkout = prepare_opts(&local, &opts).unwrap();
    // The commit is still read, without git running in the directory.
    assert_eq!(checkout.source().commit.as_deref(), Some(h.commit.as_str()));
    assert_eq!(checkout.source().branch.as_deref(), Some("main"));
    assert_eq!(
        checkout
            .source()
            .commit_time
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2024-05-06T07:08:09+00:00")
    );
    let inv = scan(checkout.path(), &ScanOptions::default()).unwrap();
    assert_eq!(inv.stats.tests, 1);

    let remote = SourceSpec::parse(&h.url, Some("main".into()), None).unwrap();
    assert_eq!(
        remote_head(&remote, &opts).unwrap().as_deref(),
        Some(h.commit.as_str())
    );
    let clone = prepare_opts(&remote, &opts).unwrap();
    assert_eq!(clone.source().commit.as_deref(), Some(h.commit.as_str()));
    let inv = scan(clone.path(), &ScanOptions::default()).unwrap();
    assert_eq!(inv.stats.tests, 1);
    // Written by us, without the filter: the file is the committed text.
    let text = std::fs::read_to_string(clone.path().join("calc_test.go")).unwrap();
    assert!(text.contains("TestAdd"), "{text}");
}

fn assert_nothing_ran(h: &Hostile) {
    assert_eq!(h.ran(), Vec::<String>::new(), "programs ran");
}

#[test]
fn gpg_program_with_log_show_signature_never_runs() {
    let h = hostile(&[
        ("log.showSignature", "true"),
        ("gpg.program", "{S}"),
        ("gpg.openpgp.program", "{S}"),
        ("gpg.ssh.program", "{S}"),
        ("gpg.x509.program", "{S}"),
    ]);
    exercise(&h);
    assert_nothing_ran(&h);
}

#[test]
fn core_fsmonitor_never_runs() {
    let h = hostile(&[("core.fsmonitor", "{S}"), ("core.untrackedCache", "true")]);
    exercise(&h);
    assert_nothing_ran(&h);
}

#[test]
fn hooks_never_run() {
    let h = hostile(&[("core.hooksPath", "{H}"), ("init.templateDir", "{H}/..")]);
    // Hooks in the repository's own hooks directory too.
    for name in git_repos::HOOKS {
        std::fs::copy(
            h.tmp.path().join("hooks").join(name),
            h.work.join(".git/hooks").join(name),
        )
        .unwrap();
    }
    exercise(&h);
    assert_nothing_ran(&h);
}

#[test]
fn diff_external_and_textconv_never_run() {
    let h = hostile(&[
        ("diff.external", "{S}"),
        ("diff.evil.command", "{S}"),
        ("diff.evil.textconv", "{S}"),
        ("merge.evil.driver", "{S}"),
        ("core.pager", "{S}"),
        ("pager.log", "{S}"),
    ]);
    exercise(&h);
    assert_nothing_ran(&h);
}

#[test]
fn filters_and_lfs_never_run() {
    let h = hostile(&[
        ("filter.evil.clean", "{S}"),
        ("filter.evil.smudge", "{S}"),
        ("filter.evil.process", "{S}"),
        ("filter.evil.required", "true"),
        ("filter.lfs.clean", "{S}"),
        ("filter.lfs.smudge", "{S}"),
        ("filter.lfs.process", "{S}"),
        ("filter.lfs.required", "true"),
    ]);
    exercise(&h);
    assert_nothing_ran(&h);
}

#[test]
fn core_ssh_command_and_git_proxy_never_run() {
    let h = hostile(&[
        ("core.sshCommand", "{S}"),
        ("core.gitProxy", "{S}"),
        ("ssh.variant", "simple"),
    ]);
    exercise(&h);
    // Transports that would run them: nothing listens on port 1, so these fail, but only
    // after git chose the program to connect with.
    let opts = GitOptions {
        timeout: Some(std::time::Duration::from_secs(20)),
        ..opts(&h)
    };
    for url in ["ssh://127.0.0.1:1/r.git", "git://127.0.0.1:1/r.git"] {
        let spec = SourceSpec::parse(url, None, None).unwrap();
        assert!(remote_head(&spec, &opts).is_err(), "{url}");
        assert!(prepare_opts(&spec, &opts).is_err(), "{url}");
    }
    assert_nothing_ran(&h);
}

#[test]
fn upload_pack_configuration_never_runs() {
    let h = hostile(&[
        ("uploadpack.packObjectsHook", "{S}"),
        ("uploadpack.allowFilter", "true"),
        ("remote.origin.uploadpack", "{S}"),
        ("core.alternateRefsCommand", "{S}"),
    ]);
    exercise(&h);
    assert_nothing_ran(&h);
}

#[test]
fn protocol_allow_lists_cannot_enable_remote_helpers() {
    let h = hostile(&[
        ("protocol.allow", "always"),
        ("protocol.ext.allow", "always"),
        ("protocol.fd.allow", "always"),
    ]);
    exercise(&h);
    // A remote helper is refused before git is asked.
    let ext = format!("ext::{} %S", h.script.display());
    let err = SourceSpec::parse(&ext, None, None).unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_SCHEME");
    assert_nothing_ran(&h);
}

#[test]
fn safe_directory_and_includes_change_nothing() {
    let h = hostile(&[("safe.directory", "*")]);
    // An include of a file that turns on every program-running key.
    let inc = h.tmp.path().join("included.cfg");
    std::fs::write(
        &inc,
        format!(
            "[core]\n\tfsmonitor = {s}\n\thooksPath = {h}\n[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {s}\n",
            s = h.script.display(),
            h = h.tmp.path().join("hooks").display()
        ),
    )
    .unwrap();
    git_repos::git(&h.work, &["config", "include.path", inc.to_str().unwrap()]);
    exercise(&h);
    assert_nothing_ran(&h);
}

/// A server on 127.0.0.1 that answers every request with 401 and a Basic challenge: git
/// then asks its credential helpers and askpass programs.
fn unauthorized_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    format!("http://{addr}/r.git")
}

#[test]
fn credential_helpers_and_askpass_never_run() {
    let h = hostile(&[
        ("credential.helper", "!{S}"),
        ("credential.helper", "{S}"),
        ("core.askPass", "{S}"),
    ]);
    exercise(&h);
    let url = unauthorized_server();
    let spec = SourceSpec::parse(&url, None, None).unwrap();
    let opts = opts(&h);
    assert!(remote_head(&spec, &opts).is_err());
    assert!(prepare_opts(&spec, &opts).is_err());
    assert_nothing_ran(&h);
}
