//! Provider use cases: registering services, signing keys, the authorization
//! decision, the code exchange, userinfo and logout. HTTP lives in `pages`.

use std::collections::BTreeSet;

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Kapu;
use crate::accounts::model::{Account, AccountId};
use crate::accounts::repo::AccountRepo;
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::crypto::{constant_time_eq, random_token, token_hash};
use crate::oidc::keys::{self, KeyError};
use crate::oidc::model::{AccessToken, AuthCode, AuthRequest, Client, IdTokenClaims, Level, SigningAlg};
use crate::oidc::repo::OidcRepo;
use crate::sessions::model::ActiveSession;
use crate::store::StoreError;

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Authorization codes live this long (single use).
    pub code_ttl_seconds: i64,
    pub access_token_ttl_seconds: i64,
    pub id_token_ttl_seconds: i64,
    /// How long a service's login request waits for the user.
    pub auth_request_ttl_seconds: i64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            code_ttl_seconds: 60,
            access_token_ttl_seconds: 600,
            id_token_ttl_seconds: 600,
            auth_request_ttl_seconds: 1800,
        }
    }
}

impl OidcConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=600).contains(&self.code_ttl_seconds) {
            return Err("oidc.code_ttl_seconds must be 10 to 600 (codes are short-lived)".into());
        }
        if self.access_token_ttl_seconds < 60 || self.id_token_ttl_seconds < 60 || self.auth_request_ttl_seconds < 60 {
            return Err("oidc.*_ttl_seconds must be at least 60".into());
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A new service's registration, as `kapu admin client add` takes it.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub confidential: bool,
    pub id_token_alg: SigningAlg,
    pub required_level: Level,
    /// A JWK set (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
}

/// Redirect URIs: absolute, no fragment; https, or http only on loopback (for
/// services run on the same machine during development).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment; redirect URIs must not"));
    }
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("{uri:?} must use https (http only for localhost / 127.0.0.1)")),
    }
}

/// Why an authorization request failed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: an error page, never a redirect.
    Page(&'static str),
    /// Sent back to the (verified) redirect URI with `error` and `state`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
    Store(StoreError),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        AuthorizeError::Store(e)
    }
}

/// The query of `/authorize`, unparsed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub acr_values: Option<String>,
}

/// What the browser does next.
#[derive(Debug)]
pub enum AuthorizeNext {
    /// Back to the service with a code.
    Redirect(String),
    /// To the login page, carrying the request.
    Login { request_token: String },
    /// Logged in, but below the level the service needs: explain and offer set-up.
    LevelTooLow { request_token: String },
}

/// The token endpoint's answer.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
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
            TokenError::Store(_) | TokenError::Key(_) => "server_error",
        }
    }
}

/// How the client authenticated at the token endpoint.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From HTTP Basic (`client_secret_basic`).
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    /// `client_secret_post`.
    pub client_secret: Option<String>,
    /// `private_key_jwt`.
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
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

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest `state`, `nonce`, `scope` ... an authorization request may
/// carry (they are stored until the citizen has logged in).
pub const MAX_PARAMETER_LENGTH: usize = 1024;

fn sha256_hex(s: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(s.as_bytes()))
}

fn scopes(scope: &str) -> BTreeSet<&str> {
    scope.split(' ').filter(|s| !s.is_empty()).collect()
}

/// The level a session proves.
pub fn session_level(session: &ActiveSession) -> Level {
    if session.record.auth_methods.has_code() { Level::TwoStep } else { Level::Password }
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

impl Kapu {
    pub fn issuer(&self) -> String {
        self.config.public_url()
    }

    /// The subject a service sees: the same citizen gets a different,
    /// stable `sub` at each service, so services cannot link them.
    pub fn pairwise_sub(&self, client_id: &str, account_id: &AccountId) -> String {
        BASE64URL_NOPAD.encode(&self.pairwise_key.mac(format!("{client_id}\n{}", account_id.0).as_bytes()))
    }

    pub async fn register_client(&self, new: NewClient) -> Result<(Client, Option<String>), OidcError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(OidcError::Invalid("--name must be 1-200 characters".into()));
        }
        if new.redirect_uris.is_empty() {
            return Err(OidcError::Invalid("at least one --redirect-uri is needed".into()));
        }
        for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris) {
            check_redirect_uri(uri).map_err(OidcError::Invalid)?;
        }
        if let Some(jwks) = &new.jwks {
            let set: jsonwebtoken::jwk::JwkSet =
                serde_json::from_str(jwks).map_err(|e| OidcError::Invalid(format!("--jwks is not a JWK set: {e}")))?;
            if set.keys.is_empty() || set.keys.iter().any(|k| jsonwebtoken::DecodingKey::from_jwk(k).is_err()) {
                return Err(OidcError::Invalid("--jwks must hold usable public keys".into()));
            }
            if !new.confidential {
                return Err(OidcError::Invalid("--jwks is for confidential clients".into()));
            }
        }
        let secret = new.confidential.then(random_token);
        let client = Client {
            client_id: crate::crypto::random_id()[..20].to_owned(),
            name: name.to_owned(),
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            confidential: new.confidential,
            secret_hash: secret.as_deref().map(sha256_hex),
            jwks: new.jwks,
            id_token_alg: new.id_token_alg,
            required_level: new.required_level,
            created_at: self.now(),
        };
        self.store.insert_client(&client).await?;
        // A service that signs with RS256 gets its key now, not at its first login.
        self.signing_key(client.id_token_alg).await?;
        Ok((client, secret))
    }

    /// `kapu admin client list`.
    pub async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.store.list_clients().await
    }

    /// `kapu admin client remove`: its codes and tokens go with it. Whether it existed.
    pub async fn remove_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.store.delete_client(client_id).await
    }

    /// The active signing key for `alg`, made on first use.
    pub async fn signing_key(&self, alg: SigningAlg) -> Result<crate::oidc::model::SigningKeyRecord, OidcError> {
        if let Some(key) = self.store.active_signing_key(alg).await? {
            return Ok(key);
        }
        let key = keys::generate(alg, &self.secret_box, self.now())?;
        self.store.insert_signing_key(&key).await?;
        // Two instances may have made one each at once: all agree on the newest.
        Ok(self.store.active_signing_key(alg).await?.unwrap_or(key))
    }

    /// `kapu admin keys rotate`: a new key per algorithm in use; the old ones
    /// stay published until every ID token they signed has expired.
    pub async fn rotate_signing_keys(&self) -> Result<Vec<String>, OidcError> {
        let mut kids = Vec::new();
        for alg in [SigningAlg::ES256, SigningAlg::RS256] {
            let in_use = alg == SigningAlg::ES256 || self.store.active_signing_key(alg).await?.is_some();
            if in_use {
                let key = keys::generate(alg, &self.secret_box, self.now())?;
                let tx = self.store.begin().await?;
                tx.retire_signing_keys(alg, self.now()).await?;
                tx.insert_signing_key(&key).await?;
                tx.commit().await?;
                kids.push(key.kid);
            }
        }
        Ok(kids)
    }

    pub async fn jwks(&self) -> Result<serde_json::Value, OidcError> {
        self.signing_key(SigningAlg::ES256).await?;
        let retired_after = self.now() - self.config.oidc.id_token_ttl_seconds;
        Ok(keys::jwks(&self.store.published_signing_keys(retired_after).await?))
    }

    pub fn discovery(&self) -> serde_json::Value {
        let iss = self.issuer();
        serde_json::json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/authorize"),
            "token_endpoint": format!("{iss}/token"),
            "userinfo_endpoint": format!("{iss}/userinfo"),
            "jwks_uri": format!("{iss}/jwks"),
            "end_session_endpoint": format!("{iss}/logout/oidc"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "name", "email", "email_verified"],
            "acr_values_supported": [Level::ACR_TWO_STEP, Level::EIDAS_SUBSTANTIAL, Level::ACR_PASSWORD],
            "prompt_values_supported": ["none", "login"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
        })
    }

    /// Checks an authorization request. Client and redirect URI first: until
    /// both are known good, errors are pages, never redirects.
    pub async fn parse_authorize(&self, p: &AuthorizeParams) -> Result<(Client, AuthRequest), AuthorizeError> {
        let client_id = p.client_id.as_deref().filter(|s| !s.is_empty()).ok_or(AuthorizeError::Page("client"))?;
        let client = self.store.client(client_id).await?.ok_or(AuthorizeError::Page("client"))?;
        let redirect_uri = p.redirect_uri.as_deref().ok_or(AuthorizeError::Page("redirect_uri"))?;
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return Err(AuthorizeError::Page("redirect_uri"));
        }
        // A request is stored while the citizen logs in: every value a
        // service (or anyone who crafts a link) sends is bounded.
        for (name, value) in [
            ("state", &p.state),
            ("nonce", &p.nonce),
            ("scope", &p.scope),
            ("acr_values", &p.acr_values),
            ("prompt", &p.prompt),
            ("max_age", &p.max_age),
            ("code_challenge", &p.code_challenge),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_PARAMETER_LENGTH) {
                let state = p.state.clone().filter(|s| s.len() <= MAX_PARAMETER_LENGTH);
                return Err(AuthorizeError::Redirect {
                    redirect_uri: redirect_uri.to_owned(),
                    state,
                    error: "invalid_request",
                    description: format!("{name} is longer than {MAX_PARAMETER_LENGTH} characters"),
                });
            }
        }
        let fail = |error: &'static str, description: &str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            state: p.state.clone(),
            error,
            description: description.to_owned(),
        };
        if p.response_type.as_deref() != Some("code") {
            return Err(fail("unsupported_response_type", "only response_type=code is supported"));
        }
        let scope = p.scope.clone().unwrap_or_default();
        if !scopes(&scope).contains("openid") {
            return Err(fail("invalid_scope", "the scope must include openid"));
        }
        let method = p.code_challenge_method.as_deref();
        let challenge = p.code_challenge.clone().filter(|c| !c.is_empty());
        match (&challenge, method) {
            (Some(c), Some("S256") | None) if c.len() == 43 => {}
            (Some(_), Some("S256") | None) => {
                return Err(fail("invalid_request", "code_challenge must be a 43-character S256 value"));
            }
            (Some(_), Some(_)) => return Err(fail("invalid_request", "code_challenge_method must be S256")),
            (None, Some(_)) => return Err(fail("invalid_request", "code_challenge_method without code_challenge")),
            (None, None) if !client.confidential => {
                return Err(fail("invalid_request", "public clients must use PKCE with S256"));
            }
            (None, None) => {}
        }
        let prompts: BTreeSet<&str> = p.prompt.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
        if prompts.contains("none") && prompts.len() > 1 {
            return Err(fail("invalid_request", "prompt=none cannot be combined"));
        }
        let max_age = match p.max_age.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| fail("invalid_request", "max_age must be a number of seconds"))?,
            ),
        };
        let mut required = client.required_level;
        for acr in p.acr_values.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
            if let Some(level) = Level::parse(acr) {
                required = required.max(level);
            }
        }
        if self.one_step_login_ended() {
            // After the cut-off, no service receives a password-only login.
            required = Level::TwoStep;
        }
        let request = AuthRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge: challenge,
            max_age,
            // max_age=0 means "log in again now", like prompt=login (OIDC Core 3.1.2.1).
            force_login: prompts.contains("login") || max_age == Some(0),
            required_level: required,
            created_at: self.now(),
        };
        Ok((client, request))
    }

    /// Decides for a checked request and the browser's session.
    pub async fn authorize(
        &self,
        client: &Client,
        request: AuthRequest,
        session: Option<&ActiveSession>,
        prompt_none: bool,
        actor: &Actor,
    ) -> Result<AuthorizeNext, AuthorizeError> {
        self.decide(client, request, session, prompt_none, None, actor).await
    }

    /// Decides for a request saved while the user logged in; a code issued
    /// for it uses it up, in the same transaction.
    async fn authorize_saved(
        &self,
        client: &Client,
        request: AuthRequest,
        session: Option<&ActiveSession>,
        token: &str,
        actor: &Actor,
    ) -> Result<AuthorizeNext, AuthorizeError> {
        self.decide(client, request, session, false, Some(token), actor).await
    }

    async fn decide(
        &self,
        client: &Client,
        request: AuthRequest,
        session: Option<&ActiveSession>,
        prompt_none: bool,
        saved_as: Option<&str>,
        actor: &Actor,
    ) -> Result<AuthorizeNext, AuthorizeError> {
        let now = self.now();
        let fresh_enough = |s: &ActiveSession| match request.max_age {
            Some(max) => now - s.record.auth_time <= max,
            None => true,
        };
        match session {
            Some(s) if !request.force_login && fresh_enough(s) && session_level(s) >= request.required_level => {
                let url = self.issue_code(client, &request, s, saved_as, actor).await?;
                Ok(AuthorizeNext::Redirect(url))
            }
            _ if prompt_none => Err(AuthorizeError::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error: "login_required",
                description: "the user must log in".into(),
            }),
            Some(s) if !request.force_login && fresh_enough(s) && !s.two_step_active => {
                let token = self.save_auth_request(&request).await?;
                Ok(AuthorizeNext::LevelTooLow { request_token: token })
            }
            _ => {
                let token = self.save_auth_request(&request).await?;
                Ok(AuthorizeNext::Login { request_token: token })
            }
        }
    }

    async fn save_auth_request(&self, request: &AuthRequest) -> Result<String, StoreError> {
        let token = random_token();
        let now = self.now();
        let json = serde_json::to_string(request).unwrap_or_default();
        self.store
            .insert_auth_request(&token_hash(&token), &json, now, now + self.config.oidc.auth_request_ttl_seconds)
            .await?;
        Ok(token)
    }

    /// A saved request (while the user logs in), with its service.
    pub async fn pending_auth_request(&self, token: &str) -> Result<Option<(Client, AuthRequest)>, StoreError> {
        let Some(json) = self.store.auth_request(&token_hash(token), self.now()).await? else { return Ok(None) };
        let Ok(request) = serde_json::from_str::<AuthRequest>(&json) else { return Ok(None) };
        Ok(self.store.client(&request.client_id).await?.map(|c| (c, request)))
    }

    /// Continues a saved request after a login; a request is used once.
    pub async fn resume_authorize(
        &self,
        token: &str,
        session: Option<&ActiveSession>,
        actor: &Actor,
    ) -> Result<Option<AuthorizeNext>, AuthorizeError> {
        let Some((client, mut request)) = self.pending_auth_request(token).await? else { return Ok(None) };
        // A login made after the service asked satisfies prompt=login and max_age.
        if let Some(s) = session
            && s.record.auth_time >= request.created_at
        {
            request.force_login = false;
            request.max_age = None;
        }
        let next = self.authorize_saved(&client, request, session, token, actor).await?;
        Ok(Some(next))
    }

    /// "Azonosítás megszakítása" for a service's request: back with access_denied.
    pub async fn cancel_authorize(&self, token: &str) -> Result<Option<String>, StoreError> {
        let Some((_, request)) = self.pending_auth_request(token).await? else { return Ok(None) };
        self.store.delete_auth_request(&token_hash(token)).await?;
        let mut pairs = vec![("error", "access_denied"), ("error_description", "the user cancelled the login")];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        let iss = self.issuer();
        pairs.push(("iss", &iss));
        Ok(Some(with_query(&request.redirect_uri, &pairs)))
    }

    async fn issue_code(
        &self,
        client: &Client,
        request: &AuthRequest,
        session: &ActiveSession,
        saved_as: Option<&str>,
        actor: &Actor,
    ) -> Result<String, StoreError> {
        let code = random_token();
        let now = self.now();
        let level = session_level(session);
        let tx = self.store.begin().await?;
        if let Some(token) = saved_as {
            tx.delete_auth_request(&token_hash(token)).await?;
        }
        tx.insert_code(&AuthCode {
            code_hash: token_hash(&code),
            client_id: client.client_id.clone(),
            account_id: session.account.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.record.auth_time,
            level,
            created_at: now,
            expires_at: now + self.config.oidc.code_ttl_seconds,
        })
        .await?;
        let detail = Some(format!("service={} ({}) level={}", client.name, client.client_id, level.acr()));
        let subject = Subject::account(&session.account);
        self.audit(&tx, AuditEvent::ServiceLogin, Outcome::Success, subject, actor, detail).await?;
        tx.commit().await?;
        let iss = self.issuer();
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &iss));
        Ok(with_query(&request.redirect_uri, &pairs))
    }

    async fn authenticate_client(&self, creds: &ClientCredentials) -> Result<Client, TokenError> {
        let token_endpoint = format!("{}/token", self.issuer());
        if let Some(assertion) = &creds.client_assertion {
            if creds.client_assertion_type.as_deref() != Some(JWT_BEARER) {
                return Err(TokenError::InvalidClient("unsupported client_assertion_type".into()));
            }
            let unverified = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(assertion)
                .map_err(|_| TokenError::InvalidClient("client_assertion is not a JWT".into()))?;
            let client_id = unverified.claims["iss"].as_str().unwrap_or_default().to_owned();
            let client = self
                .store
                .client(&client_id)
                .await?
                .ok_or_else(|| TokenError::InvalidClient("unknown client".into()))?;
            let jwks: jsonwebtoken::jwk::JwkSet = client
                .jwks
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .ok_or_else(|| TokenError::InvalidClient("the client has no registered keys".into()))?;
            let header = jsonwebtoken::decode_header(assertion)
                .map_err(|_| TokenError::InvalidClient("bad JWT header".into()))?;
            if !matches!(header.alg, jsonwebtoken::Algorithm::ES256 | jsonwebtoken::Algorithm::RS256) {
                return Err(TokenError::InvalidClient("client_assertion must be ES256 or RS256".into()));
            }
            let key = match &header.kid {
                Some(kid) => jwks.find(kid),
                None => jwks.keys.first(),
            }
            .ok_or_else(|| TokenError::InvalidClient("unknown key".into()))?;
            let decoding =
                jsonwebtoken::DecodingKey::from_jwk(key).map_err(|_| TokenError::InvalidClient("bad key".into()))?;
            let mut validation = jsonwebtoken::Validation::new(header.alg);
            validation.set_audience(&[token_endpoint.as_str(), self.issuer().as_str()]);
            validation.set_issuer(&[client_id.as_str()]);
            validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
            // Expiry is checked against kapu's clock (the library would use the
            // system clock), with little leeway and a bounded lifetime, so a
            // captured assertion is useless within minutes.
            validation.validate_exp = false;
            let data = jsonwebtoken::decode::<serde_json::Value>(assertion, &decoding, &validation)
                .map_err(|e| TokenError::InvalidClient(format!("client_assertion: {e}")))?;
            let now = self.now();
            let exp = data.claims["exp"].as_i64().unwrap_or(0);
            if exp < now - 30 || exp > now + 600 {
                return Err(TokenError::InvalidClient("client_assertion is expired or lives too long".into()));
            }
            if data.claims["sub"].as_str() != Some(client_id.as_str()) {
                return Err(TokenError::InvalidClient("client_assertion sub must be the client id".into()));
            }
            return Ok(client);
        }
        let (client_id, secret) = match (&creds.basic, &creds.client_id, &creds.client_secret) {
            (Some((id, secret)), _, _) => (id.clone(), Some(secret.clone())),
            (None, Some(id), secret) => (id.clone(), secret.clone()),
            _ => return Err(TokenError::InvalidClient("no client authentication".into())),
        };
        let client =
            self.store.client(&client_id).await?.ok_or_else(|| TokenError::InvalidClient("unknown client".into()))?;
        match (client.confidential, &client.secret_hash, secret) {
            (true, Some(hash), Some(secret)) if constant_time_eq(sha256_hex(&secret).as_bytes(), hash.as_bytes()) => {
                Ok(client)
            }
            (true, _, _) => Err(TokenError::InvalidClient("wrong client secret".into())),
            (false, _, None) => Ok(client),
            (false, _, Some(_)) => Err(TokenError::InvalidClient("public clients have no secret".into())),
        }
    }

    /// The token endpoint: a code (once), the client, PKCE, then tokens.
    pub async fn exchange_code(
        &self,
        params: &TokenParams,
        basic: Option<(String, String)>,
        actor: &Actor,
    ) -> Result<TokenResponse, TokenError> {
        if params.grant_type.as_deref() != Some("authorization_code") {
            return Err(TokenError::UnsupportedGrantType);
        }
        let creds = ClientCredentials {
            basic,
            client_id: params.client_id.clone(),
            client_secret: params.client_secret.clone(),
            client_assertion_type: params.client_assertion_type.clone(),
            client_assertion: params.client_assertion.clone(),
        };
        let client = self.authenticate_client(&creds).await?;
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
        let access_token = random_token();
        let ttl = self.config.oidc.access_token_ttl_seconds;
        tx.insert_access_token(&AccessToken {
            token_hash: token_hash(&access_token),
            client_id: client.client_id.clone(),
            account_id: account.id.clone(),
            scope: issued.scope.clone(),
            code_hash: issued.code_hash.clone(),
            expires_at: now + ttl,
        })
        .await?;
        let detail = Some(format!("tokens for service={} level={}", client.client_id, issued.level.acr()));
        self.audit(&tx, AuditEvent::ServiceLogin, Outcome::Success, Subject::account(&account), actor, detail).await?;
        tx.commit().await?;
        let id_token = self.id_token(&client, &account, &issued)?;
        let id_token = id_token_signed(self, &client, &id_token).await?;
        Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: ttl, id_token, scope: issued.scope })
    }

    fn id_token(&self, client: &Client, account: &Account, code: &AuthCode) -> Result<IdTokenClaims, TokenError> {
        let now = self.now();
        let scope = scopes(&code.scope);
        Ok(IdTokenClaims {
            iss: self.issuer(),
            sub: self.pairwise_sub(&client.client_id, &account.id),
            aud: client.client_id.clone(),
            exp: now + self.config.oidc.id_token_ttl_seconds,
            iat: now,
            auth_time: code.auth_time,
            nonce: code.nonce.clone(),
            acr: code.level.acr().to_owned(),
            amr: code.level.amr().iter().map(|s| (*s).to_owned()).collect(),
            name: scope.contains("profile").then(|| account.full_name.as_str().to_owned()),
            email: scope.contains("email").then(|| account.email.as_str().to_owned()),
            email_verified: scope.contains("email").then_some(true),
        })
    }

    /// Userinfo for a bearer access token.
    pub async fn userinfo(&self, access_token: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(token) = self.store.access_token(&token_hash(access_token), self.now()).await? else {
            return Ok(None);
        };
        let Some(account) = self.store.account_by_id(&token.account_id).await? else { return Ok(None) };
        let scope = scopes(&token.scope);
        let mut claims = serde_json::json!({ "sub": self.pairwise_sub(&token.client_id, &account.id) });
        if scope.contains("profile") {
            claims["name"] = serde_json::Value::String(account.full_name.as_str().to_owned());
        }
        if scope.contains("email") {
            claims["email"] = serde_json::Value::String(account.email.as_str().to_owned());
            claims["email_verified"] = serde_json::Value::Bool(true);
        }
        Ok(Some(claims))
    }

    /// Which service an ID token we issued was for (RP-initiated logout).
    /// Expired tokens are accepted here: logout often comes late.
    pub async fn id_token_client(&self, id_token: &str) -> Result<Option<Client>, OidcError> {
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
                return Ok(self.store.client(&data.claims.aud).await?);
            }
        }
        Ok(None)
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

async fn id_token_signed(kapu: &Kapu, client: &Client, claims: &IdTokenClaims) -> Result<String, TokenError> {
    let key = kapu.signing_key(client.id_token_alg).await.map_err(|e| match e {
        OidcError::Store(s) => TokenError::Store(s),
        OidcError::Key(k) => TokenError::Key(k),
        OidcError::Invalid(m) => TokenError::InvalidRequest(m),
    })?;
    Ok(keys::sign(&key, &kapu.secret_box, claims)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        assert!(check_redirect_uri("https://bevallas.example.hu/callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/callback").is_ok());
        assert!(check_redirect_uri("http://evil.example/callback").is_err());
        assert!(check_redirect_uri("https://x.example/cb#frag").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn query_parameters_are_appended_encoded() {
        assert_eq!(
            with_query("https://a.example/cb?x=1", &[("code", "a b"), ("state", "s&t")]),
            "https://a.example/cb?x=1&code=a+b&state=s%26t"
        );
    }
}
