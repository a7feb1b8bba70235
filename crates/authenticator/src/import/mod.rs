//! Reading accounts from whatever a user has: our backups (plain or
//! encrypted), Aegis vaults (plain or encrypted), 2FAS and andOTP exports
//! (plain), Google Authenticator's export QR (as its `otpauth-migration://`
//! text or as an image), a list of `otpauth://` URIs (as Aegis, Ente and
//! others export them), or an image of any of those QR codes.
//!
//! The format is recognised from the contents, not the file name. A file
//! that is not one of these, cannot be decrypted, or is malformed as a whole
//! is an error and nothing is returned. Inside a readable file each entry
//! stands alone: one that cannot be used (a Steam or MD5 account, 5 digits,
//! a bad key, a name with control characters) is returned as a [`Skipped`]
//! with the reason, and the rest are imported.
//!
//! Names are returned as the file has them; whoever prints them passes them
//! through [`crate::escape::terminal_safe`] (the [`Display`] of [`Skipped`]
//! and [`Note`] do).
//!
//! [`Display`]: std::fmt::Display

pub mod aegis;
pub mod andotp;
pub mod google;
pub mod twofas;

use std::fmt;

use otp::{OtpAuthUri, UriError};
use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

use crate::account::{Account, Color};
use crate::backup::{self, BackupError};
use crate::envelope::{self, OpenError};
use crate::escape::Safe;
use crate::qr::{self, QrError};

/// An entry of the file that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Where it is: "entry 3", "line 4", "QR code 1".
    pub place: String,
    /// Its issuer:account as the file has it (may be empty).
    pub name: String,
    /// Why (English; from the parsers).
    pub reason: String,
}

impl Skipped {
    pub(crate) fn new(place: impl Into<String>, name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { place: place.into(), name: name.into(), reason: reason.into() }
    }
}

impl fmt::Display for Skipped {
    /// `entry 3 "Steam:gamer": steam codes are not supported`, escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}: {}", self.place, Safe(&self.reason))
        } else {
            write!(f, "{} \"{}\": {}", self.place, Safe(&self.name), Safe(&self.reason))
        }
    }
}

/// Something about the file as a whole the user must know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Only some QR codes of a Google Authenticator export were read.
    PartialGoogleBatch {
        /// The export's `batch_id`.
        batch_id: i32,
        /// How many QR codes it has.
        size: usize,
        /// The 1-based numbers of the codes read.
        present: Vec<usize>,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PartialGoogleBatch { size, present, .. } => {
                let read = present.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let missing: Vec<String> =
                    (1..=*size).filter(|n| !present.contains(n)).map(|n| n.to_string()).collect();
                write!(
                    f,
                    "this is part {read} of {size} of a Google Authenticator export: the accounts of part {} \
                     are not in it; import those QR codes too",
                    missing.join(", ")
                )
            }
        }
    }
}

/// The accounts read from a file.
#[derive(Debug)]
pub struct Imported {
    /// What the file was, for messages ("Aegis encrypted vault").
    pub source: &'static str,
    /// The accounts, in file order.
    pub accounts: Vec<Account>,
    /// Entries left out.
    pub skipped: Vec<Skipped>,
    /// Things about the whole file.
    pub notes: Vec<Note>,
}

impl Imported {
    fn new(source: &'static str) -> Self {
        Self { source, accounts: Vec::new(), skipped: Vec::new(), notes: Vec::new() }
    }

    /// Takes each entry: an account, or a skip at `place(i)` (1-based).
    fn take(&mut self, entries: Vec<Result<Account, (String, String)>>, place: impl Fn(usize) -> String) {
        for (i, entry) in entries.into_iter().enumerate() {
            match entry {
                Ok(account) => self.accounts.push(account),
                Err((name, reason)) => self.skipped.push(Skipped::new(place(i + 1), name, reason)),
            }
        }
    }
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// None of the formats.
    #[error(
        "not a format kapu can import: expected a kapu backup (plain or encrypted), an Aegis vault \
         (plain or encrypted), a 2FAS or andOTP export (plain), otpauth:// or otpauth-migration:// URIs \
         (one per line), or an image (PNG, JPEG, GIF, WebP, BMP) of a QR code"
    )]
    Unrecognized,
    /// Starts like JSON but is not.
    #[error("the file is not valid JSON{}", if *.truncated { " (it is incomplete)" } else { "" })]
    Json {
        /// It ended early.
        truncated: bool,
    },
    /// Our plain format, malformed.
    #[error("kapu backup: {0}")]
    Backup(#[from] BackupError),
    /// Our encrypted format could not be opened.
    #[error("encrypted kapu backup: {0}")]
    Encrypted(OpenError),
    /// The password for an encrypted file is wrong.
    #[error("wrong password for {0}")]
    WrongPassword(&'static str),
    /// Trouble with a file of another app as a whole (already escaped).
    #[error("{0}")]
    Other(String),
    /// The image could not be read.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// No password could be had for an encrypted file.
    #[error("{0}")]
    Password(String),
}

/// Asks for the password of an encrypted file; the argument says which file
/// ("the encrypted kapu backup", "the Aegis vault").
pub type AskPassword<'a> = dyn FnMut(&'static str) -> Result<Zeroizing<String>, String> + 'a;

/// Reads a file of any supported format (see the module documentation).
pub fn import(bytes: &[u8], ask_password: &mut AskPassword<'_>) -> Result<Imported, ImportError> {
    if qr::is_image(bytes) {
        let texts = qr::decode(bytes)?;
        let mut imported = Imported::new("QR image");
        let mut batches = google::Batches::default();
        for (i, text) in texts.iter().enumerate() {
            from_text(text, &format!("QR code {}", i + 1), &mut imported, &mut batches);
        }
        imported.notes.extend(batches.notes());
        return Ok(imported);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::Unrecognized)?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') || text.starts_with('[') {
        return from_json(text, ask_password);
    }
    from_uri_lines(text)
}

fn from_json(text: &str, ask_password: &mut AskPassword<'_>) -> Result<Imported, ImportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ImportError::Json { truncated: e.is_eof() })?;
    let entry = |n: usize| format!("entry {n}");
    if envelope::is_envelope(&value) {
        const WHAT: &str = "the encrypted kapu backup";
        let password = ask_password(WHAT).map_err(ImportError::Password)?;
        let (plaintext, _) = envelope::open(text.as_bytes(), &password).map_err(|e| match e {
            OpenError::WrongPassphrase => ImportError::WrongPassword(WHAT),
            other => ImportError::Encrypted(other),
        })?;
        let inner: serde_json::Value = serde_json::from_slice(&plaintext)
            .map_err(|_| ImportError::Backup(BackupError::Json { truncated: false }))?;
        let mut imported = Imported::new("encrypted kapu backup");
        imported.take(backup::entries(inner)?, entry);
        return Ok(imported);
    }
    if backup::is_plain(&value) {
        let mut imported = Imported::new("kapu backup");
        imported.take(backup::entries(value)?, entry);
        return Ok(imported);
    }
    if aegis::is_aegis(&value) {
        let (source, entries) = if aegis::is_encrypted(&value) {
            let password = ask_password("the Aegis vault").map_err(ImportError::Password)?;
            ("Aegis encrypted vault", aegis::parse_encrypted(&value, &password)?)
        } else {
            ("Aegis vault", aegis::parse_plain(&value)?)
        };
        let mut imported = Imported::new(source);
        imported.take(entries, entry);
        return Ok(imported);
    }
    if twofas::is_twofas(&value) {
        let mut imported = Imported::new("2FAS export");
        imported.take(twofas::parse(&value)?, entry);
        return Ok(imported);
    }
    if andotp::is_andotp(&value) {
        let mut imported = Imported::new("andOTP export");
        imported.take(andotp::parse(&value)?, entry);
        return Ok(imported);
    }
    Err(ImportError::Unrecognized)
}

/// The label of an `otpauth://` URI that could not be parsed, for naming it
/// in a message: best effort, never an error.
fn uri_label(text: &str) -> String {
    let rest = text.split_once("://").map_or("", |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let label = path.split_once('/').map_or("", |(_, l)| l);
    percent_decode_str(label).decode_utf8_lossy().chars().take(100).collect()
}

/// One `otpauth://` or `otpauth-migration://` text found at `place` ("line
/// 3", "QR code 1"): its accounts, or a skip saying why not.
fn from_text(text: &str, place: &str, imported: &mut Imported, batches: &mut google::Batches) {
    if google::is_migration_uri(text) {
        match google::parse(text) {
            Ok(part) => {
                batches.add(&part);
                imported.take(part.entries, |n| format!("{place}, account {n}"));
            }
            Err(e) => imported.skipped.push(Skipped::new(place, "", e.to_string())),
        }
        return;
    }
    let uri = match OtpAuthUri::parse(text) {
        Ok(uri) => uri,
        Err(UriError::NotOtpauth) => {
            imported.skipped.push(Skipped::new(place, "", "not an otpauth:// or otpauth-migration:// URI"));
            return;
        }
        Err(e) => {
            imported.skipped.push(Skipped::new(place, uri_label(text), e.to_string()));
            return;
        }
    };
    let name = uri.issuer.clone().map_or_else(|| uri.account.clone(), |i| format!("{i}:{}", uri.account));
    match Account::from_uri(uri, Color::default()) {
        Ok(account) => imported.accounts.push(account),
        Err(e) => imported.skipped.push(Skipped::new(place, name, e.to_string())),
    }
}

fn from_uri_lines(text: &str) -> Result<Imported, ImportError> {
    let mut imported = Imported::new("list of otpauth URIs");
    let mut batches = google::Batches::default();
    let mut any = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Before anything was recognised, an unknown first line means an
        // unknown file rather than a bad URI list.
        if !any && !line.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("otpauth")) {
            return Err(ImportError::Unrecognized);
        }
        any = true;
        from_text(line, &format!("line {}", i + 1), &mut imported, &mut batches);
    }
    if !any {
        return Err(ImportError::Unrecognized);
    }
    imported.notes.extend(batches.notes());
    Ok(imported)
}

/// The digits of an entry of another app's file, which says them as a
/// number.
pub(crate) fn digits_of(value: Option<u64>) -> Result<otp::Digits, String> {
    match value {
        None => Ok(otp::Digits::SIX),
        Some(d) => u8::try_from(d)
            .ok()
            .and_then(|d| otp::Digits::new(d).ok())
            .ok_or_else(|| format!("{d}-digit codes are not supported (6, 7 or 8)")),
    }
}

/// "issuer:account", or whichever is not empty.
pub(crate) fn label_of(issuer: &str, account: &str) -> String {
    if issuer.is_empty() { account.to_owned() } else { format!("{issuer}:{account}") }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::envelope::KdfParams;
    use crate::test_support::totp;

    fn no_password(_: &'static str) -> Result<Zeroizing<String>, String> {
        Err("no password in this test".to_owned())
    }

    #[test]
    fn recognises_each_format() {
        let accounts = vec![totp("kapu", "imre", "JBSWY3DPEHPK3PXP")];
        let plain = backup::to_json(&accounts).unwrap();
        let got = import(&plain, &mut no_password).unwrap();
        assert_eq!((got.source, got.accounts), ("kapu backup", accounts.clone()));

        let sealed = backup::to_encrypted(&accounts, "backup passphrase", KdfParams::TEST_ONLY_WEAK).unwrap();
        let mut asked = Vec::new();
        let got = import(&sealed, &mut |what| {
            asked.push(what);
            Ok(Zeroizing::new("backup passphrase".to_owned()))
        })
        .unwrap();
        assert_eq!(got.accounts, accounts);
        assert_eq!(asked, ["the encrypted kapu backup"]);
        let wrong = import(&sealed, &mut |_| Ok(Zeroizing::new("nope".to_owned()))).unwrap_err();
        assert_eq!(wrong.to_string(), "wrong password for the encrypted kapu backup");
        assert_eq!(import(&sealed, &mut no_password).unwrap_err().to_string(), "no password in this test");

        let aegis = serde_json::json!({"version": 1, "header": {"slots": null, "params": null},
            "db": aegis::tests::plain_db()});
        let got = import(aegis.to_string().as_bytes(), &mut no_password).unwrap();
        assert_eq!((got.source, got.accounts.len(), got.skipped.len()), ("Aegis vault", 2, 1));
        let enc = aegis::tests::encrypted_vault(&aegis::tests::plain_db(), "pw");
        let got = import(enc.to_string().as_bytes(), &mut |_| Ok(Zeroizing::new("pw".to_owned()))).unwrap();
        assert_eq!((got.source, got.accounts.len()), ("Aegis encrypted vault", 2));
    }

    #[test]
    fn uri_lists_skip_what_they_cannot_use() {
        let text = "\u{feff}# my accounts\n\
            otpauth://totp/ACME+Co:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co&digits=8\n\
            otpauth://steam/Steam:gamer?secret=MFRGGZDFMZTWQ2LK&issuer=Steam\n\
            \n  otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQ&counter=4  \r\n\
            otpauth://totp/b?secret=JBSW1\n\
            https://example.com\n";
        let got = import(text.as_bytes(), &mut no_password).unwrap();
        assert_eq!(got.accounts.len(), 2);
        assert_eq!(got.accounts[0].issuer, "ACME Co", "+ in the issuer parameter is a space");
        assert_eq!(got.accounts[1].kind, otp::Kind::Hotp { counter: 4 });
        let skipped: Vec<String> = got.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "line 3 \"Steam:gamer\": unknown OTP type \"steam\": expected totp or hotp",
                "line 6 \"b\": the secret key in the URI is not valid base32: invalid character '1' at position 5: \
                 base32 uses only the letters A–Z and digits 2–7 (the digit 1 is not used: did you mean the letter I or L?)",
                "line 7: not an otpauth:// or otpauth-migration:// URI",
            ]
        );
    }

    #[test]
    fn a_bad_entry_of_our_backup_is_skipped_and_its_name_escaped() {
        let json = br#"{"format": "kapu-authenticator", "version": 1, "accounts": [
            {"issuer": "ok", "account": "a", "secret": "JBSWY3DPEHPK3PXP"},
            {"issuer": "evil\u001b]52;c;cm0gLXJmIH4=\u0007", "account": "b", "secret": "GEZDGNBVGY3TQOJQ"},
            {"issuer": "x", "account": "y", "secret": "JBSWY3DPEHPK3PXP", "digits": 10}
        ]}"#;
        let got = import(json, &mut no_password).unwrap();
        assert_eq!(got.accounts.len(), 1);
        let lines: Vec<String> = got.skipped.iter().map(ToString::to_string).collect();
        assert!(
            lines[0].starts_with("entry 2 \"evil\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}:b\": the issuer contains"),
            "{lines:?}"
        );
        assert!(lines[1].contains("6, 7 or 8 digits, not 10"), "{lines:?}");
        for line in &lines {
            assert!(!line.chars().any(crate::escape::is_unsafe), "{line:?}");
        }
    }

    #[test]
    fn unknown_things() {
        for bytes in [&b"hello world"[..], b"", b"\xff\xfe", b"[1,2]", b"{\"a\": 1}"] {
            assert!(matches!(import(bytes, &mut no_password), Err(ImportError::Unrecognized)), "{bytes:?}");
        }
        assert!(matches!(import(b"{\"format\": ", &mut no_password), Err(ImportError::Json { truncated: true })));
    }
}
