//! Aegis Authenticator vault exports, plain and encrypted, as Aegis documents
//! them (`docs/vault.md` in its repository):
//!
//! ```text
//! {"version": 1,
//!  "header": {"slots": [...] | null, "params": {"nonce": hex, "tag": hex} | null},
//!  "db": {"version": N, "entries": [...]}            (plain)
//!      | "<base64 of AES-256-GCM ciphertext>"        (encrypted)}
//! ```
//!
//! Encrypted: a random 256-bit master key encrypts `db` (nonce and tag in
//! `header.params`). Each password slot (`type` 1) holds the master key
//! encrypted (AES-256-GCM, its own `key_params`) under
//! `scrypt(password, salt, n, r, p)` → 32 bytes. Biometric slots (type 2)
//! need the phone's keystore and are ignored.
//!
//! Entries of type `totp` and `hotp` are imported; `steam`, `yandex` and
//! `motp` use other algorithms and are skipped with a message.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};
use otp::{Algorithm, Kind, Period, Secret};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{ImportError, digits_of, label_of};
use crate::account::{Account, Color};
use crate::envelope::{self, KdfParams};

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    slots: Option<Vec<Slot>>,
    #[serde(default)]
    params: Option<KeyParams>,
}

#[derive(Deserialize)]
struct KeyParams {
    nonce: String,
    tag: String,
}

#[derive(Deserialize)]
struct Slot {
    #[serde(rename = "type")]
    kind: u32,
    key: String,
    key_params: KeyParams,
    #[serde(default)]
    n: Option<u64>,
    #[serde(default)]
    r: Option<u32>,
    #[serde(default)]
    p: Option<u32>,
    #[serde(default)]
    salt: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    info: Info,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    secret: Option<Zeroizing<String>>,
    #[serde(default)]
    algo: Option<String>,
    #[serde(default)]
    digits: Option<u64>,
    #[serde(default)]
    period: Option<u64>,
    #[serde(default)]
    counter: Option<u64>,
}

const PASSWORD_SLOT: u32 = 1;

/// Whether `value` looks like an Aegis vault (`version`, `header`, `db`).
#[must_use]
pub fn is_aegis(value: &serde_json::Value) -> bool {
    value.get("header").is_some_and(serde_json::Value::is_object)
        && value.get("db").is_some()
        && value.get("version").is_some_and(serde_json::Value::is_u64)
}

/// Whether its `db` is encrypted (a string rather than an object).
#[must_use]
pub fn is_encrypted(value: &serde_json::Value) -> bool {
    value.get("db").is_some_and(serde_json::Value::is_string)
}

fn malformed(why: impl std::fmt::Display) -> ImportError {
    ImportError::Other(format!("the Aegis vault is malformed: {why}"))
}

/// Reads a plain Aegis vault.
pub fn parse_plain(value: &serde_json::Value) -> Result<Entries, ImportError> {
    let db = value.get("db").cloned().ok_or_else(|| malformed("no db"))?;
    let db: LooseDb = serde_json::from_value(db).map_err(malformed)?;
    Ok(convert(db))
}

fn hex(text: &str, what: &str) -> Result<Vec<u8>, ImportError> {
    HEXLOWER_PERMISSIVE.decode(text.as_bytes()).map_err(|_| malformed(format!("{what} is not hex")))
}

fn aes_gcm_open(key: &[u8], params: &KeyParams, ciphertext: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, ImportError> {
    let nonce = hex(&params.nonce, "a nonce")?;
    let tag = hex(&params.tag, "a tag")?;
    if nonce.len() != 12 || tag.len() != 16 {
        return Err(malformed("a nonce or tag has the wrong length"));
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| malformed("a key has the wrong length"))?;
    let mut sealed = Vec::with_capacity(ciphertext.len() + tag.len());
    sealed.extend_from_slice(ciphertext);
    sealed.extend_from_slice(&tag);
    Ok(cipher.decrypt(Nonce::from_slice(&nonce), Payload { msg: &sealed, aad: &[] }).ok().map(Zeroizing::new))
}

/// Reads an encrypted Aegis vault with its password.
pub fn parse_encrypted(value: &serde_json::Value, password: &str) -> Result<Entries, ImportError> {
    let header: Header = serde_json::from_value(value.get("header").cloned().unwrap_or_default()).map_err(malformed)?;
    let params = header.params.ok_or_else(|| malformed("no header.params"))?;
    let slots: Vec<Slot> = header.slots.unwrap_or_default().into_iter().filter(|s| s.kind == PASSWORD_SLOT).collect();
    if slots.is_empty() {
        return Err(ImportError::Other(
            "the Aegis vault has no password slot (it can only be unlocked on the phone): \
             export it from Aegis with a password"
                .to_owned(),
        ));
    }
    let mut master_key = None;
    for slot in &slots {
        let (Some(n), Some(r), Some(p), Some(salt)) = (slot.n, slot.r, slot.p, slot.salt.as_deref()) else {
            return Err(malformed("a password slot lacks n, r, p or salt"));
        };
        let kdf = KdfParams::from_n(n, r, p).map_err(malformed)?;
        let mut derived = Zeroizing::new([0u8; 32]);
        envelope::scrypt(password.as_bytes(), &hex(salt, "a salt")?, kdf, &mut derived[..]).map_err(malformed)?;
        if let Some(key) = aes_gcm_open(&derived[..], &slot.key_params, &hex(&slot.key, "a slot key")?)? {
            master_key = Some(key);
            break;
        }
    }
    let master_key = master_key.ok_or(ImportError::WrongPassword("the Aegis vault"))?;
    let db_text = value.get("db").and_then(serde_json::Value::as_str).ok_or_else(|| malformed("no db"))?;
    let ciphertext = BASE64.decode(db_text.trim().as_bytes()).map_err(|_| malformed("db is not base64"))?;
    let plaintext = aes_gcm_open(&master_key, &params, &ciphertext)?.ok_or_else(|| {
        ImportError::Other(
            "the password is right, but the Aegis vault's contents are damaged (they fail authentication)".to_owned(),
        )
    })?;
    let db: LooseDb = serde_json::from_slice(&plaintext).map_err(malformed)?;
    Ok(convert(db))
}

/// Each entry of a file: an account, or its name and why it cannot be used.
pub type Entries = Vec<Result<Account, (String, String)>>;

#[derive(Deserialize)]
struct LooseDb {
    entries: Vec<serde_json::Value>,
}

fn convert(db: LooseDb) -> Entries {
    db.entries
        .into_iter()
        .map(|value| {
            let text = |k: &str| value.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
            let label = label_of(&text("issuer"), &text("name"));
            let entry: Entry = serde_json::from_value(value).map_err(|e| (label.clone(), e.to_string()))?;
            entry_to_account(entry).map_err(|reason| (label, reason))
        })
        .collect()
}

fn entry_to_account(e: Entry) -> Result<Account, String> {
    let kind = match e.kind.as_str() {
        "totp" => Kind::Totp { period: Period::new(e.info.period.unwrap_or(30)).map_err(|err| err.to_string())? },
        "hotp" => Kind::Hotp { counter: e.info.counter.unwrap_or(0) },
        other => return Err(format!("{other} codes are not supported")),
    };
    let secret =
        Secret::from_base32(e.info.secret.as_deref().map_or("", |s| s.as_str())).map_err(|err| err.to_string())?;
    let algorithm = match e.info.algo.as_deref() {
        None => Algorithm::Sha1,
        Some(a) => a.parse().map_err(|err: otp::AlgorithmError| err.to_string())?,
    };
    let digits = digits_of(e.info.digits)?;
    Account::new(e.issuer, e.name, secret, kind, algorithm, digits, Color::default()).map_err(|err| err.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use aes_gcm::aead::AeadInPlace;
    use serde_json::json;

    use super::*;

    pub(crate) fn plain_db() -> serde_json::Value {
        json!({"version": 3, "entries": [
            {"type": "totp", "uuid": "3ae6f1ad-2d0c-4d2e-9f0e-3c0f3a0b0c01", "name": "imre", "issuer": "kapu",
             "note": "", "favorite": false, "icon": null,
             "info": {"secret": "JBSWY3DPEHPK3PXP", "algo": "SHA256", "digits": 8, "period": 60}, "groups": []},
            {"type": "hotp", "uuid": "3ae6f1ad-2d0c-4d2e-9f0e-3c0f3a0b0c02", "name": "bank", "issuer": "",
             "icon": null, "info": {"secret": "GEZDGNBVGY3TQOJQ", "algo": "SHA1", "digits": 6, "counter": 9}},
            {"type": "steam", "uuid": "3ae6f1ad-2d0c-4d2e-9f0e-3c0f3a0b0c03", "name": "gamer", "issuer": "Steam",
             "icon": null, "info": {"secret": "MFRGGZDFMZTWQ2LK", "algo": "SHA1", "digits": 5, "period": 30}}
        ]})
    }

    /// Encrypts `db` the way Aegis does: a random master key, one password
    /// slot wrapping it under scrypt(password), the db under the master key.
    pub(crate) fn encrypted_vault(db: &serde_json::Value, password: &str) -> serde_json::Value {
        let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
        let seal = |key: &[u8], nonce: &[u8; 12], data: &[u8]| {
            let mut buf = data.to_vec();
            let tag = Aes256Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", &mut buf)
                .unwrap();
            (buf, tag.to_vec())
        };
        let master = [7u8; 32];
        let salt = [9u8; 32];
        let mut derived = [0u8; 32];
        envelope::scrypt(password.as_bytes(), &salt, KdfParams::from_n(1 << 10, 8, 1).unwrap(), &mut derived).unwrap();
        let (wrapped, key_tag) = seal(&derived, &[1; 12], &master);
        let (db_ct, db_tag) = seal(&master, &[2; 12], &serde_json::to_vec(db).unwrap());
        json!({"version": 1, "header": {
            "slots": [
                {"type": 2, "uuid": "b1", "key": hex(&[0; 32]), "key_params": {"nonce": hex(&[0; 12]), "tag": hex(&[0; 16])}},
                {"type": 1, "uuid": "p1", "key": hex(&wrapped), "key_params": {"nonce": hex(&[1; 12]), "tag": hex(&key_tag)},
                 "n": 1024, "r": 8, "p": 1, "salt": hex(&salt), "repaired": true, "is_backup": false}
            ],
            "params": {"nonce": hex(&[2; 12]), "tag": hex(&db_tag)}},
            "db": BASE64.encode(&db_ct)})
    }

    fn check(entries: Entries) {
        let mut accounts = Vec::new();
        let mut skipped = Vec::new();
        for e in entries {
            match e {
                Ok(a) => accounts.push(a),
                Err(s) => skipped.push(s),
            }
        }
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].label(), "kapu:imre");
        assert_eq!(accounts[0].algorithm, Algorithm::Sha256);
        assert_eq!(accounts[0].digits, otp::Digits::EIGHT);
        assert_eq!(accounts[0].kind, Kind::Totp { period: Period::new(60).unwrap() });
        assert_eq!(accounts[1].label(), "bank");
        assert_eq!(accounts[1].kind, Kind::Hotp { counter: 9 });
        assert_eq!(skipped, [("Steam:gamer".to_owned(), "steam codes are not supported".to_owned())]);
    }

    #[test]
    fn plain() {
        let v = json!({"version": 1, "header": {"slots": null, "params": null}, "db": plain_db()});
        assert!(is_aegis(&v) && !is_encrypted(&v));
        check(parse_plain(&v).unwrap());
    }

    #[test]
    fn encrypted_with_password() {
        let v = encrypted_vault(&plain_db(), "test");
        assert!(is_aegis(&v) && is_encrypted(&v));
        check(parse_encrypted(&v, "test").unwrap());
        assert!(matches!(parse_encrypted(&v, "nope"), Err(ImportError::WrongPassword(_))));
        let mut damaged = v.clone();
        let mut ct = BASE64.decode(v["db"].as_str().unwrap().as_bytes()).unwrap();
        ct[3] ^= 0x40;
        damaged["db"] = BASE64.encode(&ct).into();
        assert!(parse_encrypted(&damaged, "test").unwrap_err().to_string().contains("damaged"));
        let mut biometric_only = v.clone();
        biometric_only["header"]["slots"] = json!([v["header"]["slots"][0]]);
        assert!(parse_encrypted(&biometric_only, "test").unwrap_err().to_string().contains("no password slot"));
        let mut hostile = v;
        hostile["header"]["slots"][1]["n"] = json!(1u64 << 40);
        assert!(parse_encrypted(&hostile, "test").unwrap_err().to_string().contains("unsupported scrypt parameters"));
    }
}
