//! The seeded citizens and their authenticators. kapu accepts each code
//! once (per account, a step is never used twice), so a user logs in again
//! only in a later 30-second step: the dispenser hands out users in turn and
//! skips those whose current step is spent.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use otp::{Algorithm, Digits, Period, Secret, Totp};

pub struct User {
    pub username: String,
    totp: Totp,
}

impl User {
    pub fn code(&self) -> String {
        self.totp.code_at(now())
    }
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn step() -> u64 {
    now() / 30
}

/// Reads `username,BASE32SECRET` lines (`kapu admin seed --secrets-out`).
pub fn read_secrets(path: &Path) -> Result<Vec<User>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut users = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (username, secret) = line.split_once(',').with_context(|| format!("line {}: no comma", number + 1))?;
        let secret = Secret::from_base32(secret.trim()).with_context(|| format!("line {}: secret", number + 1))?;
        let totp = Totp::new(secret, Algorithm::Sha1, Digits::SIX, Period::DEFAULT);
        users.push(User { username: username.trim().to_owned(), totp });
    }
    if users.is_empty() {
        bail!("{} holds no users", path.display());
    }
    Ok(users)
}

pub struct Dispenser {
    users: Vec<User>,
    /// Per user, the step of its last login (`u64::MAX`: never).
    state: Mutex<(usize, Vec<u64>)>,
}

impl Dispenser {
    pub fn new(users: Vec<User>) -> Self {
        let spent = vec![u64::MAX; users.len()];
        Self { users, state: Mutex::new((0, spent)) }
    }

    /// The i-th user, outside the turn-taking (for one-off uses).
    pub fn get(&self, index: usize) -> Option<&User> {
        self.users.get(index)
    }

    pub fn all(&self) -> &[User] {
        &self.users
    }

    /// The next user whose code for the current step is unused.
    pub async fn next(&self) -> &User {
        loop {
            if let Some(index) = self.try_next() {
                return &self.users[index];
            }
            // Every user logged in during this step: wait for the next one.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn try_next(&self) -> Option<usize> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (cursor, spent) = &mut *guard;
        let current = step();
        for _ in 0..spent.len() {
            let index = *cursor;
            *cursor = (*cursor + 1) % spent.len();
            // The server takes a code of the previous step too; stay clear.
            if spent[index] == u64::MAX || spent[index] + 1 < current {
                spent[index] = current;
                return Some(index);
            }
        }
        None
    }
}
