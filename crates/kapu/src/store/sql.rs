//! One SQL text, two engines: a statement with its bound values ([`Query`]),
//! and [`Db`], what runs it — the pool ([`Store`], each statement commits on
//! its own) or a unit of work ([`Tx`], everything commits once).
//!
//! Every repository trait (`AccountRepo`, `SessionRepo`, ...) is written once
//! on top of [`Db`] and implemented for both, so a use case calls the same
//! methods on the pool for a lone read and on a transaction for its writes.
//! The engine is chosen here and only here: both accept `$1` placeholders,
//! `RETURNING` and `ON CONFLICT`, and rows are read by column name into
//! `#[derive(sqlx::FromRow)]` structs that decode from either engine.

use async_trait::async_trait;
use sqlx::Arguments as _;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};

use super::{Backend, Conn, Pool, Store, StoreError, Tx, settle, sqlite_in};

/// A value bound to a placeholder. Every column kapu stores is one of these.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'q> {
    Int(Option<i64>),
    Text(Option<&'q str>),
    Bytes(Option<&'q [u8]>),
    Bool(bool),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl<'q> From<&'q str> for Arg<'q> {
    fn from(v: &'q str) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'q> From<&'q String> for Arg<'q> {
    fn from(v: &'q String) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'q> From<Option<&'q str>> for Arg<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Arg::Text(v)
    }
}
impl<'q> From<&'q [u8]> for Arg<'q> {
    fn from(v: &'q [u8]) -> Self {
        Arg::Bytes(Some(v))
    }
}
impl<'q> From<&'q Vec<u8>> for Arg<'q> {
    fn from(v: &'q Vec<u8>) -> Self {
        Arg::Bytes(Some(v))
    }
}
impl<'q> From<Option<&'q [u8]>> for Arg<'q> {
    fn from(v: Option<&'q [u8]>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// A statement and its values, for either engine.
#[derive(Debug, Clone)]
pub struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg<'q>>,
}

/// Starts a statement: `query("... WHERE id = $1").bind(&id.0)`.
pub fn query(sql: &str) -> Query<'_> {
    Query { sql, args: Vec::new() }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Into<Arg<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    fn sqlite(&self) -> Result<SqliteArguments<'q>, StoreError> {
        let mut out = SqliteArguments::default();
        for arg in &self.args {
            match *arg {
                Arg::Int(v) => out.add(v),
                Arg::Text(v) => out.add(v),
                Arg::Bytes(v) => out.add(v),
                Arg::Bool(v) => out.add(v),
            }
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        }
        Ok(out)
    }

    fn postgres(&self) -> Result<PgArguments, StoreError> {
        let mut out = PgArguments::default();
        for arg in &self.args {
            match *arg {
                Arg::Int(v) => out.add(v),
                Arg::Text(v) => out.add(v),
                Arg::Bytes(v) => out.add(v),
                Arg::Bool(v) => out.add(v),
            }
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        }
        Ok(out)
    }
}

/// A row type both engines can decode (`#[derive(sqlx::FromRow)]`, or a tuple).
pub trait Row: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}

/// Where statements run: the pool or a unit of work.
#[async_trait]
pub trait Db: Send + Sync {
    fn backend(&self) -> Backend;
    /// Runs a statement; returns the number of rows it changed.
    async fn execute(&self, q: Query<'_>) -> Result<u64, StoreError>;
    async fn fetch_optional<R: Row>(&self, q: Query<'_>) -> Result<Option<R>, StoreError>;
    async fn fetch_all<R: Row>(&self, q: Query<'_>) -> Result<Vec<R>, StoreError>;

    async fn fetch_one<R: Row>(&self, q: Query<'_>) -> Result<R, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }
}

#[async_trait]
impl Db for Store {
    fn backend(&self) -> Backend {
        Store::backend(self)
    }

    async fn execute(&self, q: Query<'_>) -> Result<u64, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(one) => {
                let mut slot = one.take().await?;
                let done = sqlx::query_with(q.sql, q.sqlite()?).execute(sqlite_in(&mut slot)?).await;
                settle(&mut slot, done)?.rows_affected()
            }
            Pool::Postgres(p) => sqlx::query_with(q.sql, q.postgres()?).execute(p).await?.rows_affected(),
        })
    }

    async fn fetch_optional<R: Row>(&self, q: Query<'_>) -> Result<Option<R>, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(one) => {
                let mut slot = one.take().await?;
                let found = sqlx::query_as_with(q.sql, q.sqlite()?).fetch_optional(sqlite_in(&mut slot)?).await;
                settle(&mut slot, found)?
            }
            Pool::Postgres(p) => sqlx::query_as_with(q.sql, q.postgres()?).fetch_optional(p).await?,
        })
    }

    async fn fetch_all<R: Row>(&self, q: Query<'_>) -> Result<Vec<R>, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(one) => {
                let mut slot = one.take().await?;
                let found = sqlx::query_as_with(q.sql, q.sqlite()?).fetch_all(sqlite_in(&mut slot)?).await;
                settle(&mut slot, found)?
            }
            Pool::Postgres(p) => sqlx::query_as_with(q.sql, q.postgres()?).fetch_all(p).await?,
        })
    }
}

#[async_trait]
impl Db for Tx {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn execute(&self, q: Query<'_>) -> Result<u64, StoreError> {
        let mut conn = self.conn.lock().await;
        Ok(match conn.as_mut().ok_or(StoreError::Finished)? {
            Conn::Sqlite(slot) => sqlx::query_with(q.sql, q.sqlite()?).execute(sqlite_in(slot)?).await?.rows_affected(),
            Conn::Postgres(c) => sqlx::query_with(q.sql, q.postgres()?).execute(&mut **c).await?.rows_affected(),
        })
    }

    async fn fetch_optional<R: Row>(&self, q: Query<'_>) -> Result<Option<R>, StoreError> {
        let mut conn = self.conn.lock().await;
        Ok(match conn.as_mut().ok_or(StoreError::Finished)? {
            Conn::Sqlite(slot) => sqlx::query_as_with(q.sql, q.sqlite()?).fetch_optional(sqlite_in(slot)?).await?,
            Conn::Postgres(c) => sqlx::query_as_with(q.sql, q.postgres()?).fetch_optional(&mut **c).await?,
        })
    }

    async fn fetch_all<R: Row>(&self, q: Query<'_>) -> Result<Vec<R>, StoreError> {
        let mut conn = self.conn.lock().await;
        Ok(match conn.as_mut().ok_or(StoreError::Finished)? {
            Conn::Sqlite(slot) => sqlx::query_as_with(q.sql, q.sqlite()?).fetch_all(sqlite_in(slot)?).await?,
            Conn::Postgres(c) => sqlx::query_as_with(q.sql, q.postgres()?).fetch_all(&mut **c).await?,
        })
    }
}
