//! The `delegations` table. Only this module writes it. Each method is one
//! statement; use cases compose them in one transaction. Dates are stored as
//! `YYYY-MM-DD`, which compare as dates on both engines.

use async_trait::async_trait;

use super::model::{Delegation, EndedBy};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

/// A delegation as it will be stored.
#[derive(Debug, Clone)]
pub struct NewDelegation<'a> {
    pub id: &'a str,
    pub principal_id: &'a AccountId,
    pub agent_id: &'a AccountId,
    pub matter: &'a str,
    pub client_id: Option<&'a str>,
    pub valid_from: jiff::civil::Date,
    pub valid_until: jiff::civil::Date,
    pub created_at: UnixTime,
    pub recorded_by: Option<&'a str>,
}

#[derive(Debug, sqlx::FromRow)]
struct DelegationRow {
    id: String,
    principal_id: String,
    agent_id: String,
    principal_name: String,
    agent_name: String,
    matter: String,
    client_id: Option<String>,
    service_name: Option<String>,
    valid_from: String,
    valid_until: String,
    created_at: i64,
    recorded_by: Option<String>,
    accepted_at: Option<i64>,
    ended_at: Option<i64>,
    ended_by: Option<String>,
}

impl TryFrom<DelegationRow> for Delegation {
    type Error = StoreError;

    fn try_from(r: DelegationRow) -> Result<Self, StoreError> {
        let unreadable =
            |what: &str| StoreError::Database(sqlx::Error::Decode(format!("a delegation's {what}").into()));
        let date = |s: &str| s.parse::<jiff::civil::Date>().map_err(|_| unreadable("date"));
        let ended_by = r.ended_by.as_deref().map(|s| EndedBy::parse(s).ok_or_else(|| unreadable("end"))).transpose()?;
        Ok(Delegation {
            id: r.id,
            principal_id: AccountId(r.principal_id),
            agent_id: AccountId(r.agent_id),
            principal_name: r.principal_name,
            agent_name: r.agent_name,
            matter: r.matter,
            client_id: r.client_id,
            service_name: r.service_name,
            valid_from: date(&r.valid_from)?,
            valid_until: date(&r.valid_until)?,
            created_at: r.created_at,
            recorded_by: r.recorded_by,
            accepted_at: r.accepted_at,
            ended_at: r.ended_at,
            ended_by,
        })
    }
}

/// The columns of [`DelegationRow`]: both parties' verified names (a
/// delegation exists only between verified accounts) and the service's name.
const SELECT: &str = "SELECT d.id, d.principal_id, d.agent_id, \
     pi.family_name || ' ' || pi.given_name AS principal_name, \
     ai.family_name || ' ' || ai.given_name AS agent_name, \
     d.matter, d.client_id, c.name AS service_name, d.valid_from, d.valid_until, d.created_at, \
     d.recorded_by, d.accepted_at, d.ended_at, d.ended_by \
     FROM delegations d \
     JOIN identities pi ON pi.account_id = d.principal_id \
     JOIN identities ai ON ai.account_id = d.agent_id \
     LEFT JOIN oidc_clients c ON c.client_id = d.client_id";

#[async_trait]
pub trait DelegationRepo: Db {
    async fn insert_delegation(&self, d: &NewDelegation<'_>) -> Result<(), StoreError> {
        let (from, until) = (d.valid_from.to_string(), d.valid_until.to_string());
        self.execute(
            query(
                "INSERT INTO delegations (id, principal_id, agent_id, matter, client_id, valid_from, valid_until, \
                 created_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(d.id)
            .bind(&d.principal_id.0)
            .bind(&d.agent_id.0)
            .bind(d.matter)
            .bind(d.client_id)
            .bind(from.as_str())
            .bind(until.as_str())
            .bind(d.created_at)
            .bind(d.recorded_by),
        )
        .await
        .map(drop)
    }

    async fn delegation(&self, id: &str) -> Result<Option<Delegation>, StoreError> {
        let row: Option<DelegationRow> =
            self.fetch_optional(query(&format!("{SELECT} WHERE d.id = $1")).bind(id)).await?;
        row.map(Delegation::try_from).transpose()
    }

    /// Every delegation the account gave or received, newest first.
    async fn delegations_of(&self, account_id: &AccountId) -> Result<Vec<Delegation>, StoreError> {
        let rows: Vec<DelegationRow> = self
            .fetch_all(
                query(&format!(
                    "{SELECT} WHERE d.principal_id = $1 OR d.agent_id = $1 ORDER BY d.created_at DESC, d.id"
                ))
                .bind(&account_id.0),
            )
            .await?;
        rows.into_iter().map(Delegation::try_from).collect()
    }

    /// The delegations `agent` may use at `client_id` today: accepted, not
    /// ended, within their days, for this service or any; of one principal
    /// if given.
    async fn usable_delegations(
        &self,
        agent_id: &AccountId,
        client_id: &str,
        principal_id: Option<&AccountId>,
        today: jiff::civil::Date,
    ) -> Result<Vec<Delegation>, StoreError> {
        let today = today.to_string();
        let rows: Vec<DelegationRow> = self
            .fetch_all(
                query(&format!(
                    "{SELECT} WHERE d.agent_id = $1 AND (d.client_id IS NULL OR d.client_id = $2) \
                     AND ($3 = '' OR d.principal_id = $3) AND d.accepted_at IS NOT NULL AND d.ended_at IS NULL \
                     AND d.valid_from <= $4 AND d.valid_until >= $4 ORDER BY principal_name, d.matter"
                ))
                .bind(&agent_id.0)
                .bind(client_id)
                .bind(principal_id.map_or("", |p| p.0.as_str()))
                .bind(today.as_str()),
            )
            .await?;
        rows.into_iter().map(Delegation::try_from).collect()
    }

    /// The agent accepts a pending delegation that has not run out: one
    /// conditional UPDATE, so a double click accepts once. Whether it did.
    async fn accept_delegation(
        &self,
        id: &str,
        agent_id: &AccountId,
        now: UnixTime,
        today: jiff::civil::Date,
    ) -> Result<bool, StoreError> {
        let today = today.to_string();
        let changed = self
            .execute(
                query(
                    "UPDATE delegations SET accepted_at = $3 WHERE id = $1 AND agent_id = $2 \
                     AND accepted_at IS NULL AND ended_at IS NULL AND valid_until >= $4",
                )
                .bind(id)
                .bind(&agent_id.0)
                .bind(now)
                .bind(today.as_str()),
            )
            .await?;
        Ok(changed == 1)
    }

    /// A party ends a delegation that has not ended: the one who did is
    /// written by the same statement. Whether it did.
    async fn end_delegation(&self, id: &str, party: &AccountId, now: UnixTime) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                query(
                    "UPDATE delegations SET ended_at = $3, \
                     ended_by = CASE WHEN principal_id = $2 THEN 'principal' ELSE 'agent' END \
                     WHERE id = $1 AND (principal_id = $2 OR agent_id = $2) AND ended_at IS NULL",
                )
                .bind(id)
                .bind(&party.0)
                .bind(now),
            )
            .await?;
        Ok(changed == 1)
    }
}

impl<T: Db> DelegationRepo for T {}
