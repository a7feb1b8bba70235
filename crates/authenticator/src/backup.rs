//! Our backup format, shared with the browser authenticator page: plain JSON,
//! and the same JSON inside a passphrase-encrypted file ([`crate::envelope`]).
//!
//! ```json
//! {"format": "kapu-authenticator", "version": 1, "accounts": [
//!   {"issuer": "kapu", "account": "imre", "secret": "JBSWY3DPEHPK3PXP", "type": "totp",
//!    "algorithm": "SHA1", "digits": 6, "period": 30, "counter": 0, "color": "blue"}
//! ]}
//! ```
//!
//! Writing: every field of every account is present (`period` 30 for HOTP
//! and `counter` 0 for TOTP are written too, so readers never have to guess);
//! `secret` is upper-case base32 without padding or spaces.
//!
//! Reading is lenient where a reader can safely fill in (missing `type`,
//! `algorithm`, `digits`, `period`, `counter` take the otpauth defaults; an
//! unknown `color` becomes blue; unknown fields are ignored; the secret may
//! be lower case, spaced or padded) and strict where guessing would give
//! wrong codes (a bad secret, digits, period or algorithm is an error naming
//! the account).

use otp::{Algorithm, Digits, Kind, Period, Secret};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::account::{Account, Color};
use crate::envelope;

/// The `format` value of a plain backup.
pub const FORMAT: &str = "kapu-authenticator";
/// The `version` this code writes and reads.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u32,
    accounts: Vec<RecordOut<'a>>,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    issuer: &'a str,
    account: &'a str,
    secret: Zeroizing<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    algorithm: &'static str,
    digits: u8,
    period: u64,
    counter: u64,
    color: &'static str,
}

#[derive(Deserialize)]
struct RecordIn {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    account: String,
    secret: Zeroizing<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default)]
    digits: Option<u64>,
    #[serde(default)]
    period: Option<u64>,
    #[serde(default)]
    counter: Option<u64>,
    #[serde(default)]
    color: Option<String>,
}

/// Why a backup could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// Not JSON, or cut short.
    #[error("not valid JSON{}", if *.truncated { " (the file is incomplete)" } else { "" })]
    Json {
        /// The text ended early.
        truncated: bool,
    },
    /// JSON, but not ours.
    #[error("not a kapu authenticator backup (no \"format\": \"kapu-authenticator\")")]
    NotOurs,
    /// A newer version.
    #[error("the backup has version {0}, this kapu reads version 1: update kapu")]
    UnsupportedVersion(u64),
    /// The top level is ours, but its shape is not.
    #[error("the backup is malformed: {0}")]
    Malformed(String),
    /// One account is wrong; nothing is imported.
    #[error("account {number} ({}): {}", crate::escape::Safe(.name), crate::escape::Safe(.reason))]
    Account {
        /// 1-based position in the file.
        number: usize,
        /// Its issuer:account, for finding it.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// The plain JSON of `accounts`. Contains the secrets: wiped when dropped.
pub fn to_json(accounts: &[Account]) -> Result<Zeroizing<Vec<u8>>, envelope::SealError> {
    let file = FileOut {
        format: FORMAT,
        version: VERSION,
        accounts: accounts
            .iter()
            .map(|a| {
                let (kind, period, counter) = match a.kind {
                    Kind::Totp { period } => ("totp", period.seconds(), 0),
                    Kind::Hotp { counter } => ("hotp", Period::DEFAULT.seconds(), counter),
                };
                RecordOut {
                    issuer: &a.issuer,
                    account: &a.account,
                    secret: a.secret.to_base32(),
                    kind,
                    algorithm: a.algorithm.as_str(),
                    digits: a.digits.get(),
                    period,
                    counter,
                    color: a.color.as_str(),
                }
            })
            .collect(),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(256 + 256 * accounts.len()));
    serde_json::to_writer_pretty(&mut *out, &file).map_err(|_| envelope::SealError::Json)?;
    out.push(b'\n');
    Ok(out)
}

/// Whether `value` claims to be a plain backup.
#[must_use]
pub fn is_plain(value: &serde_json::Value) -> bool {
    value.get("format").and_then(serde_json::Value::as_str) == Some(FORMAT)
}

/// Reads a plain backup. All or nothing: one bad account fails the whole
/// file, so that a restore never half happens.
pub fn from_json(bytes: &[u8]) -> Result<Vec<Account>, BackupError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| BackupError::Json { truncated: e.is_eof() })?;
    from_value(value)
}

/// [`from_json`] on already parsed JSON.
pub fn from_value(value: serde_json::Value) -> Result<Vec<Account>, BackupError> {
    entries(value)?
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|(name, reason)| BackupError::Account { number: i + 1, name, reason }))
        .collect()
}

/// One account of a backup that cannot be used: its name (as in the file,
/// unescaped) and why.
pub type BadEntry = (String, String);

/// Reads a backup entry by entry, for imports: each account, or why it
/// cannot be used. Only a file that is not a backup at all is an error.
pub fn entries(value: serde_json::Value) -> Result<Vec<Result<Account, BadEntry>>, BackupError> {
    if !is_plain(&value) {
        return Err(BackupError::NotOurs);
    }
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => return Err(BackupError::UnsupportedVersion(v)),
        None => return Err(BackupError::Malformed("no version".to_owned())),
    }
    let Some(list) = value.get("accounts").and_then(serde_json::Value::as_array) else {
        return Err(BackupError::Malformed("no list of accounts".to_owned()));
    };
    Ok(list
        .iter()
        .map(|entry| {
            let name = entry_name(entry);
            let record: RecordIn = serde_json::from_value(entry.clone()).map_err(|e| (name.clone(), e.to_string()))?;
            record_to_account(record).map_err(|reason| (name, reason))
        })
        .collect())
}

fn entry_name(entry: &serde_json::Value) -> String {
    let field = |k: &str| entry.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
    let (issuer, account) = (field("issuer"), field("account"));
    if issuer.is_empty() { account } else { format!("{issuer}:{account}") }
}

fn record_to_account(r: RecordIn) -> Result<Account, String> {
    let secret = Secret::from_base32(&r.secret).map_err(|e| e.to_string())?;
    let algorithm = match r.algorithm.as_deref() {
        None => Algorithm::Sha1,
        Some(a) => a.parse::<Algorithm>().map_err(|e| e.to_string())?,
    };
    let digits = match r.digits {
        None => Digits::SIX,
        Some(d) => u8::try_from(d)
            .ok()
            .and_then(|d| Digits::new(d).ok())
            .ok_or_else(|| format!("a code must have 6, 7 or 8 digits, not {d}"))?,
    };
    let kind = match r.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("totp") => Kind::Totp { period: Period::new(r.period.unwrap_or(30)).map_err(|e| e.to_string())? },
        Some("hotp") => Kind::Hotp { counter: r.counter.unwrap_or(0) },
        Some(other) => return Err(format!("unsupported type {other:?}: expected totp or hotp")),
    };
    // An unknown colour is cosmetic: keep the account, make it blue.
    let color = r.color.and_then(|c| c.parse::<Color>().ok()).unwrap_or_default();
    Account::new(r.issuer, r.account, secret, kind, algorithm, digits, color).map_err(|e| e.to_string())
}

/// An encrypted backup: the plain JSON sealed with a new key from
/// `passphrase`.
pub fn to_encrypted(
    accounts: &[Account],
    passphrase: &str,
    params: envelope::KdfParams,
) -> Result<Vec<u8>, envelope::SealError> {
    envelope::SealingKey::new(passphrase, params)?.seal(&to_json(accounts)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::test_support::totp;

    #[test]
    fn writes_exactly_the_shared_format() {
        let mut hotp = totp("", "hotp-only", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        hotp.kind = Kind::Hotp { counter: 7 };
        hotp.algorithm = Algorithm::Sha512;
        hotp.digits = Digits::EIGHT;
        hotp.color = Color::Grey;
        let json = to_json(&[totp("kapu", "imre", "jbsw y3dp ehpk 3pxp"), hotp]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"format": "kapu-authenticator", "version": 1, "accounts": [
                {"issuer": "kapu", "account": "imre", "secret": "JBSWY3DPEHPK3PXP", "type": "totp",
                 "algorithm": "SHA1", "digits": 6, "period": 30, "counter": 0, "color": "blue"},
                {"issuer": "", "account": "hotp-only", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "type": "hotp",
                 "algorithm": "SHA512", "digits": 8, "period": 30, "counter": 7, "color": "grey"}
            ]})
        );
        assert_eq!(
            from_json(&json).unwrap(),
            vec![totp("kapu", "imre", "JBSWY3DPEHPK3PXP"), {
                let mut h = totp("", "hotp-only", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
                h.kind = Kind::Hotp { counter: 7 };
                h.algorithm = Algorithm::Sha512;
                h.digits = Digits::EIGHT;
                h.color = Color::Grey;
                h
            }]
        );
    }

    #[test]
    fn reads_leniently_where_safe() {
        let json = br#"{"format": "kapu-authenticator", "version": 1, "future": true, "accounts": [
            {"account": "a", "secret": "jbswy3dpehpk3pxp", "color": "pink", "icon": "x"},
            {"issuer": "b", "secret": "JBSWY3DPEHPK3PXP", "type": "HOTP"}
        ]}"#;
        let list = from_json(json).unwrap();
        assert_eq!(list[0].color, Color::Blue);
        assert_eq!(list[0].kind, Kind::Totp { period: Period::DEFAULT });
        assert_eq!(list[0].issuer, "");
        assert_eq!(list[1].kind, Kind::Hotp { counter: 0 });
    }

    #[test]
    fn rejects_what_would_give_wrong_codes() {
        let one = |rec: &str| {
            from_json(format!(r#"{{"format": "kapu-authenticator", "version": 1, "accounts": [{rec}]}}"#).as_bytes())
                .unwrap_err()
                .to_string()
        };
        let s = r#""secret": "JBSWY3DPEHPK3PXP""#;
        assert!(
            one(r#"{"issuer": "x", "account": "y", "secret": "JBSW1"}"#)
                .starts_with("account 1 (x:y): the secret key is not valid base32")
        );
        assert!(one(&format!(r#"{{"account": "y", {s}, "digits": 10}}"#)).contains("6, 7 or 8 digits, not 10"));
        assert!(one(&format!(r#"{{"account": "y", {s}, "period": 0}}"#)).contains("at least 1 second"));
        assert!(one(&format!(r#"{{"account": "y", {s}, "algorithm": "MD5"}}"#)).contains("SHA1, SHA256 or SHA512"));
        assert!(one(&format!(r#"{{"account": "y", {s}, "type": "steam"}}"#)).contains("unsupported type"));
        assert!(one(&format!(r#"{{"account": "y\u001b[2J", {s}}}"#)).contains("forbidden character"));
        assert_eq!(
            from_json(br#"{"format": "kapu-authenticator", "version": 2, "accounts": []}"#),
            Err(BackupError::UnsupportedVersion(2))
        );
        assert_eq!(from_json(br#"{"format": "kapu-authenticator", "vers"#), Err(BackupError::Json { truncated: true }));
        assert_eq!(from_json(br#"{"version": 1, "accounts": []}"#), Err(BackupError::NotOurs));
    }
}
