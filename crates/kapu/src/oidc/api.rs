//! The endpoints services (and their browser applications) call: discovery,
//! JWKS, /par, /token and /userinfo. Every error is the JSON of RFC 6749
//! §5.2 (or a `WWW-Authenticate` challenge, RFC 6750 §3). CORS answers only
//! origins registered with a service (`kapu admin client add --web-origin`):
//! for discovery and the JWKS any service's, for /token and /userinfo the
//! very service's.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;

use crate::Kapu;
use crate::audit::Actor;
use crate::oidc::authorize::AuthorizeParams;
use crate::oidc::repo::OidcRepo;
use crate::oidc::token::{TokenError, TokenParams};
use crate::web::error::PageError;

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Adds CORS headers for `origin` when it is in `allowed`.
fn with_cors(mut response: Response, origin: Option<&str>, allowed: &[String]) -> Response {
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|o| allowed.iter().any(|a| a == o))
        && let Ok(v) = HeaderValue::from_str(origin)
    {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("WWW-Authenticate"));
    }
    response
}

async fn any_service_origins(kapu: &Kapu, headers: &HeaderMap) -> Vec<String> {
    if origin(headers).is_none() {
        return Vec::new();
    }
    kapu.store.all_web_origins().await.unwrap_or_default()
}

/// The web origins the named service registered, for a request that came
/// with an `Origin` (a browser application).
async fn client_origins(kapu: &Kapu, headers: &HeaderMap, client_id: Option<&str>) -> Vec<String> {
    match (origin(headers), client_id) {
        (Some(_), Some(id)) => kapu.store.client(id).await.ok().flatten().map(|c| c.web_origins).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A CORS preflight: allowed for origins some service registered (the
/// request itself is then checked against its own service's).
pub async fn preflight(State(kapu): State<Arc<Kapu>>, method: Method, headers: HeaderMap) -> Response {
    if method != Method::OPTIONS {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let allowed = any_service_origins(&kapu, &headers).await;
    let mut response = with_cors(StatusCode::NO_CONTENT.into_response(), origin(&headers), &allowed);
    if response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Authorization, Content-Type"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    response
}

pub async fn discovery(State(kapu): State<Arc<Kapu>>, headers: HeaderMap) -> Response {
    let allowed = any_service_origins(&kapu, &headers).await;
    let response = ([(header::CACHE_CONTROL, "public, max-age=300")], Json(kapu.discovery())).into_response();
    with_cors(response, origin(&headers), &allowed)
}

pub async fn jwks(State(kapu): State<Arc<Kapu>>, headers: HeaderMap) -> Result<Response, PageError> {
    let set = kapu.jwks().await.map_err(|e| PageError::Internal(e.to_string()))?;
    let allowed = any_service_origins(&kapu, &headers).await;
    let response = ([(header::CACHE_CONTROL, "public, max-age=300")], Json(set)).into_response();
    Ok(with_cors(response, origin(&headers), &allowed))
}

/// RFC 6749 §5.2: JSON, `no-store`, 401 with a challenge for a client
/// that failed to authenticate.
fn token_error(e: &TokenError) -> Response {
    let status = match e {
        TokenError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        TokenError::Store(crate::store::StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        TokenError::Store(_) | TokenError::Key(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "token endpoint failed");
    } else {
        tracing::info!(error = %e, "token request refused");
    }
    let body = Json(serde_json::json!({ "error": e.code(), "error_description": e.description() }));
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"kapu\""));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// `Authorization: <scheme> <credentials>`, the scheme matched without
/// regard to case (RFC 9110 §11.1).
fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.trim().split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| credentials.trim())
}

/// `client_secret_basic`: RFC 6749 §2.3.1 form-encodes id and secret first.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = authorization(headers, "Basic")?;
    let decoded = String::from_utf8(BASE64.decode(encoded.as_bytes()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}

/// A form body's parameters, each at most once (RFC 6749 §3.2).
fn form_body(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, TokenError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(TokenError::InvalidRequest("the body must be application/x-www-form-urlencoded".into()));
    }
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(TokenError::InvalidRequest(format!("{:?} is given more than once", w[0])));
    }
    Ok(pairs)
}

fn token_params(pairs: &[(String, String)]) -> TokenParams {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    TokenParams {
        grant_type: get("grant_type"),
        code: get("code"),
        redirect_uri: get("redirect_uri"),
        code_verifier: get("code_verifier"),
        client_id: get("client_id"),
        client_secret: get("client_secret"),
        client_assertion_type: get("client_assertion_type"),
        client_assertion: get("client_assertion"),
    }
}

fn actor(peer: std::net::SocketAddr) -> Actor {
    Actor { client_addr: Some(peer.ip().to_string()), user_agent: None }
}

/// `/token`: called by services, not browsers (no CSRF token, no cookies);
/// a browser application of a public client calls it through CORS.
pub async fn token_post(
    State(kapu): State<Arc<Kapu>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match form_body(&headers, &body) {
        Ok(pairs) => token_params(&pairs),
        Err(e) => return token_error(&e),
    };
    let allowed = client_origins(&kapu, &headers, params.client_id.as_deref()).await;
    let response = match kapu.exchange_code(&params, basic_credentials(&headers), &actor(peer)).await {
        Ok(tokens) => {
            ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(tokens)).into_response()
        }
        Err(e) => token_error(&e),
    };
    with_cors(response, origin(&headers), &allowed)
}

/// `/par` (RFC 9126): the service pushes its authorization request.
pub async fn par_post(State(kapu): State<Arc<Kapu>>, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = match form_body(&headers, &body) {
        Ok(pairs) => pairs,
        Err(e) => return token_error(&e),
    };
    // A browser application pushes through CORS, like its token requests.
    let allowed = client_origins(&kapu, &headers, token_params(&pairs).client_id.as_deref()).await;
    let params = match AuthorizeParams::from_pairs(&pairs) {
        Ok(p) => p,
        Err(problem) => {
            return with_cors(token_error(&TokenError::InvalidRequest(problem)), origin(&headers), &allowed);
        }
    };
    let creds = token_params(&pairs).credentials(basic_credentials(&headers));
    let response = match kapu.push_authorization_request(&creds, &params).await {
        Ok((request_uri, expires_in)) => (
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({ "request_uri": request_uri, "expires_in": expires_in })),
        )
            .into_response(),
        Err(e) => token_error(&e),
    };
    with_cors(response, origin(&headers), &allowed)
}

/// `/userinfo` by GET or POST: the access token in the `Authorization`
/// header, or (POST only) as `access_token` in a form body; never both
/// (RFC 6750 §2).
pub async fn userinfo(State(kapu): State<Arc<Kapu>>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let challenge = |error: &'static str| {
        let value = format!("Bearer realm=\"kapu\", error=\"{error}\"");
        let status = if error == "invalid_request" { StatusCode::BAD_REQUEST } else { StatusCode::UNAUTHORIZED };
        (status, [(header::WWW_AUTHENTICATE, value)], "").into_response()
    };
    let from_header = authorization(&headers, "Bearer").map(str::to_owned);
    let from_body = if method == Method::POST && !body.is_empty() {
        match form_body(&headers, &body) {
            Ok(pairs) => pairs.into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v),
            Err(_) => return with_cors(challenge("invalid_request"), origin(&headers), &[]),
        }
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => return with_cors(challenge("invalid_request"), origin(&headers), &[]),
        (Some(t), None) | (None, Some(t)) => t,
        // RFC 6750 §3.1: no token at all gets the bare challenge.
        (None, None) => {
            let response =
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"kapu\"")], "").into_response();
            return with_cors(response, origin(&headers), &[]);
        }
    };
    match kapu.userinfo(&token).await {
        Ok(Some((claims, client_id))) => {
            let allowed = match origin(&headers) {
                Some(_) => {
                    kapu.store.client(&client_id).await.ok().flatten().map(|c| c.web_origins).unwrap_or_default()
                }
                None => Vec::new(),
            };
            let response = ([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response();
            with_cors(response, origin(&headers), &allowed)
        }
        Ok(None) => {
            // The error is readable by any service's application (it tells nothing).
            let allowed = any_service_origins(&kapu, &headers).await;
            with_cors(challenge("invalid_token"), origin(&headers), &allowed)
        }
        Err(e) => {
            tracing::error!(error = %e, "userinfo failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
