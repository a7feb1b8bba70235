//! Ending a citizen's login at services.
//!
//! - RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): a service
//!   sends the browser to `/logout/oidc` with an `id_token_hint` or its
//!   `client_id`. The session ends at once only when the hint proves the
//!   request is about this very session (its `sid`); otherwise the citizen
//!   is asked first, so that a link alone never logs anyone out.
//! - Back-channel logout (OpenID Connect Back-Channel Logout 1.0): every
//!   service a session logged into that registered a
//!   `backchannel_logout_uri` gets a signed logout token when the session
//!   ends, however it ends (logout, expiry, a password change, an office
//!   reset...). The ended sessions are found in the database (a session that
//!   logged into a service and no longer exists), so no way of ending one is
//!   missed; a worker on every instance delivers, retries with backoff, and
//!   gives up loudly (audit log, metrics).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Kapu;
use crate::accounts::model::AccountId;
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::oidc::keys;
use crate::oidc::model::{Client, IdTokenClaims};
use crate::oidc::repo::{EndedSessionLogin, OidcRepo};
use crate::oidc::service::OidcError;
use crate::sessions::model::ActiveSession;
use crate::store::StoreError;

/// How long a worker holds the logouts it claimed.
const CLAIM_SECONDS: i64 = 60;
const BATCH: i64 = 20;
/// A logout token is valid this long (the service checks it at once).
const LOGOUT_TOKEN_SECONDS: i64 = 120;
/// How long a service may take to answer a logout token.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The parameters of `/logout/oidc` (query or form body).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogoutParams {
    #[serde(default)]
    pub id_token_hint: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub ui_locales: Option<String>,
}

/// Why a logout request cannot be followed.
#[derive(Debug, PartialEq, Eq)]
pub enum LogoutError {
    /// `post_logout_redirect_uri` is not registered (or no service is named
    /// to check it against).
    UnregisteredRedirect,
    /// `client_id` and the hint's audience differ.
    ClientMismatch,
}

/// What to do with a logout request.
#[derive(Debug)]
pub struct LogoutPlan {
    /// The service that asked, if it could be told.
    pub client: Option<Client>,
    /// Where the browser goes afterwards (with `state`), if the service
    /// named a registered URI.
    pub redirect: Option<String>,
    /// The hint proves the request is about the browser's current session:
    /// end it without asking.
    pub proven: bool,
}

/// A logout token's claims (Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Serialize)]
struct LogoutToken {
    iss: String,
    aud: String,
    iat: UnixTime,
    exp: UnixTime,
    jti: String,
    sub: String,
    sid: String,
    events: serde_json::Value,
}

impl Kapu {
    /// An ID token kapu issued (expired ones too: logout often comes late),
    /// with the service it was for.
    pub async fn id_token_hint(&self, id_token: &str) -> Result<Option<(IdTokenClaims, Client)>, OidcError> {
        let Ok(header) = jsonwebtoken::decode_header(id_token) else { return Ok(None) };
        let retired_after = self.now() - 30 * 24 * 3600;
        for key in self.store.published_signing_keys(retired_after).await? {
            if header.kid.as_deref() != Some(key.kid.as_str()) {
                continue;
            }
            let Ok(jwk) = serde_json::from_str::<jsonwebtoken::jwk::Jwk>(&key.public_jwk) else { continue };
            let Ok(decoding) = jsonwebtoken::DecodingKey::from_jwk(&jwk) else { continue };
            let mut validation = jsonwebtoken::Validation::new(header.alg);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.set_issuer(&[self.issuer()]);
            if let Ok(data) = jsonwebtoken::decode::<IdTokenClaims>(id_token, &decoding, &validation) {
                let client = self.store.client(&data.claims.aud).await?;
                return Ok(client.map(|c| (data.claims, c)));
            }
        }
        Ok(None)
    }

    /// Reads an RP-initiated logout request for the browser's `session`.
    pub async fn plan_logout(
        &self,
        params: &LogoutParams,
        session: Option<&ActiveSession>,
    ) -> Result<Result<LogoutPlan, LogoutError>, OidcError> {
        let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => self.id_token_hint(h).await?,
            None => None,
        };
        let client = match (&hint, params.client_id.as_deref().filter(|c| !c.is_empty())) {
            (Some((_, c)), Some(id)) if c.client_id != id => return Ok(Err(LogoutError::ClientMismatch)),
            (Some((_, c)), _) => Some(c.clone()),
            (None, Some(id)) => self.store.client(id).await?,
            (None, None) => None,
        };
        let redirect = match params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
            None => None,
            Some(uri) => {
                let registered = client.as_ref().is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
                let Some(mut url) = registered.then(|| url::Url::parse(uri).ok()).flatten() else {
                    return Ok(Err(LogoutError::UnregisteredRedirect));
                };
                if let Some(state) = params.state.as_deref().filter(|s| s.len() <= 1024) {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }
        };
        // Proof: the hint names this very session (its sid), for this
        // account at that service (the person who logged in: the agent in
        // `act` for a login on a principal's behalf).
        let proven = match (&hint, session) {
            (Some((claims, c)), Some(s)) => {
                let logged_in = claims.act.as_ref().map_or(&claims.sub, |act| &act.sub);
                claims.sid.as_deref() == Some(self.pairwise_sid(&c.client_id, &s.record.sid).as_str())
                    && *logged_in == self.pairwise_sub(&c.client_id, &s.account.id)
            }
            _ => false,
        };
        Ok(Ok(LogoutPlan { client, redirect, proven }))
    }

    /// One pass of the back-channel worker: tells services of sessions that
    /// ended. Returns how many logouts it handled.
    pub async fn deliver_due_logouts(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let due = self.store.claim_due_logouts(now, now + CLAIM_SECONDS, BATCH).await?;
        let handled = due.len();
        for logout in due {
            let client = self.store.client(&logout.client_id).await?;
            let Some(uri) = client.as_ref().and_then(|c| c.backchannel_logout_uri.clone()) else {
                // The service no longer wants them.
                self.store.logout_done(&logout.sid, &logout.client_id).await?;
                continue;
            };
            match self.send_logout_token(&uri, &logout).await {
                Ok(()) => {
                    self.store.logout_done(&logout.sid, &logout.client_id).await?;
                    self.metrics.backchannel_logout("sent");
                }
                Err(error) if logout.attempts >= self.config.oidc.logout_attempts => {
                    tracing::error!(client = %logout.client_id, %error, attempts = logout.attempts,
                        "back-channel logout given up: the service still thinks the citizen is logged in");
                    let tx = self.store.begin().await?;
                    tx.logout_done(&logout.sid, &logout.client_id).await?;
                    let detail =
                        Some(format!("service={} after {} attempts: {error}", logout.client_id, logout.attempts));
                    let subject = match crate::accounts::repo::AccountRepo::account_by_id(
                        &tx,
                        &AccountId(logout.account_id.clone()),
                    )
                    .await?
                    {
                        Some(account) => Subject::account(&account),
                        None => Subject::default(),
                    };
                    self.audit(
                        &tx,
                        AuditEvent::ServiceLogoutFailed,
                        Outcome::Failure,
                        subject,
                        &Actor::default(),
                        detail,
                    )
                    .await?;
                    tx.commit().await?;
                    self.metrics.backchannel_logout("dropped");
                }
                Err(error) => {
                    let first = self.config.oidc.logout_retry_after_seconds;
                    let doublings = u32::try_from(logout.attempts.saturating_sub(1)).unwrap_or(12).min(12);
                    let retry_at = now + first.saturating_mul(1 << doublings).min(3600);
                    tracing::warn!(client = %logout.client_id, %error, attempts = logout.attempts,
                        retry_in_seconds = retry_at - now, "back-channel logout failed; it waits");
                    self.store.logout_failed(&logout.sid, &logout.client_id, retry_at, &error).await?;
                    self.metrics.backchannel_logout("retry");
                }
            }
        }
        Ok(handled)
    }

    async fn send_logout_token(&self, uri: &str, logout: &EndedSessionLogin) -> Result<(), String> {
        let client = self.store.client(&logout.client_id).await.map_err(|e| e.to_string())?.ok_or("client gone")?;
        let now = self.now();
        let token = LogoutToken {
            iss: self.issuer(),
            aud: client.client_id.clone(),
            iat: now,
            exp: now + LOGOUT_TOKEN_SECONDS,
            jti: crate::crypto::random_id(),
            sub: self.pairwise_sub(&client.client_id, &AccountId(logout.account_id.clone())),
            sid: self.pairwise_sid(&client.client_id, &logout.sid),
            events: serde_json::json!({ BACKCHANNEL_EVENT: {} }),
        };
        let key = self.signing_key(client.id_token_alg).await.map_err(|e| e.to_string())?;
        let jwt = keys::sign_typed(&key, &self.secret_box, "logout+jwt", &token).map_err(|e| e.to_string())?;
        let response = self
            .http
            .post(uri)
            .form(&[("logout_token", jwt.as_str())])
            .send()
            .await
            .map_err(|e| format!("POST {uri}: {e}"))?;
        if response.status().is_success() { Ok(()) } else { Err(format!("POST {uri}: {}", response.status())) }
    }
}

/// The back-channel worker: delivers as soon as this instance ended a
/// session, and every few seconds what other instances or the sweeper
/// ended, or what waits for a retry.
pub async fn run_worker(kapu: Arc<Kapu>) {
    loop {
        tokio::select! {
            () = kapu.logout_wakeup.notified() => {
                // The action that ended the session commits after it woke us.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        loop {
            match kapu.deliver_due_logouts().await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "back-channel logout: cannot read the queue");
                    break;
                }
            }
        }
        if let Ok(n) = kapu.store.logouts_waiting().await {
            kapu.metrics.backchannel_logouts_waiting(n);
        }
    }
}
