//! TLS to PostgreSQL: `sslmode=require` means an encrypted connection whose certificate and
//! host name are verified (libpq's `verify-full`), against the public roots plus
//! `ca_file`. Checked against the test server whatever its setup: with TLS on, a connection
//! trusting its certificate is encrypted and one that does not is refused; with TLS off,
//! `require` is refused rather than silently plain.
#![allow(clippy::unwrap_used)]

use specline_queue::store::{PgConfig, PgStore, Store};
use specline_testkit::{database_url, pg_unreachable, PgSchema};

/// The test server's URL with `sslmode=require`, addressed as `localhost` (the name
/// self-signed server certificates are usually made for).
fn require_url() -> String {
    let url = database_url().replace("@127.0.0.1", "@localhost");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode=require")
}

async fn server_tls() -> (bool, String) {
    let (c, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| pg_unreachable(e));
    tokio::spawn(conn);
    let ssl: String = c.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    let cert: String = c
        .query_one("SELECT current_setting('ssl_cert_file')", &[])
        .await
        .unwrap()
        .get(0);
    (ssl == "on", cert)
}

#[tokio::test]
async fn require_encrypts_and_verifies_or_refuses() {
    let schema = PgSchema::new();
    let (tls_on, cert_file) = server_tls().await;
    let untrusted = PgStore::connect(PgConfig::new(require_url()).schema(schema.name()))
        .await
        .unwrap();
    let err = untrusted.migrate().await.unwrap_err().to_string();
    if !tls_on {
        // No TLS on the server: `require` never falls back to plain.
        assert!(
            err.to_lowercase().contains("tls") || err.to_lowercase().contains("ssl"),
            "{err}"
        );
        return;
    }
    // TLS on, but its certificate is not among the trusted roots: refused.
    assert!(
        err.contains("TLS handshake") && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    let Ok(pem) = std::fs::read(&cert_file) else {
        // A remote server whose certificate file is not here: the refusal above is what
        // this machine can check.
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("server.pem");
    std::fs::write(&ca, pem).unwrap();
    let trusted = PgStore::connect(
        PgConfig::new(require_url())
            .schema(schema.name())
            .ca_file(&ca),
    )
    .await
    .unwrap();
    trusted.migrate().await.unwrap();
    let c = trusted.pool().get().await.unwrap();
    let encrypted: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted, "the pooled connection is not encrypted");
}

#[tokio::test]
async fn a_bad_ca_file_is_a_clear_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    for path in [&missing, &garbage] {
        let err = PgStore::connect(PgConfig::new(require_url()).ca_file(path))
            .await
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
        assert_eq!(err.code(), "INVALID_CONFIG", "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
