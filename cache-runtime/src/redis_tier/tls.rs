//! The `redis` client for a manager's URL: plain for `redis://`, TLS with
//! rustls (ring provider) for `rediss://` when the `redis-tls` feature is
//! on, with the CA and client certificate files of [`RedisConfig`].

use redis::Client;

use super::RedisConfig;
use super::error::RedisError;

/// The client every connection of the manager is opened from (the data
/// connection, the backplane's subscriber, the configuration store's).
///
/// # Errors
///
/// [`RedisError::Url`] for a URL that does not parse, [`RedisError::Setup`]
/// for TLS settings that cannot be used (named, with the file at fault).
pub(crate) fn client(config: &RedisConfig, server: &str) -> Result<Client, RedisError> {
    let url_error = |source| RedisError::Url {
        url: server.to_owned(),
        source,
    };
    if !config.url.starts_with("rediss://") {
        if config.tls.is_set() {
            return Err(RedisError::Setup(format!(
                "{server}: TLS certificate files are set but the URL is not rediss://; write rediss://{} to connect over TLS",
                server.split_once("://").map_or(server, |(_, rest)| rest)
            )));
        }
        return Client::open(config.url.as_str()).map_err(url_error);
    }
    tls_client(config, server)
}

#[cfg(feature = "redis-tls")]
fn tls_client(config: &RedisConfig, server: &str) -> Result<Client, RedisError> {
    match certificates(config, server)? {
        None => Client::open(config.url.as_str()).map_err(|source| RedisError::Url {
            url: server.to_owned(),
            source,
        }),
        Some(certificates) => {
            Client::build_with_tls(config.url.as_str(), certificates).map_err(|source| {
                RedisError::Setup(format!(
                    "{server}: the TLS certificate files cannot be used: {source}"
                ))
            })
        }
    }
}

/// The certificates of `config`'s files, read and checked: `None` when it
/// names none (the system's roots, no client certificate). Installs ring as
/// rustls' process-wide provider unless the program chose one.
#[cfg(feature = "redis-tls")]
fn certificates(
    config: &RedisConfig,
    server: &str,
) -> Result<Option<redis::TlsCertificates>, RedisError> {
    use redis::{ClientTlsConfig, TlsCertificates};

    // The redis crate builds its rustls configuration from the process's
    // default provider: make it ring unless the program chose one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let read = |what: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|error| {
            RedisError::Setup(format!(
                "{server}: cannot read the {what} {}: {error}",
                path.display()
            ))
        })
    };
    let root_cert = match &config.tls.ca {
        Some(path) => {
            let pem = read("CA file", path)?;
            check_certificates(&pem).map_err(|problem| {
                RedisError::Setup(format!(
                    "{server}: the CA file {} {problem}",
                    path.display()
                ))
            })?;
            Some(pem)
        }
        None => None,
    };
    let client_tls = match &config.tls.client {
        Some((certificate, key)) => {
            let client_cert = read("client certificate", certificate)?;
            check_certificates(&client_cert).map_err(|problem| {
                RedisError::Setup(format!(
                    "{server}: the client certificate {} {problem}",
                    certificate.display()
                ))
            })?;
            Some(ClientTlsConfig {
                client_cert,
                client_key: read("client key", key)?,
            })
        }
        None => None,
    };
    if root_cert.is_none() && client_tls.is_none() {
        return Ok(None);
    }
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

/// A cluster's client builder set up for `rediss://` seeds: the
/// certificate files of `config`, if any.
#[cfg(all(feature = "redis-cluster", feature = "redis-tls"))]
pub(crate) fn cluster_tls(
    builder: redis::cluster::ClusterClientBuilder,
    config: &RedisConfig,
    server: &str,
) -> Result<redis::cluster::ClusterClientBuilder, RedisError> {
    Ok(match certificates(config, server)? {
        Some(certificates) => builder.certs(certificates),
        None => builder,
    })
}

/// Without the `redis-tls` feature, `rediss://` seeds are refused.
#[cfg(all(feature = "redis-cluster", not(feature = "redis-tls")))]
pub(crate) fn cluster_tls(
    _builder: redis::cluster::ClusterClientBuilder,
    _config: &RedisConfig,
    server: &str,
) -> Result<redis::cluster::ClusterClientBuilder, RedisError> {
    Err(RedisError::Setup(format!(
        "{server}: TLS (rediss://) needs cache-runtime's `redis-tls` feature, which this build lacks; enable it, or use redis:// on a trusted network"
    )))
}

/// Whether `pem` holds at least one certificate that parses.
#[cfg(feature = "redis-tls")]
fn check_certificates(pem: &[u8]) -> Result<(), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut found = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificate.map_err(|error| format!("does not parse as PEM: {error}"))?;
        found += 1;
    }
    if found == 0 {
        return Err(String::from(
            "holds no certificate (-----BEGIN CERTIFICATE----- ...)",
        ));
    }
    Ok(())
}

#[cfg(not(feature = "redis-tls"))]
fn tls_client(_config: &RedisConfig, server: &str) -> Result<Client, RedisError> {
    Err(RedisError::Setup(format!(
        "{server}: TLS (rediss://) needs cache-runtime's `redis-tls` feature, which this build lacks; enable it, or use redis:// on a trusted network"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_files_with_a_plain_url_are_refused() {
        let config = RedisConfig::new("redis://127.0.0.1:6379").tls_ca_file("/tmp/ca.pem");
        let error = client(&config, "redis://127.0.0.1:6379").expect_err("refused");
        assert!(
            error.to_string().contains("write rediss://127.0.0.1:6379"),
            "{error}"
        );
    }

    #[cfg(feature = "redis-tls")]
    #[test]
    fn an_unreadable_or_empty_ca_file_is_named() {
        let missing =
            RedisConfig::new("rediss://127.0.0.1:6379").tls_ca_file("/nonexistent/ca.pem");
        let error = client(&missing, "rediss://127.0.0.1:6379").expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("cannot read the CA file /nonexistent/ca.pem"),
            "{error}"
        );
        let folder = std::env::temp_dir().join(format!("cache-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let empty = folder.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("file");
        let config = RedisConfig::new("rediss://127.0.0.1:6379").tls_ca_file(&empty);
        let error = client(&config, "rediss://127.0.0.1:6379").expect_err("refused");
        assert!(
            error.to_string().contains("holds no certificate"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[cfg(not(feature = "redis-tls"))]
    #[test]
    fn tls_without_the_feature_names_it() {
        let config = RedisConfig::new("rediss://127.0.0.1:6379");
        let error = client(&config, "rediss://127.0.0.1:6379").expect_err("refused");
        assert!(error.to_string().contains("`redis-tls` feature"), "{error}");
    }
}
