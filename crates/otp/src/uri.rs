//! `otpauth://` URIs in Google Authenticator's "Key Uri Format", the text
//! inside the QR code a user scans to add an account to an authenticator:
//!
//! ```text
//! otpauth://totp/kapu:alice?secret=JBSWY3DPEHPK3PXP&issuer=kapu&algorithm=SHA1&digits=6&period=30
//! ```
//!
//! The server builds them; the terminal authenticator parses them (including
//! ones made by other services). Parsing follows what Google Authenticator
//! and Aegis accept, and is strict where leniency could hide a problem:
//!
//! * Unknown parameters are ignored (services add their own, like `image`).
//! * A known parameter given twice is an error, because two parsers that
//!   pick different copies would disagree about the account.
//! * `issuer` parameter and label prefix: the parameter wins when both are
//!   present and non-empty; empty ones count as absent.
//! * Query values are form-decoded (`+` is a space); the label is
//!   path-decoded (`+` is a plus sign). Malformed `%` escapes and invalid
//!   UTF-8 are errors, not passed through.
//! * Issuer and account must not contain control characters or bidirectional
//!   formatting characters: these strings are printed by the terminal
//!   authenticator, where an escape sequence from a hostile QR code could
//!   rewrite the screen, and reordering marks could disguise one account as
//!   another.
//!
//! # What survives a round trip
//!
//! [`OtpAuthUri::to_uri`] followed by [`OtpAuthUri::parse`] gives back an
//! equal value when:
//! * the issuer, if any, is non-empty;
//! * the account is non-empty and does not start with a space (the format
//!   allows spaces after the `issuer:` prefix, so parsers strip them);
//! * the account contains no `:` unless the label gets an issuer prefix,
//!   i.e. unless there is an issuer without a `:` of its own (the first `:`
//!   of the label separates issuer from account; the builder leaves the
//!   prefix out when the issuer itself contains a `:` and relies on the
//!   `issuer` parameter alone);
//! * neither contains the forbidden characters above.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::base32::{self, Base32Error};
use crate::hotp::Hotp;
use crate::params::{Algorithm, Digits, Period, shorten};
use crate::secret::Secret;
use crate::totp::Totp;

/// Characters left as they are in the label: RFC 3986 unreserved ones and
/// `@`, which Google's own examples leave unescaped in e-mail addresses.
const LABEL_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'@');

/// Characters left as they are in query values: RFC 3986 unreserved only, so
/// a space becomes `%20` (not `+`, which some apps would show literally).
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// TOTP or HOTP, with the parameter only that kind has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Time-based; `period` defaults to 30 seconds.
    Totp {
        /// The time step.
        period: Period,
    },
    /// Counter-based; the URI must carry the initial counter.
    Hotp {
        /// The counter of the next code.
        counter: u64,
    },
}

/// A parsed or to-be-built `otpauth://` URI.
///
/// `Debug` does not show the secret; equality compares the secret in
/// constant time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtpAuthUri {
    /// TOTP (with period) or HOTP (with counter).
    pub kind: Kind,
    /// The service the account belongs to, e.g. "kapu". From the `issuer`
    /// parameter, or else from the label prefix.
    pub issuer: Option<String>,
    /// The account name, e.g. the user name or e-mail address.
    pub account: String,
    /// The shared key.
    pub secret: Secret,
    /// The HMAC hash; `SHA1` when the URI does not say.
    pub algorithm: Algorithm,
    /// The code length; 6 when the URI does not say.
    pub digits: Digits,
}

/// Why an `otpauth://` URI was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The text does not start with `otpauth://`.
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    /// The type after `otpauth://` is not `totp` or `hotp`.
    #[error("unknown OTP type {kind:?}: expected totp or hotp")]
    UnknownType {
        /// The rejected type (shortened if very long).
        kind: String,
    },
    /// There is no `secret` parameter, or it is empty.
    #[error("the URI has no secret key")]
    MissingSecret,
    /// The `secret` parameter is not valid base32.
    #[error("the secret key in the URI is not valid base32: {0}")]
    InvalidSecret(#[from] Base32Error),
    /// `digits` is not 6, 7 or 8.
    #[error("unsupported number of digits {value:?}: expected 6, 7 or 8")]
    InvalidDigits {
        /// The rejected value (shortened if very long).
        value: String,
    },
    /// `period` is not a whole number of seconds of at least 1.
    #[error("invalid period {value:?}: expected a whole number of seconds, at least 1")]
    InvalidPeriod {
        /// The rejected value (shortened if very long).
        value: String,
    },
    /// `algorithm` is not SHA1, SHA256 or SHA512.
    #[error("unsupported algorithm {value:?}: expected SHA1, SHA256 or SHA512")]
    InvalidAlgorithm {
        /// The rejected value (shortened if very long).
        value: String,
    },
    /// An `hotp` URI without the `counter` parameter.
    #[error("an HOTP URI must include the counter parameter")]
    MissingCounter,
    /// `counter` is not a whole number between 0 and 2^64 - 1.
    #[error("invalid counter {value:?}: expected a whole number")]
    InvalidCounter {
        /// The rejected value (shortened if very long).
        value: String,
    },
    /// The label names no account.
    #[error("the URI does not name an account")]
    EmptyAccount,
    /// A parameter that may appear once appeared more than once.
    #[error("the parameter {name:?} appears more than once")]
    DuplicateParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// A `%` not followed by two hex digits, or escapes that do not form
    /// UTF-8 text.
    #[error("the {component} is not valid percent-encoded UTF-8")]
    InvalidEncoding {
        /// Which part: "label", "issuer", "secret", ...
        component: &'static str,
    },
    /// A control or bidirectional-formatting character in the issuer or
    /// account (see the module documentation for why).
    #[error("the {component} contains the forbidden character U+{:04X}", u32::from(*character))]
    ForbiddenCharacter {
        /// "issuer" or "account".
        component: &'static str,
        /// The character.
        character: char,
    },
}

/// The known parameters, as they appear in the query (still encoded).
#[derive(Default)]
struct RawParams<'a> {
    secret: Option<&'a str>,
    issuer: Option<&'a str>,
    algorithm: Option<&'a str>,
    digits: Option<&'a str>,
    period: Option<&'a str>,
    counter: Option<&'a str>,
}

impl<'a> RawParams<'a> {
    fn from_query(query: &'a str) -> Result<Self, UriError> {
        let mut params = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, slot) = match key.to_ascii_lowercase().as_str() {
                "secret" => ("secret", &mut params.secret),
                "issuer" => ("issuer", &mut params.issuer),
                "algorithm" => ("algorithm", &mut params.algorithm),
                "digits" => ("digits", &mut params.digits),
                "period" => ("period", &mut params.period),
                "counter" => ("counter", &mut params.counter),
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(UriError::DuplicateParameter { name });
            }
        }
        Ok(params)
    }
}

/// Percent-decodes `raw`, refusing malformed escapes and invalid UTF-8.
/// With `plus_is_space` (query values), `+` means a space first.
fn decode_component(raw: &str, plus_is_space: bool, component: &'static str) -> Result<Zeroizing<String>, UriError> {
    let bytes = raw.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return Err(UriError::InvalidEncoding { component });
            }
        }
    }
    // Zeroizing because one of the decoded components is the secret.
    let spaced: Zeroizing<String>;
    let raw = if plus_is_space && raw.contains('+') {
        spaced = Zeroizing::new(raw.replace('+', " "));
        spaced.as_str()
    } else {
        raw
    };
    let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| UriError::InvalidEncoding { component })?;
    Ok(Zeroizing::new(decoded.into_owned()))
}

/// Control characters and the bidirectional formatting characters (ALM,
/// LRM, RLM, LRE..RLO, LRI..PDI).
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn check_text(text: &str, component: &'static str) -> Result<(), UriError> {
    match text.chars().find(|&c| is_forbidden(c)) {
        Some(character) => Err(UriError::ForbiddenCharacter { component, character }),
        None => Ok(()),
    }
}

/// A decimal number made of ASCII digits only (Rust's `parse` would also
/// take a leading `+`).
fn parse_decimal<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl OtpAuthUri {
    /// Parses an `otpauth://` URI; see the module documentation for the
    /// rules.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        const SCHEME: &str = "otpauth://";
        let rest = uri
            .get(..SCHEME.len())
            .filter(|s| s.eq_ignore_ascii_case(SCHEME))
            .and_then(|_| uri.get(SCHEME.len()..))
            .ok_or(UriError::NotOtpauth)?;
        // A fragment is not part of the key URI format; ignore it as RFC
        // 3986 says a fragment is not sent to the resource.
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (kind_text, label) = path.split_once('/').unwrap_or((path, ""));
        let params = RawParams::from_query(query)?;

        let kind = if kind_text.eq_ignore_ascii_case("totp") {
            let period = match params.period {
                None => Period::DEFAULT,
                Some(raw) => {
                    let text = decode_component(raw, true, "period")?;
                    parse_decimal(&text)
                        .and_then(|s| Period::new(s).ok())
                        .ok_or_else(|| UriError::InvalidPeriod { value: shorten(&text) })?
                }
            };
            Kind::Totp { period }
        } else if kind_text.eq_ignore_ascii_case("hotp") {
            let raw = params.counter.ok_or(UriError::MissingCounter)?;
            let text = decode_component(raw, true, "counter")?;
            let counter = parse_decimal(&text).ok_or_else(|| UriError::InvalidCounter { value: shorten(&text) })?;
            Kind::Hotp { counter }
        } else {
            return Err(UriError::UnknownType { kind: shorten(kind_text) });
        };

        let label = decode_component(label, false, "label")?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((issuer, account)) => (Some(issuer), account),
            None => (None, label.as_str()),
        };
        let account = account.trim_start_matches(' ');
        if account.is_empty() {
            return Err(UriError::EmptyAccount);
        }
        check_text(account, "account")?;
        let label_issuer = label_issuer.filter(|i| !i.is_empty());
        if let Some(issuer) = label_issuer {
            check_text(issuer, "issuer")?;
        }
        let param_issuer = match params.issuer {
            Some(raw) => Some(decode_component(raw, true, "issuer")?),
            None => None,
        };
        let param_issuer = param_issuer.as_ref().map(|s| s.as_str()).filter(|i| !i.is_empty());
        if let Some(issuer) = param_issuer {
            check_text(issuer, "issuer")?;
        }
        let issuer = param_issuer.or(label_issuer).map(str::to_owned);

        let secret_text = decode_component(params.secret.ok_or(UriError::MissingSecret)?, true, "secret")?;
        let secret = Secret::from_bytes(base32::decode(&secret_text)?).map_err(|_| UriError::MissingSecret)?;

        let algorithm = match params.algorithm {
            None => Algorithm::default(),
            Some(raw) => {
                let text = decode_component(raw, true, "algorithm")?;
                text.parse().map_err(|_| UriError::InvalidAlgorithm { value: shorten(&text) })?
            }
        };
        let digits = match params.digits {
            None => Digits::default(),
            Some(raw) => {
                let text = decode_component(raw, true, "digits")?;
                parse_decimal(&text)
                    .and_then(|d| Digits::new(d).ok())
                    .ok_or_else(|| UriError::InvalidDigits { value: shorten(&text) })?
            }
        };

        Ok(Self { kind, issuer, account: account.to_owned(), secret, algorithm, digits })
    }

    /// Builds the URI, with parameters in the order `secret`, `issuer`,
    /// `algorithm`, `digits`, then `period` (TOTP) or `counter` (HOTP), all
    /// of them explicit even when they equal the defaults.
    ///
    /// The label is `issuer:account` (or only the account when there is no
    /// issuer, or when the issuer contains a `:` and so cannot be a label
    /// prefix). Label and values are percent-encoded; spaces become `%20`.
    ///
    /// The result contains the secret: it is wiped when dropped, and it
    /// dereferences to `&str` for rendering into a QR code.
    #[must_use]
    pub fn to_uri(&self) -> Zeroizing<String> {
        let issuer = self.issuer.as_deref();
        let secret = self.secret.to_base32();
        // Reserve the worst case (every byte percent-encoded) up front, so
        // that the string never reallocates and leaves a stray copy of the
        // secret in freed memory.
        let issuer_len = issuer.map_or(0, str::len);
        let capacity = 128 + secret.len() + 3 * (2 * issuer_len + self.account.len());
        let mut uri = Zeroizing::new(String::with_capacity(capacity));

        uri.push_str("otpauth://");
        uri.push_str(match self.kind {
            Kind::Totp { .. } => "totp/",
            Kind::Hotp { .. } => "hotp/",
        });
        if let Some(prefix) = issuer.filter(|i| !i.contains(':')) {
            uri.extend(utf8_percent_encode(prefix, LABEL_SET));
            uri.push(':');
        }
        uri.extend(utf8_percent_encode(&self.account, LABEL_SET));
        uri.push_str("?secret=");
        uri.push_str(&secret);
        if let Some(issuer) = issuer {
            uri.push_str("&issuer=");
            uri.extend(utf8_percent_encode(issuer, QUERY_SET));
        }
        uri.push_str("&algorithm=");
        uri.push_str(self.algorithm.as_str());
        uri.push_str("&digits=");
        uri.push_str(&self.digits.to_string());
        match self.kind {
            Kind::Totp { period } => {
                uri.push_str("&period=");
                uri.push_str(&period.to_string());
            }
            Kind::Hotp { counter } => {
                uri.push_str("&counter=");
                uri.push_str(&counter.to_string());
            }
        }
        debug_assert!(uri.len() <= capacity);
        uri
    }

    /// A TOTP generator for this account, or `None` if it is HOTP.
    #[must_use]
    pub fn totp(&self) -> Option<Totp> {
        match self.kind {
            Kind::Totp { period } => Some(Totp::new(self.secret.clone(), self.algorithm, self.digits, period)),
            Kind::Hotp { .. } => None,
        }
    }

    /// An HOTP generator for this account, or `None` if it is TOTP. The
    /// counter to use next is in [`Kind::Hotp`].
    #[must_use]
    pub fn hotp(&self) -> Option<Hotp> {
        match self.kind {
            Kind::Hotp { .. } => Some(Hotp::new(self.secret.clone(), self.algorithm, self.digits)),
            Kind::Totp { .. } => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Totp { .. } => f.write_str("totp"),
            Self::Hotp { .. } => f.write_str("hotp"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(s: &str) -> OtpAuthUri {
        OtpAuthUri::parse(s).unwrap()
    }

    fn err(s: &str) -> UriError {
        OtpAuthUri::parse(s).unwrap_err()
    }

    const S: &str = "JBSWY3DPEHPK3PXP";

    #[test]
    fn google_minimal_example() {
        let u = parse("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example");
        assert_eq!(u.kind, Kind::Totp { period: Period::DEFAULT });
        assert_eq!(u.issuer.as_deref(), Some("Example"));
        assert_eq!(u.account, "alice@google.com");
        assert_eq!(u.secret.expose_bytes(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(u.algorithm, Algorithm::Sha1);
        assert_eq!(u.digits, Digits::SIX);
        assert_eq!(
            &*u.to_uri(),
            "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn google_full_example_round_trips_byte_for_byte() {
        let text = "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";
        let u = parse(text);
        assert_eq!(u.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(u.account, "john.doe@email.com");
        assert_eq!(u.secret.len(), 20);
        assert_eq!(u.kind, Kind::Totp { period: Period::new(30).unwrap() });
        assert_eq!(&*u.to_uri(), text);
    }

    #[test]
    fn server_format() {
        let u = OtpAuthUri {
            kind: Kind::Totp { period: Period::DEFAULT },
            issuer: Some("kapu".to_owned()),
            account: "kovacs.janos".to_owned(),
            secret: Secret::from_slice(b"12345678901234567890").unwrap(),
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
        };
        assert_eq!(
            &*u.to_uri(),
            "otpauth://totp/kapu:kovacs.janos?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=kapu&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(parse(&u.to_uri()), u);
        let totp = u.totp().unwrap();
        assert_eq!(totp.code_at(59), "287082");
        assert!(u.hotp().is_none());
    }

    #[test]
    fn defaults_and_label_without_issuer() {
        let u = parse(&format!("otpauth://totp/alice?secret={S}"));
        assert_eq!(u.issuer, None);
        assert_eq!(u.account, "alice");
        assert_eq!(u.algorithm, Algorithm::Sha1);
        assert_eq!(u.digits, Digits::SIX);
        assert_eq!(u.kind, Kind::Totp { period: Period::DEFAULT });
        assert_eq!(&*u.to_uri(), "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30");
    }

    #[test]
    fn issuer_from_label_only() {
        let u = parse(&format!("otpauth://totp/Example:alice?secret={S}"));
        assert_eq!(u.issuer.as_deref(), Some("Example"));
        assert_eq!(u.account, "alice");
        // Encoded colon, and the optional spaces before the account.
        let u = parse(&format!("otpauth://totp/Example%3A%20%20alice?secret={S}"));
        assert_eq!(u.issuer.as_deref(), Some("Example"));
        assert_eq!(u.account, "alice");
        let u = parse(&format!("otpauth://totp/Example: alice?secret={S}"));
        assert_eq!(u.account, "alice");
    }

    #[test]
    fn issuer_parameter_wins_over_label() {
        let u = parse(&format!("otpauth://totp/Old%20Name:alice?secret={S}&issuer=New%20Name"));
        assert_eq!(u.issuer.as_deref(), Some("New Name"));
        assert_eq!(u.account, "alice");
        // An empty parameter does not erase the label prefix...
        let u = parse(&format!("otpauth://totp/Label:alice?secret={S}&issuer="));
        assert_eq!(u.issuer.as_deref(), Some("Label"));
        // ...and an empty prefix does not count either.
        let u = parse(&format!("otpauth://totp/:alice?secret={S}"));
        assert_eq!(u.issuer, None);
        assert_eq!(u.account, "alice");
        let u = parse(&format!("otpauth://totp/:alice?secret={S}&issuer=Param"));
        assert_eq!(u.issuer.as_deref(), Some("Param"));
    }

    #[test]
    fn plus_is_space_in_query_but_literal_in_label() {
        let u = parse(&format!("otpauth://totp/A+B:x+y?secret={S}&issuer=ACME+Co"));
        assert_eq!(u.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(u.account, "x+y");
        let u = parse(&format!("otpauth://totp/A+B:x?secret={S}"));
        assert_eq!(u.issuer.as_deref(), Some("A+B"));
        // An encoded plus stays a plus.
        let u = parse(&format!("otpauth://totp/x?secret={S}&issuer=C%2B%2B"));
        assert_eq!(u.issuer.as_deref(), Some("C++"));
        assert_eq!(
            &*u.to_uri(),
            "otpauth://totp/C%2B%2B:x?secret=JBSWY3DPEHPK3PXP&issuer=C%2B%2B&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn unicode_and_colons() {
        let u = parse(&format!("otpauth://totp/%C3%9Cgyf%C3%A9lkapu:Kov%C3%A1cs%20J%C3%A1nos?secret={S}"));
        assert_eq!(u.issuer.as_deref(), Some("Ügyfélkapu"));
        assert_eq!(u.account, "Kovács János");
        // Raw (unencoded) UTF-8 is accepted too.
        let u = parse(&format!("otpauth://totp/Ügyfélkapu:Kovács?secret={S}"));
        assert_eq!(u.issuer.as_deref(), Some("Ügyfélkapu"));
        assert_eq!(u.account, "Kovács");
        // Only the first colon separates the issuer.
        let u = parse(&format!("otpauth://totp/a:b:c?secret={S}"));
        assert_eq!(u.issuer.as_deref(), Some("a"));
        assert_eq!(u.account, "b:c");
        assert_eq!(parse(&u.to_uri()), u);
        // An issuer with a colon is kept out of the label.
        let mut u = parse(&format!("otpauth://totp/x?secret={S}&issuer=a%3Ab"));
        assert_eq!(u.issuer.as_deref(), Some("a:b"));
        assert_eq!(
            &*u.to_uri(),
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&issuer=a%3Ab&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(parse(&u.to_uri()), u);
        u.account = "ő@example.hu".to_owned();
        assert_eq!(parse(&u.to_uri()), u);
    }

    #[test]
    fn hotp_with_counter() {
        let u = parse(&format!("otpauth://hotp/Example:alice?secret={S}&issuer=Example&counter=42"));
        assert_eq!(u.kind, Kind::Hotp { counter: 42 });
        assert_eq!(
            &*u.to_uri(),
            "otpauth://hotp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example&algorithm=SHA1&digits=6&counter=42"
        );
        assert!(u.totp().is_none());
        let rfc = parse("otpauth://hotp/t?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0");
        assert_eq!(rfc.hotp().unwrap().code_at(0), "755224");
        let max = parse(&format!("otpauth://hotp/a?secret={S}&counter=18446744073709551615"));
        assert_eq!(max.kind, Kind::Hotp { counter: u64::MAX });
        // A period on an HOTP URI is irrelevant and ignored.
        let u = parse(&format!("otpauth://hotp/a?secret={S}&counter=1&period=zero"));
        assert_eq!(u.kind, Kind::Hotp { counter: 1 });
    }

    #[test]
    fn all_parameters_parsed() {
        let u = parse(&format!(
            "otpauth://totp/a?secret={S}&algorithm=sha512&digits=8&period=60&image=https%3A%2F%2Fx&foo"
        ));
        assert_eq!(u.algorithm, Algorithm::Sha512);
        assert_eq!(u.digits, Digits::EIGHT);
        assert_eq!(u.kind, Kind::Totp { period: Period::new(60).unwrap() });
        let u = parse(&format!("otpauth://totp/a?secret={S}&algorithm=Sha256&digits=7"));
        assert_eq!(u.algorithm, Algorithm::Sha256);
        assert_eq!(u.digits, Digits::SEVEN);
        // Lower-case, spaced and padded secrets are fine.
        let u = parse("otpauth://totp/a?secret=jbsw+y3dp%20ehpk%203pxp");
        assert_eq!(u.secret.expose_bytes(), b"Hello!\xde\xad\xbe\xef");
        let u = parse("otpauth://totp/a?secret=MY======");
        assert_eq!(u.secret.expose_bytes(), b"f");
        // Scheme and type are case-insensitive; the fragment is ignored.
        let u = parse(&format!("OTPAUTH://TOTP/a?secret={S}#frag"));
        assert_eq!(u.account, "a");
        // Parameter names are case-insensitive.
        let u = parse(&format!("otpauth://totp/a?SECRET={S}&Digits=8"));
        assert_eq!(u.digits, Digits::EIGHT);
    }

    #[test]
    fn error_not_otpauth() {
        for s in [
            "",
            "otpauth:/totp/a?secret=JBSWY3DPEHPK3PXP",
            "https://totp/a?secret=JBSWY3DPEHPK3PXP",
            "otpauth",
            "ötpauth://totp/a",
        ] {
            assert_eq!(err(s), UriError::NotOtpauth, "{s}");
        }
    }

    #[test]
    fn error_unknown_type() {
        assert_eq!(err(&format!("otpauth://motp/a?secret={S}")), UriError::UnknownType { kind: "motp".to_owned() });
        assert_eq!(err(&format!("otpauth:///a?secret={S}")), UriError::UnknownType { kind: String::new() });
        assert_eq!(
            err(&format!("otpauth://motp/a?secret={S}")).to_string(),
            "unknown OTP type \"motp\": expected totp or hotp"
        );
    }

    #[test]
    fn error_missing_secret() {
        assert_eq!(err("otpauth://totp/a"), UriError::MissingSecret);
        assert_eq!(err("otpauth://totp/a?issuer=x"), UriError::MissingSecret);
        assert_eq!(err("otpauth://totp/a?secret="), UriError::MissingSecret);
        assert_eq!(err("otpauth://totp/a?secret=%20%20"), UriError::MissingSecret);
    }

    #[test]
    fn error_bad_base32() {
        assert_eq!(
            err("otpauth://totp/a?secret=JBSW1Y3DP"),
            UriError::InvalidSecret(Base32Error::InvalidCharacter { character: '1', position: 5 })
        );
        assert_eq!(
            err("otpauth://totp/a?secret=JBSWY3"),
            UriError::InvalidSecret(Base32Error::InvalidLength { symbols: 6 })
        );
        let e = err("otpauth://totp/a?secret=JBSWY3D-PEHPK3PXP");
        assert!(
            e.to_string()
                .starts_with("the secret key in the URI is not valid base32: invalid character '-' at position 8"),
            "{e}"
        );
    }

    #[test]
    fn error_bad_digits() {
        for v in ["5", "9", "0", "", "six", "+6", "%2B6", "256", "99999999999999999999"] {
            let e = err(&format!("otpauth://totp/a?secret={S}&digits={v}"));
            assert!(matches!(e, UriError::InvalidDigits { .. }), "{v}: {e:?}");
        }
        assert_eq!(
            err(&format!("otpauth://totp/a?secret={S}&digits=10")).to_string(),
            "unsupported number of digits \"10\": expected 6, 7 or 8"
        );
    }

    #[test]
    fn error_bad_period() {
        for v in ["0", "-30", "", "30s", "1.5", "18446744073709551616"] {
            let e = err(&format!("otpauth://totp/a?secret={S}&period={v}"));
            assert!(matches!(e, UriError::InvalidPeriod { .. }), "{v}: {e:?}");
        }
    }

    #[test]
    fn error_bad_algorithm() {
        for v in ["MD5", "SHA-1", "", "SHA384"] {
            let e = err(&format!("otpauth://totp/a?secret={S}&algorithm={v}"));
            assert!(matches!(e, UriError::InvalidAlgorithm { .. }), "{v}: {e:?}");
        }
    }

    #[test]
    fn error_missing_and_bad_counter() {
        assert_eq!(err(&format!("otpauth://hotp/a?secret={S}")), UriError::MissingCounter);
        for v in ["", "-1", "x", "18446744073709551616", "+1"] {
            let e = err(&format!("otpauth://hotp/a?secret={S}&counter={v}"));
            assert!(matches!(e, UriError::InvalidCounter { .. }), "{v}: {e:?}");
        }
        // TOTP URIs need no counter and ignore one.
        assert!(OtpAuthUri::parse(&format!("otpauth://totp/a?secret={S}&counter=x")).is_ok());
    }

    #[test]
    fn error_empty_account() {
        for s in [
            format!("otpauth://totp?secret={S}"),
            format!("otpauth://totp/?secret={S}"),
            format!("otpauth://totp/Example:?secret={S}"),
            format!("otpauth://totp/Example:%20%20?secret={S}"),
            format!("otpauth://totp/%20?secret={S}"),
        ] {
            assert_eq!(err(&s), UriError::EmptyAccount, "{s}");
        }
    }

    #[test]
    fn error_duplicate_parameter() {
        assert_eq!(
            err(&format!("otpauth://totp/a?secret={S}&secret=GEZDGNBV")),
            UriError::DuplicateParameter { name: "secret" }
        );
        assert_eq!(
            err(&format!("otpauth://totp/a?secret={S}&issuer=a&Issuer=b")),
            UriError::DuplicateParameter { name: "issuer" }
        );
        // Unknown parameters may repeat.
        assert!(OtpAuthUri::parse(&format!("otpauth://totp/a?secret={S}&x=1&x=2")).is_ok());
    }

    #[test]
    fn error_invalid_encoding() {
        for (s, component) in [
            (format!("otpauth://totp/a%FF?secret={S}"), "label"),
            (format!("otpauth://totp/a%?secret={S}"), "label"),
            (format!("otpauth://totp/a%2?secret={S}"), "label"),
            (format!("otpauth://totp/a%zz?secret={S}"), "label"),
            (format!("otpauth://totp/a?secret={S}&issuer=%C3"), "issuer"),
            (format!("otpauth://totp/a?secret={S}%"), "secret"),
            (format!("otpauth://totp/a?secret={S}&digits=%G6"), "digits"),
        ] {
            assert_eq!(err(&s), UriError::InvalidEncoding { component }, "{s}");
        }
        assert_eq!(
            err(&format!("otpauth://totp/a%FF?secret={S}")).to_string(),
            "the label is not valid percent-encoded UTF-8"
        );
    }

    #[test]
    fn error_forbidden_character() {
        assert_eq!(
            err(&format!("otpauth://totp/a%1B%5B2J?secret={S}")),
            UriError::ForbiddenCharacter { component: "account", character: '\u{1b}' }
        );
        assert_eq!(
            err(&format!("otpauth://totp/x?secret={S}&issuer=Bank%E2%80%AEgro")),
            UriError::ForbiddenCharacter { component: "issuer", character: '\u{202e}' }
        );
        assert_eq!(
            err(&format!("otpauth://totp/Ev%00il:x?secret={S}&issuer=Good")),
            UriError::ForbiddenCharacter { component: "issuer", character: '\0' }
        );
        assert_eq!(
            err(&format!("otpauth://totp/a%0A?secret={S}")).to_string(),
            "the account contains the forbidden character U+000A"
        );
    }

    #[test]
    fn debug_hides_secret() {
        let u = parse(&format!("otpauth://totp/a?secret={S}"));
        let dbg = format!("{u:?}");
        assert!(dbg.contains("Secret(<redacted, 10 bytes>)"), "{dbg}");
        assert!(!dbg.contains(S), "{dbg}");
    }

    #[test]
    fn equality_is_by_value() {
        let a = parse(&format!("otpauth://totp/a?secret={S}"));
        let b = parse(&format!("otpauth://totp/a?secret={}", S.to_lowercase()));
        assert_eq!(a, b);
        let c = parse("otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ");
        assert_ne!(a, c);
    }
}
