//! What seeding needs from storage, and the SQL (both engines).
//!
//! A seeding is one write transaction ([`SeedRepo::begin_seed`]) that the use
//! case fills batch by batch, so a million accounts never sit in memory at
//! once and a failure anywhere (a taken name, a full disk, an unwritable
//! secrets file) leaves nothing behind. Each batch is one multi-row INSERT per
//! table; the values every seeded account shares are bound once and reused by
//! number (`$1`), which both engines allow.

use async_trait::async_trait;

use crate::accounts::model::{AccountId, FullName, Language, Username};
use crate::clock::UnixTime;
use crate::mail::EmailAddress;
use crate::store::StoreError;

/// Rows per multi-row INSERT. An `accounts` statement binds 4 values per row
/// plus 4 shared ones: 804, under even old SQLite's limit of 999 bound
/// parameters (32,766 since 3.32) and PostgreSQL's 65,535. Not more: sqlx
/// asks SQLite for every placeholder's name, which SQLite finds by a linear
/// scan, so binding grows with the square of a statement's parameters. For a
/// million accounts on 2 cores, 1,000-row statements took 65 s on SQLite and
/// 50–200-row ones 42–45 s; PostgreSQL took 48 s with 1,000 rows, 54 s with 100.
pub const MAX_BATCH: usize = 200;

/// SQLite's page cache for the seeding connection, in KiB, while it runs.
/// The whole seeding is one transaction, so every page it touches stays dirty
/// until the commit; with the default 2 MiB cache SQLite spills them to the
/// WAL early and rewrites the randomly ordered id indexes there again and
/// again: for a million accounts (a 570 MB database) 72 s instead of 47, with
/// 38 s instead of 16 s in the kernel. A larger cache is a limit, not an
/// allocation (the process peaked at 350 MB); the old size is restored before
/// the transaction ends. Tuning only: the one engine-specific statement here.
pub const SQLITE_SEED_CACHE_KIB: i64 = 256 * 1024;

/// What every account of one seeding shares.
#[derive(Debug, Clone, Copy)]
pub struct SeedShared<'a> {
    /// One Argon2id hash of the shared password (see `accounts::seed`).
    pub password_hash: &'a str,
    /// One Argon2id hash of a revocation code nobody was shown.
    pub revocation_hash: &'a str,
    pub language: Language,
    pub now: UnixTime,
}

/// One seeded account as stored: active, with its TOTP key sealed to its id.
#[derive(Debug, Clone)]
pub struct SeedRow {
    pub id: AccountId,
    pub username: Username,
    pub full_name: FullName,
    pub email: EmailAddress,
    pub secret_sealed: Vec<u8>,
}

#[async_trait]
pub trait SeedRepo {
    /// Starts the one write transaction a seeding runs in. On SQLite it holds
    /// the write lock until it ends, so a running server's writes wait.
    async fn begin_seed(&self) -> Result<Box<dyn SeedTransaction>, StoreError>;
}

/// A seeding in progress. Dropped without [`SeedTransaction::commit`], it
/// is rolled back.
#[async_trait]
pub trait SeedTransaction: Send {
    /// Existing usernames from `first` to `last` inclusive, in the database's
    /// order; the caller picks out the ones it was about to create.
    async fn usernames_between(&mut self, first: &Username, last: &Username) -> Result<Vec<String>, StoreError>;
    /// Stores the accounts and their TOTP credentials.
    /// `StoreError::Conflict` when a username exists.
    async fn insert(&mut self, shared: &SeedShared<'_>, rows: &[SeedRow]) -> Result<(), StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;
}

/// `INSERT INTO accounts` for `rows` rows. `$1`–`$4` are the shared password
/// hash, status, language and time; each row adds id, username, name, email.
pub(crate) fn insert_accounts_sql(rows: usize) -> String {
    const SHARED: usize = 4;
    let mut sql = String::with_capacity(100 + rows * 64);
    sql.push_str(
        "INSERT INTO accounts (id, username, full_name, email, password_hash, status, pending_expires_at, \
         language, notify_logins, created_at, updated_at) VALUES ",
    );
    for i in 0..rows {
        let p = SHARED + 1 + i * 4;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${p}, ${}, ${}, ${}, $1, $2, NULL, $3, FALSE, $4, $4)", p + 1, p + 2, p + 3));
    }
    sql
}

/// `INSERT INTO totp_credentials` for `rows` rows, as `finish_enrolment`
/// stores a finished set-up (SHA-1, 6 digits, 30 s), but with no step used
/// yet. `$1`–`$2` are the shared revocation hash and time; each row adds
/// account id and sealed key.
pub(crate) fn insert_credentials_sql(rows: usize) -> String {
    const SHARED: usize = 2;
    let mut sql = String::with_capacity(160 + rows * 48);
    sql.push_str(
        "INSERT INTO totp_credentials (account_id, secret_sealed, algorithm, digits, period, revocation_hash, \
         last_used_step, failed_codes, code_blocked_until, code_locked, enabled_at) VALUES ",
    );
    for i in 0..rows {
        let p = SHARED + 1 + i * 2;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${p}, ${}, 'SHA1', 6, 30, $1, -1, 0, 0, FALSE, $2)", p + 1));
    }
    sql
}

/// Implements [`SeedRepo`] for a store with a `pool` field and a
/// `begin_write` method; expanded once per engine in `crate::store`.
macro_rules! impl_seed_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::accounts::model::{AccountStatus, Username};
            use $crate::accounts::seed::repo::{
                MAX_BATCH, SQLITE_SEED_CACHE_KIB, SeedRow, SeedShared, SeedTransaction, insert_accounts_sql,
                insert_credentials_sql,
            };
            use $crate::store::StoreError;

            struct SeedTx {
                tx: sqlx::Transaction<'static, $db>,
                /// SQLite: the connection's page cache size to go back to.
                restore_cache_size: Option<i64>,
            }

            impl SeedTx {
                async fn restore(&mut self) -> Result<(), StoreError> {
                    if let Some(size) = self.restore_cache_size.take() {
                        sqlx::query(&format!("PRAGMA cache_size = {size}")).execute(&mut *self.tx).await?;
                    }
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl $crate::accounts::seed::repo::SeedRepo for $store {
                async fn begin_seed(&self) -> Result<Box<dyn SeedTransaction>, StoreError> {
                    let mut tx = self.begin_write().await?;
                    let restore_cache_size = if $crate::store::Store::backend(self) == $crate::store::Backend::Sqlite {
                        let (size,): (i64,) = sqlx::query_as("PRAGMA cache_size").fetch_one(&mut *tx).await?;
                        sqlx::query(&format!("PRAGMA cache_size = -{SQLITE_SEED_CACHE_KIB}")).execute(&mut *tx).await?;
                        Some(size)
                    } else {
                        None
                    };
                    Ok(Box::new(SeedTx { tx, restore_cache_size }))
                }
            }

            #[async_trait::async_trait]
            impl SeedTransaction for SeedTx {
                async fn usernames_between(
                    &mut self,
                    first: &Username,
                    last: &Username,
                ) -> Result<Vec<String>, StoreError> {
                    let rows: Vec<(String,)> = sqlx::query_as(
                        "SELECT username FROM accounts WHERE username >= $1 AND username <= $2 ORDER BY username",
                    )
                    .bind(first.as_str())
                    .bind(last.as_str())
                    .fetch_all(&mut *self.tx)
                    .await?;
                    Ok(rows.into_iter().map(|(name,)| name).collect())
                }

                async fn insert(&mut self, shared: &SeedShared<'_>, rows: &[SeedRow]) -> Result<(), StoreError> {
                    for batch in rows.chunks(MAX_BATCH) {
                        let sql = insert_accounts_sql(batch.len());
                        let mut accounts = sqlx::query(&sql)
                            .bind(shared.password_hash)
                            .bind(AccountStatus::Active.as_str())
                            .bind(shared.language.code())
                            .bind(shared.now);
                        for r in batch {
                            accounts = accounts
                                .bind(&r.id.0)
                                .bind(r.username.as_str())
                                .bind(r.full_name.as_str())
                                .bind(r.email.as_str());
                        }
                        accounts.execute(&mut *self.tx).await?;
                        let sql = insert_credentials_sql(batch.len());
                        let mut credentials = sqlx::query(&sql).bind(shared.revocation_hash).bind(shared.now);
                        for r in batch {
                            credentials = credentials.bind(&r.id.0).bind(&r.secret_sealed);
                        }
                        credentials.execute(&mut *self.tx).await?;
                    }
                    Ok(())
                }

                async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
                    self.restore().await?;
                    self.tx.commit().await?;
                    Ok(())
                }

                async fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
                    let restored = self.restore().await;
                    self.tx.rollback().await?;
                    restored
                }
            }
        };
    };
}
pub(crate) use impl_seed_repo;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_the_shared_values_once_and_each_row_after_them() {
        assert_eq!(
            insert_accounts_sql(2).split(" VALUES ").nth(1),
            Some(
                "($5, $6, $7, $8, $1, $2, NULL, $3, FALSE, $4, $4), ($9, $10, $11, $12, $1, $2, NULL, $3, FALSE, $4, $4)"
            )
        );
        assert_eq!(
            insert_credentials_sql(2).split(" VALUES ").nth(1),
            Some("($3, $4, 'SHA1', 6, 30, $1, -1, 0, 0, FALSE, $2), ($5, $6, 'SHA1', 6, 30, $1, -1, 0, 0, FALSE, $2)")
        );
        assert!(
            insert_accounts_sql(MAX_BATCH)
                .ends_with(&format!("${}, $1, $2, NULL, $3, FALSE, $4, $4)", 4 + 4 * MAX_BATCH))
        );
    }
}
