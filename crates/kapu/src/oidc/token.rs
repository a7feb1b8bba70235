//! The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): a code, once, for
//! the client it was issued to, with its PKCE verifier; and userinfo.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Kapu;
use crate::accounts::model::Account;
use crate::accounts::repo::AccountRepo;
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::crypto::{constant_time_eq, random_token, token_hash};
use crate::oidc::acting::OnBehalf;
use crate::oidc::client_auth::ClientCredentials;
use crate::oidc::discovery::{CLAIMS, IDENTITY_CLAIMS};
use crate::oidc::keys::{self, KeyError};
use crate::oidc::model::{AccessToken, AuthCode, Client, IdTokenClaims};
use crate::oidc::repo::OidcRepo;
use crate::oidc::service::OidcError;
use crate::store::StoreError;

/// The token endpoint's answer.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    /// What was granted (never a scope kapu does not know).
    pub scope: String,
}

/// OAuth error codes of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// A pushed request refused for what /authorize would refuse it for,
    /// with the authorization endpoint's code (RFC 9126 §2.3).
    #[error("{error}: {description}")]
    Authorization { error: &'static str, description: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::Authorization { error, .. } => error,
            TokenError::Store(_) | TokenError::Key(_) => "server_error",
        }
    }

    pub fn description(&self) -> String {
        match self {
            TokenError::InvalidRequest(m) | TokenError::InvalidClient(m) | TokenError::InvalidGrant(m) => m.clone(),
            TokenError::Authorization { description, .. } => description.clone(),
            _ => String::new(),
        }
    }
}

impl From<OidcError> for TokenError {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Store(s) => TokenError::Store(s),
            OidcError::Key(k) => TokenError::Key(k),
            OidcError::Invalid(m) => TokenError::InvalidRequest(m),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl TokenParams {
    pub fn credentials(&self, basic: Option<(String, String)>) -> ClientCredentials {
        ClientCredentials {
            basic,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            client_assertion_type: self.client_assertion_type.clone(),
            client_assertion: self.client_assertion.clone(),
        }
    }
}

pub(crate) fn scopes(scope: &str) -> std::collections::BTreeSet<&str> {
    scope.split(' ').filter(|s| !s.is_empty()).collect()
}

/// The claims released for `scope` and the claims asked for one by one.
fn released<'a>(scope: &str, asked: &'a [String]) -> Vec<&'a str> {
    let granted = scopes(scope);
    CLAIMS
        .iter()
        .filter(|(claim, by_scope)| granted.contains(by_scope) || asked.iter().any(|a| a == claim))
        .map(|(claim, _)| *claim)
        .collect()
}

/// A claim's value: the account's own, or an identity claim the service
/// may receive now (`identity`, from [`Kapu::identity_claims`]).
fn claim_value(
    account: &Account,
    identity: &serde_json::Map<String, serde_json::Value>,
    claim: &str,
) -> Option<serde_json::Value> {
    match claim {
        "name" => Some(account.full_name.as_str().into()),
        "email" => Some(account.email.as_str().into()),
        "email_verified" => Some(true.into()),
        other => identity.get(other).cloned(),
    }
}

impl Kapu {
    pub async fn exchange_code(
        &self,
        params: &TokenParams,
        basic: Option<(String, String)>,
        actor: &Actor,
    ) -> Result<TokenResponse, TokenError> {
        let client = self.authenticate_client(&params.credentials(basic)).await?;
        if params.grant_type.as_deref() != Some("authorization_code") {
            return Err(match params.grant_type {
                None => TokenError::InvalidRequest("grant_type is missing".into()),
                Some(_) => TokenError::UnsupportedGrantType,
            });
        }
        let code = params.code.as_deref().ok_or_else(|| TokenError::InvalidRequest("code is missing".into()))?;
        let code_hash = token_hash(code);
        let now = self.now();
        // One unit of work: the code is used and its token stored together,
        // so a racing second exchange (which waits on the code's row) finds
        // the token committed and revokes it.
        let tx = self.store.begin().await?;
        let Some(issued) = tx.redeem_code(&code_hash, now).await? else {
            if tx.code_was_issued(&code_hash).await? {
                tx.revoke_tokens_of_code(&code_hash).await?;
                tx.commit().await?;
                tracing::warn!(client = %client.client_id, "authorization code reused; its tokens were revoked");
                return Err(TokenError::InvalidGrant("the code was already used".into()));
            }
            tx.rollback().await?;
            return Err(TokenError::InvalidGrant("unknown code".into()));
        };
        // A code shown by the wrong client, or without its verifier, is not
        // used up: whoever holds it still cannot use it, and its owner can.
        if let Err(e) = check_grant(&issued, &client, params, now) {
            tx.rollback().await?;
            return Err(e);
        }
        let account = tx
            .account_by_id(&issued.account_id)
            .await?
            .ok_or_else(|| TokenError::InvalidGrant("the account no longer exists".into()))?;
        // On a principal's behalf: the delegation must still hold now.
        let on_behalf = match &issued.on_behalf_of {
            Some(principal) => match self.on_behalf(&tx, &client, &account.id, principal).await? {
                Some(b) => Some(b),
                None => {
                    tx.rollback().await?;
                    return Err(TokenError::InvalidGrant("the delegation is no longer valid".into()));
                }
            },
            None => None,
        };
        let access_token = random_token();
        let ttl = self.config.oidc.access_token_ttl_seconds;
        tx.insert_access_token(&AccessToken {
            token_hash: token_hash(&access_token),
            client_id: client.client_id.clone(),
            account_id: account.id.clone(),
            scope: issued.scope.clone(),
            code_hash: issued.code_hash.clone(),
            userinfo_claims: issued.claims.userinfo.clone(),
            expires_at: now + ttl,
            on_behalf_of: issued.on_behalf_of.clone(),
        })
        .await?;
        // An agent's login releases none of the agent's own identity data.
        let identity = match on_behalf {
            Some(_) => serde_json::Map::new(),
            None => self.identity_claims(&tx, &client, &account).await?,
        };
        let asked: Vec<&str> = released(&issued.scope, &issued.claims.id_token)
            .into_iter()
            .chain(released(&issued.scope, &issued.claims.userinfo))
            .collect();
        let released_identity: Vec<&str> =
            IDENTITY_CLAIMS.iter().copied().filter(|c| identity.contains_key(*c) && asked.contains(c)).collect();
        if !released_identity.is_empty() {
            tx.touch_consent(&account.id, &client.client_id, now).await?;
        }
        let mut detail = format!("tokens for service={} acr={}", client.client_id, issued.acr);
        if let Some(principal) = &issued.on_behalf_of {
            detail.push_str(&format!(" on_behalf_of={principal}"));
        }
        if !released_identity.is_empty() {
            detail.push_str(&format!(" identity={}", released_identity.join(",")));
        }
        self.audit(&tx, AuditEvent::ServiceLogin, Outcome::Success, Subject::account(&account), actor, Some(detail))
            .await?;
        tx.commit().await?;
        let claims = self.id_token_claims(&client, &account, &identity, &issued, on_behalf.as_ref());
        let key = self.signing_key(client.id_token_alg).await?;
        let id_token = keys::sign(&key, &self.secret_box, &claims)?;
        Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: ttl, id_token, scope: issued.scope })
    }

    fn id_token_claims(
        &self,
        client: &Client,
        account: &Account,
        identity: &serde_json::Map<String, serde_json::Value>,
        code: &AuthCode,
        on_behalf: Option<&OnBehalf>,
    ) -> IdTokenClaims {
        let now = self.now();
        let release = released(&code.scope, &code.claims.id_token);
        let value = |claim: &str| release.contains(&claim).then(|| claim_value(account, identity, claim)).flatten();
        let identity_released = identity
            .iter()
            .filter(|(k, _)| release.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut claims = IdTokenClaims {
            iss: self.issuer(),
            sub: self.pairwise_sub(&client.client_id, &account.id),
            aud: client.client_id.clone(),
            exp: now + self.config.oidc.id_token_ttl_seconds,
            iat: now,
            auth_time: code.auth_time,
            nonce: code.nonce.clone(),
            acr: code.acr.clone(),
            amr: code.level.amr().iter().map(|s| (*s).to_owned()).collect(),
            sid: Some(code.sid.as_str()).filter(|s| !s.is_empty()).map(|sid| self.pairwise_sid(&client.client_id, sid)),
            name: value("name").and_then(|v| v.as_str().map(str::to_owned)),
            email: value("email").and_then(|v| v.as_str().map(str::to_owned)),
            email_verified: value("email_verified").and_then(|v| v.as_bool()),
            identity: identity_released,
            act: None,
            delegated_matters: None,
        };
        // On a principal's behalf: the principal and their verified name, the
        // agent in `act`; nothing else of either (no email, no identity data).
        if let Some(b) = on_behalf {
            claims.sub = b.principal_sub.clone();
            claims.name = Some(b.principal_name.clone());
            claims.email = None;
            claims.email_verified = None;
            claims.act = Some(b.act.clone());
            claims.delegated_matters = Some(b.matters.clone());
        }
        claims
    }

    /// Userinfo for a bearer access token, and the service it was issued to.
    pub async fn userinfo(&self, access_token: &str) -> Result<Option<(serde_json::Value, String)>, StoreError> {
        let Some(token) = self.store.access_token(&token_hash(access_token), self.now()).await? else {
            return Ok(None);
        };
        let Some(account) = self.store.account_by_id(&token.account_id).await? else { return Ok(None) };
        if let Some(principal) = &token.on_behalf_of {
            let Some(client) = self.store.client(&token.client_id).await? else { return Ok(None) };
            let Some(b) = self.on_behalf(&self.store, &client, &account.id, principal).await? else {
                return Ok(None);
            };
            let claims = serde_json::json!({
                "sub": b.principal_sub,
                "name": b.principal_name,
                "act": b.act,
                "delegated_matters": b.matters,
            });
            return Ok(Some((claims, token.client_id)));
        }
        let identity = match self.store.client(&token.client_id).await? {
            Some(client) => self.identity_claims(&self.store, &client, &account).await?,
            None => return Ok(None),
        };
        let mut claims = serde_json::json!({ "sub": self.pairwise_sub(&token.client_id, &account.id) });
        for claim in released(&token.scope, &token.userinfo_claims) {
            if let Some(v) = claim_value(&account, &identity, claim) {
                claims[claim] = v;
            }
        }
        Ok(Some((claims, token.client_id)))
    }
}

/// The code was issued to this client for this redirect URI, has not
/// expired, and the verifier matches its challenge.
fn check_grant(issued: &AuthCode, client: &Client, params: &TokenParams, now: UnixTime) -> Result<(), TokenError> {
    if issued.client_id != client.client_id {
        return Err(TokenError::InvalidGrant("the code was issued to another client".into()));
    }
    if issued.expires_at <= now {
        return Err(TokenError::InvalidGrant("the code has expired".into()));
    }
    if params.redirect_uri.as_deref() != Some(issued.redirect_uri.as_str()) {
        return Err(TokenError::InvalidGrant("redirect_uri does not match the authorization request".into()));
    }
    match (&issued.code_challenge, params.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) => {
            let valid_chars = verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed = BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
            if !(43..=128).contains(&verifier.len())
                || !valid_chars
                || !constant_time_eq(computed.as_bytes(), challenge.as_bytes())
            {
                return Err(TokenError::InvalidGrant("code_verifier does not match".into()));
            }
        }
        (Some(_), None) => return Err(TokenError::InvalidGrant("code_verifier is missing".into())),
        (None, Some(_)) => return Err(TokenError::InvalidGrant("no code_challenge was sent".into())),
        (None, None) => {}
    }
    Ok(())
}
