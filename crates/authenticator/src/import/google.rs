//! Google Authenticator's "Transfer accounts" export: a QR code holding
//! `otpauth-migration://offline?data=<base64 protobuf>`.
//!
//! The protobuf messages below follow the format as published by the
//! projects that read it (Aegis, FreeOTP+, KeePassXC); `prost` does the
//! decoding. Google does not document it; fields we do not know are skipped
//! by protobuf's rules.
//!
//! Mapping, as Aegis does it: an unspecified algorithm is SHA1, unspecified
//! digits are 6, an unspecified type is TOTP, and the period is always 30 s
//! (the format has no field for it). When `name` starts with `issuer:` the
//! prefix is dropped, as in an `otpauth://` label; when `issuer` is empty, a
//! `prefix:` of the name is the issuer. MD5 accounts cannot be represented
//! and are skipped with a message.

use data_encoding::BASE64;
use otp::{Algorithm, Digits, Kind, Period, Secret};
use percent_encoding::percent_decode_str;
use zeroize::{Zeroize, Zeroizing};

use super::aegis::Entries;
use super::{ImportError, Note, label_of};
use crate::account::{Account, Color};

/// `MigrationPayload`: the whole export (one QR code of a batch).
#[derive(Clone, PartialEq, prost::Message)]
pub struct MigrationPayload {
    /// The accounts.
    #[prost(message, repeated, tag = "1")]
    pub otp_parameters: Vec<OtpParameters>,
    /// Format version (1).
    #[prost(int32, tag = "2")]
    pub version: i32,
    /// How many QR codes the export has.
    #[prost(int32, tag = "3")]
    pub batch_size: i32,
    /// Which of them this is (0-based).
    #[prost(int32, tag = "4")]
    pub batch_index: i32,
    /// Identifies the export the codes belong to.
    #[prost(int32, tag = "5")]
    pub batch_id: i32,
}

/// `OtpParameters`: one account.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OtpParameters {
    /// The raw key bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub secret: Vec<u8>,
    /// The account name (sometimes "issuer:account").
    #[prost(string, tag = "2")]
    pub name: String,
    /// The service.
    #[prost(string, tag = "3")]
    pub issuer: String,
    /// [`MigrationAlgorithm`].
    #[prost(enumeration = "MigrationAlgorithm", tag = "4")]
    pub algorithm: i32,
    /// [`DigitCount`].
    #[prost(enumeration = "DigitCount", tag = "5")]
    pub digits: i32,
    /// [`OtpType`].
    #[prost(enumeration = "OtpType", tag = "6")]
    pub r#type: i32,
    /// The HOTP counter.
    #[prost(int64, tag = "7")]
    pub counter: i64,
}

/// `OtpParameters.Algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MigrationAlgorithm {
    /// Not given: SHA1.
    Unspecified = 0,
    /// SHA1.
    Sha1 = 1,
    /// SHA256.
    Sha256 = 2,
    /// SHA512.
    Sha512 = 3,
    /// MD5 (not supported).
    Md5 = 4,
}

/// `OtpParameters.DigitCount`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DigitCount {
    /// Not given: 6.
    Unspecified = 0,
    /// 6 digits.
    Six = 1,
    /// 8 digits.
    Eight = 2,
}

/// `OtpParameters.OtpType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OtpType {
    /// Not given: TOTP.
    Unspecified = 0,
    /// HOTP.
    Hotp = 1,
    /// TOTP.
    Totp = 2,
}

const SCHEME: &str = "otpauth-migration://";

/// Whether `text` is a migration URI (by its scheme, in any case).
#[must_use]
pub fn is_migration_uri(text: &str) -> bool {
    text.get(..SCHEME.len()).is_some_and(|s| s.eq_ignore_ascii_case(SCHEME))
}

/// The `data` parameter of the URI, decoded to protobuf bytes.
fn payload_bytes(uri: &str) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    let bad = |why: &str| ImportError::Other(format!("Google Authenticator export: {why}"));
    let rest = uri.get(SCHEME.len()..).ok_or_else(|| bad("not an otpauth-migration:// URI"))?;
    let (_, query) = rest.split_once('?').ok_or_else(|| bad("the URI has no data"))?;
    let raw = query
        .split('&')
        .find_map(|pair| pair.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case("data")).map(|(_, v)| v))
        .ok_or_else(|| bad("the URI has no data parameter"))?;
    let decoded = Zeroizing::new(
        percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| bad("the data parameter is not valid percent-encoding"))?
            .into_owned(),
    );
    // Base64 as Google writes it (standard alphabet, padded), also when the
    // '+' signs were turned into spaces by a form decoder on the way, or when
    // the padding or line breaks got lost or added.
    let mut text = Zeroizing::new(String::with_capacity(decoded.len() + 3));
    text.extend(decoded.chars().filter(|c| !matches!(c, '\n' | '\r' | '=')).map(|c| if c == ' ' { '+' } else { c }));
    while !text.len().is_multiple_of(4) {
        text.push('=');
    }
    BASE64.decode(text.as_bytes()).map(Zeroizing::new).map_err(|_| bad("the data parameter is not valid base64"))
}

/// One QR code of a Google Authenticator export: its entries, and where
/// it stands in its batch.
#[derive(Debug)]
pub struct Part {
    /// Each account, or its name and why it cannot be used.
    pub entries: Entries,
    /// The export's id.
    pub batch_id: i32,
    /// How many QR codes the export has (at least 1).
    pub batch_size: usize,
    /// Which one this is (1-based).
    pub batch_number: usize,
}

/// Reads a migration URI. Only data that is not an export at all is an
/// error; an account that cannot be used is an `Err` entry.
pub fn parse(uri: &str) -> Result<Part, ImportError> {
    let bytes = payload_bytes(uri.trim())?;
    let mut payload = <MigrationPayload as prost::Message>::decode(bytes.as_slice()).map_err(|e| {
        ImportError::Other(format!("Google Authenticator export: the data is not a Google Authenticator export ({e})"))
    })?;
    let entries = payload.otp_parameters.iter().map(convert).collect();
    for p in &mut payload.otp_parameters {
        p.secret.zeroize();
    }
    let batch_size = usize::try_from(payload.batch_size).unwrap_or(0).max(1);
    let batch_number = usize::try_from(payload.batch_index).unwrap_or(0).saturating_add(1);
    Ok(Part { entries, batch_id: payload.batch_id, batch_size, batch_number })
}

/// The parts of batches seen in one import, to tell the user when some are
/// missing.
#[derive(Debug, Default)]
pub struct Batches {
    seen: Vec<(i32, usize, Vec<usize>)>,
}

impl Batches {
    /// Records a part.
    pub fn add(&mut self, part: &Part) {
        match self.seen.iter_mut().find(|(id, size, _)| *id == part.batch_id && *size == part.batch_size) {
            Some((_, _, numbers)) => {
                if !numbers.contains(&part.batch_number) {
                    numbers.push(part.batch_number);
                }
            }
            None => self.seen.push((part.batch_id, part.batch_size, vec![part.batch_number])),
        }
    }

    /// A note for each batch of which only some parts were seen.
    #[must_use]
    pub fn notes(&self) -> Vec<Note> {
        self.seen
            .iter()
            .filter(|(_, size, numbers)| numbers.len() < *size)
            .map(|(id, size, numbers)| {
                let mut present = numbers.clone();
                present.sort_unstable();
                Note::PartialGoogleBatch { batch_id: *id, size: *size, present }
            })
            .collect()
    }
}

fn convert(p: &OtpParameters) -> Result<Account, (String, String)> {
    let (issuer, account) = split_name(&p.issuer, &p.name);
    let label = label_of(&issuer, &account);
    let fail = |reason: String| (label.clone(), reason);
    let algorithm = match MigrationAlgorithm::try_from(p.algorithm) {
        Ok(MigrationAlgorithm::Unspecified | MigrationAlgorithm::Sha1) => Algorithm::Sha1,
        Ok(MigrationAlgorithm::Sha256) => Algorithm::Sha256,
        Ok(MigrationAlgorithm::Sha512) => Algorithm::Sha512,
        Ok(MigrationAlgorithm::Md5) => return Err(fail("MD5 codes are not supported".to_owned())),
        Err(_) => return Err(fail(format!("unknown algorithm number {}", p.algorithm))),
    };
    let digits = match DigitCount::try_from(p.digits) {
        Ok(DigitCount::Unspecified | DigitCount::Six) => Digits::SIX,
        Ok(DigitCount::Eight) => Digits::EIGHT,
        Err(_) => return Err(fail(format!("unknown digit count number {}", p.digits))),
    };
    let kind = match OtpType::try_from(p.r#type) {
        Ok(OtpType::Unspecified | OtpType::Totp) => Kind::Totp { period: Period::DEFAULT },
        Ok(OtpType::Hotp) => {
            Kind::Hotp { counter: u64::try_from(p.counter).map_err(|_| fail("negative HOTP counter".to_owned()))? }
        }
        Err(_) => return Err(fail(format!("unknown OTP type number {}", p.r#type))),
    };
    let secret = Secret::from_slice(&p.secret).map_err(|e| fail(e.to_string()))?;
    Account::new(issuer, account, secret, kind, algorithm, digits, Color::default()).map_err(|e| fail(e.to_string()))
}

/// Issuer and account from the two fields (see the module documentation).
fn split_name(issuer: &str, name: &str) -> (String, String) {
    let issuer = issuer.trim();
    match name.split_once(':') {
        Some((prefix, rest)) if issuer.is_empty() || prefix.trim() == issuer => {
            (prefix.trim().to_owned(), rest.trim_start().to_owned())
        }
        _ => (issuer.to_owned(), name.to_owned()),
    }
}

/// Builds a migration URI from accounts, the way Google Authenticator
/// exports them. For tests and for users moving back to a phone.
#[must_use]
pub fn to_uri(payload: &MigrationPayload) -> Zeroizing<String> {
    let bytes = Zeroizing::new(prost::Message::encode_to_vec(payload));
    let b64 = Zeroizing::new(BASE64.encode(&bytes));
    let encoded = percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC);
    Zeroizing::new(format!("otpauth-migration://offline?data={encoded}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn params(name: &str, issuer: &str, secret: &[u8]) -> OtpParameters {
        OtpParameters {
            secret: secret.to_vec(),
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            algorithm: MigrationAlgorithm::Sha1 as i32,
            digits: DigitCount::Six as i32,
            r#type: OtpType::Totp as i32,
            counter: 0,
        }
    }

    #[test]
    fn decodes_every_field() {
        let mut hotp = params("Example:alice@example.com", "Example", b"12345678901234567890");
        hotp.r#type = OtpType::Hotp as i32;
        hotp.counter = 5;
        hotp.algorithm = MigrationAlgorithm::Sha512 as i32;
        hotp.digits = DigitCount::Eight as i32;
        let mut md5 = params("old", "x", b"abcdefghij");
        md5.algorithm = MigrationAlgorithm::Md5 as i32;
        let mut unspecified = params("bare", "", b"Hello!\xde\xad\xbe\xef");
        unspecified.algorithm = 0;
        unspecified.digits = 0;
        unspecified.r#type = 0;
        let payload = MigrationPayload {
            otp_parameters: vec![params("kapu:imre", "", b"0123456789"), hotp, md5, unspecified],
            version: 1,
            batch_size: 1,
            batch_index: 0,
            batch_id: 42,
        };
        let uri = to_uri(&payload);
        assert!(uri.starts_with("otpauth-migration://offline?data="));
        let part = parse(&uri).unwrap();
        assert_eq!((part.batch_id, part.batch_size, part.batch_number), (42, 1, 1));
        let (accounts, skipped) = split(part.entries);
        assert_eq!(accounts.len(), 3);
        assert_eq!((accounts[0].issuer.as_str(), accounts[0].account.as_str()), ("kapu", "imre"));
        assert_eq!(accounts[0].secret.expose_bytes(), b"0123456789");
        assert_eq!(accounts[1].label(), "Example:alice@example.com");
        assert_eq!(accounts[1].kind, Kind::Hotp { counter: 5 });
        assert_eq!(accounts[1].algorithm, Algorithm::Sha512);
        assert_eq!(accounts[1].digits, Digits::EIGHT);
        assert_eq!(accounts[2].label(), "bare");
        assert_eq!(accounts[2].kind, Kind::Totp { period: Period::DEFAULT });
        assert_eq!(accounts[2].digits, Digits::SIX);
        assert_eq!(skipped, [("x:old".to_owned(), "MD5 codes are not supported".to_owned())]);
    }

    #[test]
    fn tolerates_plus_turned_to_space_and_lost_padding() {
        let payload = MigrationPayload {
            otp_parameters: vec![params("a", "b", &[0xfb, 0xff, 0xfe, 0x01, 0x02])],
            ..Default::default()
        };
        let b64 = BASE64.encode(&prost::Message::encode_to_vec(&payload));
        assert!(b64.contains('+') || b64.contains('/') || b64.contains('='));
        let mangled = b64.replace('+', " ").trim_end_matches('=').to_owned();
        let (accounts, _) = split(parse(&format!("OTPAUTH-MIGRATION://offline?data={mangled}")).unwrap().entries);
        assert_eq!(accounts[0].secret.expose_bytes(), [0xfb, 0xff, 0xfe, 0x01, 0x02]);
    }

    #[test]
    fn clear_errors() {
        for (uri, expect) in [
            ("otpauth-migration://offline", "no data"),
            ("otpauth-migration://offline?x=1", "no data parameter"),
            ("otpauth-migration://offline?data=%FF", "percent"),
            ("otpauth-migration://offline?data=%%%", "not valid base64"),
            ("otpauth-migration://offline?data=!!!!", "not valid base64"),
            ("otpauth-migration://offline?data=%2F%2F%2F%2F", "not a Google Authenticator export"),
        ] {
            let e = parse(uri).unwrap_err().to_string();
            assert!(e.contains(expect), "{uri}: {e}");
        }
        let empty_key = MigrationPayload { otp_parameters: vec![params("a", "b", b"")], ..Default::default() };
        let (_, skipped) = split(parse(&to_uri(&empty_key)).unwrap().entries);
        assert_eq!(skipped, [("b:a".to_owned(), "the secret key is empty".to_owned())]);
    }

    #[test]
    fn one_key_in_several_entries_stays_several_and_partial_batches_are_named() {
        let payload = |index: i32| MigrationPayload {
            otp_parameters: (0..6).map(|i| params(&format!("user{i}"), "Same", b"0123456789")).collect(),
            version: 1,
            batch_size: 2,
            batch_index: index,
            batch_id: 7,
        };
        let first = parse(&to_uri(&payload(0))).unwrap();
        assert_eq!(split(first.entries).0.len(), 6);
        let mut batches = Batches::default();
        batches.add(&parse(&to_uri(&payload(0))).unwrap());
        let notes = batches.notes();
        assert_eq!(notes, [Note::PartialGoogleBatch { batch_id: 7, size: 2, present: vec![1] }]);
        assert!(notes[0].to_string().starts_with("this is part 1 of 2 of a Google Authenticator export"));
        batches.add(&parse(&to_uri(&payload(1))).unwrap());
        assert!(batches.notes().is_empty());
    }

    fn split(entries: Entries) -> (Vec<Account>, Vec<(String, String)>) {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for e in entries {
            match e {
                Ok(a) => ok.push(a),
                Err(b) => bad.push(b),
            }
        }
        (ok, bad)
    }
}
