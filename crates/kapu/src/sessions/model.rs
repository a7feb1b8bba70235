//! Server-side sessions. The cookie carries a random token; the database keeps
//! only its SHA-256, so any instance on the same database can serve a session
//! and a copy of the database holds no usable cookie.

use serde::Serialize;

use crate::accounts::model::{Account, AccountId};
use crate::clock::UnixTime;

/// How the user proved who they are in this session (OIDC `amr` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthMethods {
    /// Username and password.
    Password,
    /// Username, password and a TOTP code (Ügyfélkapu+).
    PasswordAndCode,
}

impl AuthMethods {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethods::Password => "pwd",
            AuthMethods::PasswordAndCode => "pwd otp",
        }
    }

    /// Stored values this build does not know read as the weakest method.
    pub fn parse(stored: &str) -> Self {
        if stored == "pwd otp" { AuthMethods::PasswordAndCode } else { AuthMethods::Password }
    }

    pub fn has_code(self) -> bool {
        self == AuthMethods::PasswordAndCode
    }
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id_hash: String,
    /// The session's public id: services see it as the ID token's `sid`
    /// (back-channel logout names it). Random, kept when the cookie token is
    /// renewed, and never the token or its hash.
    pub sid: String,
    pub account_id: AccountId,
    pub auth_methods: AuthMethods,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub idle_expires_at: UnixTime,
    pub absolute_expires_at: UnixTime,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl SessionRecord {
    /// The idle expiry after activity at `now`: never past the absolute limit.
    pub fn extended_expiry(&self, now: UnixTime, idle_timeout: i64) -> UnixTime {
        (now + idle_timeout).min(self.absolute_expires_at)
    }
}

/// A live session with its account, as a request sees it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub record: SessionRecord,
    pub account: Account,
    /// The account has Ügyfélkapu+ on.
    pub two_step_active: bool,
}

impl ActiveSession {
    pub fn seconds_left(&self, now: UnixTime) -> i64 {
        (self.record.idle_expires_at - now).max(0)
    }
}
