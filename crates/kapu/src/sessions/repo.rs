//! What sessions need from storage, and the SQL (both engines).

use async_trait::async_trait;

use super::model::{ActiveSession, SessionRecord};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::StoreError;

#[async_trait]
pub trait SessionRepo {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session and its account, if the session has not expired at `now`.
    async fn active_session(&self, id_hash: &str, now: UnixTime) -> Result<Option<ActiveSession>, StoreError>;
    /// Records activity: the session now idles out at `idle_expires_at`.
    async fn touch_session(&self, id_hash: &str, now: UnixTime, idle_expires_at: UnixTime) -> Result<(), StoreError>;
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    async fn delete_sessions_of(&self, account_id: &AccountId) -> Result<u64, StoreError>;
    /// Removes sessions that can no longer be used; returns how many.
    async fn delete_expired_sessions(&self, now: UnixTime) -> Result<u64, StoreError>;
}

macro_rules! impl_session_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
            use sqlx::Row as _;
            use $crate::sessions::model::{ActiveSession, AuthMethods, SessionRecord};

            #[async_trait::async_trait]
            impl $crate::sessions::repo::SessionRepo for $store {
                async fn insert_session(&self, s: &SessionRecord) -> Result<(), $crate::store::StoreError> {
                    sqlx::query(
                        "INSERT INTO sessions (id_hash, account_id, auth_methods, auth_time, created_at, last_seen_at, \
                         idle_expires_at, absolute_expires_at, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&s.id_hash)
                    .bind(&s.account_id.0)
                    .bind(s.auth_methods.as_str())
                    .bind(s.auth_time)
                    .bind(s.created_at)
                    .bind(s.last_seen_at)
                    .bind(s.idle_expires_at)
                    .bind(s.absolute_expires_at)
                    .bind(s.client_addr.as_deref())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn active_session(&self, id_hash: &str, now: i64) -> Result<Option<ActiveSession>, $crate::store::StoreError> {
                    let sql = format!(
                        "SELECT s.auth_methods, s.auth_time, s.created_at, s.last_seen_at, s.idle_expires_at, \
                         s.absolute_expires_at, s.client_addr, {} FROM sessions s JOIN accounts a ON a.id = s.account_id \
                         WHERE s.id_hash = $1 AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2 AND a.status = 'active'",
                        "a.id, a.username, a.full_name, a.email, a.password_hash, a.status, a.language, a.notify_logins, a.created_at, \
                         EXISTS (SELECT 1 FROM totp_credentials t WHERE t.account_id = a.id)"
                    );
                    let Some(row) = sqlx::query(&sql).bind(id_hash).bind(now).fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    let account = $crate::accounts::repo::account_from_row((
                        row.try_get(7)?,
                        row.try_get(8)?,
                        row.try_get(9)?,
                        row.try_get(10)?,
                        row.try_get(11)?,
                        row.try_get(12)?,
                        row.try_get(13)?,
                        row.try_get(14)?,
                        row.try_get(15)?,
                    ))?;
                    let methods: String = row.try_get(0)?;
                    let record = SessionRecord {
                        id_hash: id_hash.to_owned(),
                        account_id: account.id.clone(),
                        auth_methods: AuthMethods::parse(&methods),
                        auth_time: row.try_get(1)?,
                        created_at: row.try_get(2)?,
                        last_seen_at: row.try_get(3)?,
                        idle_expires_at: row.try_get(4)?,
                        absolute_expires_at: row.try_get(5)?,
                        client_addr: row.try_get(6)?,
                    };
                    let two_step_active: bool = row.try_get(16)?;
                    Ok(Some(ActiveSession { record, account, two_step_active }))
                }

                async fn touch_session(&self, id_hash: &str, now: i64, idle_expires_at: i64) -> Result<(), $crate::store::StoreError> {
                    sqlx::query("UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id_hash = $1")
                        .bind(id_hash)
                        .bind(now)
                        .bind(idle_expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delete_session(&self, id_hash: &str) -> Result<(), $crate::store::StoreError> {
                    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
                    Ok(())
                }

                async fn delete_sessions_of(
                    &self,
                    account_id: &$crate::accounts::model::AccountId,
                ) -> Result<u64, $crate::store::StoreError> {
                    let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                        .bind(&account_id.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn delete_expired_sessions(&self, now: i64) -> Result<u64, $crate::store::StoreError> {
                    let done = sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}
pub(crate) use impl_session_repo;
