//! The citizen's consent to a service receiving their verified identity.
//!
//! A service gets identity claims only when all of these hold: it was
//! allowed them at registration (`Client::allowed_claims`), the account was
//! verified at an office, the request asks for them (the `profile` or
//! `identity` scope, or the `claims` parameter), and the citizen agreed on
//! the consent page — once per service, until they withdraw it on
//! "Szolgáltatások" (then the next login asks again). A refusal sends the
//! citizen back to the service with `access_denied`.

use serde_json::{Map, Value};

use crate::Kapu;
use crate::accounts::model::Account;
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::identity::repo::IdentityRepo;
use crate::oidc::authorize::{AuthorizeError, AuthorizeNext, respond};
use crate::oidc::discovery::{CLAIMS, IDENTITY_CLAIMS};
use crate::oidc::model::{AuthRequest, Client};
use crate::oidc::repo::OidcRepo;
use crate::oidc::token::scopes;
use crate::sessions::model::ActiveSession;
use crate::store::{Db, StoreError};

/// A service the citizen agreed to, as "Szolgáltatások" lists it.
#[derive(Debug, Clone)]
pub struct Consent {
    pub client_id: String,
    pub service_name: String,
    pub claims: Vec<String>,
    pub granted_at: UnixTime,
    pub last_used_at: UnixTime,
}

/// The identity claims `request` asks for that `client` may receive, in
/// the catalogue's order.
pub fn asked_identity_claims(client: &Client, request: &AuthRequest) -> Vec<String> {
    let granted = scopes(&request.scope);
    let asked_one_by_one =
        |claim: &str| request.claims.id_token.iter().chain(&request.claims.userinfo).any(|c| c == claim);
    IDENTITY_CLAIMS
        .iter()
        .filter(|claim| client.allowed_claims.iter().any(|a| a == *claim))
        .filter(|claim| {
            asked_one_by_one(claim) || CLAIMS.iter().any(|(c, scope)| c == *claim && granted.contains(scope))
        })
        .map(|c| (*c).to_owned())
        .collect()
}

impl Kapu {
    /// The identity claims this login would release that the citizen has
    /// not agreed to yet (empty: nothing to ask).
    pub(crate) async fn consent_needed(
        &self,
        client: &Client,
        request: &AuthRequest,
        account: &Account,
    ) -> Result<Vec<String>, StoreError> {
        if client.allowed_claims.is_empty() || !account.verified {
            return Ok(Vec::new());
        }
        let asked = asked_identity_claims(client, request);
        if asked.is_empty() {
            return Ok(asked);
        }
        let agreed = self.store.consent(&account.id, &client.client_id).await?.unwrap_or_default();
        if asked.iter().all(|c| agreed.contains(c)) { Ok(Vec::new()) } else { Ok(asked) }
    }

    /// What the consent page shows: the service and the claims it asks
    /// for; and the request's redirect URI (its buttons lead there).
    pub async fn consent_request(
        &self,
        token: &str,
        session: &ActiveSession,
    ) -> Result<Option<(Client, String, Vec<String>)>, StoreError> {
        let Some((client, request)) = self.pending_auth_request(token).await? else { return Ok(None) };
        let needed = self.consent_needed(&client, &request, &session.account).await?;
        Ok(Some((client, request.redirect_uri, needed)))
    }

    /// "Engedélyezem": the consent is recorded (audited with what), and the
    /// login goes on to the service.
    pub async fn grant_consent(
        &self,
        token: &str,
        session: &ActiveSession,
        actor: &Actor,
    ) -> Result<Option<AuthorizeNext>, AuthorizeError> {
        let Some((client, request)) = self.pending_auth_request(token).await? else { return Ok(None) };
        let asked = asked_identity_claims(&client, &request);
        if !asked.is_empty() {
            let tx = self.store.begin().await?;
            // What the citizen agreed to earlier for this service stays agreed.
            let earlier = tx.consent(&session.account.id, &client.client_id).await?.unwrap_or_default();
            let agreed: Vec<String> = IDENTITY_CLAIMS
                .iter()
                .filter(|c| asked.iter().chain(&earlier).any(|a| a == *c))
                .map(|c| (*c).to_owned())
                .collect();
            tx.upsert_consent(&session.account.id, &client.client_id, &agreed, self.now()).await?;
            let detail = Some(format!("service={} ({}); claims={}", client.name, client.client_id, asked.join(",")));
            let subject = Subject::account(&session.account);
            self.audit(&tx, AuditEvent::ConsentGranted, Outcome::Success, subject, actor, detail).await?;
            tx.commit().await?;
        }
        // Consent is asked only of a login for oneself: go on as that.
        self.resume_authorize_as(token, Some(session), crate::oidc::authorize::Acting::Myself, actor).await
    }

    /// "Nem engedélyezem": back to the service with `access_denied`; nothing is shared.
    pub async fn refuse_consent(
        &self,
        token: &str,
        session: &ActiveSession,
        actor: &Actor,
    ) -> Result<Option<AuthorizeNext>, StoreError> {
        let Some((client, _)) = self.pending_auth_request(token).await? else { return Ok(None) };
        let detail = Some(format!("service={} ({})", client.name, client.client_id));
        let subject = Subject::account(&session.account);
        self.audit(&self.store, AuditEvent::ConsentRefused, Outcome::Success, subject, actor, detail).await?;
        self.deny_authorize(token, "the user did not allow the service to receive their data").await
    }

    /// The services the citizen agreed to.
    pub async fn consents(&self, account: &Account) -> Result<Vec<Consent>, StoreError> {
        Ok(self
            .store
            .consents_of(&account.id)
            .await?
            .into_iter()
            .map(|r| Consent {
                client_id: r.client_id,
                service_name: r.name,
                claims: serde_json::from_str(&r.claims).unwrap_or_default(),
                granted_at: r.granted_at,
                last_used_at: r.last_used_at,
            })
            .collect())
    }

    /// "Hozzájárulás visszavonása": the service gets nothing more until the
    /// citizen agrees again. The service's name if there was a consent.
    pub async fn withdraw_consent(
        &self,
        account: &Account,
        client_id: &str,
        actor: &Actor,
    ) -> Result<Option<String>, StoreError> {
        let Some(client) = self.store.client(client_id).await? else { return Ok(None) };
        let tx = self.store.begin().await?;
        if !tx.delete_consent(&account.id, client_id).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let detail = Some(format!("service={} ({})", client.name, client.client_id));
        self.audit(&tx, AuditEvent::ConsentWithdrawn, Outcome::Success, Subject::account(account), actor, detail)
            .await?;
        tx.commit().await?;
        Ok(Some(client.name))
    }

    /// The identity claims `client` receives of `account` now: those it is
    /// allowed, the citizen agreed to, of a verified identity. Empty for
    /// every other service (no query at all when it is allowed none).
    pub(crate) async fn identity_claims(
        &self,
        db: &impl Db,
        client: &Client,
        account: &Account,
    ) -> Result<Map<String, Value>, StoreError> {
        let mut out = Map::new();
        if client.allowed_claims.is_empty() || !account.verified {
            return Ok(out);
        }
        let Some(agreed) = db.consent(&account.id, &client.client_id).await? else { return Ok(out) };
        let Some(stored) = db.identity_of(&account.id).await? else { return Ok(out) };
        let d = &stored.identity.data;
        for claim in client.allowed_claims.iter().filter(|c| agreed.contains(c)) {
            let value = match claim.as_str() {
                "family_name" => d.family_name.as_str().to_owned(),
                "given_name" => d.given_name.as_str().to_owned(),
                "birthdate" => d.birth_date.iso(),
                "birth_family_name" => d.birth_family_name.as_str().to_owned(),
                "birth_given_name" => d.birth_given_name.as_str().to_owned(),
                "mother_birth_name" => d.mother_birth_name.as_str().to_owned(),
                "place_of_birth" => d.place_of_birth.as_str().to_owned(),
                _ => continue,
            };
            out.insert(claim.clone(), Value::String(value));
        }
        Ok(out)
    }
}

/// A refused consent, as the service hears it.
pub(crate) fn access_denied(request: &AuthRequest, issuer: &str, description: &str) -> AuthorizeNext {
    let mut pairs = vec![("error", "access_denied"), ("error_description", description)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    respond(&request.redirect_uri, request.response_mode, pairs)
}
