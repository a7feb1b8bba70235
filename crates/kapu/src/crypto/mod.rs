//! Secrets kapu keeps: the instance secret key and the random tokens it hands out.
//!
//! The secret key lives in a file outside the database (0600), so a copy of the
//! database alone reveals no usable secret. Purpose-specific keys are derived
//! from it with HKDF, so one key never serves two purposes.

pub mod secret_box;

use std::fs;
use std::io::Write;
use std::path::Path;

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the secret key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot create the secret key file {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error(
        "the secret key file {path} must hold 64 hexadecimal characters (32 bytes); delete it only if no data encrypted with it must be kept"
    )]
    Malformed { path: String },
}

impl SecretKey {
    /// Reads the key file, or creates it (mode 0600) with a fresh random key.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        match fs::read_to_string(path) {
            Ok(text) => Self::from_hex(text.trim()).ok_or(KeyError::Malformed { path: shown }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private_file(path, format!("{}\n", HEXLOWER.encode(&key.0)).as_bytes())
                    .map_err(|source| KeyError::Create { path: shown, source })?;
                Ok(key)
            }
            Err(source) => Err(KeyError::Read { path: shown, source }),
        }
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    fn from_hex(text: &str) -> Option<Self> {
        let bytes = HEXLOWER.decode(text.to_ascii_lowercase().as_bytes()).ok()?;
        let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(Self(arr))
    }

    /// A key for one purpose (e.g. "csrf", "totp-secrets"), via HKDF-SHA256.
    pub fn derive(&self, purpose: &str) -> DerivedKey {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"kapu/v1"), &self.0);
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF's 255*32 limit, so expand cannot fail.
        if hk.expand(purpose.as_bytes(), &mut out).is_err() {
            out = Sha256::digest([&self.0[..], purpose.as_bytes()].concat()).into();
        }
        DerivedKey(out)
    }
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DerivedKey([u8; 32]);

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey(***)")
    }
}

impl DerivedKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

// HMAC accepts keys of any length; this is never reached.
#[allow(clippy::panic)]
fn unreachable_hmac() -> Hmac<Sha256> {
    panic!("HMAC-SHA256 rejected a 32-byte key")
}

/// Writes a file readable only by its owner, creating parent directories.
pub fn write_private_file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

/// A random single-use token for links and cookies: 256 bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// A random identifier for rows (not secret, but unguessable): 128 bits, hex.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    HEXLOWER.encode(&bytes)
}

/// Tokens are stored only as their SHA-256, so a database copy holds no usable
/// link or session. A fast hash suffices: the tokens carry 256 random bits.
pub fn token_hash(token: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/kapu.key");
        let a = SecretKey::load_or_create(&path).unwrap();
        let b = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(a.derive("x").as_bytes(), b.derive("x").as_bytes());
        assert_ne!(a.derive("x").as_bytes(), a.derive("y").as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn malformed_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kapu.key");
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(SecretKey::load_or_create(&path), Err(KeyError::Malformed { .. })));
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let t = random_token();
        assert_ne!(t, random_token());
        assert_eq!(t.len(), 43);
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_eq!(random_id().len(), 32);
    }
}
