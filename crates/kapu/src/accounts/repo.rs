//! What accounts need from storage, and the SQL that does it (both engines).
//!
//! Operations that must not be half-done (consume a link and change what it
//! allows, change a password and end sessions, delete an account and clear its
//! personal data from the audit log) are single methods with one transaction.

use async_trait::async_trait;

use super::model::{
    Account, AccountId, AccountStatus, ConsumedLink, EmailLink, FullName, Language, LinkPurpose, Username,
};
use crate::clock::UnixTime;
use crate::mail::EmailAddress;
use crate::store::StoreError;

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

#[async_trait]
pub trait AccountRepo {
    /// Stores a pending registration and its confirmation link together. A
    /// pending registration of the same name whose link expired is replaced.
    /// `StoreError::Conflict` when the username is taken.
    async fn insert_pending_account(&self, account: &NewAccount, link: &EmailLink) -> Result<(), StoreError>;
    /// Stores an account that is active at once (created by an office clerk).
    async fn insert_account(&self, account: &NewAccount) -> Result<(), StoreError>;
    async fn account_by_username(&self, username: &Username) -> Result<Option<Account>, StoreError>;
    async fn account_by_id(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    async fn list_accounts(&self, limit: i64, offset: i64) -> Result<Vec<Account>, StoreError>;
    /// Adds a single-use link; earlier unused links of the same purpose for the
    /// account stop working, so only the newest email counts.
    async fn insert_email_link(&self, link: &EmailLink) -> Result<(), StoreError>;
    /// Consumes a registration link and activates its account.
    async fn activate_with_link(&self, token_hash: &str, now: UnixTime) -> Result<Option<AccountId>, StoreError>;
    /// Consumes a password-reset link, sets the password and ends every session.
    async fn reset_password_with_link(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> Result<Option<AccountId>, StoreError>;
    /// Consumes an email-change link and makes its address the account's.
    async fn change_email_with_link(&self, token_hash: &str, now: UnixTime)
    -> Result<Option<ConsumedLink>, StoreError>;
    /// The account a still-usable link belongs to, without consuming it (to show its form).
    async fn email_link_account(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> Result<Option<AccountId>, StoreError>;
    /// Sets a new password and ends every session of the account except `keep_session`.
    async fn change_password(
        &self,
        id: &AccountId,
        password_hash: &str,
        keep_session: Option<&str>,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Replaces the hash with one made at the current parameters (same password).
    async fn upgrade_password_hash(&self, id: &AccountId, password_hash: &str, now: UnixTime)
    -> Result<(), StoreError>;
    async fn update_full_name(&self, id: &AccountId, full_name: &FullName, now: UnixTime) -> Result<(), StoreError>;
    async fn update_settings(
        &self,
        id: &AccountId,
        language: Language,
        notify_logins: bool,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Deletes the account, its sessions and links; its audit events stay, with
    /// the personal fields (username, address, detail) cleared.
    async fn delete_account(&self, id: &AccountId) -> Result<bool, StoreError>;
}

pub(crate) type AccountRow = (String, String, String, String, String, String, String, bool, i64);

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, username, full_name, email, password_hash, status, language, notify_logins, created_at";

pub(crate) fn account_from_row(row: AccountRow) -> Result<Account, StoreError> {
    let (id, username, full_name, email, password_hash, status, language, notify_logins, created_at) = row;
    let email = EmailAddress::parse(&email).map_err(|_| {
        StoreError::Database(sqlx::Error::Decode(format!("account {id} has an unreadable email address").into()))
    })?;
    Ok(Account {
        id: AccountId(id),
        username: Username::from_stored(username),
        full_name: FullName::from_stored(full_name),
        email,
        password_hash,
        status: AccountStatus::parse(&status),
        language: Language::parse(&language).unwrap_or_default(),
        notify_logins,
        created_at,
    })
}

/// Implements [`AccountRepo`] for a store with a `pool` field and a
/// `begin_write` method; expanded once per engine in `crate::store`.
macro_rules! impl_account_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
        #[async_trait::async_trait]
        impl $crate::accounts::repo::AccountRepo for $store {
            async fn insert_pending_account(
                &self,
                account: &$crate::accounts::repo::NewAccount,
                link: &$crate::accounts::model::EmailLink,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM accounts WHERE username = $1 AND status = 'pending' AND pending_expires_at <= $2")
                    .bind(account.username.as_str())
                    .bind(account.created_at)
                    .execute(&mut *tx)
                    .await?;
                insert_account_sql(account).execute(&mut *tx).await?;
                insert_link_sql(link).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_account(&self, account: &$crate::accounts::repo::NewAccount) -> Result<(), $crate::store::StoreError> {
                insert_account_sql(account).execute(&self.pool).await?;
                Ok(())
            }

            async fn account_by_username(
                &self,
                username: &$crate::accounts::model::Username,
            ) -> Result<Option<$crate::accounts::model::Account>, $crate::store::StoreError> {
                let sql = format!("SELECT {} FROM accounts WHERE username = $1", $crate::accounts::repo::ACCOUNT_COLUMNS);
                let row: Option<$crate::accounts::repo::AccountRow> =
                    sqlx::query_as(&sql).bind(username.as_str()).fetch_optional(&self.pool).await?;
                row.map($crate::accounts::repo::account_from_row).transpose()
            }

            async fn account_by_id(
                &self,
                id: &$crate::accounts::model::AccountId,
            ) -> Result<Option<$crate::accounts::model::Account>, $crate::store::StoreError> {
                let sql = format!("SELECT {} FROM accounts WHERE id = $1", $crate::accounts::repo::ACCOUNT_COLUMNS);
                let row: Option<$crate::accounts::repo::AccountRow> =
                    sqlx::query_as(&sql).bind(&id.0).fetch_optional(&self.pool).await?;
                row.map($crate::accounts::repo::account_from_row).transpose()
            }

            async fn list_accounts(
                &self,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<$crate::accounts::model::Account>, $crate::store::StoreError> {
                let sql = format!(
                    "SELECT {} FROM accounts ORDER BY username LIMIT $1 OFFSET $2",
                    $crate::accounts::repo::ACCOUNT_COLUMNS
                );
                let rows: Vec<$crate::accounts::repo::AccountRow> =
                    sqlx::query_as(&sql).bind(limit).bind(offset).fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::accounts::repo::account_from_row).collect()
            }

            async fn insert_email_link(&self, link: &$crate::accounts::model::EmailLink) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM email_links WHERE account_id = $1 AND purpose = $2")
                    .bind(&link.account_id.0)
                    .bind(link.purpose.as_str())
                    .execute(&mut *tx)
                    .await?;
                insert_link_sql(link).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn activate_with_link(
                &self,
                token_hash: &str,
                now: i64,
            ) -> Result<Option<$crate::accounts::model::AccountId>, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let consumed: Option<(String, Option<String>)> = sqlx::query_as(CONSUME_LINK_SQL)
                    .bind(token_hash)
                    .bind("registration")
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((account_id, _)) = consumed else { return Ok(None) };
                sqlx::query("UPDATE accounts SET status = 'active', pending_expires_at = NULL, updated_at = $2 WHERE id = $1")
                    .bind(&account_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some($crate::accounts::model::AccountId(account_id)))
            }

            async fn reset_password_with_link(
                &self,
                token_hash: &str,
                password_hash: &str,
                now: i64,
            ) -> Result<Option<$crate::accounts::model::AccountId>, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let consumed: Option<(String, Option<String>)> = sqlx::query_as(CONSUME_LINK_SQL)
                    .bind(token_hash)
                    .bind("password_reset")
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((account_id, _)) = consumed else { return Ok(None) };
                sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1 AND status = 'active'")
                    .bind(&account_id)
                    .bind(password_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(&account_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some($crate::accounts::model::AccountId(account_id)))
            }

            async fn change_email_with_link(
                &self,
                token_hash: &str,
                now: i64,
            ) -> Result<Option<$crate::accounts::model::ConsumedLink>, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let consumed: Option<(String, Option<String>)> = sqlx::query_as(CONSUME_LINK_SQL)
                    .bind(token_hash)
                    .bind("email_change")
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((account_id, Some(new_email))) = consumed else { return Ok(None) };
                sqlx::query("UPDATE accounts SET email = $2, updated_at = $3 WHERE id = $1")
                    .bind(&account_id)
                    .bind(&new_email)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some($crate::accounts::model::ConsumedLink {
                    account_id: $crate::accounts::model::AccountId(account_id),
                    new_email: Some(new_email),
                }))
            }

            async fn email_link_account(
                &self,
                token_hash: &str,
                purpose: $crate::accounts::model::LinkPurpose,
                now: i64,
            ) -> Result<Option<$crate::accounts::model::AccountId>, $crate::store::StoreError> {
                let found: Option<(String,)> =
                    sqlx::query_as("SELECT account_id FROM email_links WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3")
                        .bind(token_hash)
                        .bind(purpose.as_str())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(found.map(|(id,)| $crate::accounts::model::AccountId(id)))
            }

            async fn change_password(
                &self,
                id: &$crate::accounts::model::AccountId,
                password_hash: &str,
                keep_session: Option<&str>,
                now: i64,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(&id.0)
                    .bind(password_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2")
                    .bind(&id.0)
                    .bind(keep_session.unwrap_or(""))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn upgrade_password_hash(
                &self,
                id: &$crate::accounts::model::AccountId,
                password_hash: &str,
                now: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(&id.0)
                    .bind(password_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn update_full_name(
                &self,
                id: &$crate::accounts::model::AccountId,
                full_name: &$crate::accounts::model::FullName,
                now: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE accounts SET full_name = $2, updated_at = $3 WHERE id = $1")
                    .bind(&id.0)
                    .bind(full_name.as_str())
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn update_settings(
                &self,
                id: &$crate::accounts::model::AccountId,
                language: $crate::accounts::model::Language,
                notify_logins: bool,
                now: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE accounts SET language = $2, notify_logins = $3, updated_at = $4 WHERE id = $1")
                    .bind(&id.0)
                    .bind(language.code())
                    .bind(notify_logins)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_account(&self, id: &$crate::accounts::model::AccountId) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE audit_events SET username = NULL, client_addr = NULL, detail = NULL WHERE account_id = $1")
                    .bind(&id.0)
                    .execute(&mut *tx)
                    .await?;
                let deleted = sqlx::query("DELETE FROM accounts WHERE id = $1").bind(&id.0).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(deleted.rows_affected() == 1)
            }
        }

        const CONSUME_LINK_SQL: &str = "DELETE FROM email_links WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
             RETURNING account_id, new_email";

        fn insert_account_sql(
            a: &$crate::accounts::repo::NewAccount,
        ) -> sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments<'_>> {
            sqlx::query(
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
            .bind(a.created_at)
        }

        fn insert_link_sql(
            l: &$crate::accounts::model::EmailLink,
        ) -> sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments<'_>> {
            sqlx::query(
                "INSERT INTO email_links (token_hash, purpose, account_id, new_email, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&l.token_hash)
            .bind(l.purpose.as_str())
            .bind(&l.account_id.0)
            .bind(l.new_email.as_deref())
            .bind(l.created_at)
            .bind(l.expires_at)
        }
        };
    };
}
pub(crate) use impl_account_repo;
