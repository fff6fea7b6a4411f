//! The webhook channel: Alertmanager's webhook JSON, POSTed with a
//! timeout per attempt, retried with doubling backoff, optionally signed.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri, header};
use hyper_util::rt::TokioIo;
use serde::Serialize;

use super::engine::{Alert, AlertState};
use super::time::rfc3339;

/// The header that carries the body's signature: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-cache-signature";

/// The first retry's wait; each next one doubles it.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Alertmanager's webhook body (version 4).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Payload {
    version: &'static str,
    group_key: String,
    truncated_alerts: u64,
    status: &'static str,
    receiver: String,
    group_labels: BTreeMap<String, String>,
    common_labels: BTreeMap<String, String>,
    common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    external_url: String,
    alerts: Vec<PayloadAlert>,
}

/// One alert of a [`Payload`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PayloadAlert {
    status: &'static str,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    fingerprint: String,
}

/// A firing or resolved alert's annotations: `summary` (one line) and
/// `description` (value, threshold, recovery value).
pub(crate) fn annotations(alert: &Alert) -> BTreeMap<String, String> {
    let value = alert
        .value
        .map_or_else(|| String::from("no data"), |v| format!("{v}"));
    BTreeMap::from([
        (String::from("summary"), alert.summary()),
        (
            String::from("description"),
            format!(
                "value {value}; fires past {}, resolves at {}",
                alert.threshold, alert.recover
            ),
        ),
    ])
}

/// The page of the dashboard an alert links to.
pub(crate) fn link(dashboard: &str, alert: &Alert) -> String {
    let base = dashboard.trim_end_matches('/');
    match alert.labels.get("region") {
        Some(region) => format!("{base}/regions/{}", percent_encode(region)),
        None => format!("{base}/"),
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Payload {
    /// The body for `alerts`, grouped by `group`, sent to `receiver`.
    pub(crate) fn new(
        receiver: &str,
        group: &BTreeMap<String, String>,
        alerts: &[Alert],
        dashboard: &str,
    ) -> Payload {
        let common = |of: &dyn Fn(&Alert) -> BTreeMap<String, String>| {
            let mut maps = alerts.iter().map(of);
            let mut common = maps.next().unwrap_or_default();
            for map in maps {
                common.retain(|k, v| map.get(k) == Some(v));
            }
            common
        };
        let firing = alerts.iter().any(|a| a.state == AlertState::Firing);
        Payload {
            version: "4",
            group_key: format!(
                "{{}}:{{{}}}",
                group
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            truncated_alerts: 0,
            status: if firing { "firing" } else { "resolved" },
            receiver: receiver.to_owned(),
            group_labels: group.clone(),
            common_labels: common(&|a| a.labels.clone()),
            common_annotations: common(&annotations),
            external_url: dashboard.to_owned(),
            alerts: alerts
                .iter()
                .map(|alert| PayloadAlert {
                    status: if alert.state == AlertState::Resolved {
                        "resolved"
                    } else {
                        "firing"
                    },
                    labels: alert.labels.clone(),
                    annotations: annotations(alert),
                    starts_at: rfc3339(alert.firing_since_ms.unwrap_or(alert.active_since_ms)),
                    ends_at: alert
                        .resolved_at_ms
                        .map_or_else(|| String::from("0001-01-01T00:00:00Z"), rfc3339),
                    generator_url: link(dashboard, alert),
                    fingerprint: alert.fingerprint.clone(),
                })
                .collect(),
        }
    }
}

/// Why a webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebhookError {
    /// The address cannot be used.
    #[error("{url:?} cannot be used: {reason}")]
    BadUrl {
        /// The address.
        url: String,
        /// Why.
        reason: String,
    },
    /// Every attempt failed; the last one's failure.
    #[error("{attempts} attempt(s) failed, the last: {last}")]
    Failed {
        /// How many were made.
        attempts: u32,
        /// What the last one got.
        last: String,
    },
}

/// The HMAC-SHA256 of `body` under `key`, as the signature header's value.
pub(crate) fn signature(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = match <Hmac<sha2::Sha256>>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// POSTs `body` to `url`: up to `1 + retries` attempts of `timeout` each,
/// waiting 1 s, 2 s, 4 s... between them. A 2xx answer delivers; a 4xx
/// other than 408 and 429 is final (the receiver refuses the body).
pub(crate) async fn deliver(
    url: &str,
    body: &[u8],
    hmac_key: Option<&str>,
    timeout: Duration,
    retries: u32,
    ca_pem: Option<&str>,
) -> Result<u16, WebhookError> {
    let uri: Uri = url.parse().map_err(|error| WebhookError::BadUrl {
        url: url.to_owned(),
        reason: format!("{error}"),
    })?;
    let signature = hmac_key.map(|key| signature(key.as_bytes(), body));
    let body = Bytes::copy_from_slice(body);
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        let outcome = tokio::time::timeout(
            timeout,
            post(&uri, body.clone(), signature.as_deref(), ca_pem),
        )
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
        match outcome {
            Ok(status) if (200..300).contains(&status) => return Ok(status),
            Ok(status) if (400..500).contains(&status) && status != 408 && status != 429 => {
                return Err(WebhookError::Failed {
                    attempts: attempt + 1,
                    last: format!("the receiver refused it with {status}"),
                });
            }
            Ok(status) => last = format!("the receiver answered {status}"),
            Err(error) => last = error,
        }
    }
    Err(WebhookError::Failed {
        attempts: retries + 1,
        last,
    })
}

/// One attempt: the answer's status, or what went wrong.
async fn post(
    uri: &Uri,
    body: Bytes,
    signature: Option<&str>,
    ca_pem: Option<&str>,
) -> Result<u16, String> {
    let host = uri.host().ok_or("the address has no host")?.to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|error| format!("cannot connect to {host}:{port}: {error}"))?;
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, format!("{host}:{port}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            concat!("cache-admin/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    let request = request
        .body(Full::new(body))
        .map_err(|error| error.to_string())?;
    if https {
        let tls = super::tls::connect(&host, tcp, ca_pem).await?;
        exchange(TokioIo::new(tls), request).await
    } else {
        exchange(TokioIo::new(tcp), request).await
    }
}

async fn exchange<T>(io: TokioIo<T>, request: Request<Full<Bytes>>) -> Result<u16, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("the request failed: {error}"));
    let status = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            // Read the answer so the receiver sees a clean exchange.
            let _ = response.into_body().collect().await;
            Ok(status)
        }
        Err(error) => Err(error),
    };
    driver.abort();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn links_escape_region_names() {
        let alert = Alert {
            fingerprint: String::from("f"),
            labels: BTreeMap::from([(String::from("region"), String::from("a b/c"))]),
            state: AlertState::Firing,
            value: Some(0.1),
            threshold: 0.5,
            recover: 0.6,
            active_since_ms: 0,
            firing_since_ms: Some(0),
            resolved_at_ms: None,
            recovered_since_ms: None,
            notified: false,
            silenced_by: Vec::new(),
            inhibited_by: None,
        };
        assert_eq!(
            link("http://127.0.0.1:9464/", &alert),
            "http://127.0.0.1:9464/regions/a%20b%2Fc"
        );
        let payload =
            serde_json::to_value(Payload::new("ops", &BTreeMap::new(), &[alert], "http://x"))
                .expect("json");
        assert_eq!(payload["status"], "firing");
        assert_eq!(payload["alerts"][0]["startsAt"], "1970-01-01T00:00:00.000Z");
        assert_eq!(payload["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    }
}
