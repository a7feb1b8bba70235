//! The account pages: thin handlers that parse the form, call a use case and
//! pick the page or redirect. Named `<page>_<method>`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::Kapu;
use crate::accounts::model::Language;
use crate::accounts::service::{AccountError, Field, LoginError, NewSession, RegistrationInput};
use crate::clock::UnixTime;
use crate::i18n::fill;
use crate::oidc::pages::{ServiceContext, for_service, service_context};
use crate::passwords::Password;
use crate::twostep::service::LoginStep;
use crate::web::context::{
    Ctx, clear_pending_cookie, clear_session_cookie, lang_cookie, pending_cookie, session_cookie,
};
use crate::web::error::PageError;
use crate::web::form::{Form, redirect, with_cookies, with_status};
use crate::web::templates::{FieldView, FormPage, HomePage, LinkView, MessagePage, Page, SelectOption, html};

use crate::web::error::PageResult;

#[derive(Deserialize, Default)]
pub struct MessageQuery {
    #[serde(default)]
    msg: Option<String>,
    /// A service's login request in progress (OpenID Connect).
    #[serde(default)]
    request: Option<String>,
}

/// The login page's notice and whether it only informs (not a success).
fn login_notice(ctx: &Ctx, msg: Option<&str>) -> Option<(String, bool)> {
    let t = ctx.t();
    let (text, info) = match msg? {
        "expired" => (t.session_expired, true),
        "required" => (t.login_required, true),
        "logged_out" => (t.logged_out, false),
        "cancelled" => (t.cancelled, true),
        "confirmed" => (t.confirmed_text, false),
        "reset" => (t.reset_done, false),
        "deleted" => (t.deleted_text, false),
        "pending_expired" => (t.pending_expired, true),
        "lost_done" => (t.lost_done, false),
        "unlocked" => (t.unlock_done, false),
        _ => return None,
    };
    Some((text.to_owned(), info))
}

fn login_form(
    kapu: &Kapu,
    ctx: &Ctx,
    username: &str,
    notice: Option<(String, bool)>,
    service: Option<&ServiceContext>,
) -> FormPage {
    let t = ctx.t();
    let p = match notice {
        Some((text, true)) => Page::new(kapu, ctx, t.login_title).with_info(Some(text)),
        other => Page::new(kapu, ctx, t.login_title).with_notice(other.map(|(text, _)| text)),
    };
    // Focus where the typing starts: the password when the name is filled in.
    let (name, password) = (
        FieldView::text(Field::Username, t.username, "username", username, 256),
        FieldView::password(Field::Password, t.password, "current-password"),
    );
    let fields = if username.is_empty() { vec![name.focus(), password] } else { vec![name, password.focus()] };
    let query = service.map(ServiceContext::query).unwrap_or_default();
    let mut page = FormPage::new(p, t.login_title, &format!("/login{query}"), t.login_button, fields);
    for line in service.map(|s| s.describe(ctx)).unwrap_or_default() {
        page = page.intro(line);
    }
    page.links(vec![
        LinkView::new(&format!("/login/cancel{query}"), t.login_cancel),
        LinkView::new("/register", t.login_register),
        LinkView::new("/password/forgot", t.login_forgot),
        LinkView::new("/login/lost", t.code_lost_phone),
    ])
}

pub async fn home_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let welcome = fill(t.portal_welcome, &[("name", session.account.full_name.as_str())]);
    let last_login = match kapu.previous_login(&session.account.id, session.record.created_at).await? {
        Some(l) => fill(
            t.portal_last_login,
            &[("time", &kapu.format_time(l.at)), ("address", l.client_addr.as_deref().unwrap_or("–"))],
        ),
        None => t.home_first_login.to_owned(),
    };
    let (plus_state, deadline, next) = match kapu.two_step_credential(&session.account).await? {
        Some(c) => (
            fill(t.home_plus_on, &[("time", &kapu.format_time(c.enabled_at))]),
            None,
            LinkView::new(&kapu.config.links.case_handling_url, t.home_done_next),
        ),
        None => (
            t.home_plus_off.to_owned(),
            kapu.config
                .two_step
                .legacy_login_until
                .as_deref()
                .map(|date| fill(t.home_plus_deadline, &[("date", date)])),
            LinkView::new("/plus", t.home_plus_next),
        ),
    };
    let page = HomePage {
        p: Page::new(&kapu, &ctx, t.portal_title),
        welcome,
        last_login,
        plus_state,
        deadline,
        next_external: next.href.starts_with("http"),
        next,
    };
    Ok(html(&page)?)
}

pub async fn login_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<MessageQuery>) -> PageResult {
    let service = service_context(&kapu, q.request.as_deref()).await?;
    // A service may ask for a fresh login inside a live session.
    if ctx.session.is_some() && service.is_none() {
        return Ok(redirect("/"));
    }
    let notice = login_notice(&ctx, q.msg.as_deref());
    let hint = service.as_ref().and_then(|s| s.login_hint.as_deref()).unwrap_or_default();
    let page = login_form(&kapu, &ctx, hint, notice, service.as_ref()).render()?;
    Ok(for_service(service.as_ref(), page))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Query(q): Query<MessageQuery>,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let t = ctx.t();
    let service = service_context(&kapu, q.request.as_deref()).await?;
    let password = Password::new(form.password);
    let (status, message) = match kapu.login(&form.username, &password, &ctx.actor()).await {
        Ok(LoginStep::Done(new)) => {
            let next = service.as_ref().map_or_else(|| "/".to_owned(), ServiceContext::continue_url);
            return logged_in(&kapu, &ctx, &new, &next).await;
        }
        Ok(LoginStep::CodeNeeded { pending_token }) => {
            let query = service.as_ref().map(ServiceContext::query).unwrap_or_default();
            let to = format!("/login/code{query}");
            return Ok(with_cookies(redirect(&to), vec![pending_cookie(&kapu, &pending_token)]));
        }
        Err(LoginError::InvalidCredentials { blocked_until: None }) => {
            (StatusCode::UNAUTHORIZED, t.login_invalid.to_owned())
        }
        Err(LoginError::InvalidCredentials { blocked_until: Some(until) }) | Err(LoginError::Blocked { until }) => {
            let msg = format!("{} {}", t.login_invalid, fill(t.login_blocked, &[("time", &kapu.format_time(until))]));
            (StatusCode::TOO_MANY_REQUESTS, msg)
        }
        Err(LoginError::NotConfirmed) => (StatusCode::FORBIDDEN, t.login_not_confirmed.to_owned()),
        Err(LoginError::Form(errors)) => {
            let page = login_form(&kapu, &ctx, &form.username, None, service.as_ref()).field_errors(&errors);
            return Ok(for_service(service.as_ref(), with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY)));
        }
        Err(e) => return Err(e.into()),
    };
    let page = login_form(&kapu, &ctx, &form.username, None, service.as_ref()).page_error("username", message);
    Ok(for_service(service.as_ref(), with_status(page.render()?, status)))
}

/// A finished login: the old session (if any) ends, a new one starts with a
/// new id; the language follows the account.
pub(crate) async fn logged_in(kapu: &Kapu, ctx: &Ctx, new: &NewSession, next: &str) -> PageResult {
    if let Some(old) = &ctx.session_token {
        kapu.end_session(old).await?;
    }
    let cookies =
        vec![session_cookie(kapu, &new.token), lang_cookie(kapu, new.account.language), clear_pending_cookie(kapu)];
    Ok(with_cookies(redirect(next), cookies))
}

pub async fn login_cancel_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<MessageQuery>) -> PageResult {
    // Cancelling a service's request: back to it, told the user cancelled.
    if let Some(token) = q.request.as_deref()
        && let Some(next) = kapu.cancel_authorize(token).await?
    {
        let response = crate::oidc::pages::service_response(&kapu, &ctx, next)?;
        return Ok(with_cookies(response, vec![clear_pending_cookie(&kapu)]));
    }
    let t = ctx.t();
    let page = MessagePage::new(Page::new(&kapu, &ctx, t.login_cancel), t.login_cancel, t.cancelled)
        .link("/login", t.login_title);
    Ok(with_cookies(page.render()?, vec![clear_pending_cookie(&kapu)]))
}

pub async fn logout_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    if let (Some(token), Some(session)) = (&ctx.session_token, &ctx.session) {
        kapu.logout(token, &session.account, &ctx.actor()).await?;
    }
    Ok(with_cookies(redirect("/login?msg=logged_out"), vec![clear_session_cookie(&kapu), clear_pending_cookie(&kapu)]))
}

#[derive(Deserialize)]
pub struct LangForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

/// The HU | EN switch: remembered in a cookie, and on the account when logged in.
pub async fn lang_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<LangForm>) -> PageResult {
    let lang = Language::parse(&form.lang).ok_or(PageError::BadForm)?;
    if let Some(session) = &ctx.session {
        kapu.set_language(&session.account, lang).await?;
    }
    Ok(with_cookies(redirect(local_path(&form.next)?), vec![lang_cookie(&kapu, lang)]))
}

/// Where the language switch goes back to: only a path of kapu's own (the
/// switch must not become an open redirect); control characters are a bad
/// request, not a broken redirect.
fn local_path(next: &str) -> Result<&str, PageError> {
    if next.chars().any(char::is_control) {
        return Err(PageError::BadRequest);
    }
    let own = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() <= 512;
    Ok(if own { next } else { "/" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_returns_only_to_kapus_own_paths() {
        assert_eq!(local_path("/plus/setup?manual=1").ok(), Some("/plus/setup?manual=1"));
        for elsewhere in ["https://evil.example/", "//evil.example", "/\\evil.example", "evil", ""] {
            assert_eq!(local_path(elsewhere).ok(), Some("/"), "{elsewhere:?}");
        }
        assert!(matches!(local_path("/a\r\nSet-Cookie: x=1"), Err(PageError::BadRequest)));
        assert!(matches!(local_path("/a\u{0}"), Err(PageError::BadRequest)));
    }
}

fn registration_form(kapu: &Kapu, ctx: &Ctx, values: &RegisterForm) -> FormPage {
    let t = ctx.t();
    let min = kapu.config.password_policy.min_len.to_string();
    let fields = vec![
        FieldView::text(Field::Username, t.username, "username", &values.username, 256)
            .hint(t.username_hint.to_owned()),
        FieldView::text(Field::FullName, t.full_name, "name", &values.full_name, 1024),
        FieldView::text(Field::Email, t.email, "email", &values.email, 1024).kind("email"),
        FieldView::password(Field::Password, t.password, "new-password").hint(fill(t.password_hint, &[("min", &min)])),
        FieldView::password(Field::PasswordAgain, t.password_again, "new-password"),
    ];
    FormPage::new(Page::new(kapu, ctx, t.register_title), t.register_title, "/register", t.register_button, fields)
        .links(vec![LinkView::new("/login", t.login_title)])
}

pub async fn register_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    Ok(registration_form(&kapu, &ctx, &RegisterForm::default()).render()?)
}

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

pub async fn register_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<RegisterForm>) -> PageResult {
    let t = ctx.t();
    let input = RegistrationInput {
        username: form.username.clone(),
        full_name: form.full_name.clone(),
        email: form.email.clone(),
        password: Password::new(form.password.clone()),
        password_again: Password::new(form.password_again.clone()),
        language: ctx.lang,
    };
    match kapu.register(input, &ctx.actor()).await {
        Ok(()) => {
            let hours = ((kapu.config.email_links.registration_ttl_seconds + 3599) / 3600).to_string();
            let text = fill(t.register_sent_text, &[("hours", &hours)]);
            Ok(registration_sent(&kapu, &ctx, text, &form.username, &form.email).render()?)
        }
        Err(AccountError::Form(errors)) => {
            let page = registration_form(&kapu, &ctx, &form).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(AccountError::RateLimited { until }) => rate_limited(&kapu, &ctx, until),
        Err(e) => Err(e.into()),
    }
}

/// "Check your mailbox", with "Nem kaptam meg a levelet" beside it.
fn registration_sent(kapu: &Kapu, ctx: &Ctx, text: String, username: &str, email: &str) -> MessagePage {
    let t = ctx.t();
    let mut page = MessagePage::new(Page::new(kapu, ctx, t.register_sent_title), t.register_sent_title, text)
        .secondary_button("/register/resend", t.mail_not_received, &[("username", username), ("email", email)]);
    page.paragraphs.push(t.mail_not_received_hint.to_owned());
    page
}

/// Too many registrations, resets or address changes from this address.
fn rate_limited(kapu: &Kapu, ctx: &Ctx, until: UnixTime) -> PageResult {
    let t = ctx.t();
    let text = fill(t.rate_limited, &[("time", &kapu.format_time(until))]);
    let page = MessagePage::new(Page::new(kapu, ctx, t.error_title), t.error_title, text).link("/login", t.login_title);
    let mut response = with_status(page.render()?, StatusCode::TOO_MANY_REQUESTS);
    let wait = (until - kapu.now()).max(1).to_string();
    if let Ok(v) = axum::http::HeaderValue::from_str(&wait) {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct ResendRegistrationForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
}

/// "Nem kaptam meg a levelet" after registering: the same answer whatever
/// the name and address were.
pub async fn register_resend_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Form(form): Form<ResendRegistrationForm>,
) -> PageResult {
    match kapu.resend_registration_link(&form.username, &form.email, &ctx.actor()).await {
        Ok(()) => {
            let t = ctx.t();
            Ok(registration_sent(&kapu, &ctx, t.mail_sent_again.to_owned(), &form.username, &form.email).render()?)
        }
        Err(AccountError::RateLimited { until }) => rate_limited(&kapu, &ctx, until),
        Err(e) => Err(e.into()),
    }
}

fn link_invalid_page(kapu: &Kapu, ctx: &Ctx) -> PageResult {
    let t = ctx.t();
    let page = MessagePage::new(Page::new(kapu, ctx, t.error_title), t.error_title, t.link_invalid)
        .link("/login", t.login_title);
    Ok(with_status(page.render()?, StatusCode::GONE))
}

/// The emailed link shows a button rather than acting on GET: mail scanners
/// open links, and must not use up a single-use link.
pub async fn register_confirm_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    if !kapu.registration_link_is_valid(&token).await? {
        return link_invalid_page(&kapu, &ctx);
    }
    let t = ctx.t();
    let page = MessagePage::new(Page::new(&kapu, &ctx, t.confirm_title), t.confirm_title, t.confirm_text)
        .button(&format!("/register/confirm/{token}"), t.confirm_button);
    Ok(page.render()?)
}

pub async fn register_confirm_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    match kapu.confirm_registration(&token, &ctx.actor()).await {
        Ok(_) => Ok(redirect("/login?msg=confirmed")),
        Err(AccountError::LinkInvalid) => link_invalid_page(&kapu, &ctx),
        Err(e) => Err(e.into()),
    }
}

fn forgot_form(kapu: &Kapu, ctx: &Ctx) -> FormPage {
    let t = ctx.t();
    let fields = vec![FieldView::text(Field::Username, t.username, "username", "", 256).focus()];
    FormPage::new(Page::new(kapu, ctx, t.forgot_title), t.forgot_title, "/password/forgot", t.forgot_button, fields)
        .intro(t.forgot_text)
        .links(vec![LinkView::new("/login", t.login_title)])
}

pub async fn forgot_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    Ok(forgot_form(&kapu, &ctx).render()?)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    username: String,
    /// The name again, for "send it again" (the spawned task takes `username`).
    #[serde(skip)]
    username_kept: String,
}

pub async fn forgot_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(mut form): Form<ForgotForm>) -> PageResult {
    let t = ctx.t();
    form.username_kept = form.username.clone();
    // The lookup and the mail happen after the answer: the page and its
    // timing are the same whether the name exists or not.
    let worker = Arc::clone(&kapu);
    let actor = ctx.actor();
    tokio::spawn(async move {
        if let Err(e) = worker.request_password_reset(&form.username, &actor).await {
            tracing::warn!(error = %e, "password reset request failed");
        }
    });
    let minutes = (kapu.config.email_links.password_reset_ttl_seconds / 60).to_string();
    let text = fill(t.forgot_sent, &[("minutes", &minutes)]);
    let username = form.username_kept;
    let mut page = MessagePage::new(Page::new(&kapu, &ctx, t.forgot_title), t.forgot_title, text)
        .secondary_button("/password/forgot", t.mail_not_received, &[("username", &username)])
        .link("/login", t.login_title);
    page.paragraphs.push(t.mail_not_received_hint.to_owned());
    Ok(page.render()?)
}

fn reset_form(kapu: &Kapu, ctx: &Ctx, token: &str) -> FormPage {
    let t = ctx.t();
    let min = kapu.config.password_policy.min_len.to_string();
    let fields = vec![
        FieldView::password(Field::Password, t.new_password, "new-password")
            .hint(fill(t.password_hint, &[("min", &min)])),
        FieldView::password(Field::PasswordAgain, t.new_password_again, "new-password"),
    ];
    FormPage::new(
        Page::new(kapu, ctx, t.reset_title),
        t.reset_title,
        &format!("/password/reset/{token}"),
        t.reset_button,
        fields,
    )
}

pub async fn reset_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    if !kapu.password_reset_link_is_valid(&token).await? {
        return link_invalid_page(&kapu, &ctx);
    }
    Ok(reset_form(&kapu, &ctx, &token).render()?)
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

pub async fn reset_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<NewPasswordForm>,
) -> PageResult {
    let (password, again) = (Password::new(form.password), Password::new(form.password_again));
    match kapu.reset_password(&token, &password, &again, &ctx.actor()).await {
        Ok(_) => Ok(with_cookies(redirect("/login?msg=reset"), vec![clear_session_cookie(&kapu)])),
        Err(AccountError::Form(errors)) => {
            let page = reset_form(&kapu, &ctx, &token).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(AccountError::LinkInvalid) => link_invalid_page(&kapu, &ctx),
        Err(e) => Err(e.into()),
    }
}

fn change_password_form(kapu: &Kapu, ctx: &Ctx, notice: Option<String>) -> FormPage {
    let t = ctx.t();
    let min = kapu.config.password_policy.min_len.to_string();
    let fields = vec![
        FieldView::password(Field::CurrentPassword, t.current_password, "current-password"),
        FieldView::password(Field::Password, t.new_password, "new-password")
            .hint(fill(t.password_hint, &[("min", &min)])),
        FieldView::password(Field::PasswordAgain, t.new_password_again, "new-password"),
    ];
    let p = Page::new(kapu, ctx, t.change_password_title).with_notice(notice);
    FormPage::new(p, t.change_password_title, "/password/change", t.change_password_button, fields)
}

pub async fn change_password_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<MessageQuery>) -> PageResult {
    ctx.require_any_session()?;
    let notice = (q.msg.as_deref() == Some("changed")).then(|| ctx.t().password_changed.to_owned());
    Ok(change_password_form(&kapu, &ctx, notice).render()?)
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

pub async fn change_password_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Form(form): Form<ChangePasswordForm>,
) -> PageResult {
    let session = ctx.require_any_session()?;
    let (current, password, again) =
        (Password::new(form.current_password), Password::new(form.password), Password::new(form.password_again));
    match kapu.change_password(&session.account, &session.record, &current, &password, &again, &ctx.actor()).await {
        // Every other session ended; this one goes on under a new id.
        Ok(token) => Ok(with_cookies(redirect("/password/change?msg=changed"), vec![session_cookie(&kapu, &token)])),
        Err(AccountError::Form(errors)) => {
            let page = change_password_form(&kapu, &ctx, None).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(AccountError::Blocked { until }) => {
            let message = fill(ctx.t().login_blocked, &[("time", &kapu.format_time(until))]);
            let page = change_password_form(&kapu, &ctx, None).page_error("current_password", message);
            Ok(with_status(page.render()?, StatusCode::TOO_MANY_REQUESTS))
        }
        Err(e) => Err(e.into()),
    }
}

fn registration_data_form(kapu: &Kapu, ctx: &Ctx, full_name: &str, email: &str, notice: Option<String>) -> FormPage {
    let t = ctx.t();
    let username = ctx.session.as_ref().map(|s| s.account.username.to_string()).unwrap_or_default();
    let fields = vec![
        FieldView::text(Field::FullName, t.full_name, "name", full_name, 1024),
        FieldView::text(Field::Email, t.email, "email", email, 1024).kind("email").hint(t.data_email_note.to_owned()),
    ];
    let p = Page::new(kapu, ctx, t.data_title).with_notice(notice);
    FormPage::new(p, t.data_title, "/account", t.save, fields).intro(format!("{}: {}", t.username, username))
}

pub async fn registration_data_get(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Query(q): Query<MessageQuery>,
) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let notice = match q.msg.as_deref() {
        Some("saved") => Some(t.data_saved.to_owned()),
        Some("email_confirmed") => Some(t.email_confirmed.to_owned()),
        Some("identity_bound") => Some(t.identity_bound.to_owned()),
        _ => None,
    };
    let a = &session.account;
    let page = registration_data_form(&kapu, &ctx, a.full_name.as_str(), a.email.as_str(), notice);
    let mut page = crate::identity::pages::with_identity(&kapu, &ctx, page).await?;
    if let Some(pending) = kapu.pending_email_change(a).await? {
        page = page.intro(fill(t.data_email_pending, &[("email", pending.as_str())]));
        page.links.push(LinkView::new("/account/email/resend", t.mail_not_received));
    }
    Ok(page.render()?)
}

/// "Nem kaptam meg a levelet" for a new address: what it does, and the button.
pub async fn email_resend_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let Some(pending) = kapu.pending_email_change(&session.account).await? else {
        return Ok(redirect("/account"));
    };
    let text = fill(t.data_email_pending, &[("email", pending.as_str())]);
    let mut page = MessagePage::new(Page::new(&kapu, &ctx, t.data_title), t.mail_not_received, text)
        .button("/account/email/resend", t.mail_not_received)
        .link("/account", t.data_title);
    page.paragraphs.push(t.mail_not_received_hint.to_owned());
    Ok(page.render()?)
}

pub async fn email_resend_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_session()?;
    match kapu.resend_email_change_link(&session.account, &ctx.actor()).await {
        Ok(()) => Ok(redirect("/account?msg=email_pending")),
        Err(AccountError::RateLimited { until }) => rate_limited(&kapu, &ctx, until),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RegistrationDataForm {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
}

pub async fn registration_data_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Form(form): Form<RegistrationDataForm>,
) -> PageResult {
    let session = ctx.require_session()?;
    match kapu.update_registration_data(&session.account, &form.full_name, &form.email, &ctx.actor()).await {
        Ok(change) => match change.email_pending {
            Some(_) => Ok(redirect("/account?msg=email_pending")),
            None => Ok(redirect("/account?msg=saved")),
        },
        Err(AccountError::Form(errors)) => {
            let page = registration_data_form(&kapu, &ctx, &form.full_name, &form.email, None).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(AccountError::RateLimited { until }) => rate_limited(&kapu, &ctx, until),
        Err(e) => Err(e.into()),
    }
}

pub async fn email_confirm_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    if !kapu.email_change_link_is_valid(&token).await? {
        return link_invalid_page(&kapu, &ctx);
    }
    let t = ctx.t();
    let page =
        MessagePage::new(Page::new(&kapu, &ctx, t.email_confirm_title), t.email_confirm_title, t.email_confirm_text)
            .button(&format!("/account/email/confirm/{token}"), t.email_confirm_button);
    Ok(page.render()?)
}

pub async fn email_confirm_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    match kapu.confirm_email_change(&token, &ctx.actor()).await {
        Ok(_) if ctx.session.is_some() => Ok(redirect("/account?msg=email_confirmed")),
        Ok(_) => {
            let t = ctx.t();
            let page = MessagePage::new(
                Page::new(&kapu, &ctx, t.email_confirm_title),
                t.email_confirm_title,
                t.email_confirmed,
            )
            .link("/login", t.login_title);
            Ok(page.render()?)
        }
        Err(AccountError::LinkInvalid) => link_invalid_page(&kapu, &ctx),
        Err(e) => Err(e.into()),
    }
}

fn settings_form(kapu: &Kapu, ctx: &Ctx, language: Language, notify: bool, notice: Option<String>) -> FormPage {
    let t = ctx.t();
    let mut lang = FieldView::input(Field::Username, "select", t.language_label, "off");
    lang.id = "language";
    lang.required = false;
    lang.options = vec![
        SelectOption { value: "hu".into(), label: t.language_hu.into(), selected: language == Language::Hu },
        SelectOption { value: "en".into(), label: t.language_en.into(), selected: language == Language::En },
    ];
    let mut notify_box = FieldView::checkbox(Field::Confirm, t.notify_logins_label, notify, false);
    notify_box.id = "notify_logins";
    let p = Page::new(kapu, ctx, t.settings_title).with_notice(notice);
    FormPage::new(p, t.settings_title, "/settings", t.save, vec![lang, notify_box])
}

pub async fn settings_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<MessageQuery>) -> PageResult {
    let session = ctx.require_session()?;
    let notice = (q.msg.as_deref() == Some("saved")).then(|| ctx.t().settings_saved.to_owned());
    let a = &session.account;
    Ok(settings_form(&kapu, &ctx, a.language, a.notify_logins, notice).render()?)
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    notify_logins: Option<String>,
}

pub async fn settings_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<SettingsForm>) -> PageResult {
    let session = ctx.require_session()?;
    let language = Language::parse(&form.language).ok_or(PageError::BadForm)?;
    kapu.update_settings(&session.account, language, form.notify_logins.is_some(), &ctx.actor()).await?;
    Ok(with_cookies(redirect("/settings?msg=saved"), vec![lang_cookie(&kapu, language)]))
}

fn delete_form(kapu: &Kapu, ctx: &Ctx) -> FormPage {
    let t = ctx.t();
    let fields = vec![
        FieldView::password(Field::Password, t.password, "current-password"),
        FieldView::checkbox(Field::Confirm, t.delete_confirm_label, false, true),
    ];
    FormPage::new(Page::new(kapu, ctx, t.delete_title), t.delete_title, "/account/delete", t.delete_button, fields)
        .intro(t.delete_warning)
}

pub async fn delete_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    ctx.require_session()?;
    Ok(delete_form(&kapu, &ctx).render()?)
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn delete_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<DeleteForm>) -> PageResult {
    let session = ctx.require_session()?;
    let password = Password::new(form.password);
    match kapu.delete_account(&session.account, &password, form.confirm.is_some(), &ctx.actor()).await {
        Ok(()) => Ok(with_cookies(redirect("/login?msg=deleted"), vec![clear_session_cookie(&kapu)])),
        Err(AccountError::Form(errors)) => {
            let page = delete_form(&kapu, &ctx).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(AccountError::Blocked { until }) => {
            let message = fill(ctx.t().login_blocked, &[("time", &kapu.format_time(until))]);
            let page = delete_form(&kapu, &ctx).page_error("password", message);
            Ok(with_status(page.render()?, StatusCode::TOO_MANY_REQUESTS))
        }
        Err(e) => Err(e.into()),
    }
}
