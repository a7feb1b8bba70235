//! [`Secret`]: the shared HMAC key of an OTP generator.
//!
//! Whoever holds these bytes can compute every future code of the account, so
//! the type is built to leak as little as possible: the bytes are wiped from
//! memory when the value is dropped, `Debug` prints only the length, there is
//! no `Display`, equality is constant-time, and the only ways to read the
//! bytes back are explicitly named ([`Secret::expose_bytes`],
//! [`Secret::to_base32`]) so that every use is easy to find in review.

use std::fmt;

use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::base32::{self, Base32Error};

/// An HMAC key for HOTP/TOTP. Never empty.
///
/// Equality ([`PartialEq`]) compares the bytes in constant time; only the
/// lengths (which are not secret: they show in the base32 text length) may
/// end the comparison early.
#[derive(Clone)]
pub struct Secret {
    bytes: Vec<u8>,
}

// Wiping happens in Drop only. `Zeroize` is deliberately not implemented:
// a public `zeroize()` would leave behind an empty `Secret`, which the rest
// of the crate relies on never existing.
impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

/// Why a secret could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The key had no bytes at all.
    #[error("the secret key is empty")]
    Empty,
    /// [`Secret::generate`] was asked for fewer than
    /// [`Secret::MIN_GENERATED_LEN`] bytes.
    #[error(
        "a new secret must be at least {min} bytes ({} bits) long, {requested} bytes were requested",
        min * 8
    )]
    TooShort {
        /// The requested length in bytes.
        requested: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// [`Secret::generate`] was asked for more than
    /// [`Secret::MAX_GENERATED_LEN`] bytes.
    #[error("a new secret can be at most {max} bytes long, {requested} bytes were requested")]
    TooLong {
        /// The requested length in bytes.
        requested: usize,
        /// The maximum length in bytes.
        max: usize,
    },
    /// The operating system's random number generator failed. Nothing can
    /// be done about it here; it needs an operator.
    #[error("the operating system's random number generator is unavailable")]
    RandomUnavailable,
    /// The base32 text of the key was malformed.
    #[error("the secret key is not valid base32: {0}")]
    Base32(#[from] Base32Error),
}

impl Secret {
    /// The length [`Secret::generate_default`] uses: 20 bytes = 160 bits, the
    /// length RFC 4226 section 4 recommends and the HMAC-SHA-1 output size.
    /// It shows as 32 base32 characters.
    pub const DEFAULT_LEN: usize = 20;
    /// RFC 4226 section 4 requires at least 128 bits of shared secret.
    pub const MIN_GENERATED_LEN: usize = 16;
    /// The SHA-512 block size. A longer HMAC key is first hashed down to the
    /// output size, so more bytes would add nothing but a longer QR code.
    pub const MAX_GENERATED_LEN: usize = 128;

    /// Wraps existing key bytes.
    ///
    /// Any non-empty length is accepted because secrets already in use
    /// (for example the 80-bit keys in Google's own documentation) must keep
    /// working when imported. New secrets should come from
    /// [`Secret::generate`], which enforces the RFC 4226 minimum.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self { bytes })
    }

    /// Copies key bytes from a slice (see [`Secret::from_bytes`]).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SecretError> {
        Self::from_bytes(bytes.to_vec())
    }

    /// Decodes a base32 key as users type or paste it (see
    /// [`base32::decode`] for what is accepted).
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let bytes = base32::decode(text)?;
        Self::from_bytes(bytes)
    }

    /// A fresh key of `len_bytes` bytes from the operating system's CSPRNG.
    ///
    /// Refuses fewer than [`Self::MIN_GENERATED_LEN`] (128 bits, RFC 4226
    /// section 4) and more than [`Self::MAX_GENERATED_LEN`] bytes.
    pub fn generate(len_bytes: usize) -> Result<Self, SecretError> {
        if len_bytes < Self::MIN_GENERATED_LEN {
            return Err(SecretError::TooShort { requested: len_bytes, min: Self::MIN_GENERATED_LEN });
        }
        if len_bytes > Self::MAX_GENERATED_LEN {
            return Err(SecretError::TooLong { requested: len_bytes, max: Self::MAX_GENERATED_LEN });
        }
        let mut bytes = vec![0u8; len_bytes];
        // try_fill_bytes rather than fill_bytes: the latter panics when the
        // OS RNG fails, and a login server should report that, not crash.
        if OsRng.try_fill_bytes(&mut bytes).is_err() {
            return Err(SecretError::RandomUnavailable);
        }
        Ok(Self { bytes })
    }

    /// A fresh key of [`Self::DEFAULT_LEN`] (20) bytes.
    pub fn generate_default() -> Result<Self, SecretError> {
        Self::generate(Self::DEFAULT_LEN)
    }

    /// The raw key bytes. Named loudly so that every place that handles
    /// the key material stands out in review.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length of the key in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a `Secret` cannot be empty. Present for API symmetry
    /// with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The key as unpadded upper-case base32 (what `otpauth://` URIs carry
    /// and what users type into authenticator apps). The returned string is
    /// wiped when dropped; it dereferences to `&str`.
    #[must_use]
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32::encode(&self.bytes))
    }

    /// The key as base32 in groups of four separated by spaces, for showing
    /// to a user who has to type it in ("JBSW Y3DP EHPK 3PXP"). Wiped when
    /// dropped.
    #[must_use]
    pub fn to_base32_grouped(&self) -> Zeroizing<String> {
        Zeroizing::new(base32::encode_grouped(&self.bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bytes>)", self.bytes.len())
    }
}

impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // subtle's slice comparison returns early (false) on a length
        // mismatch, and runs in constant time over the bytes otherwise.
        self.bytes.as_slice().ct_eq(other.bytes.as_slice())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Secret {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_print_bytes() {
        let s = Secret::from_slice(b"12345678901234567890").unwrap();
        let dbg = format!("{s:?}");
        assert_eq!(dbg, "Secret(<redacted, 20 bytes>)");
        assert!(!dbg.contains("49"), "{dbg}");
        assert!(!dbg.contains("GEZD"), "{dbg}");
        // Through a containing struct's derived Debug as well.
        let dbg = format!("{:?}", Some(&s));
        assert!(!dbg.contains("12345"), "{dbg}");
    }

    #[test]
    fn empty_rejected() {
        assert_eq!(Secret::from_bytes(Vec::new()), Err(SecretError::Empty));
        assert_eq!(Secret::from_base32(""), Err(SecretError::Empty));
        assert_eq!(Secret::from_base32("  "), Err(SecretError::Empty));
    }

    #[test]
    fn base32_round_trip() {
        let s = Secret::from_base32("JBSW Y3DP EHPK 3PXP").unwrap();
        assert_eq!(s.expose_bytes(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(&*s.to_base32(), "JBSWY3DPEHPK3PXP");
        assert_eq!(&*s.to_base32_grouped(), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(s.len(), 10);
        assert!(!s.is_empty());
    }

    #[test]
    fn base32_errors_wrapped() {
        let err = Secret::from_base32("JBSW1").unwrap_err();
        assert!(matches!(err, SecretError::Base32(_)), "{err:?}");
    }

    #[test]
    fn generate_lengths() {
        let s = Secret::generate_default().unwrap();
        assert_eq!(s.len(), 20);
        assert_eq!(s.to_base32().len(), 32);
        assert_eq!(s.to_base32_grouped().len(), 39);
        assert_eq!(Secret::generate(16).unwrap().len(), 16);
        assert_eq!(Secret::generate(128).unwrap().len(), 128);
        assert_eq!(Secret::generate(15), Err(SecretError::TooShort { requested: 15, min: 16 }));
        assert_eq!(
            Secret::generate(0).unwrap_err().to_string(),
            "a new secret must be at least 16 bytes (128 bits) long, 0 bytes were requested"
        );
        assert_eq!(Secret::generate(129), Err(SecretError::TooLong { requested: 129, max: 128 }));
    }

    #[test]
    fn generated_secrets_differ() {
        // Not a randomness test; catches an RNG that was never wired up.
        let a = Secret::generate_default().unwrap();
        let b = Secret::generate_default().unwrap();
        assert_ne!(a, b);
        assert_ne!(a.expose_bytes(), &[0u8; 20]);
    }

    #[test]
    fn equality() {
        let a = Secret::from_slice(b"abcdefghijklmnop").unwrap();
        let b = Secret::from_slice(b"abcdefghijklmnop").unwrap();
        let c = Secret::from_slice(b"abcdefghijklmnoq").unwrap();
        let d = Secret::from_slice(b"abcdefghijklmno").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.clone(), a);
    }
}
