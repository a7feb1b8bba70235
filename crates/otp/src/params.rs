//! The public, non-secret parameters of a one-time-password generator: the
//! HMAC hash ([`Algorithm`]), the code length ([`Digits`]) and the TOTP time
//! step ([`Period`]).
//!
//! Each is a type that can only hold a value the RFCs allow, so that the
//! generators never have to re-check them and a caller cannot build, say, a
//! 4-digit or 0-second generator by accident.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

/// The hash function used inside HMAC (RFC 6238 section 1.2 allows SHA-1,
/// SHA-256 and SHA-512).
///
/// SHA-1 is the default because it is the only one every authenticator app
/// supports; HMAC-SHA-1 is not affected by SHA-1 collision attacks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226, and the otpauth default).
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs: `SHA1`, `SHA256` or `SHA512`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// The key length RFC 6238 uses for this hash in its test vectors (the
    /// hash output length), which is also a sensible secret length for it.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The algorithm name was not `SHA1`, `SHA256` or `SHA512`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported algorithm {name:?}: use SHA1, SHA256 or SHA512")]
pub struct AlgorithmError {
    /// The rejected name (shortened if very long).
    pub name: String,
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;

    /// Accepts `SHA1`, `SHA256`, `SHA512` in any letter case. Spellings such
    /// as `SHA-1` are refused rather than guessed at.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("SHA1") {
            Ok(Self::Sha1)
        } else if s.eq_ignore_ascii_case("SHA256") {
            Ok(Self::Sha256)
        } else if s.eq_ignore_ascii_case("SHA512") {
            Ok(Self::Sha512)
        } else {
            Err(AlgorithmError { name: shorten(s) })
        }
    }
}

/// The number of decimal digits in a code: 6, 7 or 8.
///
/// RFC 4226 section 5.3 requires at least 6; 8 is the most a 31-bit
/// truncated value can fill without skewing the distribution badly, and the
/// most any authenticator app accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(u8);

/// The requested code length was not 6, 7 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a one-time code must have 6, 7 or 8 digits, not {digits}")]
pub struct DigitsError {
    /// The rejected length.
    pub digits: u8,
}

impl Digits {
    /// The smallest allowed length (RFC 4226 section 5.3).
    pub const MIN: u8 = 6;
    /// The largest allowed length.
    pub const MAX: u8 = 8;
    /// Six digits, the otpauth default.
    pub const SIX: Self = Self(6);
    /// Seven digits.
    pub const SEVEN: Self = Self(7);
    /// Eight digits, as in the RFC 6238 test vectors.
    pub const EIGHT: Self = Self(8);

    /// Checks that `digits` is 6, 7 or 8.
    pub const fn new(digits: u8) -> Result<Self, DigitsError> {
        if digits >= Self::MIN && digits <= Self::MAX { Ok(Self(digits)) } else { Err(DigitsError { digits }) }
    }

    /// The number of digits.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `10^digits`: codes are the truncated HMAC value modulo this.
    #[must_use]
    pub const fn modulus(self) -> u32 {
        // At most 10^8, which fits in u32.
        10u32.pow(self.0 as u32)
    }
}

impl Default for Digits {
    fn default() -> Self {
        Self::SIX
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The TOTP time step in seconds (RFC 6238 "X"); never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period(NonZeroU64);

/// The requested period was zero seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the time step (period) must be at least 1 second")]
pub struct PeriodError;

impl Period {
    /// 30 seconds, the RFC 6238 recommendation and the otpauth default.
    pub const DEFAULT: Self = Self(NonZeroU64::MIN.saturating_add(29));

    /// Checks that `seconds` is not zero.
    pub const fn new(seconds: u64) -> Result<Self, PeriodError> {
        match NonZeroU64::new(seconds) {
            Some(p) => Ok(Self(p)),
            None => Err(PeriodError),
        }
    }

    /// The period in seconds.
    #[must_use]
    pub const fn seconds(self) -> u64 {
        self.0.get()
    }
}

impl Default for Period {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Error messages quote rejected input; cap it so that a hostile URI cannot
/// make an error message (and the log line holding it) arbitrarily long.
pub(crate) fn shorten(s: &str) -> String {
    const MAX_CHARS: usize = 32;
    let mut out: String = s.chars().take(MAX_CHARS).collect();
    if s.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_and_ignore_case() {
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.as_str().to_lowercase().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
        }
        assert_eq!("sHa256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
        assert_eq!(Algorithm::default(), Algorithm::Sha1);
    }

    #[test]
    fn algorithm_rejects_other_spellings() {
        for bad in ["SHA-1", "MD5", "", " SHA1", "SHA1 ", "SHA384"] {
            let err = bad.parse::<Algorithm>().unwrap_err();
            assert_eq!(err.name, bad);
        }
        let long = "X".repeat(100);
        let err = long.parse::<Algorithm>().unwrap_err();
        assert_eq!(err.name.chars().count(), 33);
    }

    #[test]
    fn digits_range() {
        for d in 0..=u8::MAX {
            assert_eq!(Digits::new(d).is_ok(), (6..=8).contains(&d), "{d}");
        }
        assert_eq!(Digits::new(5), Err(DigitsError { digits: 5 }));
        assert_eq!(Digits::SIX.modulus(), 1_000_000);
        assert_eq!(Digits::SEVEN.modulus(), 10_000_000);
        assert_eq!(Digits::EIGHT.modulus(), 100_000_000);
        assert_eq!(Digits::default(), Digits::SIX);
    }

    #[test]
    fn period_non_zero() {
        assert_eq!(Period::new(0), Err(PeriodError));
        assert_eq!(Period::new(1).unwrap().seconds(), 1);
        assert_eq!(Period::new(u64::MAX).unwrap().seconds(), u64::MAX);
        assert_eq!(Period::DEFAULT.seconds(), 30);
        assert_eq!(Period::default(), Period::DEFAULT);
    }
}
