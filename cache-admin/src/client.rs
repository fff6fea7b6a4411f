//! [`Client`]: a small HTTP/1.1 client for the admin API, what the
//! `cache-admin` tool (and the tests) use: one connection per request,
//! bearer token, JSON bodies.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;

/// Why a request could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `http://host:port[/prefix]`.
    #[error("{url:?} is not an admin API URL like http://127.0.0.1:9464: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The server could not be reached or broke the connection.
    #[error("cannot reach the admin API at {address}: {reason}")]
    Unreachable {
        /// `host:port`.
        address: String,
        /// What happened.
        reason: String,
    },
    /// No answer in time.
    #[error("the admin API at {address} did not answer within {timeout:?}")]
    Timeout {
        /// `host:port`.
        address: String,
        /// The limit.
        timeout: Duration,
    },
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: header::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client of one admin API.
#[derive(Clone, Debug)]
pub struct Client {
    address: String,
    prefix: String,
    token: Option<String>,
    timeout: Duration,
}

impl Client {
    /// A client of the API at `url` (`http://host:port`, optionally with a
    /// path prefix where the API is mounted), authenticating with `token`.
    ///
    /// # Errors
    ///
    /// [`ClientError::BadUrl`].
    pub fn new(url: &str, token: Option<String>) -> Result<Client, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            bad("only http:// is supported (serve it on loopback, or behind your TLS proxy)")
        })?;
        let (address, prefix) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if address.is_empty() || !address.contains(':') {
            return Err(bad("it needs a host and a port"));
        }
        Ok(Client {
            address: address.to_owned(),
            prefix: prefix.to_owned(),
            token,
            timeout: Duration::from_secs(30),
        })
    }

    /// With a time limit per request (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// Sends `method path` (path and query, from `/`) with an optional
    /// JSON body and extra headers; the whole answer.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unreachable`], [`ClientError::Timeout`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ClientError> {
        let exchange = self.exchange(method, path, body, headers);
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(reply) => reply,
            Err(_) => Err(ClientError::Timeout {
                address: self.address.clone(),
                timeout: self.timeout,
            }),
        }
    }

    /// `GET path`.
    ///
    /// # Errors
    ///
    /// As [`Client::send`].
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ClientError> {
        let unreachable = |reason: String| ClientError::Unreachable {
            address: self.address.clone(),
            reason,
        };
        let stream = tokio::net::TcpStream::connect(&self.address)
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(header::HOST, &self.address);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let bytes = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(bytes))
            .map_err(|error| unreachable(error.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let (parts, incoming) = response.into_parts();
        let body = incoming
            .collect()
            .await
            .map_err(|error| unreachable(error.to_string()))?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}
