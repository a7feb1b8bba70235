//! The test vectors shared with the browser page's JavaScript
//! (tests/vectors.json; browser/tests/authenticator-modules.test.mjs reads
//! the same file): base32 keys, otpauth:// URIs, HOTP and TOTP codes. The two
//! implementations must give the same answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otp::{Algorithm, Digits, Hotp, Kind, OtpAuthUri, Period, Secret, Totp};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors.json")).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn base32() {
    for v in vectors()["base32"].as_array().unwrap() {
        let text = v["text"].as_str().unwrap();
        // As a key: an empty one is refused too.
        match Secret::from_base32(text) {
            Ok(secret) => assert_eq!(Some(hex(secret.expose_bytes()).as_str()), v["hex"].as_str(), "{text:?}"),
            Err(e) => assert_eq!(v["error"], true, "{text:?}: {e}"),
        }
    }
}

#[test]
fn uris() {
    for v in vectors()["uris"].as_array().unwrap() {
        let text = v["uri"].as_str().unwrap();
        match OtpAuthUri::parse(text) {
            Ok(uri) => {
                let ok = &v["ok"];
                assert!(ok.is_object(), "{text} should be refused");
                let (kind, period, counter) = match uri.kind {
                    Kind::Totp { period } => ("totp", period.seconds(), 0),
                    Kind::Hotp { counter } => ("hotp", 30, counter),
                };
                assert_eq!(ok["type"], kind, "{text}");
                assert_eq!(ok["issuer"], uri.issuer.unwrap_or_default(), "{text}");
                assert_eq!(ok["account"], uri.account, "{text}");
                assert_eq!(ok["secret"], uri.secret.to_base32().as_str(), "{text}");
                assert_eq!(ok["algorithm"], uri.algorithm.as_str(), "{text}");
                assert_eq!(ok["digits"], uri.digits.get(), "{text}");
                assert_eq!(ok["period"], period, "{text}");
                assert_eq!(ok["counter"], counter, "{text}");
            }
            Err(e) => assert_eq!(v["error"], true, "{text}: {e}"),
        }
    }
}

fn params(v: &Value) -> (Secret, Algorithm, Digits) {
    (
        Secret::from_base32(v["secret"].as_str().unwrap()).unwrap(),
        v["algorithm"].as_str().unwrap().parse().unwrap(),
        Digits::new(u8::try_from(v["digits"].as_u64().unwrap()).unwrap()).unwrap(),
    )
}

#[test]
fn codes() {
    let all = vectors();
    for v in all["hotp"].as_array().unwrap() {
        let (secret, algorithm, digits) = params(v);
        assert_eq!(Hotp::new(secret, algorithm, digits).code_at(v["counter"].as_u64().unwrap()), v["code"], "{v}");
    }
    for v in all["totp"].as_array().unwrap() {
        let (secret, algorithm, digits) = params(v);
        let totp = Totp::new(secret, algorithm, digits, Period::new(v["period"].as_u64().unwrap()).unwrap());
        assert_eq!(totp.code_at(v["time"].as_u64().unwrap()), v["code"], "{v}");
    }
}
