//! The `login_throttle` table: attempt counters in the database, so every
//! instance enforces one limit. Only this module writes it.

use async_trait::async_trait;

use super::{AttemptKeys, Limit, Taken, TakenAttempt};
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

/// A key that refused tries while it waited.
#[derive(Debug, sqlx::FromRow)]
pub struct RefusedDuringBlock {
    pub throttle_key: String,
    pub refused: i64,
    pub blocked_until: i64,
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

    /// Takes one attempt on every key of `keys` on this unit of work: the
    /// attempts, or `None` when a key was waiting. With several keys, a
    /// `None` may have counted on some: the caller rolls back (see
    /// `throttle::take_attempts`).
    async fn take_attempts_on(&self, keys: &AttemptKeys<'_>, now: UnixTime) -> Result<Option<Taken>, StoreError> {
        let counted = self.take_attempts(&keys.set.take_sql, &keys.key_names(), &keys.set.limits, now).await?;
        let taken: Vec<TakenAttempt> = keys
            .keys
            .iter()
            .filter_map(|(key, forgets_failures)| {
                let number = counted.iter().find(|(k, _)| k == key)?.1;
                Some(TakenAttempt { key: key.clone(), number, forgets_failures: *forgets_failures })
            })
            .collect();
        Ok((taken.len() == keys.keys.len()).then_some(Taken(taken)))
    }

    /// Counts a refused try on each waiting key of `keys` (one statement).
    async fn count_refused(&self, keys: &[&str], now: UnixTime) -> Result<(), StoreError> {
        let placeholders: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE login_throttle SET refused = refused + 1 WHERE blocked_until > $1 AND throttle_key IN ({})",
            placeholders.join(", ")
        );
        let mut q = query(&sql).bind(now);
        for key in keys {
            q = q.bind(*key);
        }
        self.execute(q).await.map(|_| ())
    }

    /// The keys whose wait is over and that refused tries during it.
    async fn refused_counts(&self, now: UnixTime) -> Result<Vec<RefusedDuringBlock>, StoreError> {
        self.fetch_all(
            query(
                "SELECT throttle_key, refused, blocked_until FROM login_throttle \
                 WHERE blocked_until <= $1 AND refused > 0",
            )
            .bind(now),
        )
        .await
    }

    /// Takes `refused` off a key's count; false when another sweeper took
    /// it first (so one audit event sums up a wait, whichever instance
    /// writes it).
    async fn settle_refused(&self, counted: &RefusedDuringBlock) -> Result<bool, StoreError> {
        let rows = self
            .execute(
                query("UPDATE login_throttle SET refused = refused - $2 WHERE throttle_key = $1 AND refused >= $2")
                    .bind(counted.throttle_key.as_str())
                    .bind(counted.refused),
            )
            .await?;
        Ok(rows == 1)
    }

    /// Forgets keys whose window has been quiet for `quiet_for` and that are
    /// not waiting (nothing of them counts any more). How many.
    async fn sweep_throttle(&self, now: UnixTime, quiet_for: i64) -> Result<u64, StoreError> {
        self.execute(
            query("DELETE FROM login_throttle WHERE updated_at <= $1 AND blocked_until <= $2 AND refused = 0")
                .bind(now - quiet_for)
                .bind(now),
        )
        .await
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
