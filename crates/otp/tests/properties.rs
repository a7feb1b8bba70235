//! Property tests: round trips of base32 and `otpauth://` URIs, agreement
//! between TOTP and HOTP, and "never panics" on arbitrary input to the
//! parsers that read untrusted text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otp::{Algorithm, Code, Digits, Hotp, Kind, OtpAuthUri, Period, Secret, Totp, base32};
use proptest::prelude::*;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)]
}

fn digits() -> impl Strategy<Value = Digits> {
    (Digits::MIN..=Digits::MAX).prop_map(|d| Digits::new(d).unwrap())
}

fn secret() -> impl Strategy<Value = Secret> {
    proptest::collection::vec(any::<u8>(), 16..=64).prop_map(|b| Secret::from_bytes(b).unwrap())
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (1u64..=300).prop_map(|p| Kind::Totp { period: Period::new(p).unwrap() }),
        any::<u64>().prop_map(|counter| Kind::Hotp { counter }),
    ]
}

/// The characters the URI parser refuses in issuer and account names
/// (control and bidi formatting characters, see `otp::uri`).
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Characters for issuer and account names, weighted towards the ones that
/// stress the encoder: URI delimiters, `+`, `%`, spaces, Hungarian letters,
/// other scripts, emoji, and anything else Unicode allows.
fn name_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        3 => proptest::sample::select(
            " +%&=?#/:@.-_~!$'()*,;[]\"<>\\^`{|}".chars().collect::<Vec<_>>()
        ),
        2 => proptest::sample::select("áéíóöőúüűÁÉÍÓÖŐÚÜŰß€漢字🙂".chars().collect::<Vec<_>>()),
        1 => any::<char>().prop_filter("forbidden in names", |&c| !forbidden(c)),
    ]
}

fn name(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(name_char(), 1..=max).prop_map(|v| v.into_iter().collect())
}

/// Only values that the key URI format can represent (see the `otp::uri`
/// module documentation): a non-empty issuer; a non-empty account that does
/// not start with a space (parsers strip spaces after `issuer:`); and a
/// `:` in the account only when the label carries an issuer prefix, which
/// it does when there is an issuer without a `:` of its own.
fn representable_uri() -> impl Strategy<Value = OtpAuthUri> {
    (kind(), proptest::option::of(name(16)), name(24), secret(), algorithm(), digits()).prop_map(
        |(kind, issuer, account, secret, algorithm, digits)| {
            let has_prefix = issuer.as_deref().is_some_and(|i| !i.contains(':'));
            let mut account = account;
            if !has_prefix {
                account = account.replace(':', "_");
            }
            if account.starts_with(' ') {
                account.replace_range(..1, "_");
            }
            OtpAuthUri { kind, issuer, account, secret, algorithm, digits }
        },
    )
}

proptest! {
    #[test]
    fn uri_round_trip(uri in representable_uri()) {
        let text = uri.to_uri();
        let parsed = OtpAuthUri::parse(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&uri), "{}", &*text);
        // Building again gives the same text.
        prop_assert_eq!(&*parsed.unwrap().to_uri(), &*text);
    }

    #[test]
    fn uri_is_plain_ascii_with_fixed_parameter_order(uri in representable_uri()) {
        let text = uri.to_uri();
        prop_assert!(text.is_ascii());
        prop_assert!(!text.contains(' ') && !text.contains('#'));
        let query = text.split_once('?').unwrap().1;
        let keys: Vec<&str> = query.split('&').map(|p| p.split_once('=').unwrap().0).collect();
        let last = match uri.kind { Kind::Totp { .. } => "period", Kind::Hotp { .. } => "counter" };
        let expected: Vec<&str> = if uri.issuer.is_some() {
            vec!["secret", "issuer", "algorithm", "digits", last]
        } else {
            vec!["secret", "algorithm", "digits", last]
        };
        prop_assert_eq!(keys, expected);
    }

    #[test]
    fn uri_parse_never_panics(s in any::<String>()) {
        let _ = OtpAuthUri::parse(&s);
        let _ = OtpAuthUri::parse(&format!("otpauth://totp/{s}"));
        let _ = OtpAuthUri::parse(&format!("otpauth://hotp/a?secret=GEZDGNBV&{s}"));
    }

    #[test]
    fn base32_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let plain = base32::encode(&bytes);
        prop_assert_eq!(base32::decode(&plain), Ok(bytes.clone()));
        prop_assert_eq!(base32::decode(&base32::encode_grouped(&bytes)), Ok(bytes.clone()));
        prop_assert_eq!(base32::decode(&plain.to_lowercase()), Ok(bytes.clone()));
        let padding = "=".repeat((8 - plain.len() % 8) % 8);
        prop_assert_eq!(base32::decode(&format!("{plain}{padding}")), Ok(bytes));
    }

    #[test]
    fn base32_grouping_shape(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let grouped = base32::encode_grouped(&bytes);
        let groups: Vec<&str> = grouped.split(' ').collect();
        if !bytes.is_empty() {
            let (last, full) = groups.split_last().unwrap();
            prop_assert!(full.iter().all(|g| g.len() == 4));
            prop_assert!((1..=4).contains(&last.len()));
        }
        prop_assert_eq!(grouped.replace(' ', ""), base32::encode(&bytes));
    }

    /// Decoding is canonical: anything accepted re-encodes to the same
    /// letters, so two different texts never yield the same key.
    #[test]
    fn base32_decode_is_canonical(s in "[A-Za-z2-7 =\t01]{0,40}") {
        if let Ok(bytes) = base32::decode(&s) {
            let normalised: String = s
                .chars()
                .filter(|c| !matches!(c, ' ' | '\t' | '='))
                .map(|c| c.to_ascii_uppercase())
                .collect();
            prop_assert_eq!(base32::encode(&bytes), normalised);
        }
    }

    #[test]
    fn base32_decode_never_panics(s in any::<String>()) {
        let _ = base32::decode(&s);
    }

    #[test]
    fn code_parse_never_panics(s in any::<String>(), d in digits()) {
        if let Ok(code) = Code::parse(&s, d) {
            prop_assert_eq!(code.to_string().len(), usize::from(d.get()));
        }
    }

    /// TOTP is HOTP of the time step, and its own codes verify at their own
    /// time (at that step, or by chance at the next one with the same code).
    #[test]
    fn totp_agrees_with_hotp_and_verifies(
        secret in secret(),
        alg in algorithm(),
        digits in digits(),
        period in 1u64..=300,
        now in any::<u64>(),
    ) {
        let totp = Totp::new(secret.clone(), alg, digits, Period::new(period).unwrap());
        let hotp = Hotp::new(secret, alg, digits);
        let step = now / period;
        let code = totp.code_at(now);
        prop_assert_eq!(&code, &hotp.code_at(step));
        prop_assert_eq!(code.len(), usize::from(digits.get()));
        prop_assert_eq!(totp.verify(&code, now, 0), Some(step));
        let matched = totp.verify(&code, now, 1).unwrap();
        prop_assert!(matched == step || matched == step.saturating_add(1));
        prop_assert_eq!(totp.verify_after(&code, now, 1, Some(matched)), None);
    }
}
