//! TLS for `https://` webhooks: rustls with the ring provider and Mozilla's
//! roots (webpki-roots), behind the `notify-tls` feature.

#[cfg(feature = "notify-tls")]
mod on {
    use std::sync::{Arc, OnceLock};

    use rustls::pki_types::ServerName;
    use tokio::net::TcpStream;
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream;

    /// A client configuration trusting Mozilla's roots and `ca_pem`'s
    /// certificates.
    fn config(ca_pem: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = ca_pem {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let mut added = 0;
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let certificate =
                    certificate.map_err(|error| format!("ca_pem does not parse: {error}"))?;
                roots
                    .add(certificate)
                    .map_err(|error| format!("ca_pem is not a usable CA certificate: {error}"))?;
                added += 1;
            }
            if added == 0 {
                return Err(String::from("ca_pem holds no certificate"));
            }
        }
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|error| format!("TLS cannot be set up: {error}"))
    }

    fn connector(ca_pem: Option<&str>) -> Result<TlsConnector, String> {
        static MOZILLA: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
        match ca_pem {
            None => MOZILLA.get_or_init(|| config(None)).clone(),
            Some(_) => config(ca_pem),
        }
        .map(TlsConnector::from)
    }

    /// A TLS session with `host` over `tcp`, its certificate checked
    /// against Mozilla's roots and `ca_pem`'s.
    pub(crate) async fn connect(
        host: &str,
        tcp: TcpStream,
        ca_pem: Option<&str>,
    ) -> Result<TlsStream<TcpStream>, String> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|error| format!("{host:?} is not a TLS server name: {error}"))?;
        connector(ca_pem)?
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
    _ca_pem: Option<&str>,
) -> Result<tokio::net::TcpStream, String> {
    drop(tcp);
    Err(String::from(
        "https:// webhooks need cache-admin's `notify-tls` feature",
    ))
}

/// Whether this build can send over TLS (https webhooks, SMTP).
pub(crate) const AVAILABLE: bool = cfg!(feature = "notify-tls");
