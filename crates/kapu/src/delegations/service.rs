//! Delegation use cases: the principal grants, the agent accepts (or
//! refuses), either party ends; deleting an account tells the other party.
//! Each use case is one transaction with its audit event and notices.

use super::model::{Delegation, State};
use super::repo::{DelegationRepo, NewDelegation};
use crate::Kapu;
use crate::accounts::model::{Account, Language, Username};
use crate::accounts::repo::AccountRepo;
use crate::accounts::service::{Field, FormErrors, Problem};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::crypto::random_id;
use crate::identity::repo::IdentityRepo;
use crate::mail::notice::Notice;
use crate::oidc::repo::OidcRepo;
use crate::store::{Db, StoreError};
use crate::throttle::{AttemptKeys, give_back, take_attempts};

/// The principal's form, as typed.
#[derive(Debug, Clone, Default)]
pub struct DelegationInput {
    pub agent_username: String,
    /// The agent's date of birth, `YYYY-MM-DD`: with the username it names
    /// the agent, so a typo in the name does not delegate to a stranger.
    pub agent_birth_date: String,
    pub matter: String,
    /// A `client_id`, or empty for any service.
    pub service: String,
    pub valid_from: String,
    pub valid_until: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DelegationError {
    #[error("the form has errors")]
    Form(FormErrors),
    /// Only a citizen whose identity an office verified can delegate.
    #[error("the account has no verified identity")]
    NotVerified,
    /// No such delegation of this account, or not in a state for this.
    #[error("no such delegation in that state")]
    NotFound,
    #[error("no account named {0:?}")]
    NoAccount(String),
    /// Too many agents not found: no lookup before `until`.
    #[error("too many tries")]
    Blocked { until: crate::clock::UnixTime },
    /// The clerk, office or reason is empty, too long or has control characters.
    #[error("--clerk, --office and --reason must each be 1 to 200 characters without control characters")]
    OfficeRecord,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who recorded a delegation made in person, and why.
struct OfficeRecord<'a> {
    clerk: &'a str,
    office: &'a str,
    reason: &'a str,
}

impl Kapu {
    /// A matter's name in `language` (its id if the configuration no longer has it).
    pub fn matter_label(&self, matter: &str, language: Language) -> String {
        match self.config.delegations.matters.iter().find(|m| m.id == matter) {
            Some(m) if language == Language::En => m.en.clone(),
            Some(m) => m.hu.clone(),
            None => matter.to_owned(),
        }
    }

    /// "Új meghatalmazás": every problem of the form at once; the agent is
    /// named by username and date of birth and must be verified (one
    /// answer for "no such citizen" and "not verified", so the form does not
    /// tell who is registered). The agent is mailed.
    pub async fn grant_delegation(
        &self,
        principal: &Account,
        input: &DelegationInput,
        actor: &Actor,
    ) -> Result<Delegation, DelegationError> {
        self.offer(principal, input, actor, None).await
    }

    /// A delegation the principal made in person at an office: recorded by
    /// the clerk (audited with the clerk, office and reason), then offered
    /// to the agent like any other.
    pub async fn office_record_delegation(
        &self,
        principal_username: &str,
        input: &DelegationInput,
        clerk: &str,
        office: &str,
        reason: &str,
    ) -> Result<Delegation, DelegationError> {
        let no_account = || DelegationError::NoAccount(principal_username.to_owned());
        let name = Username::parse(principal_username).map_err(|_| no_account())?;
        let principal = self.store.account_by_username(&name).await?.ok_or_else(no_account)?;
        let text_ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= 200 && !t.chars().any(char::is_control);
        if !(text_ok(clerk) && text_ok(office) && text_ok(reason)) {
            return Err(DelegationError::OfficeRecord);
        }
        let recorded = OfficeRecord { clerk: clerk.trim(), office: office.trim(), reason: reason.trim() };
        self.offer(&principal, input, &Actor::default(), Some(&recorded)).await
    }

    async fn offer(
        &self,
        principal: &Account,
        input: &DelegationInput,
        actor: &Actor,
        recorded: Option<&OfficeRecord<'_>>,
    ) -> Result<Delegation, DelegationError> {
        if !principal.verified {
            return Err(DelegationError::NotVerified);
        }
        // Naming the agent is a guess at someone's date of birth: limited
        // per principal (5 per 15 minutes), taken before the lookup; an
        // agent found gives the try back. A clerk at the counter is not limited.
        let well_formed = Username::parse(&input.agent_username).is_ok()
            && input.agent_birth_date.trim().parse::<jiff::civil::Date>().is_ok();
        let taken = match (recorded, well_formed) {
            (None, true) => {
                let keys = AttemptKeys::delegation_agent(&self.limits, &principal.id.0);
                match take_attempts(&self.store, &keys, self.now()).await? {
                    Ok(taken) => Some(taken),
                    Err(until) => return Err(DelegationError::Blocked { until }),
                }
            }
            _ => None,
        };
        let mut errors = FormErrors::default();
        let agent = self.find_agent(principal, input, &mut errors).await?;
        if let (Some(_), Some(taken)) = (&agent, &taken) {
            give_back(&self.store, taken).await?;
        }
        let matter = input.matter.trim();
        if !self.config.delegations.matters.iter().any(|m| m.id == matter) {
            errors.add(Field::Matter, Problem::DelegationMatter);
        }
        let service = input.service.trim();
        if !service.is_empty() && self.store.client(service).await?.is_none() {
            errors.add(Field::Service, Problem::DelegationService);
        }
        let period = self.check_period(input, &mut errors);
        let (Some(agent), Some((from, until))) = (agent, period) else {
            return Err(DelegationError::Form(errors));
        };
        if !errors.is_empty() {
            return Err(DelegationError::Form(errors));
        }
        let id = random_id();
        let now = self.now();
        let recorded_by = recorded.map(|r| format!("{}, {}", r.clerk, r.office));
        let tx = self.store.begin().await?;
        tx.insert_delegation(&NewDelegation {
            id: &id,
            principal_id: &principal.id,
            agent_id: &agent.id,
            matter,
            client_id: (!service.is_empty()).then_some(service),
            valid_from: from,
            valid_until: until,
            created_at: now,
            recorded_by: recorded_by.as_deref(),
        })
        .await?;
        let delegation = tx.delegation(&id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        let mut detail = format!(
            "delegation={id}; agent={}; matter={matter}; service={}; from={from}; until={until}",
            agent.username.as_str(),
            if service.is_empty() { "any" } else { service }
        );
        if let Some(r) = recorded {
            detail.push_str(&format!(
                "; recorded at the office; clerk={}; office={}; reason={}",
                r.clerk, r.office, r.reason
            ));
        }
        self.audit(
            &tx,
            AuditEvent::DelegationGranted,
            Outcome::Success,
            Subject::account(principal),
            actor,
            Some(detail),
        )
        .await?;
        let notice = Notice::DelegationOffered {
            principal: delegation.principal_name.clone(),
            matter: self.matter_label(matter, agent.language),
            from: from.to_string(),
            until: until.to_string(),
        };
        self.notify_account(&tx, &agent, notice).await?;
        tx.commit().await?;
        Ok(delegation)
    }

    async fn find_agent(
        &self,
        principal: &Account,
        input: &DelegationInput,
        errors: &mut FormErrors,
    ) -> Result<Option<Account>, StoreError> {
        let birth_date = input.agent_birth_date.trim().parse::<jiff::civil::Date>().ok();
        if birth_date.is_none() {
            errors.add(Field::AgentBirthDate, Problem::DateFormat);
        }
        let found = match Username::parse(&input.agent_username) {
            Ok(name) => self.store.account_by_username(&name).await?,
            Err(_) => None,
        };
        let verified_birth = match &found {
            Some(a) if a.verified => self.store.identity_of(&a.id).await?.map(|i| i.identity.data.birth_date.iso()),
            _ => None,
        };
        match (found, verified_birth, birth_date) {
            (Some(a), _, _) if a.id == principal.id => {
                errors.add(Field::AgentUsername, Problem::DelegationAgentSelf);
                Ok(None)
            }
            (Some(a), Some(born), Some(typed)) if born == typed.to_string() => Ok(Some(a)),
            (_, _, None) => Ok(None),
            _ => {
                errors.add(Field::AgentUsername, Problem::DelegationAgentUnknown);
                Ok(None)
            }
        }
    }

    fn check_period(
        &self,
        input: &DelegationInput,
        errors: &mut FormErrors,
    ) -> Option<(jiff::civil::Date, jiff::civil::Date)> {
        let parse = |field: Field, s: &str, errors: &mut FormErrors| {
            let d = s.trim().parse::<jiff::civil::Date>().ok();
            if d.is_none() {
                errors.add(field, Problem::DateFormat);
            }
            d
        };
        let from = parse(Field::ValidFrom, &input.valid_from, errors);
        let until = parse(Field::ValidUntil, &input.valid_until, errors);
        let (from, until) = (from?, until?);
        let max_days = self.config.delegations.max_days;
        if from < self.today() {
            errors.add(Field::ValidFrom, Problem::DelegationStartPast);
        } else if until < from {
            errors.add(Field::ValidUntil, Problem::DelegationEndBeforeStart);
        } else if (until - from).get_days() >= max_days as i32 {
            errors.add(Field::ValidUntil, Problem::DelegationTooLong { max_days });
        } else {
            return Some((from, until));
        }
        None
    }

    /// "Elfogadom": the agent accepts a pending delegation (once, however
    /// many clicks); the principal is mailed.
    pub async fn accept_delegation(&self, agent: &Account, id: &str, actor: &Actor) -> Result<(), DelegationError> {
        let tx = self.store.begin().await?;
        if !tx.accept_delegation(id, &agent.id, self.now(), self.today()).await? {
            tx.rollback().await?;
            return Err(DelegationError::NotFound);
        }
        let d = tx.delegation(id).await?.ok_or(DelegationError::NotFound)?;
        let detail = format!("delegation={id}; principal={}; matter={}", d.principal_name, d.matter);
        self.audit(&tx, AuditEvent::DelegationAccepted, Outcome::Success, Subject::account(agent), actor, Some(detail))
            .await?;
        if let Some(principal) = tx.account_by_id(&d.principal_id).await? {
            let notice = Notice::DelegationAccepted {
                agent: d.agent_name.clone(),
                matter: self.matter_label(&d.matter, principal.language),
            };
            self.notify_account(&tx, &principal, notice).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// "Visszavonás" (the principal), "Lemondás" or "Elutasítom" (the agent):
    /// the delegation ends at once; the other party is mailed.
    pub async fn end_delegation(&self, party: &Account, id: &str, actor: &Actor) -> Result<(), DelegationError> {
        let tx = self.store.begin().await?;
        if !tx.end_delegation(id, &party.id, self.now()).await? {
            tx.rollback().await?;
            return Err(DelegationError::NotFound);
        }
        let d = tx.delegation(id).await?.ok_or(DelegationError::NotFound)?;
        let (other_id, by_name) =
            if d.is_principal(&party.id) { (&d.agent_id, &d.principal_name) } else { (&d.principal_id, &d.agent_name) };
        let detail =
            format!("delegation={id}; matter={}; ended by the {}", d.matter, d.ended_by.map_or("", |b| b.as_str()));
        self.audit(&tx, AuditEvent::DelegationEnded, Outcome::Success, Subject::account(party), actor, Some(detail))
            .await?;
        if let Some(other) = tx.account_by_id(other_id).await? {
            let notice =
                Notice::DelegationEnded { by: by_name.clone(), matter: self.matter_label(&d.matter, other.language) };
            self.notify_account(&tx, &other, notice).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every delegation the account gave or received, newest first.
    pub async fn delegations(&self, account: &Account) -> Result<Vec<Delegation>, StoreError> {
        self.store.delegations_of(&account.id).await
    }

    /// Before `account` is deleted (its delegations go with it): each other
    /// party of a delegation not yet over is told, and it is in their log.
    pub(crate) async fn end_delegations_of_deleted(&self, tx: &impl Db, account: &Account) -> Result<(), StoreError> {
        let today = self.today();
        for d in tx.delegations_of(&account.id).await? {
            if matches!(d.state(today), State::Expired | State::Ended(_)) {
                continue;
            }
            let (other_id, name) = if d.is_principal(&account.id) {
                (&d.agent_id, &d.principal_name)
            } else {
                (&d.principal_id, &d.agent_name)
            };
            let Some(other) = tx.account_by_id(other_id).await? else { continue };
            let detail = format!("delegation={}; matter={}; the other party deleted their account", d.id, d.matter);
            self.audit(
                tx,
                AuditEvent::DelegationEnded,
                Outcome::Success,
                Subject::account(&other),
                &Actor::default(),
                Some(detail),
            )
            .await?;
            let notice = Notice::DelegationEndedByDeletion {
                other: name.clone(),
                matter: self.matter_label(&d.matter, other.language),
            };
            self.notify_account(tx, &other, notice).await?;
        }
        Ok(())
    }
}
