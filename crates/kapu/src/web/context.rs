//! What every page request carries: language, CSRF token, session, client
//! address. Built once per request by [`page_context`], which also enforces
//! CSRF on every POST, renders error pages in the page's language and sets
//! the cookies.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use data_encoding::BASE64URL_NOPAD;

use crate::Kapu;
use crate::accounts::model::Language;
use crate::audit::Actor;
use crate::crypto::{constant_time_eq, random_token};
use crate::i18n::{self, Texts};
use crate::sessions::model::ActiveSession;
use crate::web::error::{ErrorPage, PageError};

pub const SESSION_COOKIE: &str = "kapu_session";
pub const CSRF_COOKIE: &str = "kapu_csrf";
pub const LANG_COOKIE: &str = "kapu_lang";
/// Password right, code to come: the half-finished login's token.
pub const PENDING_COOKIE: &str = "kapu_pending";
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: Language,
    pub csrf_token: String,
    pub session: Option<Arc<ActiveSession>>,
    /// The cookie token of the live session (to end it, or keep it on a password change).
    pub session_token: Option<String>,
    /// A session cookie came with the request but its session has ended.
    pub session_expired: bool,
    /// A password-only session after one-step login ended: it may only set
    /// up Ügyfélkapu+, change the password or log out.
    pub restricted: bool,
    pub client_addr: Option<String>,
    /// The `User-Agent` header, printable ASCII only, at most 200 characters.
    pub user_agent: Option<String>,
    pub path: String,
}

impl Ctx {
    pub fn t(&self) -> &'static Texts {
        i18n::texts(self.lang)
    }

    pub fn actor(&self) -> Actor {
        Actor { client_addr: self.client_addr.clone(), user_agent: self.user_agent.clone() }
    }

    /// The session, for pages a restricted (password-only, after the
    /// cut-off) session may not see.
    pub fn require_session(&self) -> Result<&ActiveSession, PageError> {
        if self.restricted {
            return Err(PageError::Restricted);
        }
        self.require_any_session()
    }

    /// The session, also a restricted one: for setting up Ügyfélkapu+ and
    /// changing the password.
    pub fn require_any_session(&self) -> Result<&ActiveSession, PageError> {
        self.session.as_deref().ok_or(PageError::LoginRequired { expired: self.session_expired })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Ctx>().cloned().ok_or_else(|| PageError::Internal("page context missing".into()))
    }
}

/// Cookie changes a handler asks for (login, logout, language switch).
#[derive(Clone, Debug, Default)]
pub struct CookieUpdates(pub Vec<String>);

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A cookie's name: with `__Host-` in front when cookies are `Secure` (an
/// https public URL), so that no subdomain or plain-http page can set or
/// shadow it (RFC 6265bis §4.1.3.2).
pub fn cookie_name(kapu: &Kapu, base: &'static str) -> std::borrow::Cow<'static, str> {
    if kapu.config.secure_cookies() { format!("__Host-{base}").into() } else { base.into() }
}

fn build_cookie(kapu: &Kapu, name: &'static str, value: String, max_age: Option<i64>) -> String {
    let mut c = Cookie::build((cookie_name(kapu, name), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(kapu.config.secure_cookies());
    if let Some(seconds) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(seconds));
    }
    c.build().to_string()
}

pub fn session_cookie(kapu: &Kapu, token: &str) -> String {
    // No max-age: the server decides when the session ends, and the browser
    // forgets the cookie when it closes.
    build_cookie(kapu, SESSION_COOKIE, token.to_owned(), None)
}

pub fn clear_session_cookie(kapu: &Kapu) -> String {
    build_cookie(kapu, SESSION_COOKIE, String::new(), Some(0))
}

pub fn pending_cookie(kapu: &Kapu, token: &str) -> String {
    build_cookie(kapu, PENDING_COOKIE, token.to_owned(), Some(kapu.config.two_step.pending_login_seconds))
}

pub fn clear_pending_cookie(kapu: &Kapu) -> String {
    build_cookie(kapu, PENDING_COOKIE, String::new(), Some(0))
}

pub fn lang_cookie(kapu: &Kapu, lang: Language) -> String {
    build_cookie(kapu, LANG_COOKIE, lang.code().to_owned(), Some(365 * 24 * 3600))
}

/// The CSRF token for forms: an HMAC of the browser's random CSRF cookie, so
/// a forged form from another site cannot know it.
pub fn csrf_token_for(kapu: &Kapu, csrf_cookie: &str) -> String {
    BASE64URL_NOPAD.encode(&kapu.csrf_key.mac(csrf_cookie.as_bytes()))
}

fn client_addr(kapu: &Kapu, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<String> {
    if kapu.config.server.trust_forwarded_for {
        // The last entry of the last header line: the one our proxy added.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip().to_string())
}

fn submitted_csrf(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(v) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.to_owned());
    }
    form_urlencoded::parse(body).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned())
}

/// The page middleware: see the module doc.
/// Pages that services' sites POST to (OIDC Core §3.1.2.1, RP-Initiated
/// Logout §2): no CSRF token can come with them, and they change nothing a
/// GET of the same page could not (a logout without proof asks first).
const CROSS_SITE_POSTS: [&str; 2] = ["/authorize", "/logout/oidc"];

pub async fn page_context(State(kapu): State<Arc<Kapu>>, request: Request<Body>, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let headers = request.headers().clone();
    let mut set_cookies = Vec::new();

    let csrf_cookie = match cookie_value(&headers, &cookie_name(&kapu, CSRF_COOKIE)) {
        Some(v) if v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            v.to_owned()
        }
        _ => {
            let fresh = random_token();
            set_cookies.push(build_cookie(&kapu, CSRF_COOKIE, fresh.clone(), None));
            fresh
        }
    };
    let csrf_token = csrf_token_for(&kapu, &csrf_cookie);

    let mut session = None;
    let mut session_token = None;
    let mut session_expired = false;
    if let Some(token) = cookie_value(&headers, &cookie_name(&kapu, SESSION_COOKIE)).filter(|t| !t.is_empty()) {
        match kapu.resume_session(token).await {
            Ok(Some(s)) => {
                session = Some(Arc::new(s));
                session_token = Some(token.to_owned());
            }
            Ok(None) => {
                session_expired = true;
                set_cookies.push(clear_session_cookie(&kapu));
            }
            Err(e) => {
                return finish(&kapu, Language::Hu, PageError::from(e).into_response(), set_cookies);
            }
        }
    }
    let lang = session
        .as_ref()
        .map(|s| s.account.language)
        .or_else(|| cookie_value(&headers, &cookie_name(&kapu, LANG_COOKIE)).and_then(Language::parse))
        .unwrap_or_default();

    let (mut parts, body) = request.into_parts();
    let body = if parts.method == Method::POST {
        let read = axum::body::to_bytes(body, kapu.config.server.max_body_bytes);
        let timeout = std::time::Duration::from_secs(kapu.config.server.body_timeout_seconds);
        let bytes = match tokio::time::timeout(timeout, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => {
                return finish(&kapu, lang, PageError::TooLarge.into_response(), set_cookies);
            }
            Err(_) => {
                kapu.metrics.refused("body_timeout");
                return finish(&kapu, lang, PageError::TooSlow.into_response(), set_cookies);
            }
        };
        let ok = CROSS_SITE_POSTS.contains(&parts.uri.path())
            || submitted_csrf(&parts.headers, &bytes)
                .is_some_and(|sent| constant_time_eq(sent.as_bytes(), csrf_token.as_bytes()));
        if !ok {
            // Not the path: emailed-link paths carry single-use tokens.
            tracing::warn!(method = %parts.method, "CSRF check failed");
            return finish(&kapu, lang, PageError::Csrf.into_response(), set_cookies);
        }
        Body::from(bytes)
    } else {
        body
    };

    let restricted = session
        .as_ref()
        .is_some_and(|s| !s.record.auth_methods.has_code() && !s.two_step_active && kapu.one_step_login_ended());
    let ctx = Ctx {
        restricted,
        lang,
        csrf_token,
        session,
        session_token,
        session_expired,
        client_addr: client_addr(&kapu, &headers, peer),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| (' '..='~').contains(c)).take(200).collect::<String>())
            .filter(|v| !v.is_empty()),
        path: parts.uri.path().to_owned(),
    };
    parts.extensions.insert(ctx);
    let response = next.run(Request::from_parts(parts, body)).await;
    finish(&kapu, lang, response, set_cookies)
}

/// Renders an error marker into a page, and adds the cookies.
fn finish(kapu: &Kapu, lang: Language, mut response: Response, mut set_cookies: Vec<String>) -> Response {
    if let Some(updates) = response.extensions_mut().remove::<CookieUpdates>() {
        // A handler's cookie (e.g. a new session at login) wins over ours.
        set_cookies.retain(|c| !updates.0.iter().any(|u| u.split('=').next() == c.split('=').next()));
        set_cookies.extend(updates.0);
    }
    if let Some(error) = response.extensions_mut().remove::<ErrorPage>() {
        let status = response.status();
        let kept: Vec<_> = [header::RETRY_AFTER, header::CONNECTION]
            .into_iter()
            .filter_map(|name| response.headers().get(&name).cloned().map(|v| (name, v)))
            .collect();
        response = crate::web::templates::render_error(kapu, lang, &error);
        *response.status_mut() = status;
        for (name, value) in kept {
            response.headers_mut().insert(name, value);
        }
    }
    for c in set_cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; kapu_session=abc; b=2"));
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&h, "missing"), None);
    }

    #[test]
    fn csrf_comes_from_header_or_form() {
        let mut h = HeaderMap::new();
        assert_eq!(submitted_csrf(&h, b"a=1&csrf=xyz").as_deref(), Some("xyz"));
        assert_eq!(submitted_csrf(&h, b"a=%FF%FE&csrf=xyz").as_deref(), Some("xyz"));
        h.insert(CSRF_HEADER, HeaderValue::from_static("hdr"));
        assert_eq!(submitted_csrf(&h, b"").as_deref(), Some("hdr"));
    }
}
