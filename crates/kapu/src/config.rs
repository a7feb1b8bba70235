//! Configuration: defaults, then the TOML file (`--config`), then environment
//! variables and flags (merged by the CLI into [`Overrides`]).
//!
//! Every section rejects unknown keys, so a misspelt option is an error at
//! start-up instead of a silently ignored setting. `docs/operations.md` lists
//! every option; keep the two in step.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mail::MailConfig;
use crate::oidc::config::OidcConfig;
use crate::passwords::{PasswordHashConfig, PasswordPolicy};
use crate::twostep::model::TwoStepConfig;

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where kapu keeps its SQLite database, secret key and mail outbox.
    pub data_dir: PathBuf,
    /// File holding the 32-byte secret key (created with mode 0600 if missing).
    /// Several instances must share it. Default: `<data_dir>/kapu.key`.
    pub secret_key_file: Option<PathBuf>,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub session: SessionConfig,
    pub login_limits: LoginLimits,
    pub rate_limits: RateLimits,
    pub retention: RetentionConfig,
    pub links: LinkConfig,
    pub contact: ContactConfig,
    pub email_links: EmailLinkConfig,
    pub password_policy: PasswordPolicy,
    pub password_hash: PasswordHashConfig,
    pub mail: MailConfig,
    pub two_step: TwoStepConfig,
    pub oidc: OidcConfig,
    pub log: LogConfig,
    pub identity: IdentityConfig,
    pub delegations: DelegationsConfig,
}

/// Identities verified at an office (docs/identity.md).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// How long an office's binding code can be entered (it may go by post).
    pub binding_code_days: i64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self { binding_code_days: 30 }
    }
}

/// Delegations (meghatalmazás): the matters one citizen may let another act
/// in, and how long one may last (docs/identity.md).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DelegationsConfig {
    pub matters: Vec<MatterConfig>,
    /// The longest a delegation may run, in days.
    pub max_days: i64,
}

/// A matter type: its id (in ID tokens) and its name in each language.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatterConfig {
    pub id: String,
    pub hu: String,
    pub en: String,
}

impl Default for DelegationsConfig {
    fn default() -> Self {
        let matter = |id: &str, hu: &str, en: &str| MatterConfig { id: id.into(), hu: hu.into(), en: en.into() };
        Self {
            matters: vec![
                matter("adobevallas", "Adóbevallás", "Tax return"),
                matter("tarhely", "Tárhely (iratok átvétele)", "Document storage (receiving documents)"),
            ],
            max_days: 5 * 365,
        }
    }
}

/// How kapu writes its log to standard error.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// `text` for people (colour only on a terminal), `json` for log collectors:
/// one object per line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?} is not a log format: use text or json")),
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The address citizens use, for links in emails and (later) the OIDC
    /// issuer. Default: `http://<listen>`.
    pub public_url: Option<String>,
    /// Mark cookies `Secure`. Default: true when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// Take the client address from the last `X-Forwarded-For` entry. Only
    /// turn on behind a proxy that sets it, or clients can pick their address.
    pub trust_forwarded_for: bool,
    /// Time zone for times shown to people.
    pub time_zone: String,
    /// Largest request body accepted; forms are small.
    pub max_body_bytes: usize,
    /// A request's header must arrive within this (also the longest a
    /// keep-alive connection waits for its next request's header).
    pub header_timeout_seconds: u64,
    /// A keep-alive connection with no request in progress is closed after
    /// this long without a byte from the client.
    pub keep_alive_timeout_seconds: u64,
    /// A request body must arrive within this (408 otherwise).
    pub body_timeout_seconds: u64,
    /// Connections open at once, in all; more are closed at once.
    pub max_connections: usize,
    /// Connections open at once from one address (an IPv6 /64 is one); not
    /// applied behind a trusted proxy (`trust_forwarded_for`).
    pub max_connections_per_address: usize,
    /// Serve `/metrics` on this address only (e.g. 127.0.0.1:9100), not on
    /// `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Or: `/metrics` on `listen` answers only with `Authorization: Bearer <token>`.
    /// With neither, it answers only clients on this machine (loopback).
    pub metrics_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://...` or `sqlite://...`. Default: `<data_dir>/kapu.db`.
    pub url: Option<String>,
    /// PostgreSQL's connection pool size per instance (default 16). SQLite
    /// always has one connection (see `store::OneConnection`).
    pub max_connections: Option<u32>,
}

impl DatabaseConfig {
    pub fn pool_size(&self) -> u32 {
        self.max_connections.unwrap_or(16)
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A session ends after this long without a request.
    pub idle_timeout_seconds: i64,
    /// ... and after this long in any case.
    pub absolute_lifetime_seconds: i64,
    /// The "stay logged in?" dialog appears this long before expiry.
    pub warning_seconds: i64,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginLimits {
    /// Failures are counted over this window; a quiet window resets the count.
    pub window_seconds: i64,
    /// After this many failures for one username, each further try waits
    /// longer (1 s, 2 s, 4 s, ...).
    pub account_slowdown_after: i64,
    /// After this many, the username is locked for `account_lockout_seconds`.
    pub account_lockout_after: i64,
    pub account_lockout_seconds: i64,
    /// The same, per client address (password guessing across many accounts).
    pub address_slowdown_after: i64,
    pub address_lockout_after: i64,
    pub address_lockout_seconds: i64,
}

/// What strangers can make kapu do, per client address (an IPv6 /64 is one)
/// and in all, per hour: each of these costs an Argon2id hash or a mail. The
/// counts live in the database, so every instance shares them.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    pub registrations_per_address_per_hour: i64,
    pub registrations_per_hour: i64,
    pub password_resets_per_address_per_hour: i64,
    pub password_resets_per_hour: i64,
    pub email_changes_per_address_per_hour: i64,
    pub email_changes_per_hour: i64,
    /// Registration, reset and new-address links (and their "send it again")
    /// one address receives per hour; more are not sent.
    pub mails_per_recipient_per_hour: i64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            registrations_per_address_per_hour: 10,
            registrations_per_hour: 1000,
            password_resets_per_address_per_hour: 10,
            password_resets_per_hour: 1000,
            email_changes_per_address_per_hour: 10,
            email_changes_per_hour: 1000,
            mails_per_recipient_per_hour: 3,
        }
    }
}

/// How long kapu keeps what (docs/operations.md, "Retention").
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Audit events older than this are deleted; 0 keeps them forever.
    pub audit_days: i64,
    /// How often the sweeper deletes expired rows.
    pub sweep_interval_seconds: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { audit_days: 730, sweep_interval_seconds: 60 }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// "Ügyintézés ↗" in the menu.
    pub case_handling_url: String,
    /// "Tárhely ↗" in the menu.
    pub document_storage_url: String,
}

/// Who runs this kapu and how citizens reach them: the footer's "Kapcsolat",
/// the privacy notice's controller and the accessibility statement's
/// feedback address.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactConfig {
    /// The organisation that operates this kapu (the data controller).
    pub operator: String,
    /// The help desk's address; also where accessibility problems are reported.
    pub email: String,
    /// The help desk's telephone number, if there is one.
    pub phone: Option<String>,
    /// When the telephone help desk answers, in words ("hétköznap 8–20").
    pub phone_hours: Option<String>,
    /// The operator's postal address.
    pub postal_address: Option<String>,
    /// The data protection officer's address; default: `email`.
    pub data_protection_email: Option<String>,
    /// Where citizens find an office (kormányablak) for an in-person reset.
    pub offices_url: String,
}

impl ContactConfig {
    /// The data protection officer's address, or the help desk's.
    pub fn data_protection_email(&self) -> String {
        self.data_protection_email.clone().unwrap_or_else(|| self.email.clone())
    }
}

impl Default for ContactConfig {
    fn default() -> Self {
        Self {
            operator: "kapu".into(),
            email: "ugyfelszolgalat@example.hu".into(),
            phone: None,
            phone_hours: None,
            postal_address: None,
            data_protection_email: None,
            offices_url: "https://kormanyablak.hu/".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailLinkConfig {
    pub registration_ttl_seconds: i64,
    pub password_reset_ttl_seconds: i64,
    pub email_change_ttl_seconds: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("kapu-data"),
            secret_key_file: None,
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            session: SessionConfig::default(),
            login_limits: LoginLimits::default(),
            rate_limits: RateLimits::default(),
            retention: RetentionConfig::default(),
            links: LinkConfig::default(),
            contact: ContactConfig::default(),
            email_links: EmailLinkConfig::default(),
            password_policy: PasswordPolicy::default(),
            password_hash: PasswordHashConfig::default(),
            mail: MailConfig::default(),
            two_step: TwoStepConfig::default(),
            oidc: OidcConfig::default(),
            log: LogConfig::default(),
            identity: IdentityConfig::default(),
            delegations: DelegationsConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            secure_cookies: None,
            trust_forwarded_for: false,
            time_zone: "Europe/Budapest".into(),
            max_body_bytes: 64 * 1024,
            header_timeout_seconds: 10,
            keep_alive_timeout_seconds: 5,
            body_timeout_seconds: 10,
            max_connections: 10_000,
            max_connections_per_address: 64,
            metrics_listen: None,
            metrics_token: None,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_timeout_seconds: 600, absolute_lifetime_seconds: 12 * 3600, warning_seconds: 120 }
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            window_seconds: 900,
            account_slowdown_after: 5,
            account_lockout_after: 10,
            account_lockout_seconds: 900,
            address_slowdown_after: 30,
            address_lockout_after: 100,
            address_lockout_seconds: 900,
        }
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            case_handling_url: "https://magyarorszag.hu/".into(),
            document_storage_url: "https://tarhely.gov.hu/".into(),
        }
    }
}

impl Default for EmailLinkConfig {
    fn default() -> Self {
        Self {
            registration_ttl_seconds: 24 * 3600,
            password_reset_ttl_seconds: 3600,
            email_change_ttl_seconds: 24 * 3600,
        }
    }
}

/// Values from flags or environment variables; they win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("configuration option {option}: {message}")]
    Invalid { option: &'static str, message: String },
}

fn invalid(option: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { option, message: message.into() }
}

impl Config {
    /// Defaults, then the file, then the overrides; then validation.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut config = match &overrides.config_file {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &overrides.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            config.database.url = Some(url.clone());
        }
        if let Some(listen) = overrides.listen {
            config.server.listen = listen;
        }
        if let Some(url) = &overrides.public_url {
            config.server.public_url = Some(url.clone());
        }
        if let Some(format) = overrides.log_format {
            config.log.format = format;
        }
        config.validate()?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse { path: path.to_owned(), message })
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=365).contains(&self.identity.binding_code_days) {
            return Err(invalid("identity.binding_code_days", "must be between 1 and 365"));
        }
        let d = &self.delegations;
        if !(1..=36_600).contains(&d.max_days) {
            return Err(invalid("delegations.max_days", "must be between 1 and 36600"));
        }
        for (i, m) in d.matters.iter().enumerate() {
            let id_ok = (1..=40).contains(&m.id.len())
                && m.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                return Err(invalid("delegations.matters", "each id must be 1-40 of a-z, 0-9 and _"));
            }
            if d.matters[..i].iter().any(|o| o.id == m.id) {
                return Err(invalid("delegations.matters", "each id must be unique"));
            }
            let label_ok = |l: &str| !l.trim().is_empty() && l.chars().count() <= 100;
            if !label_ok(&m.hu) || !label_ok(&m.en) {
                return Err(invalid(
                    "delegations.matters",
                    "each matter needs a hu and an en name of 1-100 characters",
                ));
            }
        }
        let s = &self.session;
        if s.idle_timeout_seconds < 60 {
            return Err(invalid("session.idle_timeout_seconds", "must be at least 60"));
        }
        if s.absolute_lifetime_seconds < s.idle_timeout_seconds {
            return Err(invalid("session.absolute_lifetime_seconds", "must be at least session.idle_timeout_seconds"));
        }
        if s.warning_seconds < 0 || s.warning_seconds >= s.idle_timeout_seconds {
            return Err(invalid("session.warning_seconds", "must be between 0 and the idle timeout"));
        }
        let l = &self.login_limits;
        if l.window_seconds < 1 {
            return Err(invalid("login_limits.window_seconds", "must be positive"));
        }
        if l.account_slowdown_after < 1 || l.account_lockout_after < l.account_slowdown_after {
            return Err(invalid(
                "login_limits.account_lockout_after",
                "must be at least account_slowdown_after, which must be at least 1",
            ));
        }
        if l.address_slowdown_after < 1 || l.address_lockout_after < l.address_slowdown_after {
            return Err(invalid(
                "login_limits.address_lockout_after",
                "must be at least address_slowdown_after, which must be at least 1",
            ));
        }
        if l.account_lockout_seconds < 1 || l.address_lockout_seconds < 1 {
            return Err(invalid("login_limits.*_lockout_seconds", "must be positive"));
        }
        if l.account_lockout_after > 1000 || l.address_lockout_after > 1000 {
            return Err(invalid("login_limits.*_lockout_after", "must be at most 1000"));
        }
        let r = &self.rate_limits;
        for (option, v) in [
            ("rate_limits.registrations_per_address_per_hour", r.registrations_per_address_per_hour),
            ("rate_limits.registrations_per_hour", r.registrations_per_hour),
            ("rate_limits.password_resets_per_address_per_hour", r.password_resets_per_address_per_hour),
            ("rate_limits.password_resets_per_hour", r.password_resets_per_hour),
            ("rate_limits.email_changes_per_address_per_hour", r.email_changes_per_address_per_hour),
            ("rate_limits.email_changes_per_hour", r.email_changes_per_hour),
            ("rate_limits.mails_per_recipient_per_hour", r.mails_per_recipient_per_hour),
        ] {
            if !(1..=1_000_000).contains(&v) {
                return Err(invalid(option, "must be between 1 and 1000000"));
            }
        }
        let e = &self.email_links;
        for (option, v) in [
            ("email_links.registration_ttl_seconds", e.registration_ttl_seconds),
            ("email_links.password_reset_ttl_seconds", e.password_reset_ttl_seconds),
            ("email_links.email_change_ttl_seconds", e.email_change_ttl_seconds),
        ] {
            if v < 60 {
                return Err(invalid(option, "must be at least 60 seconds"));
            }
        }
        for (option, url) in [
            ("links.case_handling_url", &self.links.case_handling_url),
            ("links.document_storage_url", &self.links.document_storage_url),
            ("contact.offices_url", &self.contact.offices_url),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid(option, "must be an absolute http(s) URL"));
            }
        }
        let c = &self.contact;
        if c.operator.trim().is_empty() || c.operator.chars().count() > 200 {
            return Err(invalid("contact.operator", "must be the operator's name, 1 to 200 characters"));
        }
        for (option, value) in [
            ("contact.phone", &c.phone),
            ("contact.phone_hours", &c.phone_hours),
            ("contact.postal_address", &c.postal_address),
        ] {
            if value.as_ref().is_some_and(|v| v.trim().is_empty() || v.chars().count() > 200) {
                return Err(invalid(option, "must be 1 to 200 characters when set (leave it out otherwise)"));
            }
        }
        for (option, address) in
            [("contact.email", Some(&c.email)), ("contact.data_protection_email", c.data_protection_email.as_ref())]
        {
            if let Some(a) = address
                && crate::mail::EmailAddress::parse(a).is_err()
            {
                return Err(invalid(option, format!("{a:?} is not an email address, e.g. ugyfelszolgalat@example.hu")));
            }
        }
        if let Some(url) = &self.server.public_url {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(['?', '#', ' '])
                && url.len() > "http://".len();
            if !ok {
                return Err(invalid(
                    "server.public_url / --public-url / KAPU_PUBLIC_URL",
                    format!(
                        "{url:?} is not an absolute http(s) URL without query or fragment, e.g. https://login.example.hu"
                    ),
                ));
            }
        }
        if jiff::tz::TimeZone::get(&self.server.time_zone).is_err() {
            return Err(invalid(
                "server.time_zone",
                format!("unknown time zone {:?}, e.g. Europe/Budapest", self.server.time_zone),
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        let sv = &self.server;
        for (option, v) in [
            ("server.header_timeout_seconds", sv.header_timeout_seconds),
            ("server.keep_alive_timeout_seconds", sv.keep_alive_timeout_seconds),
            ("server.body_timeout_seconds", sv.body_timeout_seconds),
        ] {
            if !(1..=300).contains(&v) {
                return Err(invalid(option, "must be between 1 and 300 seconds"));
            }
        }
        if sv.max_connections < 1 || sv.max_connections_per_address < 1 {
            return Err(invalid("server.max_connections / max_connections_per_address", "must be at least 1"));
        }
        if let Some(token) = &sv.metrics_token
            && token.len() < 16
        {
            return Err(invalid("server.metrics_token", "must be at least 16 characters (a random secret)"));
        }
        if self.retention.audit_days < 0 {
            return Err(invalid("retention.audit_days", "must be 0 (keep forever) or a number of days"));
        }
        if !(10..=3600).contains(&self.retention.sweep_interval_seconds) {
            return Err(invalid("retention.sweep_interval_seconds", "must be between 10 and 3600"));
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:"))
        {
            return Err(invalid(
                "database.url / --database-url / KAPU_DATABASE_URL",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        if self.database.max_connections == Some(0) {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if self.database.max_connections.is_some() && self.database_url().starts_with("sqlite:") {
            return Err(invalid(
                "database.max_connections",
                "is for PostgreSQL; SQLite always uses one connection (it has one writer at a time): remove it",
            ));
        }
        self.password_hash.validate().map_err(|m| invalid("[password_hash]", m))?;
        self.password_policy.validate().map_err(|m| invalid("[password_policy]", m))?;
        self.two_step.validate().map_err(|m| invalid("[two_step]", m))?;
        self.oidc.validate().map_err(|m| invalid("[oidc]", m))?;
        self.mail.validate().map_err(|m| invalid("mail", m.to_string()))?;
        Ok(())
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.server.listen),
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.server.secure_cookies.unwrap_or_else(|| self.public_url().starts_with("https://"))
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("kapu.db").display()),
        }
    }

    pub fn secret_key_path(&self) -> PathBuf {
        self.secret_key_file.clone().unwrap_or_else(|| self.data_dir.join("kapu.key"))
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.server.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
        assert_eq!(Config::default().server.listen.to_string(), "127.0.0.1:8080");
    }

    /// The example in docs/operations.md is a real configuration.
    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../../docs/operations.md");
        let start = doc.find("```toml").unwrap() + "```toml".len();
        let end = start + doc[start..].find("```").unwrap();
        let config = Config::from_toml(&doc[start..end]).unwrap();
        config.validate().unwrap();
        assert_eq!(config.two_step.legacy_login_until.as_deref(), Some("2025-01-16"));
    }

    /// docs/operations.md has a row for every option: a new one cannot go
    /// undocumented. (Options without a default value are not serialized;
    /// their rows are there all the same.)
    #[test]
    fn every_option_has_a_row_in_the_docs() {
        fn keys(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
            match value {
                toml::Value::Table(table) => {
                    for (name, v) in table {
                        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                        keys(&key, v, out);
                    }
                }
                _ => out.push(prefix.to_owned()),
            }
        }
        let doc = include_str!("../../../docs/operations.md");
        let mut all = Vec::new();
        keys("", &toml::Value::try_from(Config::default()).unwrap(), &mut all);
        assert!(all.len() > 50, "every section is walked: {all:?}");
        let missing: Vec<&String> = all.iter().filter(|k| !doc.contains(&format!("| `{k}` |"))).collect();
        assert!(missing.is_empty(), "options without a row in docs/operations.md: {missing:?}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Config::from_toml("[session]\nidle_timeout = 5\n").unwrap_err();
        assert!(err.contains("idle_timeout"), "{err}");
    }

    #[test]
    fn bad_values_name_the_option() {
        let c = Config::from_toml("[session]\nidle_timeout_seconds = 5\n").unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("session.idle_timeout_seconds"), "{err}");
    }

    #[test]
    fn overrides_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kapu.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\n[server]\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let o = Overrides { config_file: Some(file), data_dir: Some("/from/flag".into()), ..Default::default() };
        let c = Config::load(&o).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.server.listen.port(), 9000);
    }
}
