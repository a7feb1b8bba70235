//! What seeding needs from storage, and the SQL (both engines).
//!
//! A seeding is one write transaction that the use case fills batch by batch, so a million accounts never sit in memory at
//! once and a failure anywhere (a taken name, a full disk, an unwritable
//! secrets file) leaves nothing behind. Each batch is one multi-row INSERT per
//! table; the values every seeded account shares are bound once and reused by
//! number (`$1`), which both engines allow.

use async_trait::async_trait;

use crate::accounts::model::{AccountId, AccountStatus, FullName, Language, Username};
use crate::clock::UnixTime;
use crate::mail::EmailAddress;
use crate::store::{Db, StoreError, query};

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

/// What seeding needs from storage: run on the one transaction a seeding is
/// (it holds SQLite's write lock until it ends, so a running server's writes
/// wait).
#[async_trait]
pub trait SeedRepo: Db {
    /// Existing usernames from `first` to `last` inclusive, in the database's
    /// order; the caller picks out the ones it was about to create.
    async fn usernames_between(&self, first: &Username, last: &Username) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                query("SELECT username FROM accounts WHERE username >= $1 AND username <= $2 ORDER BY username")
                    .bind(first.as_str())
                    .bind(last.as_str()),
            )
            .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// One multi-row INSERT of accounts (at most [`MAX_BATCH`]).
    /// `StoreError::Conflict` when a username exists.
    async fn insert_seeded_accounts(&self, shared: &SeedShared<'_>, rows: &[SeedRow]) -> Result<(), StoreError> {
        let sql = insert_accounts_sql(rows.len());
        let mut q = query(&sql)
            .bind(shared.password_hash)
            .bind(AccountStatus::Active.as_str())
            .bind(shared.language.code())
            .bind(shared.now);
        for r in rows {
            q = q.bind(&r.id.0).bind(r.username.as_str()).bind(r.full_name.as_str()).bind(r.email.as_str());
        }
        self.execute(q).await.map(drop)
    }

    /// The TOTP credentials of those accounts, in one multi-row INSERT.
    async fn insert_seeded_credentials(&self, shared: &SeedShared<'_>, rows: &[SeedRow]) -> Result<(), StoreError> {
        let sql = insert_credentials_sql(rows.len());
        let mut q = query(&sql).bind(shared.revocation_hash).bind(shared.now);
        for r in rows {
            q = q.bind(&r.id.0).bind(&r.secret_sealed);
        }
        self.execute(q).await.map(drop)
    }

    /// SQLite only: the connection's page cache size (`PRAGMA cache_size`).
    async fn sqlite_cache_size(&self) -> Result<i64, StoreError> {
        let (size,): (i64,) = self.fetch_one(query("PRAGMA cache_size")).await?;
        Ok(size)
    }

    /// SQLite only. A PRAGMA takes no placeholders; `size` is a number.
    async fn set_sqlite_cache_size(&self, size: i64) -> Result<(), StoreError> {
        let sql = format!("PRAGMA cache_size = {size}");
        self.execute(query(&sql)).await.map(drop)
    }
}

impl<T: Db> SeedRepo for T {}

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
