//! TOTP, the time-based one-time password of RFC 6238: HOTP with the counter
//! replaced by the number of whole periods since the Unix epoch (T0 = 0).
//!
//! This is what the login server verifies. Verification returns the matched
//! time step instead of a boolean because the step is what the server must
//! store to refuse the same code a second time (RFC 6238 section 5.2).

use std::fmt;

use crate::code::Code;
use crate::hotp::Engine;
use crate::params::{Algorithm, Digits, Period};
use crate::secret::Secret;

/// An RFC 6238 TOTP generator and verifier.
///
/// `Debug` does not show the secret.
#[derive(Clone)]
pub struct Totp {
    secret: Secret,
    algorithm: Algorithm,
    period: Period,
    engine: Engine,
}

impl Totp {
    /// Prepares a generator. Keying HMAC happens here, once, so a `Totp`
    /// can be kept and reused for many verifications.
    #[must_use]
    pub fn new(secret: Secret, algorithm: Algorithm, digits: Digits, period: Period) -> Self {
        let engine = Engine::new(&secret, algorithm, digits);
        Self { secret, algorithm, period, engine }
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
        self.engine.digits()
    }

    /// The time step.
    #[must_use]
    pub fn period(&self) -> Period {
        self.period
    }

    /// The time step (RFC 6238 "T") containing `unix_seconds`.
    #[must_use]
    pub fn step_at(&self, unix_seconds: u64) -> u64 {
        unix_seconds / self.period.seconds()
    }

    /// Seconds until the code shown at `unix_seconds` is replaced (1 to
    /// `period`), for an authenticator's countdown.
    #[must_use]
    pub fn seconds_remaining(&self, unix_seconds: u64) -> u64 {
        self.period.seconds() - unix_seconds % self.period.seconds()
    }

    /// The code valid at `unix_seconds`, zero-padded ("012345").
    #[must_use]
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.code_at_step(self.step_at(unix_seconds))
    }

    /// The code of time step `step`, zero-padded.
    #[must_use]
    pub fn code_at_step(&self, step: u64) -> String {
        self.engine.code(step).to_string()
    }

    /// The code of time step `step` as a [`Code`].
    #[must_use]
    pub fn code_value_at_step(&self, step: u64) -> Code {
        self.engine.code(step)
    }

    /// Checks a typed code at time `now` (Unix seconds), accepting the
    /// steps `step_at(now) - window ..= step_at(now) + window`, and returns
    /// the matched step.
    ///
    /// The window exists because the user's phone clock drifts and because
    /// typing takes time: a code read at the end of a period arrives in the
    /// next one. RFC 6238 section 5.2 recommends at most one step each way,
    /// so `window = 1` is the normal choice; every extra step widens the set
    /// of codes an attacker's guess may hit.
    ///
    /// This function does **not** prevent replay: a code stays acceptable
    /// for its whole window. A login server must use [`Totp::verify_after`]
    /// (or [`Totp::verify_code`] with `Some(last_used_step)`) and store the
    /// returned step.
    ///
    /// Malformed input yields `None`; call [`Code::parse`] first to tell the
    /// user about a typing mistake.
    #[must_use]
    pub fn verify(&self, code: &str, now: u64, window: u8) -> Option<u64> {
        self.verify_after(code, now, window, None)
    }

    /// Like [`Totp::verify`], but also refuses every step less than or equal
    /// to `last_used_step`, the step returned by the account's previous
    /// successful verification (`None` if there was none).
    ///
    /// Storing the returned step and passing it back next time guarantees
    /// that each code, and any code older than the last one used, is accepted
    /// at most once, even by several verifications running concurrently,
    /// provided the caller stores the step with a compare-and-set (for
    /// example `UPDATE ... SET last_step = $new WHERE last_step < $new`)
    /// and treats a lost race as a failed login.
    #[must_use]
    pub fn verify_after(&self, code: &str, now: u64, window: u8, last_used_step: Option<u64>) -> Option<u64> {
        let code = Code::parse(code, self.digits()).ok()?;
        self.verify_code(&code, now, window, last_used_step)
    }

    /// The verifier proper, for a code already parsed with [`Code::parse`]:
    /// see [`Totp::verify`] for `window` and [`Totp::verify_after`] for
    /// `last_used_step`.
    ///
    /// All `2 * window + 1` steps are computed and compared, without
    /// stopping at the first match and with constant-time comparisons, so
    /// the response time does not tell an attacker whether their guess
    /// matched a neighbouring step (which would reveal clock offset and
    /// help aim guesses). If several steps match (by chance, about once in
    /// `10^digits` per pair) the latest is returned, so that recording it
    /// blocks all of them. A code of a different length than this
    /// generator's never matches.
    #[must_use]
    pub fn verify_code(&self, code: &Code, now: u64, window: u8, last_used_step: Option<u64>) -> Option<u64> {
        let step = self.step_at(now);
        let first = step.saturating_sub(u64::from(window));
        let last = step.saturating_add(u64::from(window));
        self.engine.find(code, first, last, last_used_step)
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("secret", &self.secret)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits())
            .field("period", &self.period)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn totp(alg: Algorithm, key: &[u8], digits: Digits) -> Totp {
        Totp::new(Secret::from_slice(key).unwrap(), alg, digits, Period::DEFAULT)
    }

    const KEY20: &[u8] = b"12345678901234567890";
    const KEY32: &[u8] = b"12345678901234567890123456789012";
    const KEY64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B, every row: (time, SHA1, SHA256, SHA512).
    const RFC6238: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc6238_appendix_b() {
        let sha1 = totp(Algorithm::Sha1, KEY20, Digits::EIGHT);
        let sha256 = totp(Algorithm::Sha256, KEY32, Digits::EIGHT);
        let sha512 = totp(Algorithm::Sha512, KEY64, Digits::EIGHT);
        for (time, c1, c256, c512) in RFC6238 {
            assert_eq!(sha1.code_at(time), c1, "SHA1 at {time}");
            assert_eq!(sha256.code_at(time), c256, "SHA256 at {time}");
            assert_eq!(sha512.code_at(time), c512, "SHA512 at {time}");
            // And each is accepted by the verifier at its own time.
            let step = sha1.step_at(time);
            assert_eq!(sha1.verify(c1, time, 0), Some(step));
            assert_eq!(sha256.verify(c256, time, 0), Some(step));
            assert_eq!(sha512.verify(c512, time, 0), Some(step));
        }
    }

    #[test]
    fn rfc6238_appendix_b_steps() {
        // The "Value of T (hex)" column.
        let t = totp(Algorithm::Sha1, KEY20, Digits::EIGHT);
        assert_eq!(t.step_at(59), 0x1);
        assert_eq!(t.step_at(1_111_111_109), 0x23523EC);
        assert_eq!(t.step_at(1_111_111_111), 0x23523ED);
        assert_eq!(t.step_at(1_234_567_890), 0x273EF07);
        assert_eq!(t.step_at(2_000_000_000), 0x3F940AA);
        assert_eq!(t.step_at(20_000_000_000), 0x27BC86AA);
    }

    #[test]
    fn window_edges() {
        let t = totp(Algorithm::Sha1, KEY20, Digits::SIX);
        let now = 1_700_000_015;
        let step = t.step_at(now);
        let code = |offset: i64| t.code_at_step(step.checked_add_signed(offset).unwrap());
        // Make sure the five codes differ, so each assertion tests one step.
        let codes: Vec<String> = (-2..=2).map(code).collect();
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(t.verify(&code(-2), now, 1), None);
        assert_eq!(t.verify(&code(-1), now, 1), Some(step - 1));
        assert_eq!(t.verify(&code(0), now, 1), Some(step));
        assert_eq!(t.verify(&code(1), now, 1), Some(step + 1));
        assert_eq!(t.verify(&code(2), now, 1), None);
        // Window 0 accepts only the current step; window 2 reaches ±2.
        assert_eq!(t.verify(&code(-1), now, 0), None);
        assert_eq!(t.verify(&code(0), now, 0), Some(step));
        assert_eq!(t.verify(&code(-2), now, 2), Some(step - 2));
        assert_eq!(t.verify(&code(2), now, 2), Some(step + 2));
    }

    #[test]
    fn window_follows_period_boundaries() {
        let t = totp(Algorithm::Sha1, KEY20, Digits::SIX);
        // 59 is the last second of step 1; 60 starts step 2.
        let code1 = t.code_at(59);
        assert_eq!(t.verify(&code1, 60, 0), None);
        assert_eq!(t.verify(&code1, 60, 1), Some(1));
        assert_eq!(t.verify(&code1, 90, 1), None);
        assert_eq!(t.seconds_remaining(59), 1);
        assert_eq!(t.seconds_remaining(60), 30);
    }

    #[test]
    fn window_at_time_zero_does_not_underflow() {
        let t = totp(Algorithm::Sha1, KEY20, Digits::SIX);
        assert_eq!(t.verify(&t.code_at_step(0), 0, 255), Some(0));
        assert_eq!(t.verify(&t.code_at_step(1), 0, 1), Some(1));
        let huge = Totp::new(Secret::from_slice(KEY20).unwrap(), Algorithm::Sha1, Digits::SIX, Period::new(1).unwrap());
        assert_eq!(huge.verify(&huge.code_at_step(u64::MAX), u64::MAX, 3), Some(u64::MAX));
    }

    #[test]
    fn replay_protection() {
        let t = totp(Algorithm::Sha1, KEY20, Digits::SIX);
        let now = 1_700_000_015;
        let step = t.step_at(now);
        let current = t.code_at(now);
        let previous = t.code_at_step(step - 1);
        let next = t.code_at_step(step + 1);

        // First use is accepted and returns the step to record.
        assert_eq!(t.verify_after(&current, now, 1, None), Some(step));
        // The same code again is refused.
        assert_eq!(t.verify_after(&current, now, 1, Some(step)), None);
        // So is the older one still inside the window.
        assert_eq!(t.verify_after(&previous, now, 1, Some(step)), None);
        // A later step is still fine.
        assert_eq!(t.verify_after(&next, now, 1, Some(step)), Some(step + 1));
        // A record from long ago does not get in the way.
        assert_eq!(t.verify_after(&previous, now, 1, Some(step - 2)), Some(step - 1));
        // last_used_step = 0 still refuses step 0.
        assert_eq!(t.verify_after(&t.code_at_step(0), 0, 1, Some(0)), None);
        assert_eq!(t.verify_after(&t.code_at_step(1), 0, 1, Some(0)), Some(1));
    }

    #[test]
    fn duplicate_codes_in_window_return_latest_step() {
        // Search for two steps of one window that share a 6-digit code, to
        // check that the latest wins and that recording it blocks the other.
        let t = Totp::new(Secret::from_slice(KEY20).unwrap(), Algorithm::Sha1, Digits::SIX, Period::new(1).unwrap());
        let window = 255u8;
        let span = 2 * u64::from(window);
        let mut seen = std::collections::HashMap::new();
        let mut pair = None;
        for step in 0u64..200_000 {
            let value = t.code_value_at_step(step).value();
            if let Some(&earlier) = seen.get(&value)
                && step - earlier <= span
            {
                pair = Some((earlier, step));
                break;
            }
            seen.insert(value, step);
        }
        let (earlier, later) = pair.unwrap();
        let now = earlier + u64::from(window); // both inside the window
        let code = t.code_value_at_step(earlier);
        assert_eq!(t.verify_code(&code, now, window, None), Some(later));
        assert_eq!(t.verify_code(&code, now, window, Some(later)), None);
        assert_eq!(t.verify_code(&code, now, window, Some(later - 1)), Some(later));
    }

    #[test]
    fn wrong_length_and_garbage_rejected() {
        let t = totp(Algorithm::Sha1, KEY20, Digits::SIX);
        let now = 59;
        let code = t.code_at(now);
        assert_eq!(t.verify(&code, now, 1), Some(1));
        assert_eq!(t.verify(&code[..5], now, 1), None);
        assert_eq!(t.verify(&format!("{code}0"), now, 1), None);
        assert_eq!(t.verify(&format!("0{code}"), now, 1), None);
        assert_eq!(t.verify("", now, 1), None);
        assert_eq!(t.verify("abcdef", now, 1), None);
        assert_eq!(t.verify(&format!(" {} {} ", &code[..3], &code[3..]), now, 1), Some(1));
        // The 8-digit code whose last six digits match is not accepted.
        let eight = totp(Algorithm::Sha1, KEY20, Digits::EIGHT).code_at(now);
        assert_eq!(&eight[2..], code);
        assert_eq!(t.verify(&eight, now, 1), None);
        let parsed = Code::parse(&eight, Digits::EIGHT).unwrap();
        assert_eq!(t.verify_code(&parsed, now, 1, None), None);
    }

    #[test]
    fn other_periods() {
        let key = Secret::from_slice(KEY20).unwrap();
        let t60 = Totp::new(key.clone(), Algorithm::Sha1, Digits::EIGHT, Period::new(60).unwrap());
        // Step 1 with a 60 s period is at 60..120 and equals HOTP counter 1.
        assert_eq!(t60.code_at(119), "94287082");
        assert_eq!(t60.step_at(119), 1);
        let t1 = Totp::new(key, Algorithm::Sha1, Digits::SIX, Period::new(1).unwrap());
        assert_eq!(t1.code_at(0), "755224");
        assert_eq!(t1.code_at(9), "520489");
        assert_eq!(t1.seconds_remaining(12345), 1);
    }

    #[test]
    fn debug_hides_secret() {
        let dbg = format!("{:?}", totp(Algorithm::Sha256, KEY32, Digits::EIGHT));
        assert_eq!(
            dbg,
            "Totp { secret: Secret(<redacted, 32 bytes>), algorithm: Sha256, digits: Digits(8), period: Period(30) }"
        );
    }
}
