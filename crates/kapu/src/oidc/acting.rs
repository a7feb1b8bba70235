//! Acting for someone else at a service (a delegation, docs/identity.md):
//! an agent who holds delegations usable at the service chooses on whose
//! behalf they log in; the ID token then names the principal (`sub`, the
//! principal's pairwise identifier at that service, and their verified
//! name) and the agent in `act` (RFC 8693 §4.1), with the matters in
//! `delegated_matters`. The delegation is checked again at the exchange and
//! at every userinfo call: revoked or expired, it gives nothing.

use serde::Serialize;

use crate::Kapu;
use crate::accounts::model::{Account, AccountId};
use crate::accounts::repo::AccountRepo;
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::delegations::model::Delegation;
use crate::delegations::repo::DelegationRepo;
use crate::oidc::authorize::{Acting, AuthorizeError, AuthorizeNext};
use crate::oidc::model::Client;
use crate::sessions::model::ActiveSession;
use crate::store::{Db, StoreError};

/// The `act` claim: who is acting.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ActingParty {
    /// The agent's pairwise identifier at the same service.
    pub sub: String,
    /// The agent's name as verified at an office.
    pub name: String,
}

/// What a token names for a login on a principal's behalf.
#[derive(Debug, Clone)]
pub struct OnBehalf {
    pub principal_sub: String,
    pub principal_name: String,
    pub act: ActingParty,
    /// The matters delegated for this service, sorted, each once.
    pub matters: Vec<String>,
}

/// A principal the agent may act for here, with the matters.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: AccountId,
    pub name: String,
    pub matters: Vec<String>,
}

/// Groups usable delegations by principal (in name order).
fn principals(delegations: Vec<Delegation>) -> Vec<Principal> {
    let mut out: Vec<Principal> = Vec::new();
    for d in delegations {
        match out.iter_mut().find(|p| p.account_id == d.principal_id) {
            Some(p) if !p.matters.contains(&d.matter) => p.matters.push(d.matter),
            Some(_) => {}
            None => out.push(Principal { account_id: d.principal_id, name: d.principal_name, matters: vec![d.matter] }),
        }
    }
    for p in &mut out {
        p.matters.sort();
    }
    out
}

impl Kapu {
    /// The delegations `agent` may use at `client` today (of `principal`
    /// if given): usable ones whose matter the service takes.
    async fn usable_at(
        &self,
        db: &impl Db,
        agent: &AccountId,
        client: &Client,
        principal: Option<&AccountId>,
    ) -> Result<Vec<Delegation>, StoreError> {
        if client.delegation_matters.is_empty() {
            return Ok(Vec::new());
        }
        let usable = db.usable_delegations(agent, &client.client_id, principal, self.today()).await?;
        Ok(usable.into_iter().filter(|d| client.delegation_matters.contains(&d.matter)).collect())
    }

    pub(crate) async fn holds_delegations_at(&self, agent: &Account, client: &Client) -> Result<bool, StoreError> {
        if !agent.verified {
            return Ok(false);
        }
        Ok(!self.usable_at(&self.store, &agent.id, client, None).await?.is_empty())
    }

    /// "Kinek a nevében jár el?": the service, the request's redirect URI
    /// (the buttons lead there) and the principals to choose from.
    pub async fn represent_request(
        &self,
        token: &str,
        session: &ActiveSession,
    ) -> Result<Option<(Client, String, Vec<Principal>)>, StoreError> {
        let Some((client, request)) = self.pending_auth_request(token).await? else { return Ok(None) };
        let usable = self.usable_at(&self.store, &session.account.id, &client, None).await?;
        Ok(Some((client, request.redirect_uri, principals(usable))))
    }

    /// The citizen chose: `""` (themselves) or a principal's account id,
    /// whose delegation is checked now. `Ok(None)`: the request has expired.
    pub async fn act_as(
        &self,
        token: &str,
        session: &ActiveSession,
        choice: &str,
        actor: &Actor,
    ) -> Result<Option<AuthorizeNext>, ActAsError> {
        let acting = if choice.is_empty() {
            Acting::Myself
        } else {
            let Some((client, _)) = self.pending_auth_request(token).await? else { return Ok(None) };
            let principal = AccountId(choice.to_owned());
            if self.usable_at(&self.store, &session.account.id, &client, Some(&principal)).await?.is_empty() {
                return Err(ActAsError::NotUsable);
            }
            Acting::For(principal)
        };
        Ok(self.resume_authorize_as(token, Some(session), acting, actor).await?)
    }

    /// The principal's security log: who logged in to which service for them
    /// (the agent's address and browser stay in the agent's log).
    pub(crate) async fn note_acting_login(
        &self,
        db: &impl Db,
        client: &Client,
        agent: &Account,
        principal: &AccountId,
    ) -> Result<(), StoreError> {
        let Some(principal) = db.account_by_id(principal).await? else { return Ok(()) };
        let detail = format!("service={} ({}) acting agent={}", client.name, client.client_id, agent.username.as_str());
        // Not the agent's address or browser: those are in the agent's own log.
        let nobody = Actor::default();
        self.audit(db, AuditEvent::ServiceLogin, Outcome::Success, Subject::account(&principal), &nobody, Some(detail))
            .await
    }

    /// For a code or token issued on `principal`'s behalf: what the ID token
    /// and userinfo name, if a delegation is still usable today.
    pub(crate) async fn on_behalf(
        &self,
        db: &impl Db,
        client: &Client,
        agent: &AccountId,
        principal: &AccountId,
    ) -> Result<Option<OnBehalf>, StoreError> {
        let client_id = client.client_id.as_str();
        let usable = self.usable_at(db, agent, client, Some(principal)).await?;
        let Some(first) = usable.first() else { return Ok(None) };
        let agent_name = first.agent_name.clone();
        let Some(p) = principals(usable).into_iter().next() else { return Ok(None) };
        Ok(Some(OnBehalf {
            principal_sub: self.pairwise_sub(client_id, principal),
            principal_name: p.name,
            act: ActingParty { sub: self.pairwise_sub(client_id, agent), name: agent_name },
            matters: p.matters,
        }))
    }
}

#[derive(Debug)]
pub enum ActAsError {
    /// The chosen delegation is not usable any more (revoked or expired
    /// since the page was shown).
    NotUsable,
    Authorize(AuthorizeError),
}

impl From<AuthorizeError> for ActAsError {
    fn from(e: AuthorizeError) -> Self {
        ActAsError::Authorize(e)
    }
}

impl From<StoreError> for ActAsError {
    fn from(e: StoreError) -> Self {
        ActAsError::Authorize(AuthorizeError::Store(e))
    }
}
