//! The `login_throttle` table: attempt counters in the database, so every
//! instance enforces one limit. Only this module writes it.

use async_trait::async_trait;

use super::{CompiledLimit, Limit};
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

/// The statement that takes an attempt on `$1` at `$2` (a window that has
/// been quiet since `$3` starts again at 1). It counts the attempt and sets
/// the wait a failure would earn, but only while the key is not waiting:
/// no row comes back when it is. See [`Limit::wait_table_sql`].
pub(crate) fn take_attempt_sql(limit: &Limit) -> String {
    let attempt = "CASE WHEN login_throttle.updated_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END";
    format!(
        "INSERT INTO login_throttle (throttle_key, failures, window_started_at, blocked_until, updated_at) \
         VALUES ($1, 1, $2, $2 + {first}, $2) \
         ON CONFLICT (throttle_key) DO UPDATE SET \
           failures = {attempt}, \
           window_started_at = CASE WHEN login_throttle.updated_at <= $3 THEN $2 ELSE login_throttle.window_started_at END, \
           blocked_until = $2 + {waits}, \
           updated_at = $2 \
         WHERE login_throttle.blocked_until <= $2 \
         RETURNING failures",
        first = limit.wait_after(1),
        waits = limit.wait_table_sql(attempt),
    )
}

#[async_trait]
pub trait ThrottleRepo: Db {
    /// Takes one attempt on `key`: its number in the window, or `None` when
    /// the key is waiting or locked (nothing counted).
    async fn take_attempt(&self, key: &str, limit: &CompiledLimit, now: UnixTime) -> Result<Option<i64>, StoreError> {
        let quiet_since = now - limit.limit.window_seconds;
        let row: Option<(i64,)> =
            self.fetch_optional(query(&limit.take_sql).bind(key).bind(now).bind(quiet_since)).await?;
        Ok(row.map(|r| r.0))
    }

    /// Gives attempt `number` back after a correct answer. When nobody took
    /// another attempt meanwhile, the key is as if it had not been made
    /// (and, with `forget_failures`, its earlier failures are forgotten too);
    /// otherwise only the count goes down and every wait stays: a racing
    /// success never lifts a lock that racing failures earned.
    async fn give_back(&self, key: &str, number: i64, forget_failures: bool) -> Result<(), StoreError> {
        if forget_failures {
            let forgotten = self
                .execute(
                    query("DELETE FROM login_throttle WHERE throttle_key = $1 AND failures = $2")
                        .bind(key)
                        .bind(number),
                )
                .await?;
            if forgotten == 1 {
                return Ok(());
            }
        }
        self.execute(
            query(
                "UPDATE login_throttle SET failures = failures - 1, \
                   blocked_until = CASE WHEN failures = $2 THEN 0 ELSE blocked_until END \
                 WHERE throttle_key = $1 AND failures > 0",
            )
            .bind(key)
            .bind(number),
        )
        .await?;
        Ok(())
    }

    /// Until when the key is waiting (0 or a past time: not waiting).
    async fn blocked_until(&self, key: &str) -> Result<UnixTime, StoreError> {
        let row: Option<(i64,)> = self
            .fetch_optional(query("SELECT blocked_until FROM login_throttle WHERE throttle_key = $1").bind(key))
            .await?;
        Ok(row.map_or(0, |r| r.0))
    }

    /// Forgets the key (an office unlock). Whether there was anything to forget.
    async fn clear_throttle(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM login_throttle WHERE throttle_key = $1").bind(key)).await? > 0)
    }
}

impl<T: Db> ThrottleRepo for T {}
