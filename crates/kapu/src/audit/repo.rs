//! The audit log's storage (both engines).

use async_trait::async_trait;

use super::model::{AuditEntry, AuditRecord};
use crate::accounts::model::AccountId;
use crate::store::StoreError;

#[async_trait]
pub trait AuditRepo {
    async fn insert_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// The account's newest events first.
    async fn audit_for_account(&self, account_id: &AccountId, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;
}

macro_rules! impl_audit_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::audit::model::{AuditEntry, AuditRecord};

            #[async_trait::async_trait]
            impl $crate::audit::repo::AuditRepo for $store {
                async fn insert_audit(&self, r: &AuditRecord) -> Result<(), $crate::store::StoreError> {
                    sqlx::query(
                        "INSERT INTO audit_events (at, account_id, username, event, outcome, client_addr, detail) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(r.at)
                    .bind(r.account_id.as_ref().map(|a| a.0.as_str()))
                    .bind(r.username.as_deref())
                    .bind(r.event.as_str())
                    .bind(r.outcome.as_str())
                    .bind(r.client_addr.as_deref())
                    .bind(r.detail.as_deref())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn audit_for_account(
                    &self,
                    account_id: &$crate::accounts::model::AccountId,
                    limit: i64,
                ) -> Result<Vec<AuditEntry>, $crate::store::StoreError> {
                    let rows: Vec<(
                        i64,
                        i64,
                        Option<String>,
                        Option<String>,
                        String,
                        String,
                        Option<String>,
                        Option<String>,
                    )> = sqlx::query_as(
                        "SELECT id, at, account_id, username, event, outcome, client_addr, detail FROM audit_events \
                             WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
                    )
                    .bind(&account_id.0)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(AuditEntry::from_row).collect())
                }
            }
        };
    };
}
pub(crate) use impl_audit_repo;
