//! TLS to PostgreSQL: `sslmode=require` means an encrypted connection whose certificate and
//! host name are verified (libpq's `verify-full`), against the public roots plus
//! `ca_file`. Checked against the test server, which must have TLS on with a certificate for
//! `localhost` readable here (`scripts/test` makes one for its throwaway cluster): a
//! connection trusting the certificate is encrypted, one that does not is refused, and one
//! that trusts it but addresses the server by another name is refused.
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
async fn require_verifies_the_certificate_and_the_host_name() {
    let schema = PgSchema::new();
    let (tls_on, cert_file) = server_tls().await;
    // `scripts/test` gives its throwaway cluster a certificate it makes for `localhost`; a
    // server of one's own must have TLS on too, or this check would prove nothing.
    assert!(
        tls_on,
        "the test server has no TLS: run the suite with scripts/test, or turn `ssl` on"
    );
    let untrusted = PgStore::connect(PgConfig::new(require_url()).schema(schema.name()))
        .await
        .unwrap();
    let err = untrusted.migrate().await.unwrap_err().to_string();
    // TLS on, but its certificate is not among the trusted roots: refused.
    assert!(
        err.contains("TLS handshake") && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    let pem = std::fs::read(&cert_file).unwrap_or_else(|e| {
        panic!("the server's certificate {cert_file} is not readable here ({e}): run the suite with scripts/test on this machine")
    });
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("server.pem");
    std::fs::write(&ca, pem).unwrap();

    // Trusted certificate, but addressed by a name it was not made for: refused.
    let by_ip = require_url().replace("@localhost", "@127.0.0.1");
    let wrong_name = PgStore::connect(PgConfig::new(by_ip).schema(schema.name()).ca_file(&ca))
        .await
        .unwrap();
    let err = wrong_name.migrate().await.unwrap_err().to_string();
    assert!(
        err.contains("TLS handshake") && err.to_lowercase().contains("name"),
        "a certificate for `localhost` must not be accepted for 127.0.0.1: {err}"
    );

    // Trusted certificate and its own name: encrypted.
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
async fn require_never_falls_back_to_plain() {
    // Whatever the server: `require` with no trusted certificate yields no plain connection.
    let schema = PgSchema::new();
    let store = PgStore::connect(PgConfig::new(require_url()).schema(schema.name()))
        .await
        .unwrap();
    let err = store
        .migrate()
        .await
        .unwrap_err()
        .to_string()
        .to_lowercase();
    assert!(err.contains("tls") || err.contains("ssl"), "{err}");
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
