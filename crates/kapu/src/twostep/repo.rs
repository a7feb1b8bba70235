//! What Ügyfélkapu+ needs from storage, and the SQL (both engines).
//!
//! Replay protection is one conditional UPDATE ([`TwoStepRepo::accept_step`]):
//! of two requests with the same code, on one instance or two, exactly one
//! moves `last_used_step` forward; the other matches no row.

use async_trait::async_trait;

use super::model::{Enrolment, EnrolmentPurpose, PendingLogin, StoredCredential};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::StoreError;

#[async_trait]
pub trait TwoStepRepo {
    async fn credential(&self, account_id: &AccountId) -> Result<Option<StoredCredential>, StoreError>;
    async fn enrolment(&self, account_id: &AccountId) -> Result<Option<Enrolment>, StoreError>;
    /// Starts (or restarts) a set-up: replaces any earlier one of the account.
    async fn put_enrolment(&self, enrolment: &Enrolment) -> Result<(), StoreError>;
    /// Marks the set-up confirmed (password and code were right), once.
    async fn confirm_enrolment(
        &self,
        account_id: &AccountId,
        step: i64,
        revocation_sealed: &[u8],
        revocation_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Makes a confirmed set-up the account's credential, in one step: the
    /// old key (if any) stops working, the new revocation code counts, the
    /// set-up is gone. The confirming code's step counts as used.
    async fn finish_enrolment(
        &self,
        account_id: &AccountId,
        now: UnixTime,
    ) -> Result<Option<EnrolmentPurpose>, StoreError>;
    async fn delete_enrolment(&self, account_id: &AccountId) -> Result<(), StoreError>;
    /// Accepts `step` if it is newer than every step accepted before, and
    /// forgets the wrong-code count. False: the step was used already.
    async fn accept_step(&self, account_id: &AccountId, step: i64) -> Result<bool, StoreError>;
    /// Counts a wrong code; returns the consecutive count.
    async fn record_wrong_code(&self, account_id: &AccountId) -> Result<i64, StoreError>;
    async fn block_codes(&self, account_id: &AccountId, until: UnixTime, locked: bool) -> Result<(), StoreError>;
    /// Consumes an unlock link and accepts `step` (a valid code) together.
    async fn unlock_codes_with_link(
        &self,
        token_hash: &str,
        step: i64,
        now: UnixTime,
    ) -> Result<Option<AccountId>, StoreError>;
    /// Turns two-step login off: credential, set-up, sessions and pending
    /// logins of the account are gone. False if it was not on.
    async fn disable_two_step(&self, account_id: &AccountId) -> Result<bool, StoreError>;
    async fn insert_pending_login(&self, pending: &PendingLogin) -> Result<(), StoreError>;
    async fn pending_login(&self, id_hash: &str, now: UnixTime) -> Result<Option<PendingLogin>, StoreError>;
    async fn delete_pending_login(&self, id_hash: &str) -> Result<(), StoreError>;
}

pub(crate) type CredentialRow = (String, Vec<u8>, String, i64, i64, String, i64, i64, i64, bool, i64);
pub(crate) const CREDENTIAL_COLUMNS: &str = "account_id, secret_sealed, algorithm, digits, period, revocation_hash, \
     last_used_step, failed_codes, code_blocked_until, code_locked, enabled_at";

pub(crate) fn credential_from_row(r: CredentialRow) -> StoredCredential {
    StoredCredential {
        account_id: AccountId(r.0),
        secret_sealed: r.1,
        algorithm: r.2,
        digits: r.3,
        period: r.4,
        revocation_hash: r.5,
        last_used_step: r.6,
        failed_codes: r.7,
        code_blocked_until: r.8,
        code_locked: r.9,
        enabled_at: r.10,
    }
}

pub(crate) type EnrolmentRow = (String, String, Vec<u8>, Option<i64>, Option<Vec<u8>>, Option<String>, i64, i64);

pub(crate) fn enrolment_from_row(r: EnrolmentRow) -> Enrolment {
    Enrolment {
        account_id: AccountId(r.0),
        purpose: EnrolmentPurpose::parse(&r.1),
        secret_sealed: r.2,
        confirmed_step: r.3,
        revocation_sealed: r.4,
        revocation_hash: r.5,
        created_at: r.6,
        expires_at: r.7,
    }
}

macro_rules! impl_two_step_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::accounts::model::AccountId;
            use $crate::store::StoreError;
            use $crate::twostep::model::{Enrolment, EnrolmentPurpose, PendingLogin, StoredCredential};
            use $crate::twostep::repo::{CredentialRow, EnrolmentRow, CREDENTIAL_COLUMNS, credential_from_row, enrolment_from_row};

            const ENROLMENT_COLUMNS: &str = "account_id, purpose, secret_sealed, confirmed_step, revocation_sealed, \
                 revocation_hash, created_at, expires_at";

            #[async_trait::async_trait]
            impl $crate::twostep::repo::TwoStepRepo for $store {
                async fn credential(&self, account_id: &AccountId) -> Result<Option<StoredCredential>, StoreError> {
                    let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM totp_credentials WHERE account_id = $1");
                    let row: Option<CredentialRow> = sqlx::query_as(&sql).bind(&account_id.0).fetch_optional(&self.pool).await?;
                    Ok(row.map(credential_from_row))
                }

                async fn enrolment(&self, account_id: &AccountId) -> Result<Option<Enrolment>, StoreError> {
                    let sql = format!("SELECT {ENROLMENT_COLUMNS} FROM totp_enrolments WHERE account_id = $1");
                    let row: Option<EnrolmentRow> = sqlx::query_as(&sql).bind(&account_id.0).fetch_optional(&self.pool).await?;
                    Ok(row.map(enrolment_from_row))
                }

                async fn put_enrolment(&self, e: &Enrolment) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("DELETE FROM totp_enrolments WHERE account_id = $1").bind(&e.account_id.0).execute(&mut *tx).await?;
                    sqlx::query(
                        "INSERT INTO totp_enrolments (account_id, purpose, secret_sealed, confirmed_step, revocation_sealed, \
                         revocation_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&e.account_id.0)
                    .bind(e.purpose.as_str())
                    .bind(&e.secret_sealed)
                    .bind(e.confirmed_step)
                    .bind(e.revocation_sealed.as_deref())
                    .bind(e.revocation_hash.as_deref())
                    .bind(e.created_at)
                    .bind(e.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn confirm_enrolment(
                    &self,
                    account_id: &AccountId,
                    step: i64,
                    revocation_sealed: &[u8],
                    revocation_hash: &str,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE totp_enrolments SET confirmed_step = $2, revocation_sealed = $3, revocation_hash = $4 \
                         WHERE account_id = $1 AND confirmed_step IS NULL AND expires_at > $5",
                    )
                    .bind(&account_id.0)
                    .bind(step)
                    .bind(revocation_sealed)
                    .bind(revocation_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn finish_enrolment(&self, account_id: &AccountId, now: i64) -> Result<Option<EnrolmentPurpose>, StoreError> {
                    let mut tx = self.begin_write().await?;
                    // Deleting first takes the write lock and makes a second
                    // "Befejezés" find nothing.
                    let row: Option<(String, Vec<u8>, Option<i64>, Option<String>)> = sqlx::query_as(
                        "DELETE FROM totp_enrolments WHERE account_id = $1 AND expires_at > $2 AND confirmed_step IS NOT NULL \
                         RETURNING purpose, secret_sealed, confirmed_step, revocation_hash",
                    )
                    .bind(&account_id.0)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((purpose, secret, Some(step), Some(revocation_hash))) = row else {
                        return Ok(None);
                    };
                    sqlx::query("DELETE FROM totp_credentials WHERE account_id = $1").bind(&account_id.0).execute(&mut *tx).await?;
                    sqlx::query(
                        "INSERT INTO totp_credentials (account_id, secret_sealed, algorithm, digits, period, revocation_hash, \
                         last_used_step, failed_codes, code_blocked_until, code_locked, enabled_at) \
                         VALUES ($1, $2, 'SHA1', 6, 30, $3, $4, 0, 0, FALSE, $5)",
                    )
                    .bind(&account_id.0)
                    .bind(&secret)
                    .bind(&revocation_hash)
                    .bind(step)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM pending_logins WHERE account_id = $1").bind(&account_id.0).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(Some(EnrolmentPurpose::parse(&purpose)))
                }

                async fn delete_enrolment(&self, account_id: &AccountId) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM totp_enrolments WHERE account_id = $1").bind(&account_id.0).execute(&self.pool).await?;
                    Ok(())
                }

                async fn accept_step(&self, account_id: &AccountId, step: i64) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE totp_credentials SET last_used_step = $2, failed_codes = 0, code_blocked_until = 0, \
                         code_locked = FALSE WHERE account_id = $1 AND last_used_step < $2",
                    )
                    .bind(&account_id.0)
                    .bind(step)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn record_wrong_code(&self, account_id: &AccountId) -> Result<i64, StoreError> {
                    let row: Option<(i64,)> = sqlx::query_as(
                        "UPDATE totp_credentials SET failed_codes = failed_codes + 1 WHERE account_id = $1 RETURNING failed_codes",
                    )
                    .bind(&account_id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map_or(0, |r| r.0))
                }

                async fn block_codes(&self, account_id: &AccountId, until: i64, locked: bool) -> Result<(), StoreError> {
                    sqlx::query("UPDATE totp_credentials SET code_blocked_until = $2, code_locked = $3 WHERE account_id = $1")
                        .bind(&account_id.0)
                        .bind(until)
                        .bind(locked)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn unlock_codes_with_link(&self, token_hash: &str, step: i64, now: i64) -> Result<Option<AccountId>, StoreError> {
                    let mut tx = self.begin_write().await?;
                    let row: Option<(String,)> = sqlx::query_as(
                        "DELETE FROM email_links WHERE token_hash = $1 AND purpose = 'otp_unlock' AND expires_at > $2 RETURNING account_id",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((account_id,)) = row else { return Ok(None) };
                    let done = sqlx::query(
                        "UPDATE totp_credentials SET last_used_step = $2, failed_codes = 0, code_blocked_until = 0, \
                         code_locked = FALSE WHERE account_id = $1 AND last_used_step < $2",
                    )
                    .bind(&account_id)
                    .bind(step)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        // A replayed code: keep the link for a fresh one.
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    tx.commit().await?;
                    Ok(Some(AccountId(account_id)))
                }

                async fn disable_two_step(&self, account_id: &AccountId) -> Result<bool, StoreError> {
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query("DELETE FROM totp_credentials WHERE account_id = $1").bind(&account_id.0).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM totp_enrolments WHERE account_id = $1").bind(&account_id.0).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM pending_logins WHERE account_id = $1").bind(&account_id.0).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(&account_id.0).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM email_links WHERE account_id = $1 AND purpose = 'otp_unlock'")
                        .bind(&account_id.0)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn insert_pending_login(&self, p: &PendingLogin) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO pending_logins (id_hash, account_id, created_at, expires_at, client_addr) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&p.id_hash)
                    .bind(&p.account_id.0)
                    .bind(p.created_at)
                    .bind(p.expires_at)
                    .bind(p.client_addr.as_deref())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn pending_login(&self, id_hash: &str, now: i64) -> Result<Option<PendingLogin>, StoreError> {
                    let row: Option<(String, i64, i64, Option<String>)> = sqlx::query_as(
                        "SELECT account_id, created_at, expires_at, client_addr FROM pending_logins WHERE id_hash = $1 AND expires_at > $2",
                    )
                    .bind(id_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(account_id, created_at, expires_at, client_addr)| PendingLogin {
                        id_hash: id_hash.to_owned(),
                        account_id: AccountId(account_id),
                        created_at,
                        expires_at,
                        client_addr,
                    }))
                }

                async fn delete_pending_login(&self, id_hash: &str) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM pending_logins WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
                    Ok(())
                }
            }
        };
    };
}
pub(crate) use impl_two_step_repo;
