//! The mail queue: every message is written to `mail_queue` in the same
//! transaction as the action that sends it, and a worker delivers it (SMTP or
//! the outbox) and then deletes it. A crash, or a relay that is down, delays
//! a message; it never loses one, and never sends one for an action that did
//! not commit. Bodies carry single-use links, so they are sealed at rest.
//!
//! Several instances share the queue: a worker claims a few messages for a
//! while (`claimed_until`) by one conditional UPDATE, so each message goes
//! out once; a worker that dies mid-delivery leaves its claim to run out and
//! another sends it (at most one duplicate, never a loss).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{EmailAddress, OutgoingEmail};
use crate::Kapu;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};
use crate::throttle::{AttemptKeys, ThrottleRepo};

/// Associated data of sealed bodies: they belong to no account.
const SEAL_CONTEXT: &[u8] = b"mail-queue";
/// How long a worker holds the messages it claimed.
const CLAIM_SECONDS: i64 = 120;
/// Messages claimed at a time.
const BATCH: i64 = 20;
/// A failed delivery waits `first` seconds (`mail.retry_after_seconds`),
/// doubling with each attempt, up to an hour.
fn retry_after(first: i64, attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(12).min(12);
    first.saturating_mul(1 << doublings).min(3600)
}

#[derive(Debug, sqlx::FromRow)]
pub struct QueuedRow {
    id: i64,
    recipient: String,
    recipient_name: Option<String>,
    subject: String,
    body_sealed: Vec<u8>,
    created_at: i64,
    attempts: i64,
}

#[async_trait]
pub trait MailQueueRepo: Db {
    async fn enqueue_sealed(&self, email: &OutgoingEmail, body_sealed: &[u8], now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO mail_queue (recipient, recipient_name, subject, body_sealed, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(email.to.as_str())
            .bind(email.to_name.as_deref())
            .bind(email.subject.as_str())
            .bind(body_sealed)
            .bind(now),
        )
        .await
        .map(drop)
    }

    /// Claims up to [`BATCH`] due messages for [`CLAIM_SECONDS`]; of two
    /// workers racing for one, one gets it.
    async fn claim_due_mail(&self, now: UnixTime) -> Result<Vec<QueuedRow>, StoreError> {
        self.fetch_all(
            query(
                "UPDATE mail_queue SET claimed_until = $2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt_at <= $1 AND claimed_until <= $1 \
                              ORDER BY next_attempt_at, id LIMIT $3) \
                   AND next_attempt_at <= $1 AND claimed_until <= $1 \
                 RETURNING id, recipient, recipient_name, subject, body_sealed, created_at, attempts",
            )
            .bind(now)
            .bind(now + CLAIM_SECONDS)
            .bind(BATCH),
        )
        .await
    }

    async fn mail_delivered(&self, id: i64) -> Result<(), StoreError> {
        self.execute(query("DELETE FROM mail_queue WHERE id = $1").bind(id)).await.map(drop)
    }

    async fn mail_failed(&self, id: i64, retry_at: UnixTime, error: &str) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE mail_queue SET next_attempt_at = $2, claimed_until = 0, last_error = $3 WHERE id = $1")
                .bind(id)
                .bind(retry_at)
                .bind(error),
        )
        .await
        .map(drop)
    }

    async fn mail_waiting(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = self.fetch_one(query("SELECT COUNT(*) FROM mail_queue")).await?;
        Ok(n)
    }
}

impl<T: Db> MailQueueRepo for T {}

impl Kapu {
    /// Queues `email` on `db`, the unit of work of the action that sends it.
    pub async fn enqueue_mail(&self, db: &impl Db, email: &OutgoingEmail) -> Result<(), StoreError> {
        let sealed = self
            .secret_box
            .seal(email.text.as_bytes(), SEAL_CONTEXT)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.to_string().into())))?;
        db.enqueue_sealed(email, &sealed, self.now()).await?;
        self.mail_wakeup.notify_one();
        Ok(())
    }

    /// Queues a message that someone else can make kapu send (a registration
    /// link, a reset link, a link to a new address): at most
    /// `rate_limits.mails_per_recipient_per_hour` reach one address, the rest
    /// are dropped (the page answers the same). Whether it was queued.
    pub async fn enqueue_limited_mail(&self, db: &impl Db, email: &OutgoingEmail) -> Result<bool, StoreError> {
        let keys = AttemptKeys::mail_to(&self.limits, email.to.as_str());
        if db.take_attempts_on(&keys, self.now()).await?.is_none() {
            self.metrics.mail("suppressed");
            tracing::info!(to = %email.to, "mail: not queued: the recipient had enough mail this hour");
            return Ok(false);
        }
        self.enqueue_mail(db, email).await?;
        Ok(true)
    }

    /// One pass of the worker: delivers what is due. Returns how many went out.
    pub async fn deliver_due_mail(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let due = self.store.claim_due_mail(now).await?;
        let mut sent = 0;
        for row in due {
            let outcome = match self.secret_box.open(&row.body_sealed, SEAL_CONTEXT) {
                Ok(body) => match EmailAddress::parse(&row.recipient) {
                    Ok(to) => {
                        let email = OutgoingEmail {
                            to,
                            to_name: row.recipient_name.clone(),
                            subject: row.subject.clone(),
                            text: String::from_utf8_lossy(&body).into_owned(),
                        };
                        self.mailer.send(email).await.map_err(|e| e.to_string())
                    }
                    Err(e) => Err(format!("unusable address: {e}")),
                },
                Err(e) => Err(format!("cannot open the sealed body (another kapu.key?): {e}")),
            };
            match outcome {
                Ok(()) => {
                    self.store.mail_delivered(row.id).await?;
                    self.metrics.mail("sent");
                    sent += 1;
                }
                Err(error) if now - row.created_at > self.config.mail.give_up_after_seconds => {
                    tracing::error!(id = row.id, to = %row.recipient, %error, attempts = row.attempts,
                        "mail: given up after trying since it was queued; the message is dropped");
                    self.store.mail_delivered(row.id).await?;
                    self.metrics.mail("dropped");
                }
                Err(error) => {
                    let retry_at = now + retry_after(self.config.mail.retry_after_seconds, row.attempts);
                    tracing::warn!(id = row.id, to = %row.recipient, %error, attempts = row.attempts,
                        retry_in_seconds = retry_at - now, "mail: delivery failed; it waits in the queue");
                    self.store.mail_failed(row.id, retry_at, &error).await?;
                    self.metrics.mail("retry");
                }
            }
        }
        Ok(sent)
    }
}

/// The mail worker: delivers queued mail as soon as it is queued on this
/// instance, and every few seconds what other instances queued or what
/// waits for a retry.
pub async fn run_worker(kapu: Arc<Kapu>) {
    loop {
        tokio::select! {
            () = kapu.mail_wakeup.notified() => {
                // The action that queued it commits after it queued it.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        loop {
            match kapu.deliver_due_mail().await {
                // A full batch: there may be more.
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "mail: cannot read the queue");
                    break;
                }
            }
        }
        if let Ok(n) = kapu.store.mail_waiting().await {
            kapu.metrics.mail_waiting(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_up_to_an_hour() {
        assert_eq!([retry_after(30, 1), retry_after(30, 2), retry_after(30, 3)], [30, 60, 120]);
        assert_eq!(retry_after(30, 8), 3600);
        assert_eq!(retry_after(30, 50), 3600);
        assert_eq!([retry_after(1, 1), retry_after(1, 2), retry_after(1, 13)], [1, 2, 3600]);
        assert_eq!(retry_after(3600, i64::MAX), 3600);
    }
}
