//! Passwords: the secret wrapper, the choice rules (NIST SP 800-63B §5.1.1.2)
//! and Argon2id hashing on a bounded pool of worker threads.
//!
//! # Choosing a password
//!
//! [`PasswordPolicy::check`] applies only the rules NIST asks for: a minimum
//! and maximum length counted in characters, no control characters, not a
//! known common password, not built from the user's own name or address. It
//! deliberately has no composition rules ("one digit, one symbol"): they push
//! people towards predictable patterns without adding strength. Rejections are
//! a fine-grained [`PasswordRejection`]; the page layer words them.
//!
//! The common-password list (`common-passwords.txt`, provenance in this
//! folder's `README.md`) is the 10,000 most frequent entries of at least
//! 8 characters from the MIT-licensed zxcvbn-ts `language-common` package,
//! plus a hand-made list of Hungarian ones. Shorter entries are left out on
//! purpose: [`PasswordPolicy::validate`] never lets the minimum length drop
//! below 8, so they could never pass the length rule anyway.
//!
//! # Hashing
//!
//! [`PasswordHasher`] stores passwords as Argon2id in the PHC string format
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), 16-byte random salt,
//! 32-byte output, with the OWASP-recommended cost as the default.
//!
//! Argon2 is deliberately slow and memory-hungry, which makes it a
//! denial-of-service lever: one hash is tens of milliseconds of a core and
//! `memory_kib` KiB of RAM. Run on the async runtime it would stall every
//! other connection on that runtime thread; run on tokio's blocking pool
//! (up to 512 threads by default) a login storm would queue unbounded work
//! and could allocate hundreds of Argon2 buffers at once. So hashing runs on
//! a fixed number of dedicated OS threads fed by a bounded queue:
//!
//! * **Memory bound:** `workers × memory_kib` KiB of Argon2 memory, allocated
//!   once per worker at start and reused for every hash, e.g. on 2 cores with
//!   the defaults `2 × 19456 KiB = 38 MiB`. Reusing the buffer also avoids
//!   allocating and page-faulting the memory for every hash, which measured
//!   1.6× faster. The one exception: verifying a stored hash whose `m` is
//!   larger than the configured one (made before the cost was lowered) uses
//!   a temporary buffer of that size for that hash; stored hashes above
//!   [`MAX_MEMORY_KIB`] are refused as malformed, so that a tampered row
//!   cannot ask for gigabytes.
//! * **CPU and latency bound:** at most `workers` hashes run at once and at
//!   most `queue` wait; beyond that [`PasswordHasher::hash`] and
//!   [`PasswordHasher::verify`] fail at once with [`HashError::Busy`], so the
//!   caller can answer "try again later" instead of piling up work.
//! * The async caller waits on a oneshot channel, so the runtime is never
//!   blocked.
//!
//! The Argon2 memory is wiped after each hash, as the reference
//! implementation does by default, so that password-derived state does not
//! linger in the process until the next hash overwrites it.
//!
//! # Why `verify_dummy`
//!
//! A login that answers "unknown user" in microseconds and "wrong password"
//! after a full Argon2 run tells an attacker which usernames exist (ASVS:
//! no account enumeration). For an unknown username the login calls
//! [`PasswordHasher::verify_dummy`], which runs a real verification, with the
//! configured cost, against a dummy hash made at start, and always answers
//! [`Verification::Invalid`].
//!
//! # Secrets
//!
//! [`Password`] zeroes its memory on drop and never prints its content. No
//! password, hash input or Argon2 state is ever logged; [`PasswordHash`]'s
//! `Debug` shows only the algorithm and cost, not the salt or hash.

mod hash;
mod policy;

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

pub use hash::{
    HashError, MAX_ITERATIONS, MAX_MEMORY_KIB, MAX_PARALLELISM, MAX_WORKERS, PasswordHash, PasswordHashConfig,
    PasswordHasher, Verification,
};
pub use policy::{NIST_MIN_LEN, NIST_MIN_MAX_LEN, PasswordPolicy, PasswordRejection};

/// A password as typed by the user: zeroed on drop, never printed.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(password: String) -> Self {
        Self(Zeroizing::new(password))
    }

    /// The secret itself; keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Lets form structs hold a `Password` field directly, so the plain `String`
/// does not outlive the request handler's first line.
impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_secret() {
        let p = Password::new("hunter2-secret".to_owned());
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(format!("{p}"), "Password(***)");
        assert_eq!(format!("{:#?}", Some(&p)), "Some(\n    Password(***),\n)");
        assert_eq!(p.expose(), "hunter2-secret");
    }

    #[test]
    fn deserializes_from_a_string() {
        #[derive(Deserialize)]
        struct Form {
            password: Password,
        }
        #[allow(clippy::unwrap_used)]
        let form: Form = serde_json::from_str(r#"{"password":"jó jelszó"}"#).unwrap();
        assert_eq!(form.password.expose(), "jó jelszó");
    }
}
