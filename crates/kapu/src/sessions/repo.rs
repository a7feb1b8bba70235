//! The `sessions` table. Only this module writes it.

use async_trait::async_trait;

use super::model::{ActiveSession, AuthMethods, SessionRecord};
use crate::accounts::model::{Account, AccountId};
use crate::accounts::repo::{AccountRow, account_columns};
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

/// A session joined with its account.
#[derive(Debug, sqlx::FromRow)]
struct ActiveSessionRow {
    #[sqlx(flatten)]
    account: AccountRow,
    id_hash: String,
    sid: String,
    auth_methods: String,
    auth_time: i64,
    session_created_at: i64,
    last_seen_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
    client_addr: Option<String>,
    user_agent: Option<String>,
    two_step_active: bool,
}

/// A session as "Aktív munkamenetek" lists it.
#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    sid: String,
    account_id: String,
    auth_methods: String,
    auth_time: i64,
    created_at: i64,
    last_seen_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
    client_addr: Option<String>,
    user_agent: Option<String>,
}

#[async_trait]
pub trait SessionRepo: Db {
    async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO sessions (id_hash, account_id, auth_methods, auth_time, created_at, last_seen_at, \
                 idle_expires_at, absolute_expires_at, client_addr, user_agent, sid) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
            .bind(s.user_agent.as_deref())
            .bind(&s.sid),
        )
        .await
        .map(drop)
    }

    /// The session and its account, if the session has not expired at `now`.
    async fn active_session(&self, id_hash: &str, now: UnixTime) -> Result<Option<ActiveSession>, StoreError> {
        let row: Option<ActiveSessionRow> = self
            .fetch_optional(
                query(concat!(
                    "SELECT ",
                    account_columns!("a."),
                    ", s.id_hash, s.sid, s.auth_methods, s.auth_time, s.created_at AS session_created_at, s.last_seen_at, \
                     s.idle_expires_at, s.absolute_expires_at, s.client_addr, s.user_agent, \
                     EXISTS (SELECT 1 FROM totp_credentials t WHERE t.account_id = a.id) AS two_step_active \
                     FROM sessions s JOIN accounts a ON a.id = s.account_id \
                     WHERE s.id_hash = $1 AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2 AND a.status = 'active'"
                ))
                .bind(id_hash)
                .bind(now),
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        let account = Account::try_from(r.account)?;
        let record = SessionRecord {
            id_hash: r.id_hash,
            sid: r.sid,
            account_id: account.id.clone(),
            auth_methods: AuthMethods::parse(&r.auth_methods),
            auth_time: r.auth_time,
            created_at: r.session_created_at,
            last_seen_at: r.last_seen_at,
            idle_expires_at: r.idle_expires_at,
            absolute_expires_at: r.absolute_expires_at,
            client_addr: r.client_addr,
            user_agent: r.user_agent,
        };
        Ok(Some(ActiveSession { record, account, two_step_active: r.two_step_active }))
    }

    /// Records activity: the session now idles out at `idle_expires_at`.
    async fn touch_session(&self, id_hash: &str, now: UnixTime, idle_expires_at: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(now)
                .bind(idle_expires_at),
        )
        .await
        .map(drop)
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.execute(query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash)).await.map(drop)
    }

    /// Ends every session of the account except `keep` (the id hash of the
    /// browser that asked, if any); returns how many ended.
    async fn delete_sessions_of(&self, account_id: &AccountId, keep: Option<&str>) -> Result<u64, StoreError> {
        self.execute(
            query("DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2")
                .bind(&account_id.0)
                .bind(keep.unwrap_or("")),
        )
        .await
    }

    /// The account's live sessions, the most recently used first.
    async fn sessions_of(&self, account_id: &AccountId, now: UnixTime) -> Result<Vec<SessionRecord>, StoreError> {
        let rows: Vec<SessionRow> = self
            .fetch_all(
                query(
                    "SELECT id_hash, sid, account_id, auth_methods, auth_time, created_at, last_seen_at, idle_expires_at, \
                     absolute_expires_at, client_addr, user_agent FROM sessions \
                     WHERE account_id = $1 AND idle_expires_at > $2 AND absolute_expires_at > $2 \
                     ORDER BY last_seen_at DESC, created_at DESC",
                )
                .bind(&account_id.0)
                .bind(now),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionRecord {
                id_hash: r.id_hash,
                sid: r.sid,
                account_id: AccountId(r.account_id),
                auth_methods: AuthMethods::parse(&r.auth_methods),
                auth_time: r.auth_time,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                idle_expires_at: r.idle_expires_at,
                absolute_expires_at: r.absolute_expires_at,
                client_addr: r.client_addr,
                user_agent: r.user_agent,
            })
            .collect())
    }

    /// Ends one of the account's sessions (never another account's). Whether it was there.
    async fn delete_session_of(&self, account_id: &AccountId, id_hash: &str) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                query("DELETE FROM sessions WHERE account_id = $1 AND id_hash = $2").bind(&account_id.0).bind(id_hash),
            )
            .await?
            == 1)
    }

    /// Removes sessions that can no longer be used; returns how many.
    async fn delete_expired_sessions(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1").bind(now))
            .await
    }
}

impl<T: Db> SessionRepo for T {}
