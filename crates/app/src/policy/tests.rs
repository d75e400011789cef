use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn strict() -> RepositoryPolicy {
    RepositoryPolicy::default()
}

fn resolver() -> StaticResolver {
    StaticResolver::default()
        .with("github.com", &[IpAddr::V4(Ipv4Addr::new(140, 82, 112, 3))])
        .with(
            "internal.example",
            &[IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))],
        )
        .with(
            "mixed.example",
            &[
                IpAddr::V4(Ipv4Addr::new(140, 82, 112, 4)),
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
            ],
        )
        .with("localhost", &[IpAddr::V4(Ipv4Addr::LOCALHOST)])
}

async fn code(p: &RepositoryPolicy, repo: &str, r: Option<&str>) -> &'static str {
    match p.check(repo, r, &resolver()).await {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

#[tokio::test]
async fn the_default_policy_refuses_every_hostile_form_with_its_code() {
    let p = strict();
    for (repo, git_ref, want) in [
        ("https://github.com/o/r.git", None, "OK"),
        ("https://github.com/o/r.git", Some("main"), "OK"),
        ("file:///etc", None, "POLICY_LOCAL_PATH"),
        ("/srv/repos/r", None, "POLICY_LOCAL_PATH"),
        ("./r", None, "POLICY_LOCAL_PATH"),
        ("http://127.0.0.1/r.git", None, "POLICY_SCHEME"),
        ("https://127.0.0.1/r.git", None, "POLICY_ADDRESS"),
        ("https://[::1]/r.git", None, "POLICY_ADDRESS"),
        ("https://[::ffff:10.0.0.1]/r.git", None, "POLICY_ADDRESS"),
        ("https://localhost/r.git", None, "POLICY_ADDRESS"),
        ("https://169.254.169.254/latest", None, "POLICY_ADDRESS"),
        ("https://internal.example/r.git", None, "POLICY_ADDRESS"),
        ("https://mixed.example/r.git", None, "POLICY_ADDRESS"),
        ("https://nowhere.example/r.git", None, "POLICY_UNRESOLVED"),
        (
            "https://TOKEN@github.com/o/r.git",
            None,
            "POLICY_CREDENTIALS",
        ),
        (
            "https://user:pass@github.com/o/r.git",
            None,
            "POLICY_CREDENTIALS",
        ),
        ("git@github.com:o/r.git", None, "POLICY_CREDENTIALS"),
        ("ssh://github.com/o/r.git", None, "POLICY_SCHEME"),
        ("-uhttps://github.com/o/r.git", None, "POLICY_OPTION_LIKE"),
        ("--upload-pack=touch /tmp/x", None, "POLICY_OPTION_LIKE"),
        (
            "https://github.com/o/r.git",
            Some("--upload-pack=x"),
            "POLICY_OPTION_LIKE",
        ),
        (
            "https://github.com/o/r.git",
            Some("a..b"),
            "POLICY_INVALID_REF",
        ),
        (
            "https://github.com/o/r.git",
            Some("a b"),
            "POLICY_INVALID_REF",
        ),
        ("https://github.com/o/r.git", Some(""), "POLICY_INVALID_REF"),
        ("https://", None, "POLICY_INVALID_URL"),
        ("https://github.com/o/r\n.git", None, "POLICY_INVALID_URL"),
    ] {
        assert_eq!(code(&p, repo, git_ref).await, want, "{repo} {git_ref:?}");
    }
}

#[tokio::test]
async fn explicit_settings_admit_local_paths_and_loopback_but_never_metadata() {
    let p = RepositoryPolicy {
        allowed_schemes: vec!["https".into(), "http".into()],
        allow_local_paths: true,
        allow_private_addresses: true,
        ..strict()
    };
    assert_eq!(code(&p, "/srv/repos/r", None).await, "OK");
    assert_eq!(code(&p, "file:///srv/repos/r", None).await, "OK");
    assert_eq!(code(&p, "http://127.0.0.1:8080/r.git", None).await, "OK");
    assert_eq!(code(&p, "https://internal.example/r.git", None).await, "OK");
    assert_eq!(
        code(&p, "http://169.254.169.254/r.git", None).await,
        "POLICY_ADDRESS"
    );
    assert_eq!(
        code(&p, "http://TOKEN@127.0.0.1/r.git", None).await,
        "POLICY_CREDENTIALS"
    );
}

#[tokio::test]
async fn allowed_hosts_admit_listed_names_and_subdomains_only() {
    let p = RepositoryPolicy {
        allowed_hosts: Some(vec!["github.com".into(), ".example".into()]),
        allow_private_addresses: true,
        ..strict()
    };
    assert_eq!(code(&p, "https://github.com/o/r", None).await, "OK");
    assert_eq!(code(&p, "https://internal.example/o/r", None).await, "OK");
    assert_eq!(
        code(&p, "https://gitlab.com/o/r", None).await,
        "POLICY_HOST"
    );
    assert_eq!(
        code(&p, "https://evilgithub.com/o/r", None).await,
        "POLICY_HOST"
    );
}

#[test]
fn settings_with_an_unknown_scheme_are_refused() {
    let s = specline_settings::RepositoryPolicySettings {
        allowed_schemes: "https, ftp".into(),
        allowed_hosts: None,
        allow_local_paths: false,
        allow_private_addresses: false,
    };
    let e = RepositoryPolicy::from_settings(&s).err().map(|e| e.code());
    assert_eq!(e, Some("POLICY_SETTINGS"));
}

#[tokio::test]
async fn a_checked_remote_carries_every_address_it_was_checked_at() {
    let open = RepositoryPolicy {
        allow_private_addresses: true,
        ..RepositoryPolicy::default()
    };
    let target = open
        .check("https://mixed.example/o/r", None, &resolver())
        .await
        .unwrap();
    let Target::Remote {
        host, port, addrs, ..
    } = target
    else {
        panic!("a URL is a remote target: {target:?}");
    };
    assert_eq!((host.to_string().as_str(), port), ("mixed.example", 443));
    assert_eq!(
        addrs,
        [
            IpAddr::V4(Ipv4Addr::new(140, 82, 112, 4)),
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))
        ]
    );
    // The syntactic check resolves nothing, so it has no address to pin.
    let Target::Remote { addrs, .. } = open.classify("https://mixed.example/o/r", None).unwrap()
    else {
        panic!("a URL is a remote target");
    };
    assert!(addrs.is_empty());
}
