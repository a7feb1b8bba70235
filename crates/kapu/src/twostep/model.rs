//! Ügyfélkapu+ domain types: the stored credential, a set-up in progress, a
//! half-finished login, the revocation code, and the configuration.

use rand_core::{OsRng, RngCore};
use serde::Deserialize;

use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::throttle::Limit;

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoStepConfig {
    /// The `issuer` in the otpauth URI: the name the authenticator app shows.
    pub issuer: String,
    /// Length of new TOTP keys in bytes (20 = 160 bits, shown as 32 base32 characters).
    pub secret_bytes: usize,
    /// Time steps accepted on each side of the current one (clock drift).
    pub window: u8,
    /// Last day of one-step (password only) login, e.g. "2025-01-16". From the
    /// next day on, a password-only login may only set up Ügyfélkapu+.
    /// Unset: one-step login never ends.
    pub legacy_login_until: Option<String>,
    /// How long the code page waits after a correct password.
    pub pending_login_seconds: i64,
    /// How long a set-up left half way can be resumed.
    pub enrolment_seconds: i64,
    /// After this many consecutive wrong codes, each further try waits longer...
    pub code_slowdown_after: i64,
    /// ... starting with this wait, doubling each time ...
    pub code_slowdown_first_seconds: i64,
    /// ... never longer than this ...
    pub code_max_wait_seconds: i64,
    /// ... and after this many the code step is locked until the emailed link is used.
    pub code_lockout_after: i64,
    pub unlock_link_ttl_seconds: i64,
    /// A locked code step answers a new try by mailing a fresh unlock link,
    /// at most this often per account.
    pub unlock_mail_every_seconds: i64,
    /// Codes that may be tried with one unlock link.
    pub unlock_link_attempts: i64,
    /// After the end of one-step login, a set-up finished with a password
    /// alone becomes active only through a link mailed to the account's
    /// address; the link lives this long.
    pub activation_link_ttl_seconds: i64,
    /// Tries of the revocation code per account per window.
    pub revocation_attempts: i64,
    pub revocation_window_seconds: i64,
}

impl Default for TwoStepConfig {
    fn default() -> Self {
        Self {
            issuer: "kapu".into(),
            secret_bytes: 20,
            window: 1,
            legacy_login_until: None,
            pending_login_seconds: 300,
            enrolment_seconds: 1800,
            code_slowdown_after: 5,
            code_slowdown_first_seconds: 60,
            code_max_wait_seconds: 900,
            code_lockout_after: 20,
            unlock_link_ttl_seconds: 24 * 3600,
            unlock_mail_every_seconds: 600,
            unlock_link_attempts: 5,
            activation_link_ttl_seconds: 24 * 3600,
            revocation_attempts: 5,
            revocation_window_seconds: 900,
        }
    }
}

impl TwoStepConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.issuer.trim().is_empty() || self.issuer.contains(':') {
            return Err("two_step.issuer must be a non-empty name without ':'".into());
        }
        if !(16..=64).contains(&self.secret_bytes) {
            return Err("two_step.secret_bytes must be between 16 (128 bits, RFC 4226's minimum) and 64".into());
        }
        if self.window > 3 {
            return Err("two_step.window must be 0 to 3 steps".into());
        }
        if let Some(date) = &self.legacy_login_until {
            date.parse::<jiff::civil::Date>()
                .map_err(|e| format!("two_step.legacy_login_until {date:?} is not a date like 2025-01-16: {e}"))?;
        }
        if self.pending_login_seconds < 30
            || self.enrolment_seconds < 60
            || self.unlock_link_ttl_seconds < 60
            || self.activation_link_ttl_seconds < 600
        {
            return Err("two_step.*_seconds values are too small".into());
        }
        if self.code_slowdown_after < 1
            || self.code_lockout_after < self.code_slowdown_after
            || self.code_slowdown_first_seconds < 1
        {
            return Err(
                "two_step.code_lockout_after must be at least code_slowdown_after, which must be at least 1".into()
            );
        }
        if self.code_lockout_after > 1000 {
            return Err("two_step.code_lockout_after must be at most 1000".into());
        }
        if self.code_max_wait_seconds < self.code_slowdown_first_seconds || self.code_max_wait_seconds > 24 * 3600 {
            return Err(
                "two_step.code_max_wait_seconds must be between code_slowdown_first_seconds and 86400 (a day)".into()
            );
        }
        if self.unlock_mail_every_seconds < 0 || self.unlock_link_attempts < 1 {
            return Err(
                "two_step.unlock_mail_every_seconds must not be negative and unlock_link_attempts must be positive"
                    .into(),
            );
        }
        if self.revocation_attempts < 1 || self.revocation_window_seconds < 1 {
            return Err("two_step.revocation_attempts and revocation_window_seconds must be positive".into());
        }
        Ok(())
    }

    /// The first moment one-step login is over: midnight after the last day,
    /// in the given time zone.
    pub fn one_step_ends_at(&self, tz: &jiff::tz::TimeZone) -> Option<UnixTime> {
        let date: jiff::civil::Date = self.legacy_login_until.as_deref()?.parse().ok()?;
        let next = date.tomorrow().ok()?;
        next.to_zoned(tz.clone()).ok().map(|z| z.timestamp().as_second())
    }

    /// Wrong codes as a [`Limit`]: waits from `code_slowdown_after`,
    /// doubling up to `code_max_wait_seconds`; at `code_lockout_after` the
    /// code step locks (until the emailed link), which the credential records.
    pub fn code_limit(&self) -> Limit {
        Limit {
            // Consecutive wrong codes count until a right one, however far apart.
            window_seconds: i64::MAX / 4,
            slowdown_after: self.code_slowdown_after,
            first_wait_seconds: self.code_slowdown_first_seconds,
            max_wait_seconds: self.code_max_wait_seconds,
            lockout_after: self.code_lockout_after,
            lockout_seconds: self.code_max_wait_seconds,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolmentPurpose {
    /// "Ügyfélkapu+ igénylése": turning two-step login on.
    Setup,
    /// "Ügyfélkapu+ beállítás másik eszközre": moving to a new device.
    DeviceChange,
}

impl EnrolmentPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrolmentPurpose::Setup => "setup",
            EnrolmentPurpose::DeviceChange => "device_change",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "device_change" { EnrolmentPurpose::DeviceChange } else { EnrolmentPurpose::Setup }
    }
}

/// The active TOTP credential as stored (the key still sealed).
#[derive(Debug, Clone)]
pub struct StoredCredential {
    pub account_id: AccountId,
    pub secret_sealed: Vec<u8>,
    pub algorithm: String,
    pub digits: i64,
    pub period: i64,
    pub revocation_hash: String,
    /// The newest accepted time step (-1: none yet).
    pub last_used_step: i64,
    pub failed_codes: i64,
    pub code_blocked_until: UnixTime,
    pub code_locked: bool,
    pub enabled_at: UnixTime,
}

/// A set-up in progress.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub account_id: AccountId,
    pub purpose: EnrolmentPurpose,
    pub secret_sealed: Vec<u8>,
    /// Set once password and code were right; the step of that code.
    pub confirmed_step: Option<i64>,
    pub revocation_sealed: Option<Vec<u8>>,
    pub revocation_hash: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// After the end of one-step login: finished with only a password, it
    /// waits since then for the mailed confirmation (or the office).
    pub awaiting_since: Option<UnixTime>,
}

/// Password right, code still to come.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub id_hash: String,
    pub account_id: AccountId,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub client_addr: Option<String>,
}

/// "Törlőkód": 16 random digits, shown once in groups of four. It cancels
/// two-step login when the phone is lost, so it gets 53 bits (the real
/// service's 8 digits give 27), is stored only as an Argon2id hash and may be
/// tried 5 times per 15 minutes per account.
#[derive(Clone, PartialEq, Eq)]
pub struct RevocationCode(String);

impl std::fmt::Debug for RevocationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevocationCode(***)")
    }
}

impl RevocationCode {
    pub const DIGITS: usize = 16;

    pub fn generate() -> Self {
        // Rejection sampling keeps every 16-digit value equally likely.
        const RANGE: u64 = 10_000_000_000_000_000;
        const LIMIT: u64 = u64::MAX - (u64::MAX % RANGE);
        loop {
            let v = OsRng.next_u64();
            if v < LIMIT {
                return Self(format!("{:016}", v % RANGE));
            }
        }
    }

    /// Accepts spaces and hyphens between the digits, as people copy them.
    pub fn parse(input: &str) -> Option<Self> {
        // As shown and saved ("1234 5678 9012 3456"), copied with a line
        // break, or typed with dashes.
        let digits: String = input.chars().filter(|c| !(c.is_whitespace() || *c == '-')).collect();
        (digits.len() == Self::DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "1234 5678 9012 3456".
    pub fn grouped(&self) -> String {
        self.0.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn revocation_codes_are_16_digits_and_parse_back() {
        let c = RevocationCode::generate();
        assert_eq!(c.as_str().len(), 16);
        assert_eq!(c.grouped().len(), 19);
        assert_eq!(RevocationCode::parse(&c.grouped()), Some(c.clone()));
        assert_ne!(c, RevocationCode::generate());
        assert_eq!(RevocationCode::parse(&format!("{}\r\n", c.grouped().replace(' ', "-"))), Some(c.clone()));
        assert_eq!(RevocationCode::parse("1234 5678"), None);
        assert_eq!(RevocationCode::parse("1234-5678-9012-345x"), None);
    }

    #[test]
    fn waits_double_from_the_first_and_are_capped() {
        let c = TwoStepConfig::default().code_limit();
        assert_eq!(c.wait_after(4), 0);
        assert_eq!(c.wait_after(5), 60);
        assert_eq!(c.wait_after(6), 120);
        assert_eq!(c.wait_after(8), 480);
        assert_eq!(c.wait_after(19), 900, "the 19th wrong code once meant a wait of 11 days");
    }

    #[test]
    fn the_cut_off_is_midnight_after_the_last_day() {
        let c = TwoStepConfig { legacy_login_until: Some("2025-01-16".into()), ..Default::default() };
        let tz = jiff::tz::TimeZone::get("Europe/Budapest").unwrap();
        let end = c.one_step_ends_at(&tz).unwrap();
        let expected: jiff::Timestamp = "2025-01-16T23:00:00Z".parse().unwrap();
        assert_eq!(end, expected.as_second());
        assert!(
            TwoStepConfig { legacy_login_until: Some("2025-13-01".into()), ..Default::default() }.validate().is_err()
        );
    }
}
