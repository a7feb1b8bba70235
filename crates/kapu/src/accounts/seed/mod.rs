//! Seeding: many ready accounts at once, for benchmarks and tests
//! (`kapu admin seed`).
//!
//! A seeded account is what a citizen has after registering, confirming the
//! email and turning on Ügyfélkapu+: active, with its own random TOTP key,
//! sealed to the account id exactly as a set-up seals it, so the server's
//! login accepts its codes.
//!
//! # One password hash for all
//!
//! Every account of one seeding shares **one** Argon2id hash of the password
//! (and one hash of a revocation code that nobody is shown). Argon2id at the
//! configured cost is deliberately tens of milliseconds of a core: hashing a
//! million passwords one by one would take hours, and a benchmark needs the
//! rows, not a million different salts. The price: whoever knows one seeded
//! account's password knows them all, so seed only databases used for
//! testing. The TOTP keys are different for every account.
//!
//! # All or nothing
//!
//! The whole seeding is one transaction, filled in batches of multi-row
//! INSERTs ([`repo`]): a million accounts took 47 s on SQLite and 53 s on
//! PostgreSQL on 2 cores (release build), and a failure at any point (a name
//! that exists, a secrets file that cannot be written) leaves the database as
//! it was. A second seeding with an overlapping name range is refused before
//! anything is written.

pub mod repo;

use std::io::Write;

use otp::Secret;

use crate::Kapu;
use crate::accounts::model::{AccountId, FullName, Language, Username};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::crypto::{random_id, random_token};
use crate::mail::EmailAddress;
use crate::passwords::{HashError, Password};
use crate::store::{Backend, Db, StoreError, Tx};
use crate::twostep::model::RevocationCode;
use repo::{MAX_BATCH, SQLITE_SEED_CACHE_KIB, SeedRepo, SeedRow, SeedShared};

/// Seeded full names are this followed by the account's number.
pub const SEED_FULL_NAME: &str = "Seeded Citizen";
/// Seeded email addresses are `<username>@` this: a reserved name (RFC 2606)
/// that can never receive mail.
pub const SEED_EMAIL_DOMAIN: &str = "seed.invalid";
/// Log progress every this many accounts.
const PROGRESS_EVERY: u64 = 100_000;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedRequest {
    /// How many accounts: `<prefix>0000001` to `<prefix><count>`.
    pub count: u32,
    pub prefix: String,
    /// The password all of them get; `None`: a random one, returned in the report.
    pub password: Option<Password>,
}

/// What was seeded.
#[derive(Debug)]
pub struct SeedReport {
    pub count: u32,
    pub first: Username,
    pub last: Username,
    /// The random password, when none was given: shown once, stored only hashed.
    pub generated_password: Option<Password>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Invalid(String),
    /// Some of the names exist already; nothing was written.
    #[error(
        "{taken} of the usernames {first_seed}..{last_seed} exist already (first: {first_taken}); nothing was created; choose another prefix"
    )]
    Taken { taken: usize, first_taken: String, first_seed: String, last_seed: String },
    /// A name was taken while seeding (by a registration); nothing was written.
    #[error("a username was taken while seeding; nothing was created")]
    TakenMeanwhile,
    #[error("cannot write the TOTP secrets: {0}; nothing was created")]
    Secrets(#[source] std::io::Error),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("TOTP key: {0}")]
    Key(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SeedError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => SeedError::TakenMeanwhile,
            other => SeedError::Store(other),
        }
    }
}

impl From<HashError> for SeedError {
    fn from(e: HashError) -> Self {
        SeedError::Hash(e.to_string())
    }
}

/// The usernames of one seeding: the prefix and a zero-padded number, wide
/// enough for the count (at least 7 digits) so that they sort in order.
#[derive(Debug, Clone)]
pub struct SeedNames {
    prefix: String,
    width: usize,
    count: u32,
}

impl SeedNames {
    pub const MIN_WIDTH: usize = 7;

    /// Checks that every name will be a valid username (as typed at login:
    /// lower case, at most 64 characters).
    pub fn new(prefix: &str, count: u32) -> Result<Self, SeedError> {
        if count == 0 {
            return Err(SeedError::Invalid("the number of accounts must be at least 1".into()));
        }
        let width = count.to_string().len().max(Self::MIN_WIDTH);
        let names = Self { prefix: prefix.trim().to_lowercase(), width, count };
        for n in [1, count] {
            let name = names.name(n);
            if Username::parse(&name).map(|u| u.as_str() == name) != Ok(true) {
                return Err(SeedError::Invalid(format!(
                    "prefix {prefix:?}: {name:?} is not a valid username (3-{} characters of a-z 0-9 . _ -, starting with a letter or digit)",
                    Username::MAX
                )));
            }
        }
        Ok(names)
    }

    fn name(&self, n: u32) -> String {
        format!("{}{n:0width$}", self.prefix, width = self.width)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The `n`-th name (1-based).
    pub fn username(&self, n: u32) -> Result<Username, SeedError> {
        Username::parse(&self.name(n)).map_err(|e| SeedError::Invalid(format!("username {:?}: {e:?}", self.name(n))))
    }

    pub fn first(&self) -> Result<Username, SeedError> {
        self.username(1)
    }

    pub fn last(&self) -> Result<Username, SeedError> {
        self.username(self.count)
    }

    /// Whether `name` is one of these names.
    pub fn contains(&self, name: &str) -> bool {
        name.strip_prefix(self.prefix.as_str()).is_some_and(|digits| {
            digits.len() == self.width
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u32>().is_ok_and(|n| (1..=self.count).contains(&n))
        })
    }
}

/// A password for a seeding without one: random, long enough for the policy.
fn random_password(min_len: usize) -> Password {
    let len = min_len.max(24);
    let mut s = String::with_capacity(len + 43);
    while s.len() < len {
        s.push_str(&random_token());
    }
    s.truncate(len);
    Password::new(s)
}

impl Kapu {
    /// Creates `request.count` active accounts with two-step login on, in one
    /// transaction: all of them or none. All share one password hash (see the
    /// module documentation for why). Each account's TOTP key goes to
    /// `secrets`, if given, as a `username,BASE32KEY` line (pass a buffered
    /// writer); it is flushed before the accounts are committed. Without it, no
    /// key leaves this function.
    pub async fn seed_accounts(
        &self,
        request: &SeedRequest,
        secrets: Option<&mut (dyn Write + Send)>,
    ) -> Result<SeedReport, SeedError> {
        let names = SeedNames::new(&request.prefix, request.count)?;
        let (first, last) = (names.first()?, names.last()?);
        let (password, generated_password) = match &request.password {
            Some(given) => (given.clone(), None),
            None => {
                let random = random_password(self.config.password_policy.min_len);
                (random.clone(), Some(random))
            }
        };
        if let Err(rejection) = self.config.password_policy.check(&password, &[names.prefix(), SEED_FULL_NAME]) {
            let text = crate::i18n::problem_text(
                crate::i18n::texts(Language::En),
                &crate::accounts::service::Problem::Password(rejection),
            );
            return Err(SeedError::Invalid(format!("password: {text}")));
        }
        let password_hash = self.hasher.hash(&password).await?;
        // Nobody is shown this code: the seeded accounts cannot be cancelled
        // with one (an office reset still works).
        let revocation = Password::new(RevocationCode::generate().as_str().to_owned());
        let revocation_hash = self.hasher.hash(&revocation).await?;
        let shared = SeedShared {
            password_hash: password_hash.as_str(),
            revocation_hash: revocation_hash.as_str(),
            language: Language::default(),
            now: self.now(),
        };

        let tx = self.store.begin().await?;
        let sqlite = tx.backend() == Backend::Sqlite;
        let restore_cache_size = if sqlite {
            let size = tx.sqlite_cache_size().await?;
            tx.set_sqlite_cache_size(-SQLITE_SEED_CACHE_KIB).await?;
            Some(size)
        } else {
            None
        };
        // On any error the transaction is dropped, and rolled back: nothing stays.
        self.fill_seed(&tx, &names, &shared, secrets).await?;
        self.audit(
            &tx,
            AuditEvent::AccountsSeeded,
            Outcome::Success,
            Subject::default(),
            &Actor::default(),
            Some(format!("{} accounts {first}..{last}, two-step login on", request.count)),
        )
        .await?;
        if let Some(size) = restore_cache_size {
            tx.set_sqlite_cache_size(size).await?;
        }
        tx.commit().await?;
        Ok(SeedReport { count: request.count, first, last, generated_password })
    }

    async fn fill_seed(
        &self,
        tx: &Tx,
        names: &SeedNames,
        shared: &SeedShared<'_>,
        mut secrets: Option<&mut (dyn Write + Send)>,
    ) -> Result<(), SeedError> {
        let (first, last) = (names.first()?, names.last()?);
        let taken: Vec<String> =
            tx.usernames_between(&first, &last).await?.into_iter().filter(|name| names.contains(name)).collect();
        if let Some(first_taken) = taken.first() {
            return Err(SeedError::Taken {
                taken: taken.len(),
                first_taken: first_taken.clone(),
                first_seed: first.to_string(),
                last_seed: last.to_string(),
            });
        }
        let count = names.count();
        let mut rows = Vec::with_capacity(MAX_BATCH);
        let mut start: u32 = 1;
        loop {
            let end = start.saturating_add(MAX_BATCH as u32 - 1).min(count);
            rows.clear();
            for n in start..=end {
                let (row, secret) = self.seed_row(names, n)?;
                if let Some(out) = secrets.as_mut() {
                    writeln!(out, "{},{}", row.username, secret.to_base32().as_str()).map_err(SeedError::Secrets)?;
                }
                rows.push(row);
            }
            tx.insert_seeded_accounts(shared, &rows).await?;
            tx.insert_seeded_credentials(shared, &rows).await?;
            if u64::from(end) / PROGRESS_EVERY > u64::from(start - 1) / PROGRESS_EVERY {
                tracing::info!(seeded = end, of = count, "seeding accounts");
            }
            if end == count {
                break;
            }
            start = end + 1;
        }
        if let Some(out) = secrets {
            out.flush().map_err(SeedError::Secrets)?;
        }
        Ok(())
    }

    /// The `n`-th account and its TOTP key.
    fn seed_row(&self, names: &SeedNames, n: u32) -> Result<(SeedRow, Secret), SeedError> {
        let username = names.username(n)?;
        let number = username.as_str().strip_prefix(names.prefix()).unwrap_or(username.as_str());
        let full_name = FullName::parse(&format!("{SEED_FULL_NAME} {number}"))
            .map_err(|e| SeedError::Invalid(format!("full name: {e:?}")))?;
        let email = EmailAddress::parse(&format!("{username}@{SEED_EMAIL_DOMAIN}"))
            .map_err(|e| SeedError::Invalid(format!("email of {username}: {e}")))?;
        let id = AccountId(random_id());
        let secret = Secret::generate(self.config.two_step.secret_bytes).map_err(|e| SeedError::Key(e.to_string()))?;
        // Sealed as a set-up seals it: the account id is the associated data.
        let secret_sealed =
            self.secret_box.seal(secret.expose_bytes(), id.0.as_bytes()).map_err(|e| SeedError::Key(e.to_string()))?;
        Ok((SeedRow { id, username, full_name, email, secret_sealed }, secret))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_zero_padded_to_sort_and_wide_enough_for_the_count() {
        let names = SeedNames::new("bench", 30).unwrap();
        assert_eq!(names.first().unwrap().as_str(), "bench0000001");
        assert_eq!(names.last().unwrap().as_str(), "bench0000030");
        let big = SeedNames::new(" Load ", 12_345_678).unwrap();
        assert_eq!(big.first().unwrap().as_str(), "load00000001");
        assert_eq!(big.last().unwrap().as_str(), "load12345678");
        assert_eq!(SeedNames::new("bench", 1_000_000).unwrap().last().unwrap().as_str(), "bench1000000");
    }

    #[test]
    fn only_the_seeded_names_are_recognised() {
        let names = SeedNames::new("bench", 30).unwrap();
        assert!(names.contains("bench0000001") && names.contains("bench0000030"));
        for other in ["bench0000000", "bench0000031", "bench000001", "bench00000010", "bench000001a", "other0000001"] {
            assert!(!names.contains(other), "{other}");
        }
    }

    #[test]
    fn prefixes_that_make_invalid_usernames_are_refused() {
        for bad in ["-x", "sz\u{fc}cs", "a b", &"a".repeat(60)] {
            assert!(matches!(SeedNames::new(bad, 10), Err(SeedError::Invalid(_))), "{bad:?}");
        }
        assert!(matches!(SeedNames::new("bench", 0), Err(SeedError::Invalid(_))));
        assert!(SeedNames::new("", 5).is_ok(), "digits alone are a valid name");
    }

    #[test]
    fn generated_passwords_are_random_and_long_enough() {
        let p = random_password(8);
        assert_eq!(p.expose().chars().count(), 24);
        assert_ne!(p.expose(), random_password(8).expose());
        assert_eq!(random_password(100).expose().len(), 100);
    }
}
