//! The audit log: security events, kept in the database, shown to operators
//! (`kapu admin audit`) and to each user for their own account.

pub mod model;
pub mod pages;
pub mod repo;

use crate::Kapu;
use crate::accounts::model::{Account, AccountId};
use crate::clock::UnixTime;
use crate::store::{Db, StoreError};
use model::{AuditEvent, AuditRecord, Outcome};
use repo::AuditRepo;

/// Whom an event is about.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub account_id: Option<AccountId>,
    pub username: Option<String>,
}

impl Subject {
    pub fn account(account: &Account) -> Self {
        Self { account_id: Some(account.id.clone()), username: Some(account.username.as_str().to_owned()) }
    }
    /// A typed name that may not exist (failed logins).
    pub fn typed_username(name: &str) -> Self {
        Self { account_id: None, username: Some(name.trim().chars().take(64).collect()) }
    }
    /// The account only, no personal data (the deletion event).
    pub fn account_id_only(id: &AccountId) -> Self {
        Self { account_id: Some(id.clone()), username: None }
    }
}

/// Who did something, from where: what every audited use case is given.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub client_addr: Option<String>,
    /// The browser's `User-Agent` (bounded), for "Aktív munkamenetek".
    pub user_agent: Option<String>,
}

impl Kapu {
    /// Records an event on `db`: the transaction of the action it records
    /// (both commit or neither does), or the pool for a lone event. A failure
    /// to write it fails the action.
    pub async fn audit(
        &self,
        db: &impl Db,
        event: AuditEvent,
        outcome: Outcome,
        subject: Subject,
        actor: &Actor,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        let record = AuditRecord {
            at: self.now(),
            account_id: subject.account_id,
            username: subject.username,
            event,
            outcome,
            client_addr: actor.client_addr.clone(),
            detail,
        };
        // The database is the audit log; this line is for following a
        // session in the logs (and costs a write per event, so not at INFO).
        tracing::debug!(
            event = event.as_str(),
            outcome = outcome.as_str(),
            account = record.account_id.as_ref().map(|a| a.0.as_str()),
            client = record.client_addr.as_deref(),
            "audit"
        );
        db.insert_audit(&record).await
    }
}

/// A login before this one, for the home page ("Legutóbbi bejelentkezés").
pub struct PreviousLogin {
    pub at: UnixTime,
    pub client_addr: Option<String>,
}

impl Kapu {
    /// The account's last successful login before `before` (the start of the
    /// current session), however many other events came since.
    pub async fn previous_login(
        &self,
        account_id: &AccountId,
        before: UnixTime,
    ) -> Result<Option<PreviousLogin>, StoreError> {
        let last = self
            .store
            .last_event_before(account_id, AuditEvent::LoginSucceeded.as_str(), Outcome::Success.as_str(), before)
            .await?;
        Ok(last.map(|e| PreviousLogin { at: e.at, client_addr: e.client_addr }))
    }
}
