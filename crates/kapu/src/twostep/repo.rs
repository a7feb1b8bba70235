//! The `totp_credentials`, `totp_enrolments` and `pending_logins` tables.
//! Only this module writes them. Each method is one statement; use cases
//! compose them in one transaction.

use async_trait::async_trait;

use super::model::{Enrolment, EnrolmentPurpose, PendingLogin, StoredCredential};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};
use crate::throttle::Limit;

/// The statements that take a code attempt, built once from the limit.
#[derive(Debug, Clone)]
pub struct CodeLimit {
    pub limit: Limit,
    by_pending_login: String,
    by_account: String,
}

impl CodeLimit {
    /// A code attempt is taken by one conditional UPDATE: it counts the
    /// attempt only while the account's code step is neither waiting nor
    /// locked, and sets the wait (or the lock) this attempt earns if it is
    /// wrong. A right code clears them again ([`TwoStepRepo::accept_step`]).
    pub fn new(limit: Limit) -> Self {
        let take = |account: &str| {
            format!(
                "UPDATE totp_credentials SET failed_codes = failed_codes + 1, \
                   code_blocked_until = $2 + {waits}, \
                   code_locked = (failed_codes + 1 >= {lockout}) \
                 WHERE account_id = {account} AND NOT code_locked AND code_blocked_until <= $2 \
                 RETURNING account_id, secret_sealed, last_used_step, failed_codes",
                waits = limit.wait_table_sql("failed_codes + 1"),
                lockout = limit.lockout_after,
            )
        };
        Self {
            by_pending_login: take("(SELECT account_id FROM pending_logins WHERE id_hash = $1 AND expires_at > $2)"),
            by_account: take("$1"),
            limit,
        }
    }
}

/// What a taken code attempt checks against.
#[derive(Debug, sqlx::FromRow)]
pub struct CodeAttempt {
    pub account_id: String,
    pub secret_sealed: Vec<u8>,
    pub last_used_step: i64,
    /// This attempt's number among consecutive wrong codes.
    pub failed_codes: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct CredentialRow {
    account_id: String,
    secret_sealed: Vec<u8>,
    algorithm: String,
    digits: i64,
    period: i64,
    revocation_hash: String,
    last_used_step: i64,
    failed_codes: i64,
    code_blocked_until: i64,
    code_locked: bool,
    enabled_at: i64,
}

impl From<CredentialRow> for StoredCredential {
    fn from(r: CredentialRow) -> Self {
        StoredCredential {
            account_id: AccountId(r.account_id),
            secret_sealed: r.secret_sealed,
            algorithm: r.algorithm,
            digits: r.digits,
            period: r.period,
            revocation_hash: r.revocation_hash,
            last_used_step: r.last_used_step,
            failed_codes: r.failed_codes,
            code_blocked_until: r.code_blocked_until,
            code_locked: r.code_locked,
            enabled_at: r.enabled_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct EnrolmentRow {
    account_id: String,
    purpose: String,
    secret_sealed: Vec<u8>,
    confirmed_step: Option<i64>,
    revocation_sealed: Option<Vec<u8>>,
    revocation_hash: Option<String>,
    created_at: i64,
    expires_at: i64,
    awaiting_since: Option<i64>,
}

impl From<EnrolmentRow> for Enrolment {
    fn from(r: EnrolmentRow) -> Self {
        Enrolment {
            account_id: AccountId(r.account_id),
            purpose: EnrolmentPurpose::parse(&r.purpose),
            secret_sealed: r.secret_sealed,
            confirmed_step: r.confirmed_step,
            revocation_sealed: r.revocation_sealed,
            revocation_hash: r.revocation_hash,
            created_at: r.created_at,
            expires_at: r.expires_at,
            awaiting_since: r.awaiting_since,
        }
    }
}

/// A confirmed set-up, taken to become the credential.
#[derive(Debug, sqlx::FromRow)]
pub struct FinishedEnrolment {
    pub purpose: String,
    pub secret_sealed: Vec<u8>,
    pub confirmed_step: i64,
    pub revocation_hash: String,
}

#[derive(Debug, sqlx::FromRow)]
struct PendingLoginRow {
    id_hash: String,
    account_id: String,
    created_at: i64,
    expires_at: i64,
    client_addr: Option<String>,
}

/// Why a code attempt was not taken.
#[derive(Debug, sqlx::FromRow)]
pub struct CodeStanding {
    pub account_id: String,
    pub code_locked: bool,
    pub code_blocked_until: i64,
}

#[async_trait]
pub trait TwoStepRepo: Db {
    async fn credential(&self, account_id: &AccountId) -> Result<Option<StoredCredential>, StoreError> {
        let row: Option<CredentialRow> = self
            .fetch_optional(
                query(
                    "SELECT account_id, secret_sealed, algorithm, digits, period, revocation_hash, last_used_step, \
                     failed_codes, code_blocked_until, code_locked, enabled_at FROM totp_credentials WHERE account_id = $1",
                )
                .bind(&account_id.0),
            )
            .await?;
        Ok(row.map(StoredCredential::from))
    }

    /// Makes a finished set-up the account's credential (the caller has
    /// deleted the old one in the same transaction). The confirming code's
    /// step counts as used.
    async fn insert_credential(
        &self,
        account_id: &AccountId,
        finished: &FinishedEnrolment,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO totp_credentials (account_id, secret_sealed, algorithm, digits, period, revocation_hash, \
                 last_used_step, failed_codes, code_blocked_until, code_locked, enabled_at) \
                 VALUES ($1, $2, 'SHA1', 6, 30, $3, $4, 0, 0, FALSE, $5)",
            )
            .bind(&account_id.0)
            .bind(&finished.secret_sealed)
            .bind(&finished.revocation_hash)
            .bind(finished.confirmed_step)
            .bind(now),
        )
        .await
        .map(drop)
    }

    /// Two-step login off: the key stops working. Whether it was on.
    async fn delete_credential(&self, account_id: &AccountId) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM totp_credentials WHERE account_id = $1").bind(&account_id.0)).await? == 1)
    }

    /// Takes one code attempt for the half-finished login `pending_hash`
    /// (see [`CodeLimit::new`]); `None`: nothing was counted.
    async fn take_code_attempt_for_login(
        &self,
        limit: &CodeLimit,
        pending_hash: &str,
        now: UnixTime,
    ) -> Result<Option<CodeAttempt>, StoreError> {
        self.fetch_optional(query(&limit.by_pending_login).bind(pending_hash).bind(now)).await
    }

    /// Takes one code attempt for the account (a device change).
    async fn take_code_attempt(
        &self,
        limit: &CodeLimit,
        account_id: &AccountId,
        now: UnixTime,
    ) -> Result<Option<CodeAttempt>, StoreError> {
        self.fetch_optional(query(&limit.by_account).bind(&account_id.0).bind(now)).await
    }

    /// Where the code step of the half-finished login stands (when no attempt was taken).
    async fn code_standing_for_login(
        &self,
        pending_hash: &str,
        now: UnixTime,
    ) -> Result<Option<CodeStanding>, StoreError> {
        self.fetch_optional(
            query(
                "SELECT c.account_id, c.code_locked, c.code_blocked_until FROM pending_logins p \
                 JOIN totp_credentials c ON c.account_id = p.account_id WHERE p.id_hash = $1 AND p.expires_at > $2",
            )
            .bind(pending_hash)
            .bind(now),
        )
        .await
    }

    /// Accepts `step` if it is newer than every step accepted before, and
    /// forgets the wrong codes, the wait and the lock. False: the step was
    /// used already.
    async fn accept_step(&self, account_id: &AccountId, step: i64) -> Result<bool, StoreError> {
        let done = self
            .execute(
                query(
                    "UPDATE totp_credentials SET last_used_step = $2, failed_codes = 0, code_blocked_until = 0, \
                     code_locked = FALSE WHERE account_id = $1 AND last_used_step < $2",
                )
                .bind(&account_id.0)
                .bind(step),
            )
            .await?;
        Ok(done == 1)
    }

    /// Gives a code attempt back (the code was right but another part of
    /// the form was not): the count goes down, no wait or lock is lifted.
    async fn give_back_code_attempt(&self, account_id: &AccountId) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE totp_credentials SET failed_codes = failed_codes - 1 WHERE account_id = $1 AND failed_codes > 0")
                .bind(&account_id.0),
        )
        .await
        .map(drop)
    }

    /// Claims the right to mail an unlock link for a locked code step: true
    /// for one caller per `every` seconds, however many ask at once.
    async fn claim_unlock_mail(&self, account_id: &AccountId, now: UnixTime, every: i64) -> Result<bool, StoreError> {
        let done = self
            .execute(
                query(
                    "UPDATE totp_credentials SET unlock_mailed_at = $2 \
                     WHERE account_id = $1 AND code_locked AND unlock_mailed_at <= $3",
                )
                .bind(&account_id.0)
                .bind(now)
                .bind(now - every),
            )
            .await?;
        Ok(done == 1)
    }

    /// Lifts the wait and the lock of the code step (the office, or the
    /// unlock link with a right code). Whether there was one.
    async fn lift_code_lock(&self, account_id: &AccountId) -> Result<bool, StoreError> {
        let done = self
            .execute(
                query(
                    "UPDATE totp_credentials SET failed_codes = 0, code_blocked_until = 0, code_locked = FALSE \
                     WHERE account_id = $1 AND (code_locked OR failed_codes > 0)",
                )
                .bind(&account_id.0),
            )
            .await?;
        Ok(done == 1)
    }

    async fn enrolment(&self, account_id: &AccountId) -> Result<Option<Enrolment>, StoreError> {
        let row: Option<EnrolmentRow> = self
            .fetch_optional(
                query(
                    "SELECT account_id, purpose, secret_sealed, confirmed_step, revocation_sealed, revocation_hash, \
                     created_at, expires_at, awaiting_since FROM totp_enrolments WHERE account_id = $1",
                )
                .bind(&account_id.0),
            )
            .await?;
        Ok(row.map(Enrolment::from))
    }

    /// Starts (or restarts, with a new key) the account's set-up.
    async fn put_enrolment(&self, e: &Enrolment) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO totp_enrolments (account_id, purpose, secret_sealed, confirmed_step, revocation_sealed, \
                 revocation_hash, created_at, expires_at, awaiting_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
                 ON CONFLICT (account_id) DO UPDATE SET purpose = excluded.purpose, \
                   secret_sealed = excluded.secret_sealed, confirmed_step = excluded.confirmed_step, \
                   revocation_sealed = excluded.revocation_sealed, revocation_hash = excluded.revocation_hash, \
                   created_at = excluded.created_at, expires_at = excluded.expires_at, awaiting_since = NULL",
            )
            .bind(&e.account_id.0)
            .bind(e.purpose.as_str())
            .bind(&e.secret_sealed)
            .bind(e.confirmed_step)
            .bind(e.revocation_sealed.as_deref())
            .bind(e.revocation_hash.as_deref())
            .bind(e.created_at)
            .bind(e.expires_at),
        )
        .await
        .map(drop)
    }

    /// Marks the set-up confirmed (password and code were right), once.
    async fn confirm_enrolment(
        &self,
        account_id: &AccountId,
        step: i64,
        revocation_sealed: &[u8],
        revocation_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = self
            .execute(
                query(
                    "UPDATE totp_enrolments SET confirmed_step = $2, revocation_sealed = $3, revocation_hash = $4 \
                     WHERE account_id = $1 AND confirmed_step IS NULL AND expires_at > $5",
                )
                .bind(&account_id.0)
                .bind(step)
                .bind(revocation_sealed)
                .bind(revocation_hash)
                .bind(now),
            )
            .await?;
        Ok(done == 1)
    }

    /// Takes a confirmed set-up out (to become the credential): a second
    /// "Befejezés" finds nothing. `awaiting`: only one that waits for the
    /// mailed confirmation (the link, the office); else only one that does not.
    async fn take_confirmed_enrolment(
        &self,
        account_id: &AccountId,
        awaiting: bool,
        now: UnixTime,
    ) -> Result<Option<FinishedEnrolment>, StoreError> {
        let sql = if awaiting {
            "DELETE FROM totp_enrolments WHERE account_id = $1 AND expires_at > $2 AND confirmed_step IS NOT NULL \
             AND revocation_hash IS NOT NULL AND awaiting_since IS NOT NULL \
             RETURNING purpose, secret_sealed, confirmed_step, revocation_hash"
        } else {
            "DELETE FROM totp_enrolments WHERE account_id = $1 AND expires_at > $2 AND confirmed_step IS NOT NULL \
             AND revocation_hash IS NOT NULL AND awaiting_since IS NULL \
             RETURNING purpose, secret_sealed, confirmed_step, revocation_hash"
        };
        self.fetch_optional(query(sql).bind(&account_id.0).bind(now)).await
    }

    /// A confirmed set-up now waits for the mailed confirmation, until `until`.
    async fn mark_enrolment_awaiting(
        &self,
        account_id: &AccountId,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = self
            .execute(
                query(
                    "UPDATE totp_enrolments SET awaiting_since = $2, expires_at = $3 \
                     WHERE account_id = $1 AND expires_at > $2 AND confirmed_step IS NOT NULL AND awaiting_since IS NULL",
                )
                .bind(&account_id.0)
                .bind(now)
                .bind(until),
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_enrolment(&self, account_id: &AccountId) -> Result<(), StoreError> {
        self.execute(query("DELETE FROM totp_enrolments WHERE account_id = $1").bind(&account_id.0)).await.map(drop)
    }

    async fn insert_pending_login(&self, p: &PendingLogin) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO pending_logins (id_hash, account_id, created_at, expires_at, client_addr) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&p.id_hash)
            .bind(&p.account_id.0)
            .bind(p.created_at)
            .bind(p.expires_at)
            .bind(p.client_addr.as_deref()),
        )
        .await
        .map(drop)
    }

    async fn pending_login(&self, id_hash: &str, now: UnixTime) -> Result<Option<PendingLogin>, StoreError> {
        let row: Option<PendingLoginRow> = self
            .fetch_optional(
                query(
                    "SELECT id_hash, account_id, created_at, expires_at, client_addr FROM pending_logins \
                     WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(now),
            )
            .await?;
        Ok(row.map(|r| PendingLogin {
            id_hash: r.id_hash,
            account_id: AccountId(r.account_id),
            created_at: r.created_at,
            expires_at: r.expires_at,
            client_addr: r.client_addr,
        }))
    }

    /// Uses the half-finished login up; false if it was gone already.
    async fn delete_pending_login(&self, id_hash: &str) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM pending_logins WHERE id_hash = $1").bind(id_hash)).await? == 1)
    }

    /// Half-finished logins past their time (the sweeper).
    async fn delete_expired_pending_logins(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM pending_logins WHERE expires_at <= $1").bind(now)).await
    }

    /// Set-ups left half way past their time (the sweeper).
    async fn delete_expired_enrolments(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM totp_enrolments WHERE expires_at <= $1").bind(now)).await
    }

    async fn delete_pending_logins_of(&self, account_id: &AccountId) -> Result<(), StoreError> {
        self.execute(query("DELETE FROM pending_logins WHERE account_id = $1").bind(&account_id.0)).await.map(drop)
    }
}

impl<T: Db> TwoStepRepo for T {}
