//! Failed-login counters in the database, so every instance sees the same.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::store::StoreError;

#[async_trait]
pub trait ThrottleRepo {
    /// Until when the key is blocked (0 or a past time: not blocked).
    async fn blocked_until(&self, key: &str) -> Result<UnixTime, StoreError>;
    /// The keys among `keys` that have a record, with their block time: one
    /// read for a login's username and address.
    async fn throttle_records(&self, keys: [&str; 2]) -> Result<Vec<(String, UnixTime)>, StoreError>;
    /// Counts one failure and returns the count. The count starts again at 1
    /// when the previous failure is older than `quiet_since`.
    async fn record_failure(&self, key: &str, now: UnixTime, quiet_since: UnixTime) -> Result<i64, StoreError>;
    async fn block_until(&self, key: &str, until: UnixTime) -> Result<(), StoreError>;
    /// Forgets the key's failures (after a successful login, or an unlock).
    async fn clear_throttle(&self, key: &str) -> Result<bool, StoreError>;
}

macro_rules! impl_throttle_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
            #[async_trait::async_trait]
            impl $crate::throttle::repo::ThrottleRepo for $store {
                async fn blocked_until(&self, key: &str) -> Result<i64, $crate::store::StoreError> {
                    let row: Option<(i64,)> = sqlx::query_as("SELECT blocked_until FROM login_throttle WHERE throttle_key = $1")
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map_or(0, |r| r.0))
                }

                async fn throttle_records(&self, keys: [&str; 2]) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, i64)> = sqlx::query_as(
                        "SELECT throttle_key, blocked_until FROM login_throttle WHERE throttle_key IN ($1, $2)",
                    )
                    .bind(keys[0])
                    .bind(keys[1])
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows)
                }

                async fn record_failure(&self, key: &str, now: i64, quiet_since: i64) -> Result<i64, $crate::store::StoreError> {
                    // One atomic statement: concurrent failures on several
                    // instances are all counted.
                    let (failures,): (i64,) = sqlx::query_as(
                        "INSERT INTO login_throttle (throttle_key, failures, window_started_at, blocked_until, updated_at) \
                         VALUES ($1, 1, $2, 0, $2) \
                         ON CONFLICT (throttle_key) DO UPDATE SET \
                           failures = CASE WHEN login_throttle.updated_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
                           window_started_at = CASE WHEN login_throttle.updated_at <= $3 THEN $2 ELSE login_throttle.window_started_at END, \
                           updated_at = $2 \
                         RETURNING failures",
                    )
                    .bind(key)
                    .bind(now)
                    .bind(quiet_since)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(failures)
                }

                async fn block_until(&self, key: &str, until: i64) -> Result<(), $crate::store::StoreError> {
                    sqlx::query("UPDATE login_throttle SET blocked_until = $2 WHERE throttle_key = $1 AND blocked_until < $2")
                        .bind(key)
                        .bind(until)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn clear_throttle(&self, key: &str) -> Result<bool, $crate::store::StoreError> {
                    let done = sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1").bind(key).execute(&self.pool).await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        };
    };
}
pub(crate) use impl_throttle_repo;
