//! Ügyfélkapu+ pages: set-up ("Ügyfélkapu+ igénylése"), the code step of a
//! login, a lost phone, a device change and unlocking.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Kapu;
use crate::accounts::pages::logged_in;
use crate::accounts::service::{Field, FormErrors};
use crate::i18n::{fill, problem_text};
use crate::oidc::pages::{RequestQuery, ServiceContext, for_service, service_context};
use crate::passwords::Password;
use crate::twostep::model::EnrolmentPurpose;
use crate::twostep::service::{Finished, TwoStepError};
use crate::web::context::{
    Ctx, PENDING_COOKIE, clear_pending_cookie, clear_session_cookie, cookie_name, cookie_value, session_cookie,
};
use crate::web::error::PageError;
use crate::web::form::{Form, redirect, with_cookies, with_status};
use crate::web::templates::{
    ErrorItem, FieldView, FormPage, LinkView, MessagePage, Page, PlusPage, PlusRevocationPage, PlusSetupPage, html,
};

use crate::web::error::PageResult;

impl From<TwoStepError> for PageError {
    fn from(e: TwoStepError) -> Self {
        match e {
            TwoStepError::Busy => PageError::Busy,
            TwoStepError::Store(e) => e.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct PlusQuery {
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    manual: Option<String>,
}

/// "Ügyfélkapu+ igénylése": which apps to install, and the way on; once
/// active, its state.
pub async fn plus_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<PlusQuery>) -> PageResult {
    let session = ctx.require_any_session()?;
    let t = ctx.t();
    let notice = match q.msg.as_deref() {
        Some("restricted") => {
            let date = kapu.config.two_step.legacy_login_until.clone().unwrap_or_default();
            Some(fill(t.restricted, &[("date", &date)]))
        }
        Some("setup_expired") => Some(t.setup_expired.to_owned()),
        _ => None,
    };
    if kapu.current_enrolment(&session.account).await?.is_some_and(|e| e.awaiting_since.is_some()) {
        return Ok(redirect("/plus/waiting"));
    }
    if let Some(credential) = kapu.two_step_credential(&session.account).await? {
        let text = fill(t.plus_active, &[("time", &kapu.format_time(credential.enabled_at))]);
        let page = MessagePage::new(Page::new(&kapu, &ctx, t.plus_title).with_info(notice), t.plus_title, text)
            .link("/plus/device", t.menu_plus_device);
        return Ok(page.render()?);
    }
    Ok(html(&PlusPage { p: Page::new(&kapu, &ctx, t.plus_title).with_info(notice) })?)
}

pub async fn plus_start_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_any_session()?;
    match kapu.start_enrolment(&session.account, EnrolmentPurpose::Setup).await {
        Ok(()) => Ok(redirect("/plus/setup")),
        Err(TwoStepError::AlreadyActive) => Ok(redirect("/plus")),
        Err(e) => Err(e.into()),
    }
}

async fn setup_page(kapu: &Kapu, ctx: &Ctx, manual: bool, errors: &FormErrors) -> PageResult {
    let session = ctx.require_any_session()?;
    let view = match kapu.enrolment_view(&session.account).await {
        Ok(v) => v,
        Err(TwoStepError::NoEnrolment) => return Ok(redirect("/plus?msg=setup_expired")),
        Err(e) => return Err(e.into()),
    };
    if view.confirmed {
        return Ok(redirect("/plus/revocation"));
    }
    let t = ctx.t();
    let (heading, intro) = match view.purpose {
        EnrolmentPurpose::Setup => (t.plus_title, t.setup_intro),
        EnrolmentPurpose::DeviceChange => (t.device_title, t.setup_device_intro),
    };
    let message = |field| errors.for_field(field).map(|p| problem_text(t, p));
    let page = PlusSetupPage {
        p: Page::new(kapu, ctx, heading),
        heading: heading.to_owned(),
        intro: intro.to_owned(),
        manual,
        key_grouped: view.key_grouped,
        errors: errors.0.iter().map(|(f, p)| ErrorItem { id: f.id(), message: problem_text(t, p) }).collect(),
        password_error: message(Field::Password),
        code_error: message(Field::Code),
    };
    Ok(html(&page)?)
}

pub async fn plus_setup_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<PlusQuery>) -> PageResult {
    setup_page(&kapu, &ctx, q.manual.as_deref() == Some("1"), &FormErrors::default()).await
}

/// The QR code of the set-up in progress (never cached: it carries the key).
pub async fn plus_setup_qr_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_any_session()?;
    let view = match kapu.enrolment_view(&session.account).await {
        Ok(v) => v,
        Err(TwoStepError::NoEnrolment) => return Err(PageError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let svg = super::qr::svg(&view.uri)
        .ok_or_else(|| PageError::Internal("the otpauth URI does not fit a QR code".into()))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")], svg).into_response())
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    manual: String,
}

/// "Új kódot kérek".
pub async fn plus_setup_new_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<NewKeyForm>) -> PageResult {
    let session = ctx.require_any_session()?;
    match kapu.renew_enrolment_key(&session.account).await {
        Ok(()) => Ok(redirect(if form.manual == "1" { "/plus/setup?manual=1#step1" } else { "/plus/setup#step1" })),
        Err(TwoStepError::NoEnrolment) => Ok(redirect("/plus?msg=setup_expired")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// "Tovább": password and code; says which was wrong.
pub async fn plus_setup_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<ConfirmForm>) -> PageResult {
    let session = ctx.require_any_session()?;
    match kapu.confirm_enrolment(&session.account, &Password::new(form.password), &form.code, &ctx.actor()).await {
        Ok(_) => Ok(redirect("/plus/revocation")),
        Err(TwoStepError::Form(errors)) => {
            Ok(with_status(setup_page(&kapu, &ctx, false, &errors).await?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(TwoStepError::PasswordBlocked { .. }) => {
            let mut errors = FormErrors::default();
            errors.add(Field::Password, crate::accounts::service::Problem::TooManyAttempts);
            Ok(with_status(setup_page(&kapu, &ctx, false, &errors).await?, StatusCode::TOO_MANY_REQUESTS))
        }
        Err(TwoStepError::NoEnrolment) => Ok(redirect("/plus?msg=setup_expired")),
        Err(e) => Err(e.into()),
    }
}

/// "Mégsem": the set-up is dropped; nothing about the account changed.
pub async fn plus_cancel_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_any_session()?;
    kapu.cancel_enrolment(&session.account).await?;
    Ok(redirect("/plus"))
}

async fn revocation_page(kapu: &Kapu, ctx: &Ctx, error: Option<String>) -> PageResult {
    let session = ctx.require_any_session()?;
    let Some(code) = kapu.pending_revocation_code(&session.account).await? else {
        return Ok(redirect("/plus"));
    };
    let page = PlusRevocationPage { p: Page::new(kapu, ctx, ctx.t().revocation_title), code: code.grouped(), error };
    Ok(html(&page)?)
}

pub async fn plus_revocation_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    revocation_page(&kapu, &ctx, None).await
}

/// "Törlőkód mentése": the code as a text file.
pub async fn plus_revocation_txt_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_any_session()?;
    let Some(code) = kapu.pending_revocation_code(&session.account).await? else {
        return Err(PageError::NotFound);
    };
    let text = fill(
        ctx.t().revocation_file_text,
        &[("username", session.account.username.as_str()), ("code", &code.grouped())],
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"ugyfelkapu-torlokod.txt\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct FinishForm {
    #[serde(default)]
    saved: Option<String>,
}

/// "Befejezés", only with the box ticked (checked here, not only in the browser).
pub async fn plus_finish_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<FinishForm>) -> PageResult {
    let session = ctx.require_any_session()?;
    match kapu.finish_enrolment(&session.account, &session.record, form.saved.is_some(), &ctx.actor()).await {
        // Every other session ended; this browser's got a new id.
        Ok(Finished::Active { purpose, session_token }) => {
            let to = if purpose == EnrolmentPurpose::DeviceChange { "/plus/done?device=1" } else { "/plus/done" };
            Ok(with_cookies(redirect(to), vec![session_cookie(&kapu, &session_token)]))
        }
        Ok(Finished::AwaitingMail) => Ok(redirect("/plus/waiting")),
        Err(TwoStepError::Form(errors)) => {
            let message = errors.0.first().map(|(_, p)| problem_text(ctx.t(), p));
            Ok(with_status(revocation_page(&kapu, &ctx, message).await?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(TwoStepError::NoEnrolment) => Ok(redirect("/plus?msg=setup_expired")),
        Err(e) => Err(e.into()),
    }
}

/// After the end of one-step login, a set-up finished with a password alone
/// waits for the mailed link: say so, and offer to send it again.
pub async fn plus_waiting_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_any_session()?;
    let t = ctx.t();
    let waiting = kapu.current_enrolment(&session.account).await?.is_some_and(|e| e.awaiting_since.is_some());
    if !waiting {
        return Ok(redirect("/plus"));
    }
    let text = fill(t.plus_waiting_text, &[("email", session.account.email.as_str())]);
    let mut page = MessagePage::new(Page::new(&kapu, &ctx, t.plus_waiting_title), t.plus_waiting_title, text)
        .secondary_button("/plus/activate/resend", t.mail_not_received, &[]);
    page.paragraphs.push(t.mail_not_received_hint.to_owned());
    Ok(page.render()?)
}

pub async fn plus_activate_resend_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_any_session()?;
    match kapu.resend_activation_link(&session.account, &ctx.actor()).await {
        Ok(()) | Err(TwoStepError::NoEnrolment) => Ok(redirect("/plus/waiting")),
        Err(e) => Err(e.into()),
    }
}

/// The mailed activation link: what is being turned on, and the choice.
pub async fn plus_activate_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let Some(account) = kapu.activation_link_account(&token).await? else { return link_invalid(&kapu, &ctx) };
    let t = ctx.t();
    let text = fill(t.plus_activate_text, &[("username", account.username.as_str())]);
    let page = MessagePage::new(Page::new(&kapu, &ctx, t.plus_activate_title), t.plus_activate_title, text)
        .button(&format!("/plus/activate/{token}"), t.plus_activate_button)
        .secondary_button(&format!("/plus/activate/{token}"), t.plus_activate_refuse, &[("refuse", "yes")]);
    Ok(page.render()?)
}

#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    refuse: Option<String>,
}

pub async fn plus_activate_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<ActivateForm>,
) -> PageResult {
    let accept = form.refuse.is_none();
    let t = ctx.t();
    match kapu.answer_activation_link(&token, accept, &ctx.actor()).await {
        Ok(_) if accept => {
            // Every session ended: the next login asks for a code.
            let page = MessagePage::new(Page::new(&kapu, &ctx, t.plus_done_title), t.plus_done_title, t.plus_done_text)
                .link("/login", t.login_title);
            Ok(with_cookies(page.render()?, vec![clear_session_cookie(&kapu)]))
        }
        Ok(_) => {
            let page = MessagePage::new(
                Page::new(&kapu, &ctx, t.plus_activate_title),
                t.plus_activate_title,
                t.plus_refused_text,
            )
            .link("/password/forgot", t.forgot_title);
            Ok(page.render()?)
        }
        Err(TwoStepError::LinkInvalid | TwoStepError::NoEnrolment) => link_invalid(&kapu, &ctx),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    device: Option<String>,
}

pub async fn plus_done_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<DoneQuery>) -> PageResult {
    ctx.require_any_session()?;
    let t = ctx.t();
    let text = if q.device.is_some() { t.plus_device_done_text } else { t.plus_done_text };
    Ok(MessagePage::new(Page::new(&kapu, &ctx, t.plus_done_title), t.plus_done_title, text)
        .link("/", t.back_home)
        .render()?)
}

fn device_form(kapu: &Kapu, ctx: &Ctx) -> FormPage {
    let t = ctx.t();
    let fields = vec![
        FieldView::password(Field::Password, t.setup_password, "current-password"),
        FieldView::code(Field::Code, t.setup_code).hint(t.setup_code_hint.to_owned()),
    ];
    FormPage::new(Page::new(kapu, ctx, t.device_title), t.device_title, "/plus/device", t.setup_continue, fields)
        .intro(t.device_intro)
}

pub async fn device_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_session()?;
    if !session.two_step_active {
        return Ok(redirect("/plus"));
    }
    Ok(device_form(&kapu, &ctx).render()?)
}

/// Password and the current device's code, then the set-up steps with a new key.
pub async fn device_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<ConfirmForm>) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let result =
        kapu.begin_device_change(&session.account, &Password::new(form.password), &form.code, &ctx.actor()).await;
    let page = device_form(&kapu, &ctx);
    let (status, page) = match result {
        Ok(()) => return Ok(redirect("/plus/setup")),
        Err(TwoStepError::NotActive) => return Ok(redirect("/plus")),
        Err(TwoStepError::Form(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, page.field_errors(&errors)),
        Err(TwoStepError::CodeBlocked { until }) => (
            StatusCode::TOO_MANY_REQUESTS,
            page.page_error("code", fill(t.code_blocked, &[("time", &kapu.format_time(until))])),
        ),
        Err(TwoStepError::CodeLocked) => {
            (StatusCode::TOO_MANY_REQUESTS, page.page_error("code", t.code_locked.to_owned()))
        }
        Err(TwoStepError::PasswordBlocked { until }) => (
            StatusCode::TOO_MANY_REQUESTS,
            page.page_error("password", fill(t.login_blocked, &[("time", &kapu.format_time(until))])),
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(with_status(page.render()?, status))
}

fn code_form(kapu: &Kapu, ctx: &Ctx, service: Option<&ServiceContext>) -> FormPage {
    let t = ctx.t();
    let query = service.map(ServiceContext::query).unwrap_or_default();
    let fields = vec![FieldView::code(Field::Code, t.code_label).focus()];
    let mut page = FormPage::new(
        Page::new(kapu, ctx, t.code_title),
        t.code_title,
        &format!("/login/code{query}"),
        t.login_button,
        fields,
    );
    if let Some(s) = service {
        page = page.intro(s.describe(ctx).remove(0));
    }
    page.intro(t.code_intro).intro(fill(t.server_time, &[("time", &kapu.format_time(kapu.now()))])).links(vec![
        LinkView::new("/login/lost", t.code_lost_phone),
        LinkView::new(&format!("/login/cancel{query}"), t.login_cancel),
    ])
}

fn pending_token<'a>(kapu: &Kapu, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie_value(headers, &cookie_name(kapu, PENDING_COOKIE)).filter(|t| !t.is_empty())
}

fn pending_expired(kapu: &Kapu) -> Response {
    with_cookies(redirect("/login?msg=pending_expired"), vec![clear_pending_cookie(kapu)])
}

/// The code page after a correct password. It shows the server's time, so a
/// user whose phone clock is wrong can see it.
pub async fn login_code_get(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<RequestQuery>,
) -> PageResult {
    let Some(token) = pending_token(&kapu, &headers) else { return Ok(pending_expired(&kapu)) };
    if !kapu.pending_login_is_open(token).await? {
        return Ok(pending_expired(&kapu));
    }
    let service = service_context(&kapu, q.request.as_deref()).await?;
    Ok(for_service(service.as_ref(), code_form(&kapu, &ctx, service.as_ref()).render()?))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn login_code_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<RequestQuery>,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let Some(token) = pending_token(&kapu, &headers) else { return Ok(pending_expired(&kapu)) };
    let t = ctx.t();
    let service = service_context(&kapu, q.request.as_deref()).await?;
    let page = code_form(&kapu, &ctx, service.as_ref());
    let (status, page) = match kapu.verify_login_code(token, &form.code, &ctx.actor()).await {
        Ok(new) => {
            let next = service.as_ref().map_or_else(|| "/".to_owned(), ServiceContext::continue_url);
            return logged_in(&kapu, &ctx, &new, &next).await;
        }
        Err(TwoStepError::PendingExpired) => return Ok(pending_expired(&kapu)),
        Err(TwoStepError::Form(errors)) => (StatusCode::UNAUTHORIZED, page.field_errors(&errors)),
        Err(TwoStepError::CodeBlocked { until }) => {
            let msg = format!("{} {}", t.code_wrong, fill(t.code_blocked, &[("time", &kapu.format_time(until))]));
            (StatusCode::TOO_MANY_REQUESTS, page.page_error("code", msg))
        }
        Err(TwoStepError::CodeLocked) => {
            (StatusCode::TOO_MANY_REQUESTS, page.page_error("code", t.code_locked.to_owned()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(for_service(service.as_ref(), with_status(page.render()?, status)))
}

fn lost_form(kapu: &Kapu, ctx: &Ctx, username: &str) -> FormPage {
    let t = ctx.t();
    let fields = vec![
        FieldView::text(Field::Username, t.username, "username", username, 256),
        FieldView::password(Field::Password, t.password, "current-password"),
        // The code as kapu shows it (19 characters with spaces) must fit.
        FieldView { maxlength: 64, width: "revocation", ..FieldView::code(Field::RevocationCode, t.lost_code_label) }
            .hint(t.lost_code_hint.to_owned()),
    ];
    FormPage::new(Page::new(kapu, ctx, t.lost_title), t.lost_title, "/login/lost", t.lost_button, fields)
        .intro(t.lost_intro)
        .links(vec![LinkView::new("/login", t.login_title)])
}

pub async fn lost_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, headers: HeaderMap) -> PageResult {
    let username = match pending_token(&kapu, &headers) {
        Some(token) => kapu.pending_login_username(token).await?.unwrap_or_default(),
        None => String::new(),
    };
    Ok(lost_form(&kapu, &ctx, &username).render()?)
}

#[derive(Deserialize)]
pub struct LostForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    revocation_code: String,
}

/// "Elveszett a telefonom": username, password and revocation code.
pub async fn lost_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<LostForm>) -> PageResult {
    let t = ctx.t();
    let result =
        kapu.revoke_two_step(&form.username, &Password::new(form.password), &form.revocation_code, &ctx.actor()).await;
    let page = lost_form(&kapu, &ctx, &form.username);
    let (status, page) = match result {
        Ok(_) => {
            let cookies = vec![clear_session_cookie(&kapu), clear_pending_cookie(&kapu)];
            return Ok(with_cookies(redirect("/login?msg=lost_done"), cookies));
        }
        Err(TwoStepError::Form(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, page.field_errors(&errors)),
        Err(TwoStepError::RevocationBlocked { until }) => (
            StatusCode::TOO_MANY_REQUESTS,
            page.page_error("username", fill(t.lost_blocked, &[("time", &kapu.format_time(until))])),
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(with_status(page.render()?, status))
}

fn unlock_form(kapu: &Kapu, ctx: &Ctx, token: &str) -> FormPage {
    let t = ctx.t();
    let fields = vec![FieldView::code(Field::Code, t.code_label).focus()];
    FormPage::new(
        Page::new(kapu, ctx, t.unlock_title),
        t.unlock_title,
        &format!("/login/unlock/{token}"),
        t.unlock_button,
        fields,
    )
    .intro(t.unlock_intro)
    .intro(fill(t.server_time, &[("time", &kapu.format_time(kapu.now()))]))
}

fn link_invalid(kapu: &Kapu, ctx: &Ctx) -> PageResult {
    let t = ctx.t();
    let page = MessagePage::new(Page::new(kapu, ctx, t.error_title), t.error_title, t.link_invalid)
        .link("/login", t.login_title);
    Ok(with_status(page.render()?, StatusCode::GONE))
}

pub async fn unlock_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    if !kapu.unlock_link_is_valid(&token).await? {
        return link_invalid(&kapu, &ctx);
    }
    Ok(unlock_form(&kapu, &ctx, &token).render()?)
}

pub async fn unlock_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<CodeForm>,
) -> PageResult {
    match kapu.unlock_codes(&token, &form.code, &ctx.actor()).await {
        Ok(_) => Ok(redirect("/login?msg=unlocked")),
        Err(TwoStepError::LinkInvalid) => link_invalid(&kapu, &ctx),
        Err(TwoStepError::Form(errors)) => Ok(with_status(
            unlock_form(&kapu, &ctx, &token).field_errors(&errors).render()?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e.into()),
    }
}
