//! andOTP's plain-text backup (`otp_accounts.json`): a JSON array with one
//! object per account, as the app documents and writes it:
//!
//! ```json
//! [{"secret": "JBSWY3DPEHPK3PXP", "issuer": "kapu", "label": "imre", "digits": 6, "type": "TOTP",
//!   "algorithm": "SHA1", "thumbnail": "Default", "last_used": 1700000000000, "used_frequency": 0,
//!   "period": 30, "tags": []},
//!  {"secret": "...", "issuer": "Bank", "label": "bob", "digits": 6, "type": "HOTP", "counter": 3, ...}]
//! ```
//!
//! `type` is `TOTP`, `HOTP`, `STEAM` or `MOTP` (the last two are skipped).
//! Old versions put the issuer into the label (`"kapu - imre"` or
//! `"kapu:imre"`) and leave `issuer` out; a `kapu:` prefix is split off.
//! andOTP's encrypted backups (`.json.aes`) are not read.

use otp::{Algorithm, Kind, Period, Secret};

use super::aegis::Entries;
use super::{ImportError, digits_of, label_of};
use crate::account::{Account, Color};

/// Whether `value` is an andOTP backup: an array of objects with `secret`
/// and `type`.
#[must_use]
pub fn is_andotp(value: &serde_json::Value) -> bool {
    value.as_array().is_some_and(|list| {
        !list.is_empty() && list.iter().all(|e| e.get("secret").is_some() && e.get("type").is_some())
    })
}

/// Reads the accounts of an andOTP backup.
pub fn parse(value: &serde_json::Value) -> Result<Entries, ImportError> {
    let list =
        value.as_array().ok_or_else(|| ImportError::Other("the andOTP backup is malformed: not a list".to_owned()))?;
    Ok(list.iter().map(entry).collect())
}

fn entry(e: &serde_json::Value) -> Result<Account, (String, String)> {
    let text = |k: &str| e.get(k).and_then(serde_json::Value::as_str).unwrap_or("").trim().to_owned();
    let number = |k: &str| e.get(k).and_then(serde_json::Value::as_u64);
    let (mut issuer, mut account) = (text("issuer"), text("label"));
    if issuer.is_empty()
        && let Some((prefix, rest)) = account.split_once(':')
    {
        (issuer, account) = (prefix.trim().to_owned(), rest.trim().to_owned());
    }
    let label = label_of(&issuer, &account);
    let fail = |reason: String| (label.clone(), reason);
    let kind = match text("type").to_ascii_uppercase().as_str() {
        "TOTP" => Kind::Totp { period: Period::new(number("period").unwrap_or(30)).map_err(|e| fail(e.to_string()))? },
        "HOTP" => Kind::Hotp { counter: number("counter").unwrap_or(0) },
        other => return Err(fail(format!("{} codes are not supported", other.to_ascii_lowercase()))),
    };
    let algorithm = match text("algorithm").as_str() {
        "" => Algorithm::Sha1,
        a => a.parse::<Algorithm>().map_err(|e| fail(e.to_string()))?,
    };
    let digits = digits_of(number("digits")).map_err(fail)?;
    let secret = Secret::from_base32(&text("secret")).map_err(|e| fail(e.to_string()))?;
    Account::new(issuer, account, secret, kind, algorithm, digits, Color::default()).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_entries_and_skips_steam() {
        let v = json!([
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "kapu", "label": "imre", "digits": 6, "type": "TOTP",
             "algorithm": "SHA1", "thumbnail": "Default", "last_used": 1_700_000_000_000u64, "used_frequency": 0, "period": 30, "tags": []},
            {"secret": "GEZDGNBVGY3TQOJQ", "label": "Bank:bob", "digits": 6, "type": "HOTP", "counter": 3, "algorithm": "SHA1"},
            {"secret": "MFRGGZDFMZTWQ2LK", "issuer": "Steam", "label": "gamer", "digits": 5, "type": "STEAM", "algorithm": "SHA1", "period": 30}
        ]);
        assert!(is_andotp(&v));
        assert!(!is_andotp(&json!([1, 2])));
        let entries = parse(&v).unwrap();
        assert_eq!(entries[0].as_ref().unwrap().label(), "kapu:imre");
        let b = entries[1].as_ref().unwrap();
        assert_eq!((b.label(), b.kind), ("Bank:bob".to_owned(), Kind::Hotp { counter: 3 }));
        assert_eq!(entries[2].as_ref().unwrap_err().1, "steam codes are not supported");
    }
}
