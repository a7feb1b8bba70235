//! Storage: one interface ([`Store`] and its unit of work [`Tx`]), two engines
//! (SQLite, PostgreSQL), the same SQL.
//!
//! Each capability owns its tables and their SQL in its `repo.rs`: a trait of
//! what it needs, written once on top of [`sql::Db`] and so implemented for
//! the pool and for a transaction alike. Only `sql.rs` knows which engine a
//! statement runs on; the DDL differs per engine (one migrations folder each,
//! kept identical in tables and columns by a test).
//!
//! A use case that writes opens one [`Tx`] with [`Store::begin`], runs every
//! statement on it (the audit event of a security action included) and
//! commits once. SQLite has one writer at a time, so its transactions start
//! with `BEGIN IMMEDIATE`: a deferred transaction that reads first cannot
//! upgrade to a writer once another connection has committed.
//!
//! A failed `COMMIT` or `ROLLBACK` leaves a connection in a state nobody can
//! vouch for (SQLite may or may not have rolled back after a full disk), so
//! that connection is closed and the pool opens a fresh one; a transaction
//! dropped half way (an error, or a client that went away) is rolled back
//! before its connection is used again.

pub mod sql;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use std::sync::Arc;

use sqlx::Connection as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{PgPool, Postgres};

pub use sql::{Db, Query, Row, query};

/// Every repository trait, for code that reads several capabilities' tables
/// (tests, tools): `use kapu::store::repos::*;`.
pub mod repos {
    pub use crate::accounts::repo::AccountRepo;
    pub use crate::accounts::seed::repo::SeedRepo;
    pub use crate::audit::repo::AuditRepo;
    pub use crate::delegations::repo::DelegationRepo;
    pub use crate::identity::repo::IdentityRepo;
    pub use crate::office::repo::OfficeRepo;
    pub use crate::oidc::repo::OidcRepo;
    pub use crate::sessions::repo::SessionRepo;
    pub use crate::throttle::repo::ThrottleRepo;
    pub use crate::twostep::repo::TwoStepRepo;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (e.g. a taken username).
    #[error("the row already exists")]
    Conflict,
    /// The database cannot be reached, refuses connections, or cannot write
    /// (disk full): a passing condition, answered with "try again shortly".
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the database {url}: {message}")]
    Connect { url: String, message: String },
    /// A statement on a transaction that was already committed or rolled back.
    #[error("the transaction has ended")]
    Finished,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict;
        }
        if is_unavailable(&e) { StoreError::Unavailable(e) } else { StoreError::Database(e) }
    }
}

/// Errors that say "not now" rather than "never": the connection, the
/// server or the disk, not the statement.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                // 08: connection exception, 53: insufficient resources (disk
                // full, too many connections), 57P: shutdown / starting up,
                // 58: system I/O error, 25006: a read-only standby.
                let c = pg.code();
                return c.starts_with("08")
                    || c.starts_with("53")
                    || c.starts_with("57P")
                    || c.starts_with("58")
                    || c == "25006";
            }
            // SQLite's extended code; the primary code is its low byte:
            // BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
            code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14))
        }
        _ => false,
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

enum Pool {
    Sqlite(Box<OneConnection>),
    Postgres(PgPool),
}

/// SQLite's one connection. SQLite has one writer at a time, so more
/// connections only wait on its lock (one measured 2.6 × the code steps per
/// second of 16), and a pool would check the connection with a round trip
/// to SQLite's thread at every hand-out and every return — two more per
/// statement. Here a statement or a transaction takes the connection, and a
/// connection that failed in a way nobody can vouch for is replaced.
struct OneConnection {
    options: SqliteConnectOptions,
    slot: Arc<tokio::sync::Mutex<Option<SqliteConnection>>>,
    closed: std::sync::atomic::AtomicBool,
}

type SqliteSlot = tokio::sync::OwnedMutexGuard<Option<SqliteConnection>>;

impl OneConnection {
    /// The connection (opened again if it was closed), once the statement
    /// or transaction before has finished with it.
    async fn take(&self) -> Result<SqliteSlot, StoreError> {
        if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError::Unavailable(sqlx::Error::PoolClosed));
        }
        let mut slot = tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.slot).lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        if slot.is_none() {
            *slot = Some(SqliteConnection::connect_with(&self.options).await?);
        }
        Ok(slot)
    }
}

/// How long a request waits for a database connection before "try again shortly".
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything kapu stores. Lone statements run on its pool; a use case that
/// writes runs in a [`Tx`] from [`Store::begin`].
pub struct Store {
    pool: Pool,
}

enum Conn {
    Sqlite(SqliteSlot),
    Postgres(PoolConnection<Postgres>),
}

/// A statement's result on SQLite's connection: a connection that broke
/// (its thread gone, an I/O error) is dropped, to be opened again.
fn settle<T>(slot: &mut SqliteSlot, result: Result<T, sqlx::Error>) -> Result<T, StoreError> {
    if let Err(sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)) = &result {
        slot.take();
    }
    Ok(result?)
}

/// The connection in a slot (there is one: `OneConnection::take` fills it).
fn sqlite_in(slot: &mut SqliteSlot) -> Result<&mut SqliteConnection, StoreError> {
    slot.as_mut().ok_or(StoreError::Unavailable(sqlx::Error::PoolClosed))
}

impl Conn {
    /// A statement without parameters (BEGIN, COMMIT, ROLLBACK).
    async fn run(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        // `Executor::execute` on `&str` sends it unprepared, as one message.
        match self {
            Conn::Sqlite(slot) => match slot.as_mut() {
                Some(c) => sqlx::Executor::execute(c, sql).await.map(drop),
                None => Err(sqlx::Error::PoolClosed),
            },
            Conn::Postgres(c) => sqlx::Executor::execute(&mut **c, sql).await.map(drop),
        }
    }

    /// Closes the connection; a fresh one is opened when one is needed.
    async fn close(self) {
        match self {
            Conn::Sqlite(mut slot) => {
                if let Some(c) = slot.take() {
                    let _ = sqlx::Connection::close(c).await;
                }
            }
            Conn::Postgres(c) => {
                let _ = c.close().await;
            }
        }
    }

    /// Ends a transaction that did not commit. A connection whose rollback
    /// fails is closed, never reused.
    async fn roll_back(mut self) -> Result<(), sqlx::Error> {
        match self.run("ROLLBACK").await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.close().await;
                Err(e)
            }
        }
    }
}

/// One unit of work: every statement of a use case, committed once.
/// Dropped without [`Tx::commit`], it is rolled back.
pub struct Tx {
    backend: Backend,
    // The repositories take `&self`, like the pool; the lock only hands the
    // one connection to one statement at a time.
    conn: tokio::sync::Mutex<Option<Conn>>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        let Some(mut conn) = self.take() else { return Err(StoreError::Finished) };
        if let Err(e) = conn.run("COMMIT").await {
            // Whether anything was written is unknown: never reuse it.
            let _ = conn.run("ROLLBACK").await;
            conn.close().await;
            return Err(e.into());
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        let Some(conn) = self.take() else { return Err(StoreError::Finished) };
        Ok(conn.roll_back().await?)
    }

    fn take(mut self) -> Option<Conn> {
        self.conn.get_mut().take()
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.get_mut().take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = conn.roll_back().await {
                        tracing::warn!(error = %e, "rolling back an abandoned transaction failed; connection closed");
                    }
                });
            }
            // No runtime to roll back on: closing the connection rolls back.
            Err(_) => match conn {
                Conn::Sqlite(mut slot) => drop(slot.take()),
                Conn::Postgres(mut c) => c.close_on_drop(),
            },
        }
    }
}

/// Opens the database named by `url` (`sqlite://path` or `postgres://...`);
/// `max_connections` is PostgreSQL's pool size (SQLite has one connection).
pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
    let connect_err = |e: sqlx::Error| StoreError::Connect { url: redact(url), message: e.to_string() };
    let pool = if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename().to_owned();
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            crate::app::create_private_dir(parent).map_err(|e| StoreError::Connect {
                url: redact(url),
                message: format!("cannot create {}: {e}", parent.display()),
            })?;
        }
        // Made here, readable by kapu's user only; SQLite gives its -wal and
        // -shm files the same mode.
        if !file.exists() && file.to_str() != Some(":memory:") {
            let mut create = std::fs::OpenOptions::new();
            create.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
            if let Err(e) = create.open(&file)
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(StoreError::Connect {
                    url: redact(url),
                    message: format!("cannot create {}: {e}", file.display()),
                });
            }
        }
        // Open it now: a database that cannot be opened stops the start.
        let conn = SqliteConnection::connect_with(&options).await.map_err(connect_err)?;
        Pool::Sqlite(Box::new(OneConnection {
            options,
            slot: Arc::new(tokio::sync::Mutex::new(Some(conn))),
            closed: std::sync::atomic::AtomicBool::new(false),
        }))
    } else {
        let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // A connection is checked when it comes back to the pool; a
            // second round trip before each use would double them per statement.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Pool::Postgres(pool)
    };
    Ok(Store { pool })
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

/// The migrations of each engine, in order. `tests/it/infra.rs` checks that
/// both trees end with the same tables and columns.
pub const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "portal", include_str!("migrations/sqlite/0001_portal.sql")),
    (2, "two_step", include_str!("migrations/sqlite/0002_two_step.sql")),
    (3, "oidc", include_str!("migrations/sqlite/0003_oidc.sql")),
    (4, "limits", include_str!("migrations/sqlite/0004_limits.sql")),
    (5, "abuse", include_str!("migrations/sqlite/0005_abuse.sql")),
    (6, "services", include_str!("migrations/sqlite/0006_services.sql")),
    (7, "identity", include_str!("migrations/sqlite/0007_identity.sql")),
    (8, "delegations", include_str!("migrations/sqlite/0008_delegations.sql")),
    (9, "office", include_str!("migrations/sqlite/0009_office.sql")),
];
pub const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "portal", include_str!("migrations/postgres/0001_portal.sql")),
    (2, "two_step", include_str!("migrations/postgres/0002_two_step.sql")),
    (3, "oidc", include_str!("migrations/postgres/0003_oidc.sql")),
    (4, "limits", include_str!("migrations/postgres/0004_limits.sql")),
    (5, "abuse", include_str!("migrations/postgres/0005_abuse.sql")),
    (6, "services", include_str!("migrations/postgres/0006_services.sql")),
    (7, "identity", include_str!("migrations/postgres/0007_identity.sql")),
    (8, "delegations", include_str!("migrations/postgres/0008_delegations.sql")),
    (9, "office", include_str!("migrations/postgres/0009_office.sql")),
];

impl Store {
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a unit of work: one connection, one transaction, until
    /// [`Tx::commit`] or [`Tx::rollback`].
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let (backend, mut conn, begin) = match &self.pool {
            Pool::Sqlite(one) => (Backend::Sqlite, Conn::Sqlite(one.take().await?), "BEGIN IMMEDIATE"),
            Pool::Postgres(p) => (Backend::Postgres, Conn::Postgres(p.acquire().await?), "BEGIN"),
        };
        if let Err(e) = conn.run(begin).await {
            conn.close().await;
            return Err(e.into());
        }
        Ok(Tx { backend, conn: tokio::sync::Mutex::new(Some(conn)) })
    }

    /// For `/readyz`: the database answers and can write (a full disk or a
    /// read-only standby fails here, not only at a citizen's next login).
    pub async fn check_writable(&self, now: i64) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        tx.execute(
            query(
                "INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
            )
            .bind(now),
        )
        .await?;
        tx.commit().await
    }

    /// Applies pending migrations; safe to run from several instances at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(one) => {
                let mut slot = one.take().await?;
                migrator(SQLITE_MIGRATIONS).run(sqlite_in(&mut slot)?).await?;
            }
            Pool::Postgres(p) => migrator(POSTGRES_MIGRATIONS).run(p).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(one) => {
                one.closed.store(true, std::sync::atomic::Ordering::Relaxed);
                let mut slot = one.slot.lock().await;
                if let Some(c) = slot.take() {
                    let _ = sqlx::Connection::close(c).await;
                }
            }
            Pool::Postgres(p) => p.close().await,
        }
    }
}

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
