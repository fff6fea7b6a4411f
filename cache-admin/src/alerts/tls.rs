//! TLS for `https://` webhooks: rustls with the ring provider and Mozilla's
//! roots (webpki-roots), behind the `notify-tls` feature.

#[cfg(feature = "notify-tls")]
mod on {
    use std::sync::{Arc, OnceLock};

    use rustls::pki_types::ServerName;
    use tokio::net::TcpStream;
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream;

    fn connector() -> Result<TlsConnector, String> {
        static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
        let config = CONFIG.get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|error| format!("TLS cannot be set up: {error}"))
        });
        config.clone().map(TlsConnector::from)
    }

    /// A TLS session with `host` over `tcp`, its certificate checked
    /// against Mozilla's roots.
    pub(crate) async fn connect(
        host: &str,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, String> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|error| format!("{host:?} is not a TLS server name: {error}"))?;
        connector()?
            .connect(name, tcp)
            .await
            .map_err(|error| format!("TLS with {host} failed: {error}"))
    }
}

#[cfg(feature = "notify-tls")]
pub(crate) use on::connect;

/// Without the `notify-tls` feature, `https://` cannot be reached.
#[cfg(not(feature = "notify-tls"))]
pub(crate) async fn connect(
    _host: &str,
    tcp: tokio::net::TcpStream,
) -> Result<tokio::net::TcpStream, String> {
    drop(tcp);
    Err(String::from(
        "https:// webhooks need cache-admin's `notify-tls` feature",
    ))
}

/// Whether this build can send over TLS (https webhooks, SMTP).
pub(crate) const AVAILABLE: bool = cfg!(feature = "notify-tls");
