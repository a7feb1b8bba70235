//! The `audit_events` table. Only this module writes it.

use async_trait::async_trait;

use super::model::{AuditEntry, AuditRecord};
use crate::accounts::model::AccountId;
use crate::store::{Db, StoreError, query};

#[async_trait]
pub trait AuditRepo: Db {
    async fn insert_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO audit_events (at, account_id, username, event, outcome, client_addr, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(r.at)
            .bind(r.account_id.as_ref().map(|a| a.0.as_str()))
            .bind(r.username.as_deref())
            .bind(r.event.as_str())
            .bind(r.outcome.as_str())
            .bind(r.client_addr.as_deref())
            .bind(r.detail.as_deref()),
        )
        .await?;
        Ok(())
    }

    /// The account's newest events first.
    async fn audit_for_account(&self, account_id: &AccountId, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        self.fetch_all(
            query(
                "SELECT id, at, account_id, username, event, outcome, client_addr, detail FROM audit_events \
                 WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(&account_id.0)
            .bind(limit),
        )
        .await
    }

    /// Every office action (its detail names the clerk), newest first: the
    /// supervisor's view of the office console and `kapu admin` alike.
    async fn office_actions(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        self.fetch_all(
            query(
                "SELECT id, at, account_id, username, event, outcome, client_addr, detail FROM audit_events \
                 WHERE detail LIKE '%clerk=%' ORDER BY id DESC LIMIT $1",
            )
            .bind(limit),
        )
        .await
    }

    /// The account's newest event `event` with `outcome` before `before`
    /// (the index on account and id walks back from the newest).
    async fn last_event_before(
        &self,
        account_id: &AccountId,
        event: &str,
        outcome: &str,
        before: crate::clock::UnixTime,
    ) -> Result<Option<AuditEntry>, StoreError> {
        self.fetch_optional(
            query(
                "SELECT id, at, account_id, username, event, outcome, client_addr, detail FROM audit_events \
                 WHERE account_id = $1 AND event = $2 AND outcome = $3 AND at < $4 ORDER BY id DESC LIMIT 1",
            )
            .bind(&account_id.0)
            .bind(event)
            .bind(outcome)
            .bind(before),
        )
        .await
    }

    /// Events older than the retention (the sweeper).
    async fn delete_audit_before(&self, before: crate::clock::UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM audit_events WHERE at < $1").bind(before)).await
    }

    /// A deleted account's events stay, without the personal fields.
    async fn anonymise_audit_of(&self, account_id: &AccountId) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE audit_events SET username = NULL, client_addr = NULL, detail = NULL WHERE account_id = $1")
                .bind(&account_id.0),
        )
        .await?;
        Ok(())
    }
}

impl<T: Db> AuditRepo for T {}
