//! Reading accounts from whatever a user has: our backups (plain or
//! encrypted), Aegis vaults (plain or encrypted), Google Authenticator's
//! export QR (as its `otpauth-migration://` text or as an image), a list of
//! `otpauth://` URIs, or a PNG/JPEG of any of those QR codes.
//!
//! The format is recognised from the contents, not the file name. Reading is
//! all or nothing: a malformed file or account is an error and nothing is
//! returned, so the caller never imports half a file. Accounts that are
//! well-formed but of a kind we cannot compute (Steam, Yandex, MD5...) are
//! returned as [`Skipped`] with the reason, so the user is told.

pub mod aegis;
pub mod google;

use otp::{OtpAuthUri, UriError};
use zeroize::Zeroizing;

use crate::account::{Account, Color};
use crate::backup::{self, BackupError};
use crate::envelope::{self, OpenError};
use crate::qr::{self, QrError};

/// An account of the file that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Its issuer:account.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The accounts read from a file.
#[derive(Debug)]
pub struct Imported {
    /// What the file was, for messages ("Aegis encrypted vault").
    pub source: &'static str,
    /// The accounts, in file order.
    pub accounts: Vec<Account>,
    /// Accounts left out.
    pub skipped: Vec<Skipped>,
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// None of the formats.
    #[error(
        "not a format kapu can import: expected a kapu backup (plain or encrypted), an Aegis vault \
         (plain or encrypted), otpauth:// or otpauth-migration:// URIs (one per line), \
         or a PNG/JPEG image of a QR code"
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
    /// Aegis-specific trouble.
    #[error("{0}")]
    Aegis(String),
    /// Google export trouble.
    #[error("Google Authenticator export: {0}")]
    Migration(String),
    /// One account of the file is malformed.
    #[error("account {number} ({name}): {reason}")]
    Entry {
        /// 1-based position.
        number: usize,
        /// Its issuer:account.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A line of a URI list, or a QR code, holds a malformed otpauth URI.
    #[error("{place}: {error}")]
    Uri {
        /// "line 3", "QR code 1".
        place: String,
        /// Why.
        error: UriError,
    },
    /// A line (or QR code) holds something other than an otpauth URI.
    #[error("{0} is not an otpauth:// or otpauth-migration:// URI")]
    NotOtpauth(String),
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
        let mut imported = Imported { source: "QR image", accounts: Vec::new(), skipped: Vec::new() };
        for (i, text) in texts.iter().enumerate() {
            let (accounts, skipped) = from_text(text, || format!("QR code {}", i + 1))?;
            imported.accounts.extend(accounts);
            imported.skipped.extend(skipped);
        }
        return Ok(imported);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::Unrecognized)?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        return from_json(text, ask_password);
    }
    from_uri_lines(text)
}

fn from_json(text: &str, ask_password: &mut AskPassword<'_>) -> Result<Imported, ImportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ImportError::Json { truncated: e.is_eof() })?;
    if envelope::is_envelope(&value) {
        const WHAT: &str = "the encrypted kapu backup";
        let password = ask_password(WHAT).map_err(ImportError::Password)?;
        let (plaintext, _) = envelope::open(text.as_bytes(), &password).map_err(|e| match e {
            OpenError::WrongPassphrase => ImportError::WrongPassword(WHAT),
            other => ImportError::Encrypted(other),
        })?;
        let accounts = backup::from_json(&plaintext)?;
        return Ok(Imported { source: "encrypted kapu backup", accounts, skipped: Vec::new() });
    }
    if backup::is_plain(&value) {
        return Ok(Imported { source: "kapu backup", accounts: backup::from_value(value)?, skipped: Vec::new() });
    }
    if aegis::is_aegis(&value) {
        let (source, (accounts, skipped)) = if aegis::is_encrypted(&value) {
            let password = ask_password("the Aegis vault").map_err(ImportError::Password)?;
            ("Aegis encrypted vault", aegis::parse_encrypted(&value, &password)?)
        } else {
            ("Aegis vault", aegis::parse_plain(&value)?)
        };
        return Ok(Imported { source, accounts, skipped });
    }
    Err(ImportError::Unrecognized)
}

/// One `otpauth://` or `otpauth-migration://` text found at `place` ("line
/// 3", "QR code 1").
fn from_text(text: &str, place: impl Fn() -> String) -> Result<(Vec<Account>, Vec<Skipped>), ImportError> {
    if google::is_migration_uri(text) {
        return google::parse(text);
    }
    let uri = OtpAuthUri::parse(text).map_err(|error| match error {
        UriError::NotOtpauth => ImportError::NotOtpauth(place()),
        error => ImportError::Uri { place: place(), error },
    })?;
    let name = uri.issuer.clone().map_or_else(|| uri.account.clone(), |i| format!("{i}:{}", uri.account));
    let account = Account::from_uri(uri, Color::default()).map_err(|e| ImportError::Entry {
        number: 1,
        name,
        reason: e.to_string(),
    })?;
    Ok((vec![account], Vec::new()))
}

fn from_uri_lines(text: &str) -> Result<Imported, ImportError> {
    let mut imported = Imported { source: "list of otpauth URIs", accounts: Vec::new(), skipped: Vec::new() };
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
        let (accounts, skipped) = from_text(line, || format!("line {}", i + 1))?;
        imported.accounts.extend(accounts);
        imported.skipped.extend(skipped);
    }
    if !any {
        return Err(ImportError::Unrecognized);
    }
    Ok(imported)
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
    fn uri_lists() {
        let text = "\u{feff}# my accounts\n\
            otpauth://totp/ACME+Co:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co&digits=8\n\
            \n  otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQ&counter=4  \r\n";
        let got = import(text.as_bytes(), &mut no_password).unwrap();
        assert_eq!(got.accounts.len(), 2);
        assert_eq!(got.accounts[0].issuer, "ACME Co", "+ in the issuer parameter is a space");
        assert_eq!(got.accounts[1].kind, otp::Kind::Hotp { counter: 4 });

        let bad = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP\notpauth://totp/b?secret=JBSW1\n";
        let e = import(bad.as_bytes(), &mut no_password).unwrap_err().to_string();
        assert!(e.starts_with("line 2: the secret key in the URI is not valid base32"), "{e}");
        let mixed = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP\nhttps://example.com\n";
        assert_eq!(
            import(mixed.as_bytes(), &mut no_password).unwrap_err().to_string(),
            "line 2 is not an otpauth:// or otpauth-migration:// URI"
        );
    }

    #[test]
    fn unknown_things() {
        for bytes in [&b"hello world"[..], b"", b"\xff\xfe", b"[1,2]", b"{\"a\": 1}"] {
            assert!(matches!(import(bytes, &mut no_password), Err(ImportError::Unrecognized)), "{bytes:?}");
        }
        assert!(matches!(import(b"{\"format\": ", &mut no_password), Err(ImportError::Json { truncated: true })));
    }
}
