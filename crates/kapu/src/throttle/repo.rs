//! The `login_throttle` table: attempt counters in the database, so every
//! instance enforces one limit. Only this module writes it.

use async_trait::async_trait;

use super::Limit;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

/// The statement that takes one attempt on each of `limits.len()` keys at
/// once: `$1`..`$n` the keys, `$n+1` now, `$n+2`.. the moment before which
/// each key's window counts as quiet (a quiet window starts again at 1).
/// Each key's attempt is counted, and the wait a failure would earn is set,
/// only while that key is not waiting; the keys that were counted come back
/// with their attempt's number. See [`Limit::wait_table_sql`].
pub(crate) fn take_attempts_sql(limits: &[Limit]) -> String {
    let n = limits.len();
    let now = format!("${}", n + 1);
    // A value that depends on which key the row is: `CASE key WHEN $1 THEN ...`.
    let by_key = |value: &dyn Fn(usize, &Limit) -> String| {
        let arms: String =
            limits.iter().enumerate().map(|(i, l)| format!(" WHEN ${} THEN {}", i + 1, value(i, l))).collect();
        format!("CASE login_throttle.throttle_key{arms} END")
    };
    let quiet_since = by_key(&|i, _| format!("${}", n + 2 + i));
    let attempt =
        format!("CASE WHEN login_throttle.updated_at <= {quiet_since} THEN 1 ELSE login_throttle.failures + 1 END");
    let waits = by_key(&|_, l| l.wait_table_sql(&attempt));
    let values: Vec<String> = limits
        .iter()
        .enumerate()
        .map(|(i, l)| format!("(${}, 1, {now}, {now} + {}, {now})", i + 1, l.wait_after(1)))
        .collect();
    format!(
        "INSERT INTO login_throttle (throttle_key, failures, window_started_at, blocked_until, updated_at) \
         VALUES {values} \
         ON CONFLICT (throttle_key) DO UPDATE SET \
           failures = {attempt}, \
           window_started_at = CASE WHEN login_throttle.updated_at <= {quiet_since} THEN {now} \
             ELSE login_throttle.window_started_at END, \
           blocked_until = {now} + {waits}, \
           updated_at = {now} \
         WHERE login_throttle.blocked_until <= {now} \
         RETURNING throttle_key, failures",
        values = values.join(", "),
    )
}

#[async_trait]
pub trait ThrottleRepo: Db {
    /// Runs a statement of [`take_attempts_sql`] for `keys` under `limits`
    /// (in the same order): the keys that were counted, with their numbers.
    async fn take_attempts(
        &self,
        sql: &str,
        keys: &[&str],
        limits: &[Limit],
        now: UnixTime,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut q = query(sql);
        for key in keys {
            q = q.bind(*key);
        }
        q = q.bind(now);
        for limit in limits {
            q = q.bind(now - limit.window_seconds);
        }
        self.fetch_all(q).await
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
