//! One-time passwords for two-step login: HOTP (RFC 4226), TOTP (RFC 6238),
//! RFC 4648 base32 and `otpauth://` key URIs.
//!
//! Pure computation, no I/O: no clock (callers pass Unix seconds), no
//! storage. Used by the kapu login server (verifying codes, creating secrets
//! and enrolment QR codes) and by the terminal authenticator (generating
//! codes, importing URIs).
//!
//! The hashes are RustCrypto's `hmac`, `sha1` and `sha2`; base32 is
//! `data-encoding`; this crate adds the RFC algorithms around them and types
//! that cannot hold invalid parameters.
//!
//! ```
//! use otp::{Algorithm, Digits, OtpAuthUri, Period, Secret, Totp, uri::Kind};
//!
//! // Enrolment: a new secret, shown as a QR code and as grouped text.
//! let secret = Secret::generate_default()?;
//! let uri = OtpAuthUri {
//!     kind: Kind::Totp { period: Period::DEFAULT },
//!     issuer: Some("kapu".into()),
//!     account: "kovacs.janos".into(),
//!     secret: secret.clone(),
//!     algorithm: Algorithm::Sha1,
//!     digits: Digits::SIX,
//! };
//! assert!(uri.to_uri().starts_with("otpauth://totp/kapu:kovacs.janos?secret="));
//!
//! // Login: verify with replay protection, then store the returned step.
//! let totp = Totp::new(secret, Algorithm::Sha1, Digits::SIX, Period::DEFAULT);
//! let now = 1_700_000_000;
//! let typed = totp.code_at(now);
//! let last_used_step = None;
//! let step = totp.verify_after(&typed, now, 1, last_used_step);
//! assert_eq!(step, Some(totp.step_at(now)));
//! assert_eq!(totp.verify_after(&typed, now, 1, step), None);
//! # Ok::<(), otp::SecretError>(())
//! ```
//!
//! # Known limitation: key-equivalent state is not wiped
//!
//! [`Secret`] wipes its bytes on drop, but [`Totp`] and [`Hotp`] also keep
//! the keyed HMAC state (the hash states after absorbing `key ^ ipad` and
//! `key ^ opad`), which is as good as the key for computing codes. The
//! RustCrypto `hmac` 0.12 / `sha1` 0.10 / `sha2` 0.10 generation used here
//! does not implement `Zeroize` for those states, and wiping them from
//! outside would need `unsafe`, so they are freed without being overwritten.
//! Keep generators short-lived on the server (build one per verification).

pub mod base32;
mod code;
mod hotp;
mod params;
mod secret;
mod totp;
pub mod uri;

pub use base32::Base32Error;
pub use code::{Code, CodeError};
pub use hotp::Hotp;
pub use params::{Algorithm, AlgorithmError, Digits, DigitsError, Period, PeriodError};
pub use secret::{Secret, SecretError};
pub use totp::Totp;
pub use uri::{Kind, OtpAuthUri, UriError};
