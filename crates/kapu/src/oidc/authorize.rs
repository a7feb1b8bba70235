//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 9126):
//! a request is checked (client and redirect URI first: until both are known
//! good, errors are pages, never redirects), waits while the citizen logs
//! in, and ends in a code sent back in the way the service asked for.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Kapu;
use crate::accounts::model::{AccountId, Language, Username};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::crypto::{random_token, token_hash};
use crate::oidc::client_auth::ClientCredentials;
use crate::oidc::discovery::{CLAIMS, SCOPES};
use crate::oidc::model::{Acr, Assurance, AuthCode, AuthRequest, Client, Level, RequestedClaims, ResponseMode};
use crate::oidc::repo::OidcRepo;
use crate::oidc::token::{TokenError, scopes};
use crate::sessions::model::ActiveSession;
use crate::store::StoreError;

/// The longest `state`, `nonce`, `scope` ... an authorization request may
/// carry (they are stored until the citizen has logged in).
pub const MAX_PARAMETER_LENGTH: usize = 1024;
/// The longest `claims` parameter (a JSON object).
const MAX_CLAIMS_LENGTH: usize = 4096;
/// A pushed request's `request_uri` (RFC 9126 §2.2).
pub const PAR_URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Why an authorization request failed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: an error page,
    /// never a redirect. The reason names what: "client", "redirect_uri",
    /// "request_uri" (an unknown or used pushed request).
    Page(&'static str),
    /// Sent back to the (verified) redirect URI with `error` and `state`.
    Redirect {
        redirect_uri: String,
        response_mode: ResponseMode,
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

/// The parameters of `/authorize` (query or form body) or of `/par`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
    pub response_mode: Option<String>,
    pub ui_locales: Option<String>,
    /// OIDC Core §3.1.2.1: the username the citizen will likely use.
    pub login_hint: Option<String>,
    pub claims: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

impl AuthorizeParams {
    /// From `name=value` pairs; a parameter given twice is an error
    /// (RFC 6749 §3.1). Unknown parameters are ignored (§3.1 says so).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut p = AuthorizeParams::default();
        let mut seen = BTreeSet::new();
        for (name, value) in pairs {
            let field = match name.as_str() {
                "response_type" => &mut p.response_type,
                "client_id" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "nonce" => &mut p.nonce,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                "prompt" => &mut p.prompt,
                "max_age" => &mut p.max_age,
                "acr_values" => &mut p.acr_values,
                "response_mode" => &mut p.response_mode,
                "ui_locales" => &mut p.ui_locales,
                "login_hint" => &mut p.login_hint,
                "claims" => &mut p.claims,
                "request" => &mut p.request,
                "request_uri" => &mut p.request_uri,
                _ => continue,
            };
            if !seen.insert(name.as_str()) {
                return Err(format!("{name} is given more than once"));
            }
            *field = Some(value.clone());
        }
        Ok(p)
    }

    /// The language `ui_locales` asks for, if kapu speaks one of them.
    pub fn ui_language(&self) -> Option<Language> {
        ui_language(self.ui_locales.as_deref())
    }
}

/// The first language of a `ui_locales` list (space-separated BCP 47 tags,
/// `en-GB` counts as `en`) that kapu speaks.
pub fn ui_language(ui_locales: Option<&str>) -> Option<Language> {
    ui_locales?.split(' ').find_map(|tag| {
        match tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase().as_str() {
            "hu" => Some(Language::Hu),
            "en" => Some(Language::En),
            _ => None,
        }
    })
}

/// What the browser does next.
#[derive(Debug)]
pub enum AuthorizeNext {
    /// Back to the service: the URL with the response in its query.
    Redirect(String),
    /// Back to the service by an auto-submitted form (`response_mode=form_post`).
    FormPost { action: String, fields: Vec<(String, String)> },
    /// To the login page, carrying the request.
    Login { request_token: String },
    /// Logged in, but below the level the service needs: explain and offer set-up.
    LevelTooLow { request_token: String },
    /// The service asks for identity data the citizen has not agreed to share.
    Consent { request_token: String },
    /// The citizen holds delegations usable at this service: "Kinek a
    /// nevében jár el?" (myself, or a principal).
    ChooseRepresented { request_token: String },
}

/// On whose behalf a login goes to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acting {
    /// Ask the citizen if they hold usable delegations.
    Ask,
    Myself,
    /// A principal whose usable delegation was checked.
    For(AccountId),
}

/// The response for the service, in the mode it asked for.
pub fn respond(redirect_uri: &str, mode: ResponseMode, pairs: Vec<(&str, &str)>) -> AuthorizeNext {
    match mode {
        ResponseMode::Query => {
            let url = match url::Url::parse(redirect_uri) {
                Ok(mut u) => {
                    u.query_pairs_mut().extend_pairs(&pairs);
                    u.to_string()
                }
                Err(_) => redirect_uri.to_owned(),
            };
            AuthorizeNext::Redirect(url)
        }
        ResponseMode::FormPost => AuthorizeNext::FormPost {
            action: redirect_uri.to_owned(),
            fields: pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        },
    }
}

/// Whether a login meets a request, and with which `acr`.
#[derive(Debug, PartialEq, Eq)]
enum AcrOutcome {
    /// Met; the ID token says this.
    Met(String),
    /// A login with a code would meet it.
    StepUp,
    /// No login of this account can meet it.
    Unmet,
}

/// The request's `acr` for a login of `assurance` (docs/oidc.md, "Levels"):
/// the first value the service listed that the login reaches, in the form
/// the service wrote it; kapu's own value when it listed none.
fn acr_outcome(request: &AuthRequest, assurance: Assurance) -> AcrOutcome {
    let floor_met = assurance.level >= request.required_level;
    let asked: Vec<Acr> = request.acr_values.iter().filter_map(|v| Acr::parse(v)).collect();
    if asked.is_empty() {
        return if floor_met { AcrOutcome::Met(assurance.level.acr().to_owned()) } else { AcrOutcome::StepUp };
    }
    if floor_met && let Some(met) = asked.iter().find(|a| a.satisfied_by(assurance)) {
        return AcrOutcome::Met(met.as_str().to_owned());
    }
    // A login with a code would reach one of them (the account's identity
    // permitting): ask for it; otherwise no login of this account can.
    let reachable = asked.iter().any(|a| {
        a.needs_level().is_some_and(|level| level.max(request.required_level) > assurance.level)
            && (!a.needs_verified() || assurance.verified)
    });
    if reachable { AcrOutcome::StepUp } else { AcrOutcome::Unmet }
}

/// The `claims` parameter (OIDC Core §5.5): the claims kapu knows, and the
/// `acr` asked for in `id_token` (its values, and whether essential).
struct ParsedClaims {
    requested: RequestedClaims,
    acr_values: Vec<String>,
    acr_essential: bool,
}

fn parse_claims(json: &str) -> Result<ParsedClaims, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("claims is not a JSON object: {e}"))?;
    let object = value.as_object().ok_or("claims must be a JSON object")?;
    let members = |name: &str| -> Result<Vec<(String, serde_json::Value)>, String> {
        match object.get(name) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::Object(m)) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            Some(_) => Err(format!("claims.{name} must be an object")),
        }
    };
    let known = |claims: &[(String, serde_json::Value)]| -> Vec<String> {
        claims.iter().filter(|(k, _)| CLAIMS.iter().any(|(c, _)| c == k)).map(|(k, _)| k.clone()).collect()
    };
    let id_token = members("id_token")?;
    let userinfo = members("userinfo")?;
    let mut parsed = ParsedClaims {
        requested: RequestedClaims { id_token: known(&id_token), userinfo: known(&userinfo) },
        acr_values: Vec::new(),
        acr_essential: false,
    };
    if let Some((_, acr)) = id_token.iter().find(|(k, _)| k == "acr") {
        parsed.acr_essential = acr["essential"].as_bool().unwrap_or(false);
        if let Some(v) = acr["value"].as_str() {
            parsed.acr_values.push(v.to_owned());
        }
        if let Some(vs) = acr["values"].as_array() {
            parsed.acr_values.extend(vs.iter().filter_map(|v| v.as_str().map(str::to_owned)));
        }
    }
    Ok(parsed)
}

impl Kapu {
    /// Checks an authorization request (a pushed one is fetched and used
    /// up here). Client and redirect URI first. Also returns the parameters
    /// that count: the pushed ones when the browser brought a `request_uri`
    /// (RFC 9126 §4: nothing in the browser's URL overrides them).
    pub async fn parse_authorize(
        &self,
        p: &AuthorizeParams,
    ) -> Result<(Client, AuthRequest, AuthorizeParams), AuthorizeError> {
        let client_id = p.client_id.as_deref().filter(|s| !s.is_empty()).ok_or(AuthorizeError::Page("client"))?;
        let client = self.store.client(client_id).await?.ok_or(AuthorizeError::Page("client"))?;
        if let Some(uri) = p.request_uri.as_deref()
            && let Some(token) = uri.strip_prefix(PAR_URN_PREFIX)
        {
            let stored = self.store.take_par_request(&token_hash(token), &client.client_id, self.now()).await?;
            let pushed: AuthorizeParams =
                stored.and_then(|json| serde_json::from_str(&json).ok()).ok_or(AuthorizeError::Page("request_uri"))?;
            let request = self.check_request(&client, &pushed, true)?;
            return Ok((client, request, pushed));
        }
        let request = self.check_request(&client, p, false)?;
        Ok((client, request, p.clone()))
    }

    /// Every check of a request's parameters, for `client`. `pushed`: it
    /// came through /par (its client authenticated).
    fn check_request(&self, client: &Client, p: &AuthorizeParams, pushed: bool) -> Result<AuthRequest, AuthorizeError> {
        let redirect_uri = p.redirect_uri.as_deref().ok_or(AuthorizeError::Page("redirect_uri"))?;
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return Err(AuthorizeError::Page("redirect_uri"));
        }
        let response_mode = match p.response_mode.as_deref() {
            Some("form_post") => ResponseMode::FormPost,
            _ => ResponseMode::Query,
        };
        // A request is stored while the citizen logs in: every value a
        // service (or anyone who crafts a link) sends is bounded.
        let state = p.state.clone().filter(|s| s.len() <= MAX_PARAMETER_LENGTH);
        let fail = |error: &'static str, description: String| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            response_mode,
            state: state.clone(),
            error,
            description,
        };
        for (name, value) in [
            ("state", &p.state),
            ("nonce", &p.nonce),
            ("scope", &p.scope),
            ("acr_values", &p.acr_values),
            ("prompt", &p.prompt),
            ("max_age", &p.max_age),
            ("code_challenge", &p.code_challenge),
            ("ui_locales", &p.ui_locales),
            ("login_hint", &p.login_hint),
            ("response_mode", &p.response_mode),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_PARAMETER_LENGTH) {
                return Err(fail(
                    "invalid_request",
                    format!("{name} is longer than {MAX_PARAMETER_LENGTH} characters"),
                ));
            }
        }
        if p.claims.as_ref().is_some_and(|c| c.len() > MAX_CLAIMS_LENGTH) {
            return Err(fail("invalid_request", format!("claims is longer than {MAX_CLAIMS_LENGTH} characters")));
        }
        if p.request.is_some() {
            return Err(fail("request_not_supported", "request objects are not supported; use PAR (/par)".into()));
        }
        if p.request_uri.is_some() {
            return Err(fail(
                "request_uri_not_supported",
                "only request_uri values from kapu's /par are accepted".into(),
            ));
        }
        if client.requires_par() && !pushed {
            return Err(fail("invalid_request", "this client must push its requests to /par first".into()));
        }
        if !matches!(p.response_mode.as_deref(), None | Some("query" | "form_post")) {
            return Err(fail("invalid_request", "response_mode must be query or form_post".into()));
        }
        if p.response_type.as_deref() != Some("code") {
            return Err(fail("unsupported_response_type", "only response_type=code is supported".into()));
        }
        let asked = scopes(p.scope.as_deref().unwrap_or_default());
        if !asked.contains("openid") {
            return Err(fail("invalid_scope", "the scope must include openid".into()));
        }
        let granted: Vec<&str> = SCOPES.into_iter().filter(|s| asked.contains(s)).collect();
        let method = p.code_challenge_method.as_deref();
        let challenge = p.code_challenge.clone().filter(|c| !c.is_empty());
        let pkce_required = !client.confidential() || client.fapi2;
        match (&challenge, method) {
            (Some(c), Some("S256")) if c.len() == 43 => {}
            (Some(_), None) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method=S256 is required (without it RFC 7636 means plain, which kapu refuses)"
                        .into(),
                ));
            }
            (Some(_), Some("S256")) => {
                return Err(fail("invalid_request", "code_challenge must be a 43-character S256 value".into()));
            }
            (Some(_), Some(_)) => return Err(fail("invalid_request", "code_challenge_method must be S256".into())),
            (None, Some(_)) => {
                return Err(fail("invalid_request", "code_challenge_method without code_challenge".into()));
            }
            (None, None) if pkce_required => {
                return Err(fail("invalid_request", "this client must use PKCE with S256".into()));
            }
            (None, None) => {}
        }
        let prompts: BTreeSet<&str> = p.prompt.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
        if prompts.contains("none") && prompts.len() > 1 {
            return Err(fail("invalid_request", "prompt=none cannot be combined".into()));
        }
        let max_age = match p.max_age.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| fail("invalid_request", "max_age must be a number of seconds".into()))?,
            ),
        };
        let claims = match p.claims.as_deref() {
            None | Some("") => None,
            Some(json) => Some(parse_claims(json).map_err(|e| fail("invalid_request", e))?),
        };
        let mut acr_values: Vec<String> = p.acr_values.as_deref().unwrap_or("").split(' ').map(str::to_owned).collect();
        let mut acr_essential = false;
        if let Some(c) = &claims
            && !c.acr_values.is_empty()
        {
            acr_values = c.acr_values.clone();
            acr_essential = c.acr_essential;
        }
        acr_values.retain(|v| Acr::parse(v).is_some());
        // The service's registered floor; after the cut-off no service
        // receives a password-only login.
        let mut required = client.required_level;
        if self.one_step_login_ended() {
            required = Level::TwoStep;
        }
        if !acr_values.is_empty() {
            let needed = acr_values.iter().filter_map(|v| Acr::parse(v).and_then(Acr::needs_level)).min();
            match needed {
                Some(level) => required = required.max(level),
                None => {
                    return Err(fail(
                        "unmet_authentication_requirements",
                        "no kapu login reaches the acr values asked for".into(),
                    ));
                }
            }
        }
        Ok(AuthRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope: granted.join(" "),
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge: challenge,
            max_age,
            // max_age=0 means "log in again now", like prompt=login (OIDC Core 3.1.2.1).
            force_login: prompts.contains("login") || max_age == Some(0),
            required_level: required,
            acr_values,
            acr_essential,
            response_mode,
            claims: claims.map(|c| c.requested).unwrap_or_default(),
            // Only a hint that can be a username fills the login form.
            login_hint: p.login_hint.as_deref().and_then(|h| Username::parse(h).ok()).map(|u| u.as_str().to_owned()),
            created_at: self.now(),
        })
    }

    /// `/par` (RFC 9126): the client authenticates and pushes its request;
    /// it gets a `request_uri` to send the browser to /authorize with.
    pub async fn push_authorization_request(
        &self,
        creds: &ClientCredentials,
        params: &AuthorizeParams,
    ) -> Result<(String, i64), TokenError> {
        let client = self.authenticate_client(creds).await?;
        if params.request_uri.is_some() {
            return Err(TokenError::InvalidRequest("request_uri must not be pushed".into()));
        }
        if params.client_id.as_deref().is_some_and(|id| id != client.client_id) {
            return Err(TokenError::InvalidRequest("client_id does not match the client authentication".into()));
        }
        let params = AuthorizeParams { client_id: Some(client.client_id.clone()), ..params.clone() };
        match self.check_request(&client, &params, true) {
            Ok(_) => {}
            Err(AuthorizeError::Page(what)) => return Err(TokenError::InvalidRequest(format!("invalid {what}"))),
            Err(AuthorizeError::Redirect { error, description, .. }) => {
                return Err(TokenError::Authorization { error, description });
            }
            Err(AuthorizeError::Store(e)) => return Err(e.into()),
        }
        let token = random_token();
        let ttl = self.config.oidc.par_ttl_seconds;
        let json = serde_json::to_string(&params).unwrap_or_default();
        self.store.insert_par_request(&token_hash(&token), &client.client_id, &json, self.now() + ttl).await?;
        Ok((format!("{PAR_URN_PREFIX}{token}"), ttl))
    }

    /// The assurance of a session's login: how the user logged in, and
    /// whether the account's identity was verified at an office.
    pub fn assurance(&self, session: &ActiveSession) -> Assurance {
        Assurance { level: crate::oidc::service::session_level(session), verified: session.account.verified }
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
        self.decide(client, request, session, prompt_none, None, Acting::Ask, actor).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        client: &Client,
        request: AuthRequest,
        session: Option<&ActiveSession>,
        prompt_none: bool,
        saved_as: Option<&str>,
        acting: Acting,
        actor: &Actor,
    ) -> Result<AuthorizeNext, AuthorizeError> {
        let now = self.now();
        let usable = session
            .filter(|s| !request.force_login && request.max_age.is_none_or(|max| now - s.record.auth_time <= max));
        let outcome = usable.map(|s| acr_outcome(&request, self.assurance(s)));
        let redirect_error = |error: &'static str, description: &str| AuthorizeError::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            response_mode: request.response_mode,
            state: request.state.clone(),
            error,
            description: description.to_owned(),
        };
        match (usable, outcome) {
            (Some(s), Some(AcrOutcome::Met(acr))) => {
                let on_behalf_of = match acting {
                    Acting::For(principal) => Some(principal),
                    Acting::Myself => None,
                    // prompt=none cannot ask: the citizen logs in as themselves.
                    Acting::Ask if prompt_none => None,
                    Acting::Ask => {
                        if self.holds_delegations_at(&s.account, client).await? {
                            let token = match saved_as {
                                Some(t) => t.to_owned(),
                                None => self.save_auth_request(&request).await?,
                            };
                            return Ok(AuthorizeNext::ChooseRepresented { request_token: token });
                        }
                        None
                    }
                };
                if let Some(principal) = on_behalf_of {
                    return Ok(self.issue_code(client, &request, s, &acr, saved_as, Some(principal), actor).await?);
                }
                if !self.consent_needed(client, &request, &s.account).await?.is_empty() {
                    if prompt_none {
                        return Err(redirect_error("consent_required", "the user must agree to share their data"));
                    }
                    let token = match saved_as {
                        Some(t) => t.to_owned(),
                        None => self.save_auth_request(&request).await?,
                    };
                    return Ok(AuthorizeNext::Consent { request_token: token });
                }
                Ok(self.issue_code(client, &request, s, &acr, saved_as, None, actor).await?)
            }
            (Some(_), Some(AcrOutcome::Unmet)) => {
                if let Some(token) = saved_as {
                    self.store.delete_auth_request(&token_hash(token)).await?;
                }
                Err(redirect_error(
                    "unmet_authentication_requirements",
                    "this account cannot reach the level of assurance asked for",
                ))
            }
            _ if prompt_none => Err(redirect_error("login_required", "the user must log in")),
            (Some(s), Some(AcrOutcome::StepUp)) if !s.two_step_active => {
                let token = match saved_as {
                    Some(t) => t.to_owned(),
                    None => self.save_auth_request(&request).await?,
                };
                Ok(AuthorizeNext::LevelTooLow { request_token: token })
            }
            _ => {
                let token = match saved_as {
                    Some(t) => t.to_owned(),
                    None => self.save_auth_request(&request).await?,
                };
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
        self.resume_authorize_as(token, session, Acting::Ask, actor).await
    }

    /// As [`Kapu::resume_authorize`], on behalf of whom the citizen chose.
    pub(crate) async fn resume_authorize_as(
        &self,
        token: &str,
        session: Option<&ActiveSession>,
        acting: Acting,
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
        let next = self.decide(&client, request, session, false, Some(token), acting, actor).await?;
        Ok(Some(next))
    }

    /// "Azonosítás megszakítása" for a service's request: back with access_denied.
    pub async fn cancel_authorize(&self, token: &str) -> Result<Option<AuthorizeNext>, StoreError> {
        self.deny_authorize(token, "the user cancelled the login").await
    }

    /// Ends a saved request with `access_denied` (cancelled, or consent refused).
    pub(crate) async fn deny_authorize(
        &self,
        token: &str,
        description: &str,
    ) -> Result<Option<AuthorizeNext>, StoreError> {
        let Some((_, request)) = self.pending_auth_request(token).await? else { return Ok(None) };
        self.store.delete_auth_request(&token_hash(token)).await?;
        Ok(Some(crate::oidc::consent::access_denied(&request, &self.issuer(), description)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn issue_code(
        &self,
        client: &Client,
        request: &AuthRequest,
        session: &ActiveSession,
        acr: &str,
        saved_as: Option<&str>,
        on_behalf_of: Option<AccountId>,
        actor: &Actor,
    ) -> Result<AuthorizeNext, StoreError> {
        let code = random_token();
        let now = self.now();
        let level = crate::oidc::service::session_level(session);
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
            acr: acr.to_owned(),
            sid: session.record.sid.clone(),
            claims: request.claims.clone(),
            created_at: now,
            expires_at: now + self.code_ttl(client),
            on_behalf_of: on_behalf_of.clone(),
        })
        .await?;
        if client.backchannel_logout_uri.is_some() {
            // The logout token names whom the service knows: the principal
            // for a login on their behalf (the `sid` is the agent's session).
            let known_as = on_behalf_of.as_ref().unwrap_or(&session.account.id);
            tx.note_session_login(&session.record.sid, &client.client_id, known_as, now).await?;
        }
        let mut detail = format!("service={} ({}) acr={acr}", client.name, client.client_id);
        if let Some(principal) = &on_behalf_of {
            // The principal's security log shows who acted for them.
            self.note_acting_login(&tx, client, &session.account, principal).await?;
            detail.push_str(&format!(" on_behalf_of={principal}"));
        }
        let subject = Subject::account(&session.account);
        self.audit(&tx, AuditEvent::ServiceLogin, Outcome::Success, subject, actor, Some(detail)).await?;
        tx.commit().await?;
        let iss = self.issuer();
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &iss));
        Ok(respond(&request.redirect_uri, request.response_mode, pairs))
    }

    /// FAPI 2.0 wants codes that live at most a minute.
    fn code_ttl(&self, client: &Client) -> i64 {
        let ttl = self.config.oidc.code_ttl_seconds;
        if client.fapi2 { ttl.min(60) } else { ttl }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::oidc::model::Eidas;

    fn request(acr_values: &[&str], required: Level) -> AuthRequest {
        AuthRequest {
            client_id: "c".into(),
            redirect_uri: "https://x/cb".into(),
            scope: "openid".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            max_age: None,
            force_login: false,
            required_level: required,
            acr_values: acr_values.iter().map(|s| (*s).to_owned()).collect(),
            acr_essential: false,
            response_mode: ResponseMode::Query,
            claims: RequestedClaims::default(),
            login_hint: None,
            created_at: 0,
        }
    }

    const PWD: Assurance = Assurance { level: Level::Password, verified: false };
    const PLUS: Assurance = Assurance { level: Level::TwoStep, verified: false };
    const VERIFIED: Assurance = Assurance { level: Level::TwoStep, verified: true };

    #[test]
    fn acr_is_the_first_value_reached_in_the_form_asked() {
        let met = |s: &str| AcrOutcome::Met(s.to_owned());
        assert_eq!(acr_outcome(&request(&[], Level::Password), PWD), met(Acr::PASSWORD));
        assert_eq!(acr_outcome(&request(&[], Level::Password), PLUS), met(Acr::TWO_STEP));
        assert_eq!(acr_outcome(&request(&[], Level::TwoStep), PWD), AcrOutcome::StepUp);
        let eidas = [Acr::EIDAS_SUBSTANTIAL, Acr::EIDAS_LOW];
        assert_eq!(acr_outcome(&request(&eidas, Level::TwoStep), PLUS), met(Acr::EIDAS_LOW));
        assert_eq!(acr_outcome(&request(&eidas, Level::TwoStep), VERIFIED), met(Acr::EIDAS_SUBSTANTIAL));
        assert_eq!(acr_outcome(&request(&[Acr::EIDAS_SUBSTANTIAL], Level::TwoStep), PLUS), AcrOutcome::Unmet);
        assert_eq!(acr_outcome(&request(&[Acr::EIDAS_SUBSTANTIAL], Level::TwoStep), PWD), AcrOutcome::Unmet);
        assert_eq!(
            acr_outcome(&request(&[Acr::EIDAS_SUBSTANTIAL], Level::TwoStep), Assurance { verified: true, ..PWD }),
            AcrOutcome::StepUp
        );
        assert_eq!(acr_outcome(&request(&[Acr::EIDAS_HIGH], Level::TwoStep), VERIFIED), AcrOutcome::Unmet);
        assert_eq!(acr_outcome(&request(&[Acr::PASSWORD], Level::Password), PLUS), met(Acr::PASSWORD));
        assert!(!Acr::Eidas(Eidas::High).satisfied_by(VERIFIED));
    }

    #[test]
    fn the_claims_parameter_asks_for_acr_and_known_claims() {
        let c = parse_claims(
            r#"{"id_token":{"acr":{"essential":true,"values":["http://eidas.europa.eu/LoA/low"]},"email":null,"x":null},
                "userinfo":{"name":{"essential":true}}}"#,
        )
        .unwrap();
        assert!(c.acr_essential);
        assert_eq!(c.acr_values, vec![Acr::EIDAS_LOW.to_owned()]);
        assert_eq!(c.requested.id_token, vec!["email".to_owned()]);
        assert_eq!(c.requested.userinfo, vec!["name".to_owned()]);
        assert!(parse_claims("[]").is_err());
        assert!(parse_claims(r#"{"id_token":[]}"#).is_err());
    }

    #[test]
    fn parameters_given_twice_are_refused() {
        let pairs = vec![("scope".to_owned(), "openid".to_owned()), ("scope".to_owned(), "email".to_owned())];
        assert!(AuthorizeParams::from_pairs(&pairs).is_err());
        let p = AuthorizeParams::from_pairs(&[("ui_locales".into(), "de en-GB".into())]).unwrap();
        assert_eq!(p.ui_language(), Some(Language::En));
    }
}
