//! The provider's browser side: /authorize (GET and POST, with the login
//! pages in between), the way back to the service (a redirect or a
//! form_post), and RP-initiated logout with its confirmation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use crate::Kapu;
use crate::i18n::fill;
use crate::oidc::acting::ActAsError;
use crate::oidc::authorize::{AuthorizeError, AuthorizeNext, AuthorizeParams, respond};
use crate::oidc::logout::{LogoutError, LogoutParams, LogoutPlan};
use crate::oidc::model::Level;
use crate::web::context::{Ctx, clear_session_cookie, lang_cookie};
use crate::web::error::PageError;
use crate::web::form::{redirect, with_cookies, with_status};
use crate::web::templates::{FormPostPage, MessagePage, Page};

use crate::web::error::PageResult;

/// A service's login request shown on the login pages.
pub struct ServiceContext {
    pub token: String,
    pub name: String,
    /// Plain "Ügyfélkapu" is offered only before the cut-off and only to
    /// services that accept it.
    pub password_allowed: bool,
    /// The service's origin: forms on the login pages may end up there.
    pub redirect_origin: String,
    /// The username the service expects (`login_hint`).
    pub login_hint: Option<String>,
}

impl ServiceContext {
    pub async fn load(kapu: &Kapu, token: Option<&str>) -> Result<Option<Self>, PageError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        Ok(kapu.pending_auth_request(token).await?.map(|(client, request)| ServiceContext {
            token: token.to_owned(),
            name: client.name,
            password_allowed: request.required_level == Level::Password,
            redirect_origin: origin_of(&request.redirect_uri),
            login_hint: request.login_hint,
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
    pub fn allow_form_target(&self, response: Response) -> Response {
        allow_form_target(&self.redirect_origin, response)
    }
}

/// A login page, for a service's request or not.
pub fn for_service(service: Option<&ServiceContext>, response: Response) -> Response {
    match service {
        Some(s) => s.allow_form_target(response),
        None => response,
    }
}

fn origin_of(uri: &str) -> String {
    url::Url::parse(uri).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// Lets the page's forms post to (or redirect through to) `origin`.
fn allow_form_target(origin: &str, mut response: Response) -> Response {
    let policy = crate::web::headers::CONTENT_SECURITY_POLICY
        .replace("form-action 'self'", &format!("form-action 'self' {origin}"));
    if let Ok(v) = header::HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// The service context of a login page (`?request=`), if any.
pub async fn service_context(kapu: &Kapu, request: Option<&str>) -> Result<Option<ServiceContext>, PageError> {
    ServiceContext::load(kapu, request).await
}

fn error_page(kapu: &Kapu, ctx: &Ctx, text: &str) -> PageResult {
    let t = ctx.t();
    let page = MessagePage::new(Page::new(kapu, ctx, t.oidc_error_title), t.oidc_error_title, text);
    Ok(with_status(page.render()?, StatusCode::BAD_REQUEST))
}

fn authorize_error(kapu: &Kapu, ctx: &Ctx, e: AuthorizeError) -> PageResult {
    let t = ctx.t();
    match e {
        AuthorizeError::Page("client") => error_page(kapu, ctx, t.oidc_error_client),
        AuthorizeError::Page("request_uri") => error_page(kapu, ctx, t.oidc_error_request_uri),
        AuthorizeError::Page(_) => error_page(kapu, ctx, t.oidc_error_redirect),
        AuthorizeError::Redirect { redirect_uri, response_mode, state, error, description } => {
            let iss = kapu.issuer();
            let mut pairs = vec![("error", error), ("error_description", description.as_str())];
            if let Some(s) = &state {
                pairs.push(("state", s));
            }
            pairs.push(("iss", &iss));
            service_response(kapu, ctx, respond(&redirect_uri, response_mode, pairs))
        }
        AuthorizeError::Store(e) => Err(e.into()),
    }
}

/// The answer that takes the browser back to the service (a redirect, or
/// the form_post page), or on to the login pages.
pub fn service_response(kapu: &Kapu, ctx: &Ctx, next: AuthorizeNext) -> PageResult {
    match next {
        AuthorizeNext::Redirect(url) => Ok(redirect(&url)),
        AuthorizeNext::FormPost { action, fields } => {
            let t = ctx.t();
            let page = FormPostPage { p: Page::new(kapu, ctx, t.form_post_title), action: action.clone(), fields };
            Ok(allow_form_target(&origin_of(&action), page.render()?))
        }
        AuthorizeNext::Login { request_token } => Ok(redirect(&format!("/login?request={request_token}"))),
        AuthorizeNext::Consent { request_token } => {
            Ok(redirect(&format!("/authorize/consent?request={request_token}")))
        }
        AuthorizeNext::ChooseRepresented { request_token } => {
            Ok(redirect(&format!("/authorize/represent?request={request_token}")))
        }
        AuthorizeNext::LevelTooLow { .. } => Err(PageError::BadRequest),
    }
}

fn next_step(kapu: &Kapu, ctx: &Ctx, next: AuthorizeNext, service_name: &str) -> PageResult {
    match next {
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
        other => service_response(kapu, ctx, other),
    }
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// `/authorize` by GET: the start of a service's login.
pub async fn authorize_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, RawQuery(query): RawQuery) -> PageResult {
    authorize(&kapu, &ctx, &pairs(query.unwrap_or_default().as_bytes())).await
}

/// A form a service's site POSTed to kapu, when the browser sent no kapu
/// session with it: the session cookie is `SameSite=Lax`, so a cross-site
/// POST never carries it. The same parameters again by GET (303), a
/// top-level navigation that does carry it, so that a POST means the same
/// as a GET for a citizen who is logged in.
fn again_by_get(path: &str, ctx: &Ctx, body: &[u8]) -> Option<Response> {
    if ctx.session.is_some() {
        return None;
    }
    // A form-encoded body is ASCII, a valid query string as it is.
    let query = std::str::from_utf8(body).ok().filter(|q| q.is_ascii() && !q.is_empty())?;
    Some(redirect(&format!("{path}?{query}")))
}

/// `/authorize` by POST (OIDC Core §3.1.2.1: a form-encoded body).
pub async fn authorize_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, body: Bytes) -> PageResult {
    if let Some(by_get) = again_by_get("/authorize", &ctx, &body) {
        return Ok(by_get);
    }
    authorize(&kapu, &ctx, &pairs(&body)).await
}

async fn authorize(kapu: &Kapu, ctx: &Ctx, pairs: &[(String, String)]) -> PageResult {
    let params = match AuthorizeParams::from_pairs(pairs) {
        Ok(p) => p,
        Err(problem) => return error_page(kapu, ctx, &fill(ctx.t().oidc_error_params, &[("problem", &problem)])),
    };
    let (client, request, params) = match kapu.parse_authorize(&params).await {
        Ok(ok) => ok,
        Err(e) => return authorize_error(kapu, ctx, e),
    };
    // ui_locales: the login pages speak the language the service asked for
    // (the citizen can still switch); a logged-in citizen keeps their own.
    let language = params.ui_language().filter(|_| ctx.session.is_none());
    let prompt_none = params.prompt.as_deref() == Some("none");
    let response = match kapu.authorize(&client, request, ctx.session.as_deref(), prompt_none, &ctx.actor()).await {
        Ok(next) => next_step(kapu, ctx, next, &client.name),
        Err(e) => authorize_error(kapu, ctx, e),
    }?;
    Ok(match language {
        Some(lang) => with_cookies(response, vec![lang_cookie(kapu, lang)]),
        None => response,
    })
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

/// RP-initiated logout by GET.
pub async fn oidc_logout_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, RawQuery(query): RawQuery) -> PageResult {
    let params: LogoutParams = serde_urlencoded_params(query.unwrap_or_default().as_bytes())?;
    rp_logout(&kapu, &ctx, &params).await
}

/// RP-initiated logout by POST (a form on the service's site).
pub async fn oidc_logout_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, body: Bytes) -> PageResult {
    if let Some(by_get) = again_by_get("/logout/oidc", &ctx, &body) {
        return Ok(by_get);
    }
    let params: LogoutParams = serde_urlencoded_params(&body)?;
    rp_logout(&kapu, &ctx, &params).await
}

fn serde_urlencoded_params(raw: &[u8]) -> Result<LogoutParams, PageError> {
    let mut p = LogoutParams::default();
    for (name, value) in pairs(raw) {
        let field = match name.as_str() {
            "id_token_hint" => &mut p.id_token_hint,
            "client_id" => &mut p.client_id,
            "post_logout_redirect_uri" => &mut p.post_logout_redirect_uri,
            "state" => &mut p.state,
            "ui_locales" => &mut p.ui_locales,
            _ => continue,
        };
        if field.replace(value).is_some() {
            return Err(PageError::BadRequest);
        }
    }
    Ok(p)
}

async fn rp_logout(kapu: &Kapu, ctx: &Ctx, params: &LogoutParams) -> PageResult {
    let plan = match kapu.plan_logout(params, ctx.session.as_deref()).await {
        Ok(Ok(plan)) => plan,
        Ok(Err(LogoutError::UnregisteredRedirect | LogoutError::ClientMismatch)) => {
            return error_page(kapu, ctx, ctx.t().oidc_error_redirect);
        }
        Err(e) => return Err(PageError::Internal(e.to_string())),
    };
    if ctx.session.is_none() {
        // ui_locales, as at /authorize: the service's language for someone
        // not logged in (a logged-in citizen keeps their own).
        let lang = crate::oidc::authorize::ui_language(params.ui_locales.as_deref()).unwrap_or(ctx.lang);
        let ctx = &Ctx { lang, ..ctx.clone() };
        let t = ctx.t();
        // Nothing to end: back to the service, or say so.
        return match &plan.redirect {
            Some(url) => Ok(redirect(url)),
            None => Ok(MessagePage::new(
                Page::new(kapu, ctx, t.oidc_logout_title),
                t.oidc_logout_title,
                t.oidc_logout_not_logged_in,
            )
            .link("/login", t.login_title)
            .render()?),
        };
    }
    let t = ctx.t();
    if plan.proven {
        return end_and_leave(kapu, ctx, &plan).await;
    }
    let question = match &plan.client {
        Some(c) => fill(t.oidc_logout_confirm_service, &[("service", &c.name)]),
        None => t.oidc_logout_confirm.to_owned(),
    };
    let client_id = plan.client.as_ref().map(|c| c.client_id.as_str()).unwrap_or_default();
    let mut page = MessagePage::new(Page::new(kapu, ctx, t.oidc_logout_title), t.oidc_logout_title, question);
    page.paragraphs.push(t.oidc_logout_why.to_owned());
    let page = page
        .button_with(
            "/logout/oidc/confirm",
            t.menu_logout,
            &[
                ("client_id", client_id),
                ("post_logout_redirect_uri", params.post_logout_redirect_uri.as_deref().unwrap_or_default()),
                ("state", params.state.as_deref().unwrap_or_default()),
            ],
        )
        .link("/", t.oidc_logout_cancel);
    // The confirmation redirects to the service: `form-action` must allow it.
    Ok(match &plan.redirect {
        Some(uri) => allow_form_target(&origin_of(uri), page.render()?),
        None => page.render()?,
    })
}

#[derive(Deserialize)]
pub struct LogoutConfirmForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    post_logout_redirect_uri: String,
    #[serde(default)]
    state: String,
}

/// "Kijelentkezés" on the confirmation page (a kapu form, CSRF-checked).
pub async fn oidc_logout_confirm_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    axum::Form(form): axum::Form<LogoutConfirmForm>,
) -> PageResult {
    let params = LogoutParams {
        client_id: Some(form.client_id).filter(|s| !s.is_empty()),
        post_logout_redirect_uri: Some(form.post_logout_redirect_uri).filter(|s| !s.is_empty()),
        state: Some(form.state).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let plan = match kapu.plan_logout(&params, ctx.session.as_deref()).await {
        Ok(Ok(plan)) => plan,
        Ok(Err(_)) => return error_page(&kapu, &ctx, ctx.t().oidc_error_redirect),
        Err(e) => return Err(PageError::Internal(e.to_string())),
    };
    end_and_leave(&kapu, &ctx, &plan).await
}

async fn end_and_leave(kapu: &Kapu, ctx: &Ctx, plan: &LogoutPlan) -> PageResult {
    if let (Some(token), Some(session)) = (&ctx.session_token, &ctx.session) {
        kapu.logout(token, &session.account, &ctx.actor()).await?;
    }
    let target = plan.redirect.clone().unwrap_or_else(|| "/login?msg=logged_out".to_owned());
    Ok(with_cookies(redirect(&target), vec![clear_session_cookie(kapu)]))
}

/// The label of an identity claim, in the page's language.
pub fn claim_label(t: &crate::i18n::Texts, claim: &str) -> String {
    match claim {
        "family_name" => t.identity_family_name,
        "given_name" => t.identity_given_name,
        "birthdate" => t.identity_birth_date,
        "birth_family_name" => t.identity_birth_family_name,
        "birth_given_name" => t.identity_birth_given_name,
        "mother_birth_name" => t.identity_mother_birth_name,
        "place_of_birth" => t.identity_place_of_birth,
        other => other,
    }
    .to_owned()
}

/// "A(z) X szolgáltatás a következő adatait kapja meg: ...": allow or refuse.
pub async fn consent_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<RequestQuery>) -> PageResult {
    let session = ctx.require_session()?;
    let token = q.request.unwrap_or_default();
    let Some((client, redirect_uri, claims)) = kapu.consent_request(&token, session).await? else {
        return error_page(&kapu, &ctx, ctx.t().oidc_request_expired);
    };
    if claims.is_empty() {
        // Nothing (left) to agree to: on to the service.
        return Ok(redirect(&format!("/authorize/continue?request={token}")));
    }
    let t = ctx.t();
    let mut page = MessagePage::new(
        Page::new(&kapu, &ctx, t.consent_title),
        t.consent_title,
        fill(t.consent_text, &[("service", &client.name)]),
    )
    .button_with("/authorize/consent", t.consent_allow, &[("request", &token), ("decision", "allow")])
    .secondary_button("/authorize/consent", t.consent_deny, &[("request", &token), ("decision", "deny")]);
    page.items = claims.iter().map(|c| claim_label(t, c)).collect();
    page.paragraphs.push(t.consent_note.to_owned());
    // Both buttons end at the service: its origin may be a form's target.
    Ok(allow_form_target(&origin_of(&redirect_uri), page.render()?))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

pub async fn consent_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    crate::web::form::Form(form): crate::web::form::Form<ConsentForm>,
) -> PageResult {
    let session = ctx.require_session()?;
    let name = kapu.pending_auth_request(&form.request).await?.map(|(c, _)| c.name).unwrap_or_default();
    let next = match form.decision.as_str() {
        "allow" => kapu.grant_consent(&form.request, session, &ctx.actor()).await,
        "deny" => kapu.refuse_consent(&form.request, session, &ctx.actor()).await.map_err(AuthorizeError::Store),
        _ => return Err(PageError::BadRequest),
    };
    match next {
        Ok(Some(next)) => next_step(&kapu, &ctx, next, &name),
        Ok(None) => error_page(&kapu, &ctx, ctx.t().oidc_request_expired),
        Err(e) => authorize_error(&kapu, &ctx, e),
    }
}

/// "Kinek a nevében jár el?": myself, or a principal whose delegation is
/// usable at this service (each with the matters).
pub async fn represent_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<RequestQuery>) -> PageResult {
    let session = ctx.require_session()?;
    let token = q.request.unwrap_or_default();
    let Some((client, redirect_uri, principals)) = kapu.represent_request(&token, session).await? else {
        return error_page(&kapu, &ctx, ctx.t().oidc_request_expired);
    };
    let t = ctx.t();
    let mut page = MessagePage::new(
        Page::new(&kapu, &ctx, t.represent_title),
        t.represent_title,
        fill(t.represent_text, &[("service", &client.name)]),
    )
    .button_with("/authorize/represent", t.represent_myself, &[("request", &token), ("principal", "")]);
    for p in &principals {
        let matters: Vec<String> = p.matters.iter().map(|m| kapu.matter_label(m, ctx.lang)).collect();
        let label = fill(t.represent_for, &[("name", &p.name), ("matters", &matters.join(", "))]);
        page = page.secondary_button(
            "/authorize/represent",
            &label,
            &[("request", &token), ("principal", &p.account_id.0)],
        );
    }
    page.paragraphs.push(t.represent_note.to_owned());
    // Every choice ends at the service: its origin may be a form's target.
    Ok(allow_form_target(&origin_of(&redirect_uri), page.render()?))
}

#[derive(Deserialize)]
pub struct RepresentForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    principal: String,
}

pub async fn represent_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    crate::web::form::Form(form): crate::web::form::Form<RepresentForm>,
) -> PageResult {
    let session = ctx.require_session()?;
    let name = kapu.pending_auth_request(&form.request).await?.map(|(c, _)| c.name).unwrap_or_default();
    match kapu.act_as(&form.request, session, &form.principal, &ctx.actor()).await {
        Ok(Some(next)) => next_step(&kapu, &ctx, next, &name),
        Ok(None) => error_page(&kapu, &ctx, ctx.t().oidc_request_expired),
        Err(ActAsError::NotUsable) => {
            let t = ctx.t();
            let page = MessagePage::new(Page::new(&kapu, &ctx, t.represent_title), t.represent_title, t.represent_gone)
                .link(&format!("/authorize/represent?request={}", form.request), t.represent_again);
            Ok(with_status(page.render()?, StatusCode::CONFLICT))
        }
        Err(ActAsError::Authorize(e)) => authorize_error(&kapu, &ctx, e),
    }
}

/// "Szolgáltatások": which service receives which data, since when.
pub async fn services_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<MessageQuery>) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let consents = kapu.consents(&session.account).await?;
    let notice = (q.msg.as_deref() == Some("withdrawn")).then(|| t.services_withdrawn.to_owned());
    let rows = consents
        .iter()
        .map(|c| crate::web::templates::ServiceRow {
            client_id: c.client_id.clone(),
            name: c.service_name.clone(),
            data: c.claims.iter().map(|claim| claim_label(t, claim)).collect::<Vec<_>>().join(", "),
            granted: kapu.format_time(c.granted_at),
            last_used: kapu.format_time(c.last_used_at),
        })
        .collect();
    let page =
        crate::web::templates::ServicesPage { p: Page::new(&kapu, &ctx, t.menu_services).with_notice(notice), rows };
    Ok(crate::web::templates::html(&page)?)
}

#[derive(Deserialize)]
pub struct MessageQuery {
    #[serde(default)]
    msg: Option<String>,
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    client_id: String,
}

pub async fn services_withdraw_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    crate::web::form::Form(form): crate::web::form::Form<WithdrawForm>,
) -> PageResult {
    let session = ctx.require_session()?;
    match kapu.withdraw_consent(&session.account, &form.client_id, &ctx.actor()).await? {
        Some(_) => Ok(redirect("/services?msg=withdrawn")),
        None => Ok(redirect("/services")),
    }
}
