//! Storage: one interface ([`Store`]), two engines (SQLite, PostgreSQL), the
//! same SQL.
//!
//! Each capability owns its SQL in its `repo.rs`: a trait saying what it needs
//! and a macro implementing that trait once, expanded here for both engines.
//! Both engines accept `$1` placeholders, `RETURNING` and `ON CONFLICT`, so one
//! text serves both; only the DDL differs (one migrations folder per engine).
//!
//! SQLite has one writer at a time. Transactions that write therefore start
//! with `BEGIN IMMEDIATE` ([`SqliteStore::begin_write`]): a deferred
//! transaction that reads first cannot upgrade to a writer once another
//! connection has committed, and fails at once despite the busy timeout.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::accounts::repo::AccountRepo;
use crate::accounts::seed::repo::SeedRepo;
use crate::audit::repo::AuditRepo;
use crate::oidc::repo::OidcRepo;
use crate::sessions::repo::SessionRepo;
use crate::throttle::repo::ThrottleRepo;
use crate::twostep::repo::TwoStepRepo;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (e.g. a taken username).
    #[error("the row already exists")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the database {url}: {message}")]
    Connect { url: String, message: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Everything kapu stores. Front-ends depend on this trait only.
#[async_trait]
pub trait Store:
    AccountRepo + SeedRepo + SessionRepo + ThrottleRepo + AuditRepo + TwoStepRepo + OidcRepo + Send + Sync + 'static
{
    fn backend(&self) -> Backend;
    /// Answers only when the database does (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Applies pending migrations; safe to run from several instances at once.
    async fn migrate(&self) -> Result<(), StoreError>;
    async fn close(&self);
}

pub struct SqliteStore {
    pool: SqlitePool,
}

pub struct PgStore {
    pool: PgPool,
}

/// Opens the database named by `url` (`sqlite://path` or `postgres://...`).
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    let connect_err = |e: sqlx::Error| StoreError::Connect { url: redact(url), message: e.to_string() };
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Connect {
                url: redact(url),
                message: format!("cannot create {}: {e}", parent.display()),
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Arc::new(SqliteStore { pool }))
    } else {
        let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Arc::new(PgStore { pool }))
    }
}

/// A database URL for messages: the password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn migrator(files: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "portal", include_str!("migrations/sqlite/0001_portal.sql")),
    (2, "two_step", include_str!("migrations/sqlite/0002_two_step.sql")),
    (3, "oidc", include_str!("migrations/sqlite/0003_oidc.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "portal", include_str!("migrations/postgres/0001_portal.sql")),
    (2, "two_step", include_str!("migrations/postgres/0002_two_step.sql")),
    (3, "oidc", include_str!("migrations/postgres/0003_oidc.sql")),
];

impl SqliteStore {
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

impl PgStore {
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    async fn migrate(&self) -> Result<(), StoreError> {
        migrator(SQLITE_MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }
    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    async fn migrate(&self) -> Result<(), StoreError> {
        migrator(POSTGRES_MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }
    async fn close(&self) {
        self.pool.close().await;
    }
}

crate::accounts::repo::impl_account_repo!(SqliteStore, sqlx::Sqlite);
crate::accounts::repo::impl_account_repo!(PgStore, sqlx::Postgres);
crate::accounts::seed::repo::impl_seed_repo!(SqliteStore, sqlx::Sqlite);
crate::accounts::seed::repo::impl_seed_repo!(PgStore, sqlx::Postgres);
crate::sessions::repo::impl_session_repo!(SqliteStore, sqlx::Sqlite);
crate::sessions::repo::impl_session_repo!(PgStore, sqlx::Postgres);
crate::throttle::repo::impl_throttle_repo!(SqliteStore, sqlx::Sqlite);
crate::throttle::repo::impl_throttle_repo!(PgStore, sqlx::Postgres);
crate::audit::repo::impl_audit_repo!(SqliteStore, sqlx::Sqlite);
crate::audit::repo::impl_audit_repo!(PgStore, sqlx::Postgres);
crate::twostep::repo::impl_two_step_repo!(SqliteStore, sqlx::Sqlite);
crate::twostep::repo::impl_two_step_repo!(PgStore, sqlx::Postgres);
crate::oidc::repo::impl_oidc_repo!(SqliteStore, sqlx::Sqlite);
crate::oidc::repo::impl_oidc_repo!(PgStore, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://kapu:s3cret@db:5432/kapu"), "postgres://kapu:***@db:5432/kapu");
        assert_eq!(redact("postgres://postgres@127.0.0.1/x"), "postgres://postgres@127.0.0.1/x");
        assert_eq!(redact("sqlite://data/kapu.db"), "sqlite://data/kapu.db");
    }
}
