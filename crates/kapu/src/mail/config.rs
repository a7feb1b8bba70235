//! The `[mail]` configuration section.

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use super::{MailError, Sender};

/// Longest per-operation SMTP timeout accepted; anything longer only keeps
/// background tasks alive while a relay is down.
const MAX_TIMEOUT_SECONDS: u64 = 300;

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `From:` of every message: `address` or `Name <address>`.
    pub from: String,
    /// Relay to send through; without it messages go to the outbox directory.
    #[serde(skip_serializing)]
    pub smtp: Option<SmtpConfig>,
    /// A message that could not be delivered for this long is dropped (its
    /// links have expired by then), loudly.
    pub give_up_after_seconds: i64,
    /// The first retry of a failed delivery waits this long; each next one
    /// twice as long, up to an hour.
    pub retry_after_seconds: i64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from: "kapu <noreply@localhost>".to_owned(),
            smtp: None,
            give_up_after_seconds: 3 * 24 * 3600,
            retry_after_seconds: 30,
        }
    }
}

impl MailConfig {
    pub fn validate(&self) -> Result<(), MailError> {
        self.sender()?;
        if self.give_up_after_seconds < 3600 {
            return Err(MailError::Config("mail.give_up_after_seconds must be at least 3600 (an hour)".into()));
        }
        if !(1..=3600).contains(&self.retry_after_seconds) {
            return Err(MailError::Config(format!(
                "mail.retry_after_seconds must be from 1 to 3600, got {}",
                self.retry_after_seconds
            )));
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        Ok(())
    }

    pub fn sender(&self) -> Result<Sender, MailError> {
        Sender::parse(&self.from)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Connect in plaintext, then require the STARTTLS upgrade (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
    /// No encryption at all; only for a relay on the same machine.
    None,
}

impl SmtpSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`. Optional
    /// because a fixed 587 would silently pair implicit TLS with the
    /// STARTTLS port.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Per connection step (connect, each command).
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_timeout_seconds() -> u64 {
    10
}

impl SmtpConfig {
    /// A config with every default, for code and tests.
    pub fn new(host: impl Into<String>) -> Self {
        SmtpConfig {
            host: host.into(),
            port: None,
            username: None,
            password: None,
            security: SmtpSecurity::default(),
            timeout_seconds: default_timeout_seconds(),
        }
    }

    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    pub fn validate(&self) -> Result<(), MailError> {
        let err = |m: &str| Err(MailError::Config(m.to_owned()));
        let host = self.host.trim();
        if host.is_empty() {
            return err("mail.smtp.host must be set (the relay's host name or IP address)");
        }
        if host.contains("://") || host.contains('/') {
            return err("mail.smtp.host must be a host name or IP address, not a URL");
        }
        if host != self.host || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("mail.smtp.host must not contain spaces or control characters");
        }
        if self.port == Some(0) {
            return err("mail.smtp.port must be between 1 and 65535");
        }
        if self.security == SmtpSecurity::None && !is_loopback(host) {
            return err("mail.smtp.security = none is allowed only for a loopback host; use starttls or tls");
        }
        match (&self.username, &self.password) {
            (Some(u), Some(_)) if u.is_empty() => {
                return err("mail.smtp.username must not be empty");
            }
            (Some(_), None) | (None, Some(_)) => {
                return err("mail.smtp.username and mail.smtp.password must be set together");
            }
            _ => {}
        }
        if self.timeout_seconds == 0 || self.timeout_seconds > MAX_TIMEOUT_SECONDS {
            return Err(MailError::Config(format!(
                "mail.smtp.timeout_seconds must be between 1 and {MAX_TIMEOUT_SECONDS}"
            )));
        }
        Ok(())
    }
}

/// Whether mail to `host` never leaves the machine, which is the only case
/// where an unencrypted (and possibly authenticated) session is acceptable.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

// By hand so that the password never reaches a log line or a panic message.
impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("security", &self.security)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}
