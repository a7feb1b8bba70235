//! Attempt limits: repeated failures slow a key (a typed username, a client
//! address, a lost-phone form) down, then lock it for a while.
//!
//! An attempt is *taken before it is checked*: one conditional statement
//! counts it on every key of the check (name, address, ...) only where the
//! key is not waiting or locked, and says whether the check may go ahead;
//! the wait the attempt would earn if it fails is set in the same statement,
//! and a check with a waiting key counts on none. Concurrent requests therefore cannot all read the
//! counter before any of them writes it: of N attempts sent at once on any
//! number of instances, exactly as many are checked as the limit allows. A
//! correct answer gives its attempt back ([`ThrottleRepo::give_back`]).
//!
//! Counters are keyed by what was typed, not by the account, so a name that
//! does not exist is limited exactly like one that does: the answers cannot
//! be used to find out which names exist. An IPv6 /64 counts as one address.

pub mod repo;

use std::net::IpAddr;

use crate::Kapu;
use crate::accounts::model::Account;
use crate::clock::UnixTime;
use crate::config::{LoginLimits, RateLimits};
use crate::passwords::{HashError, Password, PasswordHash, Verification};
use crate::store::{Db, Store, StoreError};
pub use repo::ThrottleRepo;

/// How many attempts a key gets, and the waits after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Attempts are counted over this window; a quiet window starts again at 1.
    pub window_seconds: i64,
    /// From this many attempts on, each attempt makes the next one wait ...
    pub slowdown_after: i64,
    /// ... this long at first, doubling with each attempt ...
    pub first_wait_seconds: i64,
    /// ... never longer than this ...
    pub max_wait_seconds: i64,
    /// ... and from this many on, `lockout_seconds`.
    pub lockout_after: i64,
    pub lockout_seconds: i64,
}

impl Limit {
    /// The wait the `attempt`-th attempt of a window earns if it fails.
    pub fn wait_after(&self, attempt: i64) -> i64 {
        if attempt >= self.lockout_after {
            self.lockout_seconds
        } else if attempt >= self.slowdown_after {
            let doublings = u32::try_from(attempt - self.slowdown_after).unwrap_or(30).min(30);
            self.first_wait_seconds.saturating_mul(1i64 << doublings).min(self.max_wait_seconds)
        } else {
            0
        }
    }

    /// The waits as a table in SQL (`CASE WHEN <attempt> < 5 THEN 0 ELSE
    /// CASE <attempt> WHEN 5 THEN 1 ... ELSE <lockout> END END`), so that the
    /// statement that takes an attempt also sets its wait. Built from
    /// [`Limit::wait_after`], the one place the rule is.
    pub(crate) fn wait_table_sql(&self, attempt: &str) -> String {
        if self.slowdown_after >= self.lockout_after {
            return format!("CASE WHEN {attempt} < {} THEN 0 ELSE {} END", self.lockout_after, self.lockout_seconds);
        }
        let mut table = format!("CASE {attempt}");
        for n in self.slowdown_after..self.lockout_after {
            table.push_str(&format!(" WHEN {n} THEN {}", self.wait_after(n)));
        }
        table.push_str(&format!(" ELSE {} END", self.lockout_seconds));
        format!("CASE WHEN {attempt} < {} THEN 0 ELSE {table} END", self.slowdown_after)
    }

    /// At most `per_hour` in an hour, then none for an hour: a rate limit
    /// (its attempts are never given back).
    pub fn per_hour(per_hour: i64) -> Self {
        Limit {
            window_seconds: 3600,
            slowdown_after: per_hour,
            first_wait_seconds: 3600,
            max_wait_seconds: 3600,
            lockout_after: per_hour,
            lockout_seconds: 3600,
        }
    }
}

/// The limits one kind of check takes attempts on, with the one statement
/// that takes them all, built once at start-up.
#[derive(Debug, Clone)]
struct AttemptSet {
    limits: Vec<Limit>,
    take_sql: String,
}

impl AttemptSet {
    fn new(limits: Vec<Limit>) -> Self {
        let take_sql = repo::take_attempts_sql(&limits);
        Self { limits, take_sql }
    }
}

/// Every limit kapu enforces, compiled from the configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Passwords per typed username (login, and every form that asks for the password).
    pub username: Limit,
    /// Passwords per client address.
    pub address: Limit,
    /// Revocation codes per typed username ("Elveszett a telefonom").
    pub revocation: Limit,
    /// Wrong codes per account (the code step and a device change).
    pub codes: crate::twostep::repo::CodeLimit,
    /// A password check: [username] and [address, username].
    password: [AttemptSet; 2],
    /// The lost-phone form: the password's keys and the revocation code's.
    lost_phone: [AttemptSet; 2],
    /// Registrations, password resets and email changes: [all] and [address, all].
    registration: [AttemptSet; 2],
    password_reset: [AttemptSet; 2],
    email_change: [AttemptSet; 2],
    /// Mail a stranger can cause, per recipient.
    mail_to: AttemptSet,
    /// Identity binding codes per account (the revocation code's limit).
    identity_binding: AttemptSet,
    /// Agents not found by a delegation's principal (the same limit): the
    /// form names a citizen by username and date of birth.
    delegation_agent: AttemptSet,
}

impl Limits {
    pub fn from_config(
        login: &LoginLimits,
        rates: &RateLimits,
        two_step: &crate::twostep::model::TwoStepConfig,
    ) -> Self {
        let username = Limit {
            window_seconds: login.window_seconds,
            slowdown_after: login.account_slowdown_after,
            first_wait_seconds: 1,
            max_wait_seconds: login.account_lockout_seconds,
            lockout_after: login.account_lockout_after,
            lockout_seconds: login.account_lockout_seconds,
        };
        let address = Limit {
            window_seconds: login.window_seconds,
            slowdown_after: login.address_slowdown_after,
            first_wait_seconds: 1,
            max_wait_seconds: login.address_lockout_seconds,
            lockout_after: login.address_lockout_after,
            lockout_seconds: login.address_lockout_seconds,
        };
        let revocation = Limit {
            window_seconds: two_step.revocation_window_seconds,
            slowdown_after: two_step.revocation_attempts,
            first_wait_seconds: two_step.revocation_window_seconds,
            max_wait_seconds: two_step.revocation_window_seconds,
            lockout_after: two_step.revocation_attempts,
            lockout_seconds: two_step.revocation_window_seconds,
        };
        let set = |limits: &[&Limit]| AttemptSet::new(limits.iter().map(|l| (*l).clone()).collect());
        let rate = |per_address: i64, in_all: i64| {
            let (address, all) = (Limit::per_hour(per_address), Limit::per_hour(in_all));
            [set(&[&all]), set(&[&address, &all])]
        };
        Self {
            password: [set(&[&username]), set(&[&address, &username])],
            lost_phone: [set(&[&username, &revocation]), set(&[&address, &username, &revocation])],
            registration: rate(rates.registrations_per_address_per_hour, rates.registrations_per_hour),
            password_reset: rate(rates.password_resets_per_address_per_hour, rates.password_resets_per_hour),
            email_change: rate(rates.email_changes_per_address_per_hour, rates.email_changes_per_hour),
            mail_to: set(&[&Limit::per_hour(rates.mails_per_recipient_per_hour)]),
            identity_binding: set(&[&revocation]),
            delegation_agent: set(&[&revocation]),
            codes: crate::twostep::repo::CodeLimit::new(two_step.code_limit()),
            username,
            address,
            revocation,
        }
    }
}

/// The counter key of a typed username: trimmed, lower case, bounded.
pub fn username_key(prefix: &str, typed_username: &str) -> String {
    let name: String = typed_username.trim().to_lowercase().chars().take(64).collect();
    format!("{prefix}:{name}")
}

/// The counter key of a client address. An IPv6 /64 is one key: a single
/// subscriber usually gets a whole /64, so counting each address apart would
/// give one abuser 2^64 counters.
pub fn address_key(client_addr: &str) -> String {
    match client_addr.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let s = v6.segments();
                format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => format!("addr:{v4}"),
        Err(_) => format!("addr:{}", client_addr.chars().take(64).collect::<String>()),
    }
}

/// The attempts one check took, to give back when it succeeds.
#[derive(Debug, Clone, Default)]
pub struct Taken(Vec<TakenAttempt>);

#[derive(Debug, Clone)]
struct TakenAttempt {
    key: String,
    /// The attempt's number in its window.
    number: i64,
    /// A correct answer forgets the key's earlier failures too (the typed
    /// name's), rather than only its own attempt (the address's: one good
    /// account must not launder guesses at others).
    forgets_failures: bool,
}

/// Actions limited per client address and in all, per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Registration,
    PasswordReset,
    EmailChange,
}

/// The keys one check takes an attempt on, and the statement that takes them.
pub struct AttemptKeys<'a> {
    set: &'a AttemptSet,
    /// Each key, and whether a right answer forgets its failures; in the
    /// order of `set.limits`.
    keys: Vec<(String, bool)>,
}

impl<'a> AttemptKeys<'a> {
    /// A password check: the client address (only this attempt given back)
    /// and the typed username (its failures forgotten on success).
    pub fn password(limits: &'a Limits, typed_username: &str, client_addr: Option<&str>) -> Self {
        let user = (username_key("user", typed_username), true);
        match client_addr {
            Some(addr) => Self { set: &limits.password[1], keys: vec![(address_key(addr), false), user] },
            None => Self { set: &limits.password[0], keys: vec![user] },
        }
    }

    /// A rate-limited action from `client_addr`: its address and all of them.
    pub fn action(limits: &'a Limits, action: Action, client_addr: Option<&str>) -> Self {
        let (sets, name) = match action {
            Action::Registration => (&limits.registration, "register"),
            Action::PasswordReset => (&limits.password_reset, "reset"),
            Action::EmailChange => (&limits.email_change, "email-change"),
        };
        let all = (format!("{name}:*"), false);
        match client_addr {
            Some(addr) => Self { set: &sets[1], keys: vec![(format!("{name}:{}", address_key(addr)), false), all] },
            None => Self { set: &sets[0], keys: vec![all] },
        }
    }

    /// Mail that someone else can cause, to one address.
    pub fn mail_to(limits: &'a Limits, recipient: &str) -> Self {
        Self { set: &limits.mail_to, keys: vec![(format!("mail-to:{}", recipient.to_lowercase()), false)] }
    }

    /// An identity binding code typed by a logged-in citizen: per account
    /// (a wrong code gets nothing back; the code has 80 bits besides).
    pub fn identity_binding(limits: &'a Limits, account_id: &str) -> Self {
        Self { set: &limits.identity_binding, keys: vec![(format!("bind:{account_id}"), true)] }
    }

    /// A principal naming an agent on "Új meghatalmazás": per account (an
    /// agent found gives the try back).
    pub fn delegation_agent(limits: &'a Limits, account_id: &str) -> Self {
        Self { set: &limits.delegation_agent, keys: vec![(format!("agent:{account_id}"), true)] }
    }

    /// "Elveszett a telefonom": the password's keys and the revocation code's,
    /// keyed by the typed name too.
    pub fn lost_phone(limits: &'a Limits, typed_username: &str, client_addr: Option<&str>) -> Self {
        let user = (username_key("user", typed_username), true);
        let revoke = (username_key("revoke", typed_username), true);
        match client_addr {
            Some(addr) => Self { set: &limits.lost_phone[1], keys: vec![(address_key(addr), false), user, revoke] },
            None => Self { set: &limits.lost_phone[0], keys: vec![user, revoke] },
        }
    }
}

/// Takes one attempt on every key, all or none: one statement, in a
/// transaction that is rolled back when a key was waiting or locked (its row
/// locks keep racing checks waiting meanwhile, so none sees a count that is
/// taken back). `Ok(Err(until))`: nothing was counted; try again then.
pub async fn take_attempts(
    store: &Store,
    keys: &AttemptKeys<'_>,
    now: UnixTime,
) -> Result<Result<Taken, UnixTime>, StoreError> {
    let tx = store.begin().await?;
    match tx.take_attempts_on(keys, now).await? {
        Some(taken) => {
            tx.commit().await?;
            Ok(Ok(taken))
        }
        None => {
            let mut until = now + 1;
            for (key, _) in &keys.keys {
                until = until.max(tx.blocked_until(key).await?);
            }
            tx.rollback().await?;
            // Counted apart, after the rollback: one audit event per block
            // sums them up (see `ThrottleRepo::count_refused`).
            store.count_refused(&keys.key_names(), now).await?;
            Ok(Err(until))
        }
    }
}

/// A correct answer: the attempts are given back (see [`TakenAttempt`]).
pub async fn give_back(db: &impl Db, taken: &Taken) -> Result<(), StoreError> {
    for a in &taken.0 {
        db.give_back(&a.key, a.number, a.forgets_failures).await?;
    }
    Ok(())
}

impl AttemptKeys<'_> {
    fn key_names(&self) -> Vec<&str> {
        self.keys.iter().map(|(k, _)| k.as_str()).collect()
    }
}

impl Taken {
    /// The attempts except those on keys starting with `prefix` (a form with
    /// two checks gives back the one that was right).
    pub fn without(&self, prefix: &str) -> Taken {
        Taken(self.0.iter().filter(|a| !a.key.starts_with(prefix)).cloned().collect())
    }

    /// The attempt number taken on keys starting with `prefix`.
    pub fn number_on(&self, prefix: &str) -> Option<i64> {
        self.0.iter().find(|a| a.key.starts_with(prefix)).map(|a| a.number)
    }
}

/// The answer of a limited password check.
#[derive(Debug)]
pub enum PasswordCheck {
    /// A key is waiting or locked until then: nothing was checked or counted.
    Blocked { until: UnixTime },
    /// The attempts were taken and the password checked. A right password
    /// gives `taken` back in the use case's unit of work.
    Checked { right: bool, needs_rehash: bool, taken: Taken },
}

impl Kapu {
    /// Takes the attempts of `keys`, then (only then) checks the password
    /// against `account`'s hash, or against a dummy hash when there is no
    /// account, so that unknown names cost the same time.
    pub async fn check_password_limited(
        &self,
        keys: &AttemptKeys<'_>,
        account: Option<&Account>,
        password: &Password,
    ) -> Result<PasswordCheck, CheckError> {
        let taken = match take_attempts(&self.store, keys, self.now()).await? {
            Ok(taken) => taken,
            Err(until) => return Ok(PasswordCheck::Blocked { until }),
        };
        let verification = match account {
            Some(a) => self.hasher.verify(password, &PasswordHash::from_stored(a.password_hash.clone())?).await?,
            None => self.hasher.verify_dummy(password).await?,
        };
        Ok(match verification {
            Verification::Valid { needs_rehash } => PasswordCheck::Checked { right: true, needs_rehash, taken },
            Verification::Invalid => PasswordCheck::Checked { right: false, needs_rehash: false, taken },
        })
    }
}

/// A limited check failed for a reason other than the answer.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Limit {
        Limit {
            window_seconds: 900,
            slowdown_after: 5,
            first_wait_seconds: 1,
            max_wait_seconds: 900,
            lockout_after: 10,
            lockout_seconds: 900,
        }
    }

    #[test]
    fn waits_grow_then_lock() {
        let l = login();
        let d = |n| l.wait_after(n);
        assert_eq!([d(1), d(4)], [0, 0]);
        assert_eq!([d(5), d(6), d(7), d(9)], [1, 2, 4, 16]);
        assert_eq!([d(10), d(50)], [900, 900]);
    }

    #[test]
    fn waits_are_capped() {
        let codes = Limit {
            window_seconds: 900,
            slowdown_after: 5,
            first_wait_seconds: 60,
            max_wait_seconds: 900,
            lockout_after: 20,
            lockout_seconds: 900,
        };
        assert_eq!(codes.wait_after(5), 60);
        assert_eq!(codes.wait_after(8), 480);
        assert_eq!(codes.wait_after(19), 900, "19 wrong codes once meant 11 days");
        assert!((1..200).all(|n| codes.wait_after(n) <= 900));
    }

    #[test]
    fn the_sql_table_is_the_rule() {
        let sql = login().wait_table_sql("n");
        assert_eq!(
            sql,
            "CASE WHEN n < 5 THEN 0 ELSE CASE n WHEN 5 THEN 1 WHEN 6 THEN 2 WHEN 7 THEN 4 WHEN 8 THEN 8 WHEN 9 THEN 16 \
             ELSE 900 END END"
        );
        // A rate limit: nothing to wait for until the last allowed, then an hour.
        assert_eq!(Limit::per_hour(3).wait_table_sql("n"), "CASE WHEN n < 3 THEN 0 ELSE 3600 END");
    }

    #[test]
    fn keys_ignore_case_and_bound_length() {
        let k = username_key("user", &"  IMRE ".repeat(40));
        assert!(k.len() <= "user:".len() + 64);
        assert_eq!(username_key("user", "Imre"), "user:imre");
    }

    #[test]
    fn an_ipv6_slash_64_is_one_address() {
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "addr:2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff:1:2:3"), "addr:2001:db8:1:2::/64");
        assert_ne!(address_key("2001:db8:1:3::1"), address_key("2001:db8:1:2::1"));
        assert_eq!(address_key("::ffff:192.0.2.7"), "addr:192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "addr:192.0.2.7");
    }
}
