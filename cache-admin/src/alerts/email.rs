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
        let builder = match smtp.tls {
            SmtpTls::None => Mailer::builder_dangerous(smtp.host),
            SmtpTls::Starttls => Mailer::starttls_relay(smtp.host)
                .map_err(|error| format!("STARTTLS with {}: {error}", smtp.host))?,
            SmtpTls::Tls => Mailer::relay(smtp.host)
                .map_err(|error| format!("TLS with {}: {error}", smtp.host))?,
        };
        let mut builder = builder.timeout(Some(smtp.timeout));
        if let Some(port) = smtp.port {
            builder = builder.port(port);
        }
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
