//! Secrets at rest (TOTP keys): XChaCha20-Poly1305 under a key kept outside
//! the database, with the owning account's id as associated data, so a
//! ciphertext copied onto another account's row does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::DerivedKey;

const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretBoxError {
    /// Wrong key, wrong account, or a damaged value.
    #[error("the stored secret cannot be decrypted (wrong key, wrong account or damaged data)")]
    Open,
    #[error("encryption failed")]
    Seal,
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    pub fn new(key: &DerivedKey) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.as_bytes().into()) }
    }

    /// `nonce || ciphertext+tag`; a fresh random nonce each time.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: associated })
            .map_err(|_| SecretBoxError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], associated: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretBoxError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(SecretBoxError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: associated })
            .map(Zeroizing::new)
            .map_err(|_| SecretBoxError::Open)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn opens_only_with_the_same_key_and_account() {
        let key = SecretKey::generate();
        let b = SecretBox::new(&key.derive("totp-secrets"));
        let sealed = b.seal(b"12345678901234567890", b"account-1").unwrap();
        assert_eq!(&b.open(&sealed, b"account-1").unwrap()[..], b"12345678901234567890");
        assert_eq!(b.open(&sealed, b"account-2"), Err(SecretBoxError::Open));
        let other = SecretBox::new(&SecretKey::generate().derive("totp-secrets"));
        assert_eq!(other.open(&sealed, b"account-1"), Err(SecretBoxError::Open));
        let mut damaged = sealed.clone();
        damaged[30] ^= 1;
        assert_eq!(b.open(&damaged, b"account-1"), Err(SecretBoxError::Open));
        assert_eq!(b.open(&sealed[..10], b"account-1"), Err(SecretBoxError::Open));
        assert_ne!(b.seal(b"x", b"a").unwrap(), b.seal(b"x", b"a").unwrap(), "fresh nonce each time");
    }
}
