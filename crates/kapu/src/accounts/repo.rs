//! The `accounts` and `email_links` tables. Only this module writes them.
//!
//! Each method is one statement, so it is atomic on the pool as well as in a
//! transaction; a use case that changes several rows (consume a link and
//! change what it allows, change a password and end sessions) composes them
//! in one [`crate::store::Tx`].

use async_trait::async_trait;

use super::model::{Account, AccountId, AccountStatus, EmailLink, FullName, Language, LinkPurpose, Username};
use crate::clock::UnixTime;
use crate::mail::EmailAddress;
use crate::store::{Db, StoreError, query};

/// A new account as it will be stored.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: AccountId,
    pub username: Username,
    pub full_name: FullName,
    pub email: EmailAddress,
    pub password_hash: String,
    pub status: AccountStatus,
    /// For pending registrations: when the username is released again.
    pub pending_expires_at: Option<UnixTime>,
    pub language: Language,
    pub created_at: UnixTime,
}

/// An `accounts` row as read.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    username: String,
    full_name: String,
    email: String,
    password_hash: String,
    status: String,
    language: String,
    notify_logins: bool,
    created_at: i64,
    verified: bool,
}

/// The columns of [`AccountRow`], as a literal for `concat!`.
macro_rules! account_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "username, ",
            $prefix,
            "full_name, ",
            $prefix,
            "email, ",
            $prefix,
            "password_hash, ",
            $prefix,
            "status, ",
            $prefix,
            "language, ",
            $prefix,
            "notify_logins, ",
            $prefix,
            "created_at, ",
            "EXISTS (SELECT 1 FROM identities i WHERE i.account_id = ",
            $prefix,
            "id) AS verified"
        )
    };
}
pub(crate) use account_columns;

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;

    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        let email = EmailAddress::parse(&r.email).map_err(|_| {
            StoreError::Database(sqlx::Error::Decode(
                format!("account {} has an unreadable email address", r.id).into(),
            ))
        })?;
        Ok(Account {
            id: AccountId(r.id),
            username: Username::from_stored(r.username),
            full_name: FullName::from_stored(r.full_name),
            email,
            password_hash: r.password_hash,
            status: AccountStatus::parse(&r.status),
            language: Language::parse(&r.language).unwrap_or_default(),
            notify_logins: r.notify_logins,
            created_at: r.created_at,
            verified: r.verified,
        })
    }
}

/// A link consumed by [`AccountRepo::consume_email_link`].
#[derive(Debug, sqlx::FromRow)]
pub struct ConsumedLinkRow {
    pub account_id: String,
    pub new_email: Option<String>,
}

#[async_trait]
pub trait AccountRepo: Db {
    async fn insert_account(&self, a: &NewAccount) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO accounts (id, username, full_name, email, password_hash, status, pending_expires_at, \
                 language, notify_logins, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $9)",
            )
            .bind(&a.id.0)
            .bind(a.username.as_str())
            .bind(a.full_name.as_str())
            .bind(a.email.as_str())
            .bind(&a.password_hash)
            .bind(a.status.as_str())
            .bind(a.pending_expires_at)
            .bind(a.language.code())
            .bind(a.created_at),
        )
        .await
        .map(drop)
    }

    /// A pending registration whose link expired frees its name.
    async fn delete_expired_registration(&self, username: &Username, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("DELETE FROM accounts WHERE username = $1 AND status = 'pending' AND pending_expires_at <= $2")
                .bind(username.as_str())
                .bind(now),
        )
        .await
        .map(drop)
    }

    async fn account_by_username(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = self
            .fetch_optional(
                query(concat!("SELECT ", account_columns!(""), " FROM accounts WHERE username = $1"))
                    .bind(username.as_str()),
            )
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account_by_id(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = self
            .fetch_optional(query(concat!("SELECT ", account_columns!(""), " FROM accounts WHERE id = $1")).bind(&id.0))
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn list_accounts(&self, limit: i64, offset: i64) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = self
            .fetch_all(
                query(concat!("SELECT ", account_columns!(""), " FROM accounts ORDER BY username LIMIT $1 OFFSET $2"))
                    .bind(limit)
                    .bind(offset),
            )
            .await?;
        rows.into_iter().map(Account::try_from).collect()
    }

    async fn activate_account(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE accounts SET status = 'active', pending_expires_at = NULL, updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now),
        )
        .await
        .map(drop)
    }

    async fn set_password_hash(&self, id: &AccountId, password_hash: &str, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(&id.0)
                .bind(password_hash)
                .bind(now),
        )
        .await
        .map(drop)
    }

    async fn set_email(&self, id: &AccountId, email: &str, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE accounts SET email = $2, updated_at = $3 WHERE id = $1").bind(&id.0).bind(email).bind(now),
        )
        .await
        .map(drop)
    }

    async fn set_full_name(&self, id: &AccountId, full_name: &FullName, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE accounts SET full_name = $2, updated_at = $3 WHERE id = $1")
                .bind(&id.0)
                .bind(full_name.as_str())
                .bind(now),
        )
        .await
        .map(drop)
    }

    async fn set_settings(
        &self,
        id: &AccountId,
        language: Language,
        notify_logins: bool,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE accounts SET language = $2, notify_logins = $3, updated_at = $4 WHERE id = $1")
                .bind(&id.0)
                .bind(language.code())
                .bind(notify_logins)
                .bind(now),
        )
        .await
        .map(drop)
    }

    /// Deletes the account; its sessions, links and credentials go with it
    /// (`ON DELETE CASCADE`).
    async fn delete_account(&self, id: &AccountId) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM accounts WHERE id = $1").bind(&id.0)).await? == 1)
    }

    async fn insert_email_link(&self, l: &EmailLink) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO email_links (token_hash, purpose, account_id, new_email, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&l.token_hash)
            .bind(l.purpose.as_str())
            .bind(&l.account_id.0)
            .bind(l.new_email.as_deref())
            .bind(l.created_at)
            .bind(l.expires_at),
        )
        .await
        .map(drop)
    }

    /// Earlier links of a purpose stop working (only the newest mail counts).
    async fn delete_email_links(&self, account_id: &AccountId, purpose: LinkPurpose) -> Result<(), StoreError> {
        self.execute(
            query("DELETE FROM email_links WHERE account_id = $1 AND purpose = $2")
                .bind(&account_id.0)
                .bind(purpose.as_str()),
        )
        .await
        .map(drop)
    }

    /// Uses a link up: of two requests with one link, one gets it.
    async fn consume_email_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> Result<Option<ConsumedLinkRow>, StoreError> {
        self.fetch_optional(
            query(
                "DELETE FROM email_links WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
                 RETURNING account_id, new_email",
            )
            .bind(token_hash)
            .bind(purpose.as_str())
            .bind(now),
        )
        .await
    }

    /// The account a still-usable link belongs to, without using it (to show its form).
    async fn email_link_account(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> Result<Option<AccountId>, StoreError> {
        let row: Option<(String,)> = self
            .fetch_optional(
                query("SELECT account_id FROM email_links WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3")
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(now),
            )
            .await?;
        Ok(row.map(|(id,)| AccountId(id)))
    }

    /// The new address a still-usable link of `purpose` would confirm.
    async fn pending_link_email(
        &self,
        account_id: &AccountId,
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = self
            .fetch_optional(
                query(
                    "SELECT new_email FROM email_links WHERE account_id = $1 AND purpose = $2 AND expires_at > $3 \
                     ORDER BY created_at DESC LIMIT 1",
                )
                .bind(&account_id.0)
                .bind(purpose.as_str())
                .bind(now),
            )
            .await?;
        Ok(row.and_then(|(e,)| e))
    }

    /// Links past their time (the sweeper).
    async fn delete_expired_links(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM email_links WHERE expires_at <= $1").bind(now)).await
    }

    /// Registrations whose link expired unused: the name is free again (the sweeper).
    async fn delete_expired_registrations(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM accounts WHERE status = 'pending' AND pending_expires_at <= $1").bind(now))
            .await
    }

    /// Takes one try with a link that allows `max_attempts` (the unlock
    /// page): the account, or `None` when the link is used up, expired or
    /// unknown. Taken before the code is checked, like every limited attempt.
    async fn take_link_attempt(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        max_attempts: i64,
        now: UnixTime,
    ) -> Result<Option<AccountId>, StoreError> {
        let row: Option<(String,)> = self
            .fetch_optional(
                query(
                    "UPDATE email_links SET attempts = attempts + 1 \
                     WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 AND attempts < $4 RETURNING account_id",
                )
                .bind(token_hash)
                .bind(purpose.as_str())
                .bind(now)
                .bind(max_attempts),
            )
            .await?;
        Ok(row.map(|(id,)| AccountId(id)))
    }
}

impl<T: Db> AccountRepo for T {}
