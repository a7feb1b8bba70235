//! HOTP, the counter-based one-time password of RFC 4226, and the code
//! engine that TOTP ([`crate::Totp`]) is built on.
//!
//! The engine keys HMAC once, when the generator is made, and clones the
//! keyed state for every counter: keying costs as much as hashing one more
//! block, and verification evaluates several counters per attempt.

use std::fmt;

use hmac::Hmac;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater, CtOption};

use crate::code::Code;
use crate::params::{Algorithm, Digits};
use crate::secret::Secret;

/// HMAC keyed with the secret, ready to be cloned per counter.
#[derive(Clone)]
enum KeyedMac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// `new_from_slice` on HMAC cannot fail: RFC 2104 HMAC takes keys of any
/// length (longer ones are hashed, shorter ones zero-padded), and hmac 0.12
/// always returns `Ok`. The `Result` exists only because the method comes
/// from a trait shared with fixed-key-length ciphers. Threading an error
/// that cannot happen through every constructor would be worse than this
/// one documented assertion.
#[allow(clippy::expect_used)]
fn keyed<M: hmac::Mac + hmac::digest::KeyInit>(key: &[u8]) -> M {
    <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

impl KeyedMac {
    fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        let key = secret.expose_bytes();
        match algorithm {
            Algorithm::Sha1 => Self::Sha1(keyed(key)),
            Algorithm::Sha256 => Self::Sha256(keyed(key)),
            Algorithm::Sha512 => Self::Sha512(keyed(key)),
        }
    }
}

/// HMAC of the 8-byte big-endian counter (RFC 4226 section 5.2, step 1),
/// then dynamic truncation (step 2).
fn truncated_hmac<M: hmac::Mac + Clone>(keyed: &M, counter: u64) -> u32 {
    let mut mac = keyed.clone();
    mac.update(&counter.to_be_bytes());
    dynamic_truncation(&mac.finalize().into_bytes())
}

/// RFC 4226 section 5.3 "DT": take 4 bytes at the offset given by the low
/// nibble of the last byte and drop the top bit, giving a 31-bit number.
///
/// `hs` is an HMAC output of at least 20 bytes (SHA-1), so `offset + 3` is at
/// most 18 and every index is in bounds.
///
/// The secret-dependent offset selects bytes within one small stack array,
/// as in the RFC's reference code; it is not a practical cache-timing
/// channel.
fn dynamic_truncation(hs: &[u8]) -> u32 {
    debug_assert!(hs.len() >= 20);
    let offset = usize::from(hs[hs.len() - 1] & 0x0f);
    u32::from_be_bytes([hs[offset], hs[offset + 1], hs[offset + 2], hs[offset + 3]]) & 0x7fff_ffff
}

/// The part shared by HOTP and TOTP: counter in, code value out.
#[derive(Clone)]
pub(crate) struct Engine {
    mac: KeyedMac,
    digits: Digits,
}

impl Engine {
    pub(crate) fn new(secret: &Secret, algorithm: Algorithm, digits: Digits) -> Self {
        Self { mac: KeyedMac::new(secret, algorithm), digits }
    }

    pub(crate) fn digits(&self) -> Digits {
        self.digits
    }

    /// The code for `counter` as a number below `10^digits`.
    pub(crate) fn value(&self, counter: u64) -> u32 {
        let truncated = match &self.mac {
            KeyedMac::Sha1(m) => truncated_hmac(m, counter),
            KeyedMac::Sha256(m) => truncated_hmac(m, counter),
            KeyedMac::Sha512(m) => truncated_hmac(m, counter),
        };
        // Division by a constant compiles to multiply-and-shift, which runs in
        // the same time for every value; a hardware divide by a run-time
        // modulus may not, and the dividend here is the secret-derived code.
        match self.digits.get() {
            6 => truncated % 1_000_000,
            7 => truncated % 10_000_000,
            // `Digits` guarantees 8 here.
            _ => truncated % 100_000_000,
        }
    }

    /// The code for `counter`, zero-padded to the configured length.
    pub(crate) fn code(&self, counter: u64) -> Code {
        Code::from_reduced(self.value(counter), self.digits)
    }

    /// Finds the counter in `first..=last` whose code is `code`, considering
    /// only counters greater than `used` when it is given.
    ///
    /// Every counter in the range is computed and compared, with the
    /// comparison and the bookkeeping done in constant time, so that the time
    /// taken does not reveal whether or where a match was found; only the
    /// (public) size of the range affects it. If several counters match,
    /// which happens by chance about once in `10^digits` per pair, the
    /// largest is returned: recording it as used then also blocks the other
    /// matches, so the same typed code can never be accepted twice.
    pub(crate) fn find(&self, code: &Code, first: u64, last: u64, used: Option<u64>) -> Option<u64> {
        // The lengths are public (they are configuration), so this early
        // return leaks nothing.
        if code.digits() != self.digits {
            return None;
        }
        let wanted = code.value();
        let mut found = Choice::from(0);
        let mut found_counter = 0u64;
        for counter in first..=last {
            let fresh = match used {
                Some(used) => counter.ct_gt(&used),
                None => Choice::from(1),
            };
            let hit = self.value(counter).ct_eq(&wanted) & fresh;
            found_counter.conditional_assign(&counter, hit);
            found |= hit;
        }
        CtOption::new(found_counter, found).into()
    }
}

/// An RFC 4226 HOTP generator and verifier: the code depends on a counter
/// that both sides advance on every use.
///
/// `Debug` does not show the secret.
#[derive(Clone)]
pub struct Hotp {
    secret: Secret,
    algorithm: Algorithm,
    engine: Engine,
}

impl Hotp {
    /// Prepares a generator. Keying HMAC happens here, once.
    #[must_use]
    pub fn new(secret: Secret, algorithm: Algorithm, digits: Digits) -> Self {
        let engine = Engine::new(&secret, algorithm, digits);
        Self { secret, algorithm, engine }
    }

    /// The shared secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The HMAC hash.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The code length.
    #[must_use]
    pub fn digits(&self) -> Digits {
        self.engine.digits
    }

    /// The code for `counter`, zero-padded ("007123").
    #[must_use]
    pub fn code_at(&self, counter: u64) -> String {
        self.engine.code(counter).to_string()
    }

    /// The code for `counter` as a [`Code`].
    #[must_use]
    pub fn code_value_at(&self, counter: u64) -> Code {
        self.engine.code(counter)
    }

    /// Parses the typed `code` and checks it against counters
    /// `counter..=counter + look_ahead`, where `counter` is the next counter
    /// the verifier expects. Returns the matching counter; the caller must
    /// then store `matched + 1` as the next expected counter, which is what
    /// stops the code (and every earlier one) from being used again.
    ///
    /// `look_ahead` (RFC 4226 section 7.4 "look-ahead window") tolerates a
    /// user who pressed the button of a hardware token without logging in.
    /// Malformed input gives `None`; use [`Code::parse`] first to tell a
    /// typing mistake from a wrong code.
    #[must_use]
    pub fn verify(&self, code: &str, counter: u64, look_ahead: u8) -> Option<u64> {
        let code = Code::parse(code, self.digits()).ok()?;
        self.verify_code(&code, counter, look_ahead)
    }

    /// Like [`Hotp::verify`], for an already parsed code. All counters in
    /// the window are checked, in constant time per counter.
    #[must_use]
    pub fn verify_code(&self, code: &Code, counter: u64, look_ahead: u8) -> Option<u64> {
        let last = counter.saturating_add(u64::from(look_ahead));
        self.engine.find(code, counter, last, None)
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("secret", &self.secret)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.engine.digits)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn rfc4226() -> Hotp {
        Hotp::new(Secret::from_slice(b"12345678901234567890").unwrap(), Algorithm::Sha1, Digits::SIX)
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0-9.
    const RFC4226_CODES: [&str; 10] =
        ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];

    /// RFC 4226 Appendix D: the truncated 31-bit values ("Decimal").
    const RFC4226_TRUNCATED: [u32; 10] = [
        1_284_755_224,
        1_094_287_082,
        137_359_152,
        1_726_969_429,
        1_640_338_314,
        868_254_676,
        1_918_287_922,
        82_162_583,
        673_399_871,
        645_520_489,
    ];

    #[test]
    fn rfc4226_appendix_d_codes() {
        let hotp = rfc4226();
        for (counter, expected) in (0u64..).zip(RFC4226_CODES) {
            assert_eq!(hotp.code_at(counter), expected, "counter {counter}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_truncated_values() {
        let KeyedMac::Sha1(mac) = KeyedMac::new(rfc4226().secret(), Algorithm::Sha1) else {
            panic!("wrong variant");
        };
        for (counter, expected) in (0u64..).zip(RFC4226_TRUNCATED) {
            assert_eq!(truncated_hmac(&mac, counter), expected, "counter {counter}");
        }
    }

    #[test]
    fn rfc4226_section_5_4_example() {
        // The worked example of section 5.4.
        let hs = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19, 0xda, 0x8e, 0x94, 0x5b,
            0x55, 0x5a,
        ];
        assert_eq!(dynamic_truncation(&hs), 0x50ef_7f19);
        assert_eq!(dynamic_truncation(&hs) % 1_000_000, 872_921);
    }

    #[test]
    fn verify_look_ahead() {
        let hotp = rfc4226();
        assert_eq!(hotp.verify("755224", 0, 0), Some(0));
        assert_eq!(hotp.verify("287082", 0, 0), None);
        assert_eq!(hotp.verify("287082", 0, 1), Some(1));
        assert_eq!(hotp.verify("520489", 0, 9), Some(9));
        assert_eq!(hotp.verify("520489", 0, 8), None);
        // Counters below the expected one are never accepted.
        assert_eq!(hotp.verify("755224", 1, 9), None);
        assert_eq!(hotp.verify("755 224", 0, 0), Some(0));
        assert_eq!(hotp.verify("75522", 0, 0), None);
        assert_eq!(hotp.verify("x55224", 0, 0), None);
    }

    #[test]
    fn verify_at_counter_limit_does_not_overflow() {
        let hotp = rfc4226();
        let code = hotp.code_value_at(u64::MAX);
        assert_eq!(hotp.verify_code(&code, u64::MAX, 255), Some(u64::MAX));
        assert_eq!(hotp.verify_code(&code, u64::MAX - 3, 255), Some(u64::MAX));
    }

    #[test]
    fn verify_rejects_other_length() {
        let hotp = rfc4226();
        let eight = Code::parse("84755224", Digits::EIGHT).unwrap();
        assert_eq!(hotp.verify_code(&eight, 0, 0), None);
    }

    #[test]
    fn debug_hides_secret() {
        let dbg = format!("{:?}", rfc4226());
        assert_eq!(dbg, "Hotp { secret: Secret(<redacted, 20 bytes>), algorithm: Sha1, digits: Digits(6) }");
    }

    #[test]
    fn seven_and_eight_digits() {
        let secret = Secret::from_slice(b"12345678901234567890").unwrap();
        let h7 = Hotp::new(secret.clone(), Algorithm::Sha1, Digits::SEVEN);
        let h8 = Hotp::new(secret, Algorithm::Sha1, Digits::EIGHT);
        assert_eq!(h7.code_at(0), "4755224");
        assert_eq!(h8.code_at(0), "84755224");
        assert_eq!(h8.code_at(7), "82162583");
        assert_eq!(h7.code_at(7), "2162583");
    }

    #[test]
    fn leading_zeros_are_kept() {
        let hotp = rfc4226();
        // About one counter in ten has a code below 100000.
        let counter = (0u64..1000).find(|&c| hotp.engine.value(c) < 100_000).unwrap();
        let code = hotp.code_at(counter);
        assert_eq!(code.len(), 6);
        assert!(code.starts_with('0'), "{code}");
        assert_eq!(hotp.verify(&code, counter, 0), Some(counter));
    }
}
