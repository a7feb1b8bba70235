//! The provider's HTTP side: discovery, JWKS, /authorize (with the login
//! pages in between), /token, /userinfo and RP-initiated logout.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use serde::Deserialize;

use crate::Kapu;
use crate::audit::Actor;
use crate::i18n::fill;
use crate::oidc::model::Level;
use crate::oidc::service::{AuthorizeError, AuthorizeNext, AuthorizeParams, TokenError, TokenParams};
use crate::web::context::{Ctx, clear_session_cookie};
use crate::web::error::PageError;
use crate::web::form::{redirect, with_cookies, with_status};
use crate::web::templates::{MessagePage, Page};

type PageResult = Result<Response, PageError>;

/// A service's login request shown on the login pages.
pub struct ServiceContext {
    pub token: String,
    pub name: String,
    /// Plain "Ügyfélkapu" is offered only before the cut-off and only to
    /// services that accept it.
    pub password_allowed: bool,
    /// The service's origin: forms on the login pages may end up there.
    pub redirect_origin: String,
}

impl ServiceContext {
    pub async fn load(kapu: &Kapu, token: Option<&str>) -> Result<Option<Self>, PageError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        Ok(kapu.pending_auth_request(token).await?.map(|(client, request)| ServiceContext {
            token: token.to_owned(),
            name: client.name,
            password_allowed: request.required_level == Level::Password,
            redirect_origin: url::Url::parse(&request.redirect_uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
        }))
    }

    pub fn query(&self) -> String {
        format!("?request={}", self.token)
    }

    /// The lines the login page shows about the service.
    pub fn describe(&self, ctx: &Ctx) -> Vec<String> {
        let t = ctx.t();
        let mut methods = vec![t.method_plus];
        if self.password_allowed {
            methods.push(t.method_plain);
        }
        vec![
            fill(t.service_asks, &[("service", &self.name)]),
            fill(t.service_methods, &[("methods", &methods.join("; "))]),
        ]
    }

    pub fn continue_url(&self) -> String {
        format!("/authorize/continue?request={}", self.token)
    }

    /// A login page for a service: its forms lead, through redirects, to the
    /// service, which `form-action` must allow (browsers check the whole chain).
    pub fn allow_form_target(&self, mut response: Response) -> Response {
        let policy = crate::web::headers::CONTENT_SECURITY_POLICY
            .replace("form-action 'self'", &format!("form-action 'self' {}", self.redirect_origin));
        if let Ok(v) = header::HeaderValue::from_str(&policy) {
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        response
    }
}

/// The service context of a login page (`?request=`), if any.
pub async fn service_context(kapu: &Kapu, request: Option<&str>) -> Result<Option<ServiceContext>, PageError> {
    ServiceContext::load(kapu, request).await
}

pub async fn discovery(State(kapu): State<Arc<Kapu>>) -> Response {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(kapu.discovery())).into_response()
}

pub async fn jwks(State(kapu): State<Arc<Kapu>>) -> Result<Response, PageError> {
    let set = kapu.jwks().await.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(set)).into_response())
}

fn error_page(kapu: &Kapu, ctx: &Ctx, text: &str) -> PageResult {
    let t = ctx.t();
    let page = MessagePage::new(Page::new(kapu, ctx, t.oidc_error_title), t.oidc_error_title, text);
    Ok(with_status(page.render()?, StatusCode::BAD_REQUEST))
}

fn authorize_error(kapu: &Kapu, ctx: &Ctx, e: AuthorizeError) -> PageResult {
    match e {
        AuthorizeError::Page("client") => error_page(kapu, ctx, ctx.t().oidc_error_client),
        AuthorizeError::Page(_) => error_page(kapu, ctx, ctx.t().oidc_error_redirect),
        AuthorizeError::Redirect { redirect_uri, state, error, description } => {
            let iss = kapu.issuer();
            let mut pairs = vec![("error", error), ("error_description", description.as_str())];
            if let Some(s) = &state {
                pairs.push(("state", s));
            }
            pairs.push(("iss", &iss));
            let mut url = url::Url::parse(&redirect_uri).map_err(|_| PageError::BadRequest)?;
            url.query_pairs_mut().extend_pairs(pairs);
            Ok(redirect(url.as_str()))
        }
        AuthorizeError::Store(e) => Err(e.into()),
    }
}

fn next_step(kapu: &Kapu, ctx: &Ctx, next: AuthorizeNext, service_name: &str) -> PageResult {
    match next {
        AuthorizeNext::Redirect(url) => Ok(redirect(&url)),
        AuthorizeNext::Login { request_token } => Ok(redirect(&format!("/login?request={request_token}"))),
        AuthorizeNext::LevelTooLow { request_token } => {
            let t = ctx.t();
            let page = MessagePage::new(
                Page::new(kapu, ctx, t.level_too_low_title),
                t.level_too_low_title,
                fill(t.level_too_low, &[("service", service_name)]),
            )
            .link("/plus", t.menu_plus)
            .link(&format!("/login/cancel?request={request_token}"), t.back_to_service);
            Ok(with_status(page.render()?, StatusCode::FORBIDDEN))
        }
    }
}

/// `/authorize`: the start of a service's login.
pub async fn authorize_get(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Query(params): Query<AuthorizeParams>,
) -> PageResult {
    let (client, request) = match kapu.parse_authorize(&params).await {
        Ok(ok) => ok,
        Err(e) => return authorize_error(&kapu, &ctx, e),
    };
    let prompt_none = params.prompt.as_deref() == Some("none");
    let session = ctx.session.as_deref();
    match kapu.authorize(&client, request, session, prompt_none, &ctx.actor()).await {
        Ok(next) => next_step(&kapu, &ctx, next, &client.name),
        Err(e) => authorize_error(&kapu, &ctx, e),
    }
}

#[derive(Deserialize, Default)]
pub struct RequestQuery {
    #[serde(default)]
    pub request: Option<String>,
}

/// After the login pages: back into the service's request.
pub async fn authorize_continue_get(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Query(q): Query<RequestQuery>,
) -> PageResult {
    let token = q.request.unwrap_or_default();
    let name = kapu.pending_auth_request(&token).await?.map(|(c, _)| c.name).unwrap_or_default();
    match kapu.resume_authorize(&token, ctx.session.as_deref(), &ctx.actor()).await {
        Ok(Some(next)) => next_step(&kapu, &ctx, next, &name),
        Ok(None) => error_page(&kapu, &ctx, ctx.t().oidc_request_expired),
        Err(e) => authorize_error(&kapu, &ctx, e),
    }
}

fn token_error(e: TokenError) -> Response {
    let status = match &e {
        TokenError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        TokenError::Store(_) | TokenError::Key(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "token endpoint failed");
    } else {
        tracing::info!(error = %e, "token request refused");
    }
    let description = match &e {
        TokenError::InvalidRequest(m) | TokenError::InvalidClient(m) | TokenError::InvalidGrant(m) => m.clone(),
        _ => String::new(),
    };
    let body = Json(serde_json::json!({ "error": e.code(), "error_description": description }));
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"kapu\""));
    }
    response
}

/// `client_secret_basic`: RFC 6749 §2.3.1 form-encodes id and secret first.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(BASE64.decode(encoded.trim().as_bytes()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}

/// `/token`: called by services, not browsers (no CSRF token, no cookies).
pub async fn token_post(
    State(kapu): State<Arc<Kapu>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    axum::Form(params): axum::Form<TokenParams>,
) -> Response {
    let actor = Actor { client_addr: Some(peer.ip().to_string()), user_agent: None };
    match kapu.exchange_code(&params, basic_credentials(&headers), &actor).await {
        Ok(tokens) => {
            ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(tokens)).into_response()
        }
        Err(e) => token_error(e),
    }
}

pub async fn userinfo(State(kapu): State<Arc<Kapu>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let unauthorized = || {
        (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")], "").into_response()
    };
    let Some(token) = token else { return unauthorized() };
    match kapu.userinfo(token).await {
        Ok(Some(claims)) => ([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response(),
        Ok(None) => unauthorized(),
        Err(e) => {
            tracing::error!(error = %e, "userinfo failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Deserialize, Default)]
pub struct LogoutQuery {
    #[serde(default)]
    id_token_hint: Option<String>,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// RP-initiated logout. With a valid `id_token_hint` the session ends at
/// once and the browser returns to a registered post-logout URI; without
/// one, the user is asked first (a link alone must not log anyone out).
pub async fn oidc_logout_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<LogoutQuery>) -> PageResult {
    let client = match q.id_token_hint.as_deref() {
        Some(hint) => kapu.id_token_client(hint).await.map_err(|e| PageError::Internal(e.to_string()))?,
        None => None,
    };
    let Some(client) = client else {
        let t = ctx.t();
        let page =
            MessagePage::new(Page::new(&kapu, &ctx, t.oidc_logout_title), t.oidc_logout_title, t.oidc_logout_confirm);
        let page = if ctx.session.is_some() {
            page.button("/logout", t.menu_logout)
        } else {
            page.link("/login", t.login_title)
        };
        return Ok(page.render()?);
    };
    if let Some(token) = &ctx.session_token {
        kapu.end_session(token).await?;
    }
    let target = match q.post_logout_redirect_uri.as_deref() {
        Some(uri) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            let mut url = url::Url::parse(uri).map_err(|_| PageError::BadRequest)?;
            if let Some(state) = &q.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            url.to_string()
        }
        Some(_) => return error_page(&kapu, &ctx, ctx.t().oidc_error_redirect),
        None => "/login?msg=logged_out".to_owned(),
    };
    Ok(with_cookies(redirect(&target), vec![clear_session_cookie(&kapu)]))
}
