//! The email channel: one plain-text mail per notification over SMTP
//! (`lettre`; STARTTLS or TLS with rustls and ring), behind the
//! `notify-tls` feature.

use super::engine::{Alert, AlertState};
use super::webhook::link;

/// The subject and body of the mail for `alerts`.
pub(crate) fn compose(alerts: &[Alert], dashboard: Option<&str>) -> (String, String) {
    let firing: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.state != AlertState::Resolved)
        .collect();
    let resolved: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.state == AlertState::Resolved)
        .collect();
    let first = alerts.first().map(Alert::summary).unwrap_or_default();
    let subject = match (firing.len(), resolved.len()) {
        (0, 1) => format!("[RESOLVED] {first}"),
        (0, n) => format!("[RESOLVED:{n}] {first}"),
        (1, 0) => format!("[FIRING] {first}"),
        (n, _) => format!("[FIRING:{n}] {first}"),
    };
    let mut body = String::new();
    for (title, list) in [("Firing", &firing), ("Resolved", &resolved)] {
        if list.is_empty() {
            continue;
        }
        body.push_str(&format!("{title}:\n\n"));
        for alert in list {
            body.push_str(&format!("- {}\n", alert.summary()));
            let rule = alert.labels.get("alertname").map_or("", String::as_str);
            let severity = alert.labels.get("severity").map_or("", String::as_str);
            body.push_str(&format!("  rule: {rule} ({severity})\n"));
            if let Some(region) = alert.labels.get("region") {
                body.push_str(&format!("  region: {region}\n"));
            }
            if let Some(backend) = alert.labels.get("backend") {
                body.push_str(&format!("  second level: {backend}\n"));
            }
            let value = alert
                .value
                .map_or_else(|| String::from("no data"), |v| format!("{v}"));
            body.push_str(&format!(
                "  value: {value}; threshold: {}; resolves at: {}\n",
                alert.threshold, alert.recover
            ));
            body.push_str(&format!(
                "  since: {}\n",
                super::time::rfc3339(alert.firing_since_ms.unwrap_or(alert.active_since_ms))
            ));
            if let Some(at) = alert.resolved_at_ms {
                body.push_str(&format!("  resolved: {}\n", super::time::rfc3339(at)));
            }
            if let Some(dashboard) = dashboard {
                body.push_str(&format!("  dashboard: {}\n", link(dashboard, alert)));
            }
            body.push('\n');
        }
    }
    (subject, body)
}

#[cfg(feature = "notify-tls")]
mod send {
    use std::time::Duration;

    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    use super::super::rules::SmtpTls;

    /// Where and how to send one mail.
    pub(crate) struct Smtp<'a> {
        pub host: &'a str,
        pub port: Option<u16>,
        pub tls: SmtpTls,
        pub username: Option<&'a str>,
        pub password: Option<&'a str>,
        pub from: &'a str,
        pub to: &'a [String],
        pub timeout: Duration,
        pub ca_pem: Option<&'a str>,
    }

    /// TLS for `host`: Mozilla's roots, plus `ca_pem`'s certificate.
    fn tls_parameters(host: &str, ca_pem: Option<&str>) -> Result<TlsParameters, String> {
        let mut builder = TlsParameters::builder(host.to_owned());
        if let Some(pem) = ca_pem {
            let certificate = Certificate::from_pem(pem.as_bytes())
                .map_err(|error| format!("ca_pem does not parse: {error}"))?;
            builder = builder.add_root_certificate(certificate);
        }
        builder
            .build_rustls()
            .map_err(|error| format!("TLS with {host} cannot be set up: {error}"))
    }

    /// Sends one plain-text mail; the server's answer, or why not.
    pub(crate) async fn deliver(
        smtp: &Smtp<'_>,
        subject: &str,
        body: String,
    ) -> Result<String, String> {
        let mut message = Message::builder()
            .from(
                smtp.from
                    .parse()
                    .map_err(|error| format!("from {:?}: {error}", smtp.from))?,
            )
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in smtp.to {
            message = message.to(to.parse().map_err(|error| format!("to {to:?}: {error}"))?);
        }
        let message = message
            .body(body)
            .map_err(|error| format!("the mail cannot be built: {error}"))?;
        type Mailer = AsyncSmtpTransport<Tokio1Executor>;
        let (tls, port) = match smtp.tls {
            SmtpTls::None => (Tls::None, 25),
            SmtpTls::Starttls => (Tls::Required(tls_parameters(smtp.host, smtp.ca_pem)?), 587),
            SmtpTls::Tls => (Tls::Wrapper(tls_parameters(smtp.host, smtp.ca_pem)?), 465),
        };
        let mut builder = Mailer::builder_dangerous(smtp.host)
            .tls(tls)
            .port(smtp.port.unwrap_or(port))
            .timeout(Some(smtp.timeout));
        if let (Some(user), Some(password)) = (smtp.username, smtp.password) {
            builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
        }
        let response = builder
            .build()
            .send(message)
            .await
            .map_err(|error| format!("SMTP {}: {error}", smtp.host))?;
        Ok(response.message().collect::<Vec<&str>>().join(" "))
    }
}

#[cfg(feature = "notify-tls")]
pub(crate) use send::{Smtp, deliver};
