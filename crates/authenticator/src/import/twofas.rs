//! 2FAS Authenticator's backup file (`.2fas`), unencrypted, as the app
//! writes it (and as the projects that read it document it):
//!
//! ```json
//! {"services": [
//!    {"name": "kapu", "secret": "JBSWY3DPEHPK3PXP",
//!     "otp": {"label": "kapu:imre", "account": "imre", "issuer": "kapu", "digits": 6, "period": 30,
//!             "algorithm": "SHA1", "tokenType": "TOTP", "counter": 0, "source": "Link"},
//!     "order": {"position": 0}, "icon": {...}}],
//!  "groups": [], "updatedAt": 1704874073731, "schemaVersion": 4, "appVersionCode": 5000000}
//! ```
//!
//! `tokenType` is `TOTP`, `HOTP` or `STEAM` (skipped). The service name is
//! `otp.issuer`, else `name`. A backup protected with a password has
//! `servicesEncrypted` instead of the accounts: we ask for a backup made
//! without one rather than guess at 2FAS's key derivation.

use otp::{Algorithm, Kind, Period, Secret};

use super::aegis::Entries;
use super::{ImportError, digits_of, label_of};
use crate::account::{Account, Color};

/// Whether `value` is a 2FAS backup (`services` or `servicesEncrypted`,
/// and `schemaVersion`).
#[must_use]
pub fn is_twofas(value: &serde_json::Value) -> bool {
    value.get("schemaVersion").is_some()
        && (value.get("services").is_some() || value.get("servicesEncrypted").is_some())
}

/// Reads the accounts of a 2FAS backup.
pub fn parse(value: &serde_json::Value) -> Result<Entries, ImportError> {
    if value.get("servicesEncrypted").and_then(serde_json::Value::as_str).is_some_and(|s| !s.is_empty()) {
        return Err(ImportError::Other(
            "the 2FAS backup is protected with a password: in 2FAS, export a backup without a password \
             (and delete it after the import)"
                .to_owned(),
        ));
    }
    let services = value
        .get("services")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| ImportError::Other("the 2FAS backup is malformed: no list of services".to_owned()))?;
    Ok(services.iter().map(service).collect())
}

fn service(s: &serde_json::Value) -> Result<Account, (String, String)> {
    let text = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_str).unwrap_or("").trim().to_owned();
    let otp = s.get("otp");
    let field = |k: &str| otp.and_then(|o| o.get(k));
    let number = |k: &str| field(k).and_then(serde_json::Value::as_u64);
    let issuer = Some(text(field("issuer"))).filter(|i| !i.is_empty()).unwrap_or_else(|| text(s.get("name")));
    let account = text(field("account"));
    let label = label_of(&issuer, &account);
    let fail = |reason: String| (label.clone(), reason);
    let kind = match text(field("tokenType")).to_ascii_uppercase().as_str() {
        "" | "TOTP" => {
            Kind::Totp { period: Period::new(number("period").unwrap_or(30)).map_err(|e| fail(e.to_string()))? }
        }
        "HOTP" => Kind::Hotp { counter: number("counter").unwrap_or(0) },
        other => return Err(fail(format!("{} codes are not supported", other.to_ascii_lowercase()))),
    };
    let algorithm = match text(field("algorithm")).as_str() {
        "" => Algorithm::Sha1,
        a => a.parse::<Algorithm>().map_err(|e| fail(e.to_string()))?,
    };
    let digits = digits_of(number("digits")).map_err(fail)?;
    let secret = Secret::from_base32(&text(s.get("secret"))).map_err(|e| fail(e.to_string()))?;
    Account::new(issuer, account, secret, kind, algorithm, digits, Color::default()).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use otp::Digits;
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_services_and_skips_steam() {
        let v = json!({"services": [
            {"name": "kapu", "secret": "JBSWY3DPEHPK3PXP", "updatedAt": 1,
             "otp": {"label": "kapu:imre", "account": "imre", "issuer": "kapu", "digits": 6, "period": 30,
                     "algorithm": "SHA1", "tokenType": "TOTP", "source": "Link"},
             "order": {"position": 0}},
            {"name": "Bank", "secret": "GEZDGNBVGY3TQOJQ",
             "otp": {"account": "bob", "digits": 8, "algorithm": "SHA256", "tokenType": "HOTP", "counter": 5}},
            {"name": "Steam", "secret": "MFRGGZDFMZTWQ2LK", "otp": {"account": "gamer", "digits": 5, "tokenType": "STEAM"}}
        ], "groups": [], "schemaVersion": 4, "appVersionCode": 5000000});
        assert!(is_twofas(&v));
        let entries = parse(&v).unwrap();
        let a = entries[0].as_ref().unwrap();
        assert_eq!((a.label(), a.kind), ("kapu:imre".to_owned(), Kind::Totp { period: Period::DEFAULT }));
        let b = entries[1].as_ref().unwrap();
        assert_eq!(
            (b.label(), b.kind, b.digits, b.algorithm),
            ("Bank:bob".to_owned(), Kind::Hotp { counter: 5 }, Digits::EIGHT, Algorithm::Sha256)
        );
        assert_eq!(
            entries[2].as_ref().unwrap_err(),
            &("Steam:gamer".to_owned(), "steam codes are not supported".to_owned())
        );
        let locked = json!({"services": [], "servicesEncrypted": "abc:def:ghi", "schemaVersion": 4});
        assert!(parse(&locked).unwrap_err().to_string().contains("without a password"));
    }
}
