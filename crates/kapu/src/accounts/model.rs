//! Account domain types. A value of these types that exists is valid:
//! input is parsed once, at the edge, into them.

use serde::Serialize;

use crate::clock::UnixTime;
use crate::mail::EmailAddress;

/// Opaque, random account identifier (never shown to services as-is).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AccountId(pub String);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login name: 3–64 characters of `a-z 0-9 . _ -`, starting with a letter or
/// digit. Case-insensitive: kept in lower case, so "Imre" and "imre" are one name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameError {
    Empty,
    TooShort,
    TooLong,
    InvalidCharacters,
}

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 64;

    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(UsernameError::Empty);
        }
        let len = s.chars().count();
        if len > Self::MAX {
            return Err(UsernameError::TooLong);
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let starts_well = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !s.chars().all(allowed) || !starts_well {
            return Err(UsernameError::InvalidCharacters);
        }
        if len < Self::MIN {
            return Err(UsernameError::TooShort);
        }
        Ok(Self(s))
    }

    /// For values read back from the database, which were valid when written.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's full name as they want it shown: 1–200 characters, no control
/// characters, inner white space collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FullName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullNameError {
    Empty,
    TooLong,
    ControlCharacters,
}

impl FullName {
    pub const MAX: usize = 200;

    pub fn parse(input: &str) -> Result<Self, FullNameError> {
        if input.chars().any(char::is_control) {
            return Err(FullNameError::ControlCharacters);
        }
        let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err(FullNameError::Empty);
        }
        if s.chars().count() > Self::MAX {
            return Err(FullNameError::TooLong);
        }
        Ok(Self(s))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The page language, also an account setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Hu,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Hu => "hu",
            Language::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "hu" => Some(Language::Hu),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Registered, waiting for the emailed link to be opened.
    Pending,
    Active,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "active" { AccountStatus::Active } else { AccountStatus::Pending }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub username: Username,
    pub full_name: FullName,
    #[serde(serialize_with = "serialize_email")]
    pub email: EmailAddress,
    #[serde(skip)]
    pub password_hash: String,
    pub status: AccountStatus,
    pub language: Language,
    pub notify_logins: bool,
    pub created_at: UnixTime,
    /// An office verified who the account belongs to (`identities`).
    pub verified: bool,
}

fn serialize_email<S: serde::Serializer>(e: &EmailAddress, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(e.as_str())
}

/// What an emailed single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Registration,
    PasswordReset,
    EmailChange,
    /// Lifts the code-step lock after too many wrong codes (with a valid code).
    OtpUnlock,
    /// After the end of one-step login: makes a set-up finished with a
    /// password alone active (or refuses it).
    TwoStepActivation,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Registration => "registration",
            LinkPurpose::PasswordReset => "password_reset",
            LinkPurpose::EmailChange => "email_change",
            LinkPurpose::OtpUnlock => "otp_unlock",
            LinkPurpose::TwoStepActivation => "two_step_activation",
        }
    }
}

/// A single-use link as stored: only the hash of its token.
#[derive(Debug, Clone)]
pub struct EmailLink {
    pub token_hash: String,
    pub purpose: LinkPurpose,
    pub account_id: AccountId,
    /// For an email change: the address being confirmed.
    pub new_email: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A link that was consumed (it can never be used again).
#[derive(Debug, Clone)]
pub struct ConsumedLink {
    pub account_id: AccountId,
    pub new_email: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn usernames_are_case_insensitive_and_restricted() {
        assert_eq!(Username::parse("  Imre.Szucs ").unwrap().as_str(), "imre.szucs");
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse("ab"), Err(UsernameError::TooShort));
        assert_eq!(Username::parse(&"a".repeat(65)), Err(UsernameError::TooLong));
        assert_eq!(Username::parse("szücs"), Err(UsernameError::InvalidCharacters));
        assert_eq!(Username::parse("a'; DROP TABLE x"), Err(UsernameError::InvalidCharacters));
        assert_eq!(Username::parse("<b>x</b>"), Err(UsernameError::InvalidCharacters));
        assert_eq!(Username::parse("-abc"), Err(UsernameError::InvalidCharacters));
    }

    #[test]
    fn full_names_keep_unicode_and_collapse_space() {
        assert_eq!(FullName::parse("  Szücs   Imre ").unwrap().as_str(), "Szücs Imre");
        assert_eq!(FullName::parse("   "), Err(FullNameError::Empty));
        assert_eq!(FullName::parse("a\u{0}b"), Err(FullNameError::ControlCharacters));
        assert_eq!(FullName::parse(&"é".repeat(201)), Err(FullNameError::TooLong));
        assert!(FullName::parse("O'Brien <Anna>").is_ok());
    }
}
