//! TLS for every connection.

use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

/// The connector of every connection: TLS with certificate and host name verification when
/// the URL says `sslmode=require`, plain otherwise.
///
/// Why not libpq's meaning of `prefer`/`require` (encrypt, verify nothing): encryption that
/// accepts any certificate stops a passive eavesdropper but not an active one, and a job
/// database carries credentials and tokens. So `require` here is libpq's `verify-full`, and
/// `prefer` (the default) stays plain rather than silently unverified.
pub(super) fn tls_connector(
    pg_config: &mut tokio_postgres::Config,
    ca_file: Option<&std::path::Path>,
) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    use tokio_postgres::config::SslMode;
    if pg_config.get_ssl_mode() != SslMode::Require {
        pg_config.ssl_mode(SslMode::Disable);
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<std::result::Result<_, _>>())
            .map_err(|e| {
                Error::InvalidConfig(format!(
                    "database CA file {}: not a readable PEM certificate file ({e})",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "database CA file {} holds no certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Error::InvalidConfig(format!(
                    "database CA file {}: a certificate is unusable ({e})",
                    path.display()
                ))
            })?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
