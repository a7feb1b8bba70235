//! The passphrase-encrypted file format, used for the vault on disk and for
//! `kapu otp export --encrypted`:
//!
//! ```json
//! {"format": "kapu-authenticator-encrypted", "version": 1,
//!  "kdf": {"name": "scrypt", "log_n": 17, "r": 8, "p": 1, "salt": "<base64, 32 bytes>"},
//!  "cipher": "AES-256-GCM",
//!  "key_check": "<base64, 32 bytes>",
//!  "nonce": "<base64, 12 bytes>",
//!  "ciphertext": "<base64: AES-256-GCM ciphertext followed by the 16-byte tag>"}
//! ```
//!
//! `scrypt(passphrase as UTF-8, salt, N = 2^log_n, r, p)` gives 64 bytes: the
//! first 32 are the AES-256-GCM key, the last 32 are stored as `key_check`.
//! The plaintext is the plain JSON export; there is no associated data.
//!
//! Why these choices:
//! * scrypt and AES-256-GCM are what Aegis uses, so one set of well-kept
//!   RustCrypto crates serves both our files and Aegis imports, and a browser
//!   page can open the file with WebCrypto's AES-GCM plus a small scrypt.
//! * `key_check` lets a wrong passphrase be told apart from a damaged file
//!   (the AEAD alone cannot tell the two apart). It reveals nothing an
//!   attacker with the ciphertext could not already test a guess against:
//!   the two halves are independent PBKDF2 output blocks.
//! * A fresh random 96-bit nonce per save: a vault is saved far fewer than
//!   the 2^32 times NIST allows for random GCM nonces under one key.
//! * The KDF parameters are read from the file but bounded (see
//!   [`KdfParams::new`]), so that a hostile file cannot make us allocate
//!   gigabytes.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use data_encoding::BASE64;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The `format` value of an encrypted file.
pub const FORMAT: &str = "kapu-authenticator-encrypted";
/// The `version` this code writes and reads.
pub const VERSION: u32 = 1;
const CIPHER: &str = "AES-256-GCM";
const KDF_NAME: &str = "scrypt";
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// scrypt cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    log_n: u8,
    r: u32,
    p: u32,
}

/// The parameters are outside what we accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported scrypt parameters (N = 2^{log_n}, r = {r}, p = {p}): \
     we accept N from 2^10 to 2^22, r from 1 to 32, p from 1 to 16, and at most 1 GiB of memory"
)]
pub struct KdfParamsError {
    /// log2 of N.
    pub log_n: u8,
    /// r.
    pub r: u32,
    /// p.
    pub p: u32,
}

impl KdfParams {
    /// N = 2^17, r = 8, p = 1: 128 MiB and a few tenths of a second, the
    /// cost scrypt's authors and the RustCrypto crate recommend for
    /// interactive use (Aegis uses 2^15).
    pub const DEFAULT: Self = Self { log_n: 17, r: 8, p: 1 };
    /// The cheapest parameters accepted, for tests only (1 MiB).
    pub const TEST_ONLY_WEAK: Self = Self { log_n: 10, r: 8, p: 1 };
    const MAX_MEMORY: u64 = 1 << 30;

    /// Checks bounds: N from 2^10 to 2^22, r 1-32, p 1-16, and the memory
    /// scrypt needs (128 * r * N bytes) at most 1 GiB.
    pub fn new(log_n: u8, r: u32, p: u32) -> Result<Self, KdfParamsError> {
        let err = KdfParamsError { log_n, r, p };
        if !(10..=22).contains(&log_n) || !(1..=32).contains(&r) || !(1..=16).contains(&p) {
            return Err(err);
        }
        if 128 * u64::from(r) * (1u64 << log_n) > Self::MAX_MEMORY {
            return Err(err);
        }
        Ok(Self { log_n, r, p })
    }

    /// From an Aegis-style N (which must be a power of two).
    pub fn from_n(n: u64, r: u32, p: u32) -> Result<Self, KdfParamsError> {
        let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
        if !n.is_power_of_two() {
            return Err(KdfParamsError { log_n: 0, r, p });
        }
        Self::new(log_n, r, p)
    }

    /// log2 of N.
    #[must_use]
    pub const fn log_n(self) -> u8 {
        self.log_n
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Runs scrypt, filling `output` (10 to 64 bytes). Cannot fail with
/// parameters from [`KdfParams::new`], but an error is still an error: a
/// key left at zero must never encrypt anything.
pub(crate) fn scrypt(passphrase: &[u8], salt: &[u8], params: KdfParams, output: &mut [u8]) -> Result<(), SealError> {
    let p = scrypt::Params::new(params.log_n, params.r, params.p, output.len()).map_err(|_| SealError::Kdf)?;
    scrypt::scrypt(passphrase, salt, &p, output).map_err(|_| SealError::Kdf)
}

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), SealError> {
    OsRng.try_fill_bytes(buf).map_err(|_| SealError::RandomUnavailable)
}

/// A key derived from a passphrase, kept so that a vault can be saved again
/// without asking for (or re-deriving from) the passphrase.
pub struct SealingKey {
    key: Zeroizing<[u8; 32]>,
    key_check: [u8; 32],
    salt: [u8; SALT_LEN],
    params: KdfParams,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey").field("params", &self.params).finish_non_exhaustive()
    }
}

impl SealingKey {
    /// Derives a key with a fresh random salt.
    pub fn new(passphrase: &str, params: KdfParams) -> Result<Self, SealError> {
        let mut salt = [0u8; SALT_LEN];
        random(&mut salt)?;
        Self::derive(passphrase, salt, params)
    }

    fn derive(passphrase: &str, salt: [u8; SALT_LEN], params: KdfParams) -> Result<Self, SealError> {
        let mut out = Zeroizing::new([0u8; 64]);
        scrypt(passphrase.as_bytes(), &salt, params, &mut out[..])?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&out[..32]);
        let mut key_check = [0u8; 32];
        key_check.copy_from_slice(&out[32..]);
        Ok(Self { key, key_check, salt, params })
    }

    /// Encrypts `plaintext` with a fresh nonce into the JSON file format.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let cipher = Aes256Gcm::new_from_slice(&self.key[..]).map_err(|_| SealError::Cipher)?;
        let ciphertext = cipher.encrypt(Nonce::from_slice(&nonce), plaintext).map_err(|_| SealError::Cipher)?;
        let file = EnvelopeFile {
            format: FORMAT.to_owned(),
            version: VERSION,
            kdf: Kdf {
                name: KDF_NAME.to_owned(),
                log_n: self.params.log_n,
                r: self.params.r,
                p: self.params.p,
                salt: BASE64.encode(&self.salt),
            },
            cipher: CIPHER.to_owned(),
            key_check: BASE64.encode(&self.key_check),
            nonce: BASE64.encode(&nonce),
            ciphertext: BASE64.encode(&ciphertext),
        };
        let mut out = serde_json::to_vec_pretty(&file).map_err(|_| SealError::Json)?;
        out.push(b'\n');
        Ok(out)
    }
}

/// Making a file failed (nothing the user can fix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// scrypt refused its parameters.
    #[error("the key derivation (scrypt) failed")]
    Kdf,
    /// The accounts could not be turned into JSON.
    #[error("the accounts could not be written as JSON")]
    Json,
    /// The OS random number generator failed.
    #[error("the operating system's random number generator is unavailable")]
    RandomUnavailable,
    /// The cipher refused (cannot happen with a 32-byte key).
    #[error("encryption failed")]
    Cipher,
}

/// Why an encrypted file could not be opened. Each case has its own message
/// because each needs a different action from the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The file ends early (e.g. a copy that was cut short).
    #[error("the file is incomplete (truncated)")]
    Truncated,
    /// Not JSON at all, or JSON of another kind.
    #[error("the file is not a kapu authenticator encrypted file (it is damaged, or something else)")]
    NotEncryptedFormat,
    /// Written by a newer kapu.
    #[error("the file has format version {0}, this kapu reads version 1: update kapu")]
    UnsupportedVersion(u64),
    /// The header is ours but a field is missing, malformed or unsupported.
    #[error("the file's header is damaged: {0}")]
    BadHeader(String),
    /// The passphrase does not match.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The passphrase matches but the contents fail authentication.
    #[error("the passphrase is right, but the encrypted contents are damaged (they fail authentication)")]
    Damaged,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    log_n: u8,
    r: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct EnvelopeFile {
    format: String,
    version: u32,
    kdf: Kdf,
    cipher: String,
    key_check: String,
    nonce: String,
    ciphertext: String,
}

/// Whether `value` (a parsed JSON object) claims to be our encrypted format.
#[must_use]
pub fn is_envelope(value: &serde_json::Value) -> bool {
    value.get("format").and_then(serde_json::Value::as_str) == Some(FORMAT)
}

/// Classifies a JSON parse error: running out of input is truncation,
/// anything else is "not our file".
pub(crate) fn json_error(e: &serde_json::Error) -> OpenError {
    if e.is_eof() { OpenError::Truncated } else { OpenError::NotEncryptedFormat }
}

fn decode<const N: usize>(text: &str, field: &str) -> Result<[u8; N], OpenError> {
    let bytes = BASE64.decode(text.as_bytes()).map_err(|_| OpenError::BadHeader(format!("{field} is not base64")))?;
    bytes.try_into().map_err(|_| OpenError::BadHeader(format!("{field} has the wrong length")))
}

/// Opens an encrypted file: the plaintext, and the key for saving it again.
pub fn open(bytes: &[u8], passphrase: &str) -> Result<(Zeroizing<Vec<u8>>, SealingKey), OpenError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(OpenError::Truncated);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    if !is_envelope(&value) {
        return Err(OpenError::NotEncryptedFormat);
    }
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(v) => return Err(OpenError::UnsupportedVersion(v)),
        None => return Err(OpenError::BadHeader("no version".to_owned())),
    }
    let file: EnvelopeFile = serde_json::from_value(value).map_err(|e| OpenError::BadHeader(e.to_string()))?;
    if file.kdf.name != KDF_NAME {
        return Err(OpenError::BadHeader(format!("unsupported key derivation {:?}", file.kdf.name)));
    }
    if file.cipher != CIPHER {
        return Err(OpenError::BadHeader(format!("unsupported cipher {:?}", file.cipher)));
    }
    let params =
        KdfParams::new(file.kdf.log_n, file.kdf.r, file.kdf.p).map_err(|e| OpenError::BadHeader(e.to_string()))?;
    let salt = decode::<SALT_LEN>(&file.kdf.salt, "the salt")?;
    let key_check = decode::<32>(&file.key_check, "the key check")?;
    let nonce = decode::<NONCE_LEN>(&file.nonce, "the nonce")?;
    let ciphertext = BASE64
        .decode(file.ciphertext.as_bytes())
        .map_err(|_| OpenError::BadHeader("the ciphertext is not base64".to_owned()))?;
    if ciphertext.len() < TAG_LEN {
        return Err(OpenError::Damaged);
    }
    let key = SealingKey::derive(passphrase, salt, params).map_err(|e| OpenError::BadHeader(e.to_string()))?;
    if !bool::from(key.key_check.ct_eq(&key_check)) {
        return Err(OpenError::WrongPassphrase);
    }
    let cipher = Aes256Gcm::new_from_slice(&key.key[..]).map_err(|_| OpenError::Damaged)?;
    let plaintext = cipher.decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice()).map_err(|_| OpenError::Damaged)?;
    Ok((Zeroizing::new(plaintext), key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const P: &str = "correct horse battery staple";

    fn sealed(plaintext: &[u8]) -> Vec<u8> {
        SealingKey::new(P, KdfParams::TEST_ONLY_WEAK).unwrap().seal(plaintext).unwrap()
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let key = SealingKey::new(P, KdfParams::TEST_ONLY_WEAK).unwrap();
        let a = key.seal(b"{\"x\":1}").unwrap();
        let b = key.seal(b"{\"x\":1}").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        let (plain, again) = open(&a, P).unwrap();
        assert_eq!(plain.as_slice(), b"{\"x\":1}");
        assert_eq!(again.salt, key.salt);
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert_eq!(v["version"], 1);
        assert_eq!(v["kdf"]["log_n"], 10);
        assert_eq!(v["cipher"], "AES-256-GCM");
        assert!(!String::from_utf8_lossy(&a).contains("\"x\""), "plaintext not visible");
    }

    #[test]
    fn errors_are_distinct() {
        let file = sealed(b"secret stuff");
        assert_eq!(open(&file, "wrong passphrase").unwrap_err(), OpenError::WrongPassphrase);
        assert_eq!(open(&file[..file.len() / 2], P).unwrap_err(), OpenError::Truncated);
        assert_eq!(open(b"", P).unwrap_err(), OpenError::Truncated);
        assert_eq!(open(b"\x89PNG garbage", P).unwrap_err(), OpenError::NotEncryptedFormat);
        assert_eq!(open(b"{\"format\": \"other\"}", P).unwrap_err(), OpenError::NotEncryptedFormat);
        // Flip a ciphertext bit: the passphrase checks out, the contents do not.
        let mut v: serde_json::Value = serde_json::from_slice(&file).unwrap();
        let mut ct = BASE64.decode(v["ciphertext"].as_str().unwrap().as_bytes()).unwrap();
        ct[0] ^= 1;
        v["ciphertext"] = BASE64.encode(&ct).into();
        assert_eq!(open(&serde_json::to_vec(&v).unwrap(), P).unwrap_err(), OpenError::Damaged);
        let mut v2: serde_json::Value = serde_json::from_slice(&file).unwrap();
        v2["version"] = 2.into();
        assert_eq!(open(&serde_json::to_vec(&v2).unwrap(), P).unwrap_err(), OpenError::UnsupportedVersion(2));
        let mut v3: serde_json::Value = serde_json::from_slice(&file).unwrap();
        v3["kdf"]["log_n"] = 40.into();
        assert!(matches!(open(&serde_json::to_vec(&v3).unwrap(), P).unwrap_err(), OpenError::BadHeader(_)));
    }

    #[test]
    fn kdf_bounds() {
        assert!(KdfParams::new(9, 8, 1).is_err());
        assert!(KdfParams::new(23, 8, 1).is_err());
        assert!(KdfParams::new(20, 32, 1).is_err(), "4 GiB");
        assert!(KdfParams::new(20, 8, 1).is_ok());
        assert_eq!(KdfParams::from_n(32768, 8, 1).unwrap().log_n(), 15);
        assert!(KdfParams::from_n(30000, 8, 1).is_err());
        assert!(KdfParams::from_n(0, 8, 1).is_err());
    }

    #[test]
    fn scrypt_matches_rfc7914_vector() {
        // RFC 7914 section 12, second vector: P="password", S="NaCl", N=1024, r=8, p=16.
        let mut out = [0u8; 64];
        scrypt(b"password", b"NaCl", KdfParams::new(10, 8, 16).unwrap(), &mut out).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&out),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
             2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
    }
}
