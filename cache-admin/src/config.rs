//! [`AdminConfig`]: where the admin API listens, who may call it, and the
//! limits it enforces.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Lists, statistics, metrics, configuration and history: nothing that
    /// changes a region or shows a stored value.
    Read,
    /// Everything `read` may, plus mutations (clear, refresh, policy,
    /// configuration, rollback, entry deletion) and entry values.
    Admin,
}

impl Role {
    fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role as written in a token file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }
}

/// A bearer token: its name (the actor in the audit trail), its role and
/// its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    name: String,
    role: Role,
    secret: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The shortest secret a token may have.
pub const MIN_SECRET_LEN: usize = 16;

impl Token {
    /// A token named `name` (letters, digits, `-`, `_`, `.`, `:`, `@`) with
    /// `role` and `secret` (at least [`MIN_SECRET_LEN`] visible ASCII
    /// characters).
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] saying which part is wrong.
    pub fn new(
        name: impl Into<String>,
        role: Role,
        secret: impl Into<String>,
    ) -> Result<Token, TokenError> {
        let (name, secret) = (name.into(), secret.into());
        let invalid = |reason: String| TokenError::Invalid {
            location: String::from("Token::new"),
            reason,
        };
        check_name(&name).map_err(invalid)?;
        check_secret(&secret).map_err(invalid)?;
        Ok(Token { name, role, secret })
    }

    /// The token's name: who the audit trail says acted.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it may do.
    pub fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn secret(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    /// Reads tokens from `text`: one per line, `name role secret`
    /// separated by spaces; blank lines and lines starting with `#` are
    /// skipped. `source` names the text in errors (a path, a variable).
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] naming the line and what is wrong with it;
    /// a name given twice is an error too.
    pub fn parse_list(text: &str, source: &str) -> Result<Vec<Token>, TokenError> {
        let mut tokens: Vec<Token> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let invalid = |reason: String| TokenError::Invalid {
                location: format!("{source}, line {}", index + 1),
                reason,
            };
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [name, role, secret] = parts[..] else {
                return Err(invalid(format!(
                    "expected `name role secret`, found {} part(s)",
                    parts.len()
                )));
            };
            let role = Role::parse(role)
                .ok_or_else(|| invalid(format!("role {role:?} is not `read` or `admin`")))?;
            check_name(name).map_err(invalid)?;
            check_secret(secret).map_err(invalid)?;
            if tokens.iter().any(|token| token.name == name) {
                return Err(invalid(format!("token name {name:?} is given twice")));
            }
            tokens.push(Token {
                name: name.to_owned(),
                role,
                secret: secret.to_owned(),
            });
        }
        Ok(tokens)
    }

    /// Reads tokens from the file at `path` (see [`Token::parse_list`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::Read`], [`TokenError::Invalid`].
    pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<Token>, TokenError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Token::parse_list(&text, &path.display().to_string())
    }

    /// Reads tokens from the environment variable `name`: the same
    /// `name role secret` entries as a file, one per line or separated by
    /// `;` (`ops admin s3cr3t...; grafana read ...`). An unset variable is
    /// no tokens.
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] naming the variable and the entry (never the
    /// secret); [`TokenError::NotUnicode`].
    pub fn from_env(name: &str) -> Result<Vec<Token>, TokenError> {
        match std::env::var(name) {
            Ok(text) => env_list(&text, name),
            Err(std::env::VarError::NotPresent) => Ok(Vec::new()),
            Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::NotUnicode {
                variable: name.to_owned(),
            }),
        }
    }
}

/// The tokens of environment variable `name`, whose value is `text`.
fn env_list(text: &str, name: &str) -> Result<Vec<Token>, TokenError> {
    Token::parse_list(
        &text.replace(';', "\n"),
        &format!("${name} (`;`-separated)"),
    )
}

fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:@".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
        return Err(format!(
            "token name {name:?} must be 1 to 64 letters, digits or `-_.:@`"
        ));
    }
    Ok(())
}

fn check_secret(secret: &str) -> Result<(), String> {
    if secret.len() < MIN_SECRET_LEN || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "a secret must be at least {MIN_SECRET_LEN} visible ASCII characters (it is not shown here)"
        ));
    }
    Ok(())
}

/// Why tokens could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read the admin token file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable holding tokens is not valid Unicode.
    #[error("admin tokens: the environment variable {variable} is not valid UTF-8")]
    NotUnicode {
        /// The variable.
        variable: String,
    },
    /// A token is malformed.
    #[error("admin tokens, {location}: {reason}")]
    Invalid {
        /// Where: the file and line, or the variable.
        location: String,
        /// What is wrong.
        reason: String,
    },
}

/// How the admin API is served and guarded.
#[derive(Clone, Debug)]
pub struct AdminConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) tokens: Vec<Token>,
    pub(crate) mutations_per_minute: NonZeroU32,
    pub(crate) body_limit: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) value_limit: usize,
    pub(crate) audit_capacity: usize,
    pub(crate) alerts: crate::alerts::AlertSettings,
    pub(crate) disk_min_free: f64,
}

/// The share of the disk tier's file system that must be free for its
/// health component to say `up` (5 %).
pub const DEFAULT_DISK_MIN_FREE: f64 = 0.05;

/// The admin API's default port.
pub const DEFAULT_PORT: u16 = 9464;

impl Default for AdminConfig {
    fn default() -> AdminConfig {
        AdminConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            tokens: Vec::new(),
            mutations_per_minute: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            value_limit: 4 * 1024,
            audit_capacity: 10_000,
            alerts: crate::alerts::AlertSettings::default(),
            disk_min_free: DEFAULT_DISK_MIN_FREE,
        }
    }
}

impl AdminConfig {
    /// Loopback port 9464, no tokens (every call but health is refused
    /// until one is added), 60 mutations a minute per token, 64 KiB
    /// bodies, 30 s per request, values shown up to 4 KiB.
    pub fn new() -> AdminConfig {
        AdminConfig::default()
    }

    /// Where [`serve`](crate::serve) listens (port 0: any free port). A
    /// non-loopback address is refused without a token.
    #[must_use]
    pub fn bind(mut self, address: SocketAddr) -> AdminConfig {
        self.bind = address;
        self
    }

    /// How the alert engine runs (default: the built-in rules every 10 s,
    /// in memory, no channel; see [`AlertSettings`](crate::AlertSettings)).
    #[must_use]
    pub fn alerts(mut self, alerts: crate::alerts::AlertSettings) -> AdminConfig {
        self.alerts = alerts;
        self
    }

    /// Adds a token.
    #[must_use]
    pub fn token(mut self, token: Token) -> AdminConfig {
        self.tokens.push(token);
        self
    }

    /// Adds tokens (from [`Token::read_file`], say).
    #[must_use]
    pub fn tokens(mut self, tokens: impl IntoIterator<Item = Token>) -> AdminConfig {
        self.tokens.extend(tokens);
        self
    }

    /// How many mutations one token may make per minute (a burst of as
    /// many, then one every `60 s / n`); more get 429 with `Retry-After`.
    #[must_use]
    pub fn mutations_per_minute(mut self, per_minute: NonZeroU32) -> AdminConfig {
        self.mutations_per_minute = per_minute;
        self
    }

    /// The largest request body taken (larger: 413).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> AdminConfig {
        self.body_limit = bytes;
        self
    }

    /// How long a request may take (longer: 408); the event stream is not
    /// bound by it.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> AdminConfig {
        self.request_timeout = timeout;
        self
    }

    /// How much of a value the entry browser shows (its JSON text, in
    /// bytes); longer values are cut and marked truncated.
    #[must_use]
    pub fn value_limit(mut self, bytes: usize) -> AdminConfig {
        self.value_limit = bytes;
        self
    }

    /// How many operations the in-memory audit trail keeps.
    #[must_use]
    pub fn audit_capacity(mut self, records: usize) -> AdminConfig {
        self.audit_capacity = records.max(1);
        self
    }

    /// The share (0 to 1) of the disk tier's file system that must be free
    /// for the health check's `disk` component to say `up`; below it the
    /// component, and readiness with it, say `degraded` (default 5 %; 0
    /// never degrades for space). A value outside 0 to 1 is clamped, and
    /// NaN keeps the default.
    #[must_use]
    pub fn disk_min_free(mut self, share: f64) -> AdminConfig {
        if !share.is_nan() {
            self.disk_min_free = share.clamp(0.0, 1.0);
        }
        self
    }

    /// The address it binds.
    pub fn address(&self) -> SocketAddr {
        self.bind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_the_environment_are_entries_separated_by_semicolons() {
        let tokens = env_list(
            "ops admin 0123456789abcdefgh; grafana read 0123456789abcdefgi",
            "CACHE_ADMIN_TOKENS",
        )
        .expect("two tokens");
        let names: Vec<(&str, Role)> = tokens.iter().map(|t| (t.name(), t.role())).collect();
        assert_eq!(names, [("ops", Role::Admin), ("grafana", Role::Read)]);
        let error = env_list("ops admin 0123456789abcdefgh; bad", "CACHE_ADMIN_TOKENS")
            .expect_err("a broken entry");
        let message = error.to_string();
        assert!(message.contains("$CACHE_ADMIN_TOKENS"), "{message}");
        assert!(!message.contains("0123456789abcdefgh"), "{message}");
        assert!(
            Token::from_env("CACHE_ADMIN_TESTS_NO_SUCH_VARIABLE")
                .expect("unset")
                .is_empty()
        );
    }
}
