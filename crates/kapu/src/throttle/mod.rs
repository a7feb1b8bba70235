//! Login limits: repeated failures slow a username (and a client address)
//! down, then lock it for a while.
//!
//! Counters are keyed by the typed username, not by the account, so a name
//! that does not exist is limited exactly like one that does: the answers
//! cannot be used to find out which names exist. Counters live in the
//! database, so all instances enforce one limit.

pub mod repo;

use crate::Kapu;
use crate::clock::UnixTime;
use crate::config::LoginLimits;
use crate::store::StoreError;

/// The two things counted for a login attempt.
#[derive(Debug, Clone)]
pub struct LoginKeys {
    username: String,
    address: Option<String>,
}

impl LoginKeys {
    pub fn new(typed_username: &str, client_addr: Option<&str>) -> Self {
        let name: String = typed_username.trim().to_lowercase().chars().take(64).collect();
        Self { username: format!("user:{name}"), address: client_addr.map(|a| format!("addr:{a}")) }
    }

    pub fn for_username(typed_username: &str) -> Self {
        Self::new(typed_username, None)
    }

    pub fn username_key(&self) -> &str {
        &self.username
    }
}

/// What one more failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    /// The username just reached the lockout threshold.
    pub locked_out: bool,
    /// No attempt is accepted before this time (0: none).
    pub blocked_until: UnixTime,
}

/// How long to wait after the `failures`-th consecutive failure: nothing at
/// first, then 1 s doubling with each failure, then the lockout.
pub fn delay_after(failures: i64, slowdown_after: i64, lockout_after: i64, lockout_seconds: i64) -> i64 {
    if failures >= lockout_after {
        lockout_seconds
    } else if failures >= slowdown_after {
        let exponent = u32::try_from(failures - slowdown_after).unwrap_or(30).min(30);
        (1i64 << exponent).min(lockout_seconds)
    } else {
        0
    }
}

/// A login attempt's standing before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginStanding {
    /// `None`: the attempt may go ahead now; else the time to wait for.
    pub blocked_until: Option<UnixTime>,
    /// The username has failures on record (a success must clear them).
    pub username_recorded: bool,
}

impl Kapu {
    /// Whether the attempt may go ahead: one read for both keys.
    pub async fn login_standing(&self, keys: &LoginKeys) -> Result<LoginStanding, StoreError> {
        let now = self.now();
        let address = keys.address.as_deref().unwrap_or(&keys.username);
        let records = self.store.throttle_records([&keys.username, address]).await?;
        let until = records.iter().map(|(_, until)| *until).max().unwrap_or(0);
        Ok(LoginStanding {
            blocked_until: (until > now).then_some(until),
            username_recorded: records.iter().any(|(key, _)| *key == keys.username),
        })
    }

    pub async fn record_login_failure(&self, keys: &LoginKeys) -> Result<FailureOutcome, StoreError> {
        let now = self.now();
        let limits: &LoginLimits = &self.config.login_limits;
        let quiet_since = now - limits.window_seconds;
        let failures = self.store.record_failure(&keys.username, now, quiet_since).await?;
        let delay = delay_after(
            failures,
            limits.account_slowdown_after,
            limits.account_lockout_after,
            limits.account_lockout_seconds,
        );
        let mut blocked_until = if delay > 0 { now + delay } else { 0 };
        if blocked_until > 0 {
            self.store.block_until(&keys.username, blocked_until).await?;
        }
        if let Some(address) = &keys.address {
            let failures = self.store.record_failure(address, now, quiet_since).await?;
            let delay = delay_after(
                failures,
                limits.address_slowdown_after,
                limits.address_lockout_after,
                limits.address_lockout_seconds,
            );
            if delay > 0 {
                self.store.block_until(address, now + delay).await?;
                blocked_until = blocked_until.max(now + delay);
            }
        }
        let locked_out = failures == limits.account_lockout_after;
        if locked_out {
            self.metrics.lockout();
        }
        Ok(FailureOutcome { locked_out, blocked_until })
    }

    /// A correct password forgets the username's failures (not the address's:
    /// one good account must not launder guesses at others).
    pub async fn clear_login_failures(&self, keys: &LoginKeys) -> Result<(), StoreError> {
        self.store.clear_throttle(&keys.username).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock() {
        let d = |f| delay_after(f, 5, 10, 900);
        assert_eq!([d(1), d(4)], [0, 0]);
        assert_eq!([d(5), d(6), d(7), d(9)], [1, 2, 4, 16]);
        assert_eq!([d(10), d(50)], [900, 900]);
    }

    #[test]
    fn keys_ignore_case_and_bound_length() {
        let k = LoginKeys::new(&"  IMRE ".repeat(40), Some("127.0.0.1"));
        assert!(k.username.len() <= "user:".len() + 64);
        assert_eq!(LoginKeys::for_username("Imre").username, "user:imre");
    }
}
