//! The office console's pages, under `/office`: the door (staff with a
//! code-based login only), the search, a citizen's card with the counter
//! actions (each needs the clerk's reason), the identity form, and the
//! supervisor's log of every office action.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::model::{Role, Staff};
use super::service::Refused;
use crate::Kapu;
use crate::accounts::service::Field;
use crate::audit::model::AuditEvent;
use crate::audit::pages::activity_row;
use crate::delegations::pages::{NewForm, delegation_fields, state_label};
use crate::delegations::service::DelegationError;
use crate::i18n::{Texts, event_text, fill};
use crate::identity::pages::identity_facts;
use crate::identity::service::{IdentityError, InputField, InputProblem, VerificationInput};
use crate::web::context::Ctx;
use crate::web::error::{PageError, PageResult};
use crate::web::form::{Form, redirect, with_status};
use crate::web::templates::{
    ActivityRow, ErrorItem, Facts, FieldView, FormPage, LinkView, MessagePage, Page, SelectOption, html,
};

#[derive(Template)]
#[template(path = "office.html")]
struct OfficePage {
    p: Page,
    staff_line: String,
    supervisor: bool,
    username: String,
    family_name: String,
    birth_date: String,
    searched: bool,
    results: Vec<String>,
}

/// A counter action on the card: a form with the reason.
struct CardAction {
    id: &'static str,
    action: String,
    title: String,
    text: String,
    button: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "office_citizen.html")]
struct CitizenPage {
    p: Page,
    username: String,
    errors: Vec<ErrorItem>,
    account: Vec<(String, String)>,
    identity: Option<Facts>,
    actions: Vec<CardAction>,
    delegations: Vec<String>,
    events: Vec<ActivityRow>,
}

#[derive(Template)]
#[template(path = "office_log.html")]
struct LogPage {
    p: Page,
    rows: Vec<(String, String, String, String)>,
}

/// Staff only, logged in with a code; everyone else is told why (403).
async fn door(kapu: &Kapu, ctx: &Ctx) -> Result<Result<Staff, PageResult>, PageError> {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let text = match kapu.console_staff(session).await? {
        Ok(staff) => return Ok(Ok(staff)),
        Err(Refused::NotStaff) => t.office_not_staff,
        Err(Refused::NeedsTwoStep) => t.office_needs_two_step,
    };
    let page = MessagePage::new(Page::new(kapu, ctx, t.office_title), t.office_title, text).link("/", t.home_link);
    Ok(Err(page.render().map(|r| with_status(r, StatusCode::FORBIDDEN)).map_err(PageError::from)))
}

/// The door, then the citizen the action is for: an existing account (404
/// otherwise), and not the clerk's own (staff do not act on themselves).
async fn counter(kapu: &Kapu, ctx: &Ctx, username: &str) -> Result<Result<Staff, PageResult>, PageError> {
    let staff = match door(kapu, ctx).await? {
        Ok(s) => s,
        Err(refused) => return Ok(Err(refused)),
    };
    let t = ctx.t();
    let (status, text) = match kapu.console_target(&staff, username).await? {
        Ok(()) => return Ok(Ok(staff)),
        Err(super::service::Target::Unknown) => (StatusCode::NOT_FOUND, t.office_no_results),
        Err(super::service::Target::Own) => (StatusCode::FORBIDDEN, t.office_not_own),
    };
    let page =
        MessagePage::new(Page::new(kapu, ctx, t.office_title), t.office_title, text).link("/office", t.office_title);
    Ok(Err(page.render().map(|r| with_status(r, status)).map_err(PageError::from)))
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    username: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    birth_date: String,
}

pub async fn office_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<SearchQuery>) -> PageResult {
    let staff = match door(&kapu, &ctx).await? {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let t = ctx.t();
    let searched = !(q.username.trim().is_empty() && q.family_name.trim().is_empty());
    let results =
        if searched { kapu.console_find(&q.username, &q.family_name, &q.birth_date).await? } else { Vec::new() };
    let role = if staff.role == Role::Supervisor { t.office_role_supervisor } else { t.office_role_clerk };
    let page = OfficePage {
        p: Page::new(&kapu, &ctx, t.office_title),
        staff_line: fill(t.office_staff_line, &[("name", &staff.name), ("role", role), ("office", &staff.office)]),
        supervisor: staff.role == Role::Supervisor,
        username: q.username,
        family_name: q.family_name,
        birth_date: q.birth_date,
        searched,
        results,
    };
    Ok(html(&page)?)
}

#[derive(Deserialize, Default)]
pub struct CardQuery {
    #[serde(default)]
    msg: Option<String>,
}

async fn card(
    kapu: &Kapu,
    ctx: &Ctx,
    username: &str,
    notice: Option<String>,
    error: Option<(&'static str, String)>,
) -> PageResult {
    let t = ctx.t();
    let Some(c) = kapu.citizen_card(username).await? else {
        let page = MessagePage::new(Page::new(kapu, ctx, t.office_title), t.office_title, t.office_no_results)
            .link("/office", t.office_title);
        return Ok(with_status(page.render()?, StatusCode::NOT_FOUND));
    };
    let yes_no = |b: bool| if b { t.office_yes } else { t.office_no }.to_owned();
    let account = vec![
        (t.username.to_owned(), c.account.username.as_str().to_owned()),
        (t.full_name.to_owned(), c.account.full_name.as_str().to_owned()),
        (t.email.to_owned(), c.account.email.as_str().to_owned()),
        (t.office_status.to_owned(), c.account.status.as_str().to_owned()),
        (t.office_two_step.to_owned(), yes_no(c.two_step_on)),
    ];
    let action = |id: &'static str, path: &str, title: &str, text: &str, button: &str| CardAction {
        id,
        action: format!("/office/citizen/{username}/{path}"),
        title: title.to_owned(),
        text: text.to_owned(),
        button: button.to_owned(),
        error: error.as_ref().filter(|(e, _)| *e == id).map(|(_, m)| m.clone()),
    };
    let mut actions =
        vec![action("unlock_reason", "unlock", t.office_unlock_title, t.office_unlock_text, t.office_unlock_button)];
    if c.two_step_on {
        actions.insert(
            0,
            action("reset_reason", "reset", t.office_reset_title, t.office_reset_text, t.office_reset_button),
        );
    }
    let today = kapu.today();
    let delegations = c
        .delegations
        .iter()
        .map(|d| {
            let state = state_label(t, d, d.state(today));
            format!(
                "{} → {}: {}, {} – {} ({state})",
                d.principal_name,
                d.agent_name,
                kapu.matter_label(&d.matter, ctx.lang),
                d.valid_from,
                d.valid_until
            )
        })
        .collect();
    let events = c.events.into_iter().map(|e| activity_row(kapu, t, e)).collect();
    let errors = error.into_iter().map(|(id, message)| ErrorItem { id, message }).collect();
    let page = CitizenPage {
        p: Page::new(kapu, ctx, t.office_citizen_title).with_notice(notice),
        username: username.to_owned(),
        errors,
        account,
        identity: c.identity.as_ref().map(|i| identity_facts(kapu, t, i)),
        actions,
        delegations,
        events,
    };
    Ok(html(&page)?)
}

pub async fn citizen_get(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(username): Path<String>,
    Query(q): Query<CardQuery>,
) -> PageResult {
    if let Err(refused) = door(&kapu, &ctx).await? {
        return refused;
    }
    let t = ctx.t();
    let notice = match q.msg.as_deref() {
        Some("reset") => Some(t.office_reset_done.to_owned()),
        Some("unlocked") => Some(t.office_unlock_done.to_owned()),
        Some("verified") => Some(t.office_verify_done.to_owned()),
        Some("delegation") => Some(t.office_record_done.to_owned()),
        _ => None,
    };
    card(&kapu, &ctx, &username, notice, None).await
}

#[derive(Deserialize, Default)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// The card again, the action's reason field marked empty (422).
async fn reason_missing(kapu: &Kapu, ctx: &Ctx, username: &str, field: &'static str) -> PageResult {
    let error = Some((field, ctx.t().office_reason_missing.to_owned()));
    card(kapu, ctx, username, None, error).await.map(|r| with_status(r, StatusCode::UNPROCESSABLE_ENTITY))
}

pub async fn reset_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(username): Path<String>,
    Form(f): Form<ReasonForm>,
) -> PageResult {
    let staff = match counter(&kapu, &ctx, &username).await? {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    if f.reason.trim().is_empty() {
        return reason_missing(&kapu, &ctx, &username, "reset_reason").await;
    }
    match kapu.console_reset_two_step(&staff, &username, &f.reason).await {
        Ok(_) => Ok(redirect(&format!("/office/citizen/{username}?msg=reset"))),
        // Turned off meanwhile (another clerk, the citizen): the card shows how it stands.
        Err(crate::twostep::service::TwoStepError::NotActive) => Ok(redirect(&format!("/office/citizen/{username}"))),
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

pub async fn unlock_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(username): Path<String>,
    Form(f): Form<ReasonForm>,
) -> PageResult {
    let staff = match counter(&kapu, &ctx, &username).await? {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    if f.reason.trim().is_empty() {
        return reason_missing(&kapu, &ctx, &username, "unlock_reason").await;
    }
    match kapu.console_unlock(&staff, &username, &f.reason).await {
        Ok(_) => Ok(redirect(&format!("/office/citizen/{username}?msg=unlocked"))),
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

#[derive(Deserialize, Default)]
pub struct VerifyForm {
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    birth_family_name: String,
    #[serde(default)]
    birth_given_name: String,
    #[serde(default)]
    mother_birth_name: String,
    #[serde(default)]
    place_of_birth: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    document_kind: String,
    #[serde(default)]
    document_number: String,
    #[serde(default)]
    reason: String,
}

fn input_id(field: InputField) -> &'static str {
    match field {
        InputField::FamilyName => "family_name",
        InputField::GivenName => "given_name",
        InputField::BirthFamilyName => "birth_family_name",
        InputField::BirthGivenName => "birth_given_name",
        InputField::MotherBirthName => "mother_birth_name",
        InputField::PlaceOfBirth => "place_of_birth",
        InputField::BirthDate => "birth_date",
        InputField::DocumentKind => "document_kind",
        InputField::DocumentNumber => "document_number",
        InputField::Clerk | InputField::Office | InputField::Reason => "reason",
    }
}

fn input_problem(t: &Texts, problem: InputProblem) -> &'static str {
    use crate::identity::model::{BirthDateError, NameError};
    match problem {
        InputProblem::Name(NameError::Empty) => t.office_problem_empty,
        InputProblem::Name(NameError::TooLong) => t.office_problem_name_long,
        InputProblem::Name(NameError::InvalidCharacters) => t.office_problem_name_chars,
        InputProblem::BirthDate(BirthDateError::Format) => t.problem_date_format,
        InputProblem::BirthDate(BirthDateError::OutOfRange) => t.office_problem_birth_range,
        InputProblem::DocumentKind => t.office_problem_document_kind,
        InputProblem::DocumentNumber => t.office_problem_document_number,
        InputProblem::Text => t.office_problem_reason,
    }
}

fn verify_form(kapu: &Kapu, ctx: &Ctx, username: &str, f: &VerifyForm) -> FormPage {
    let t = ctx.t();
    let text = |id: &'static str, label: &str, value: &str, max: usize| {
        let mut field = FieldView::text(Field::FullName, label, "off", value, max);
        field.id = id;
        field
    };
    let mut born =
        text("birth_date", t.identity_birth_date, &f.birth_date, 10).kind("date").hint(t.date_hint.to_owned());
    born.required = true;
    let mut kind = FieldView::input(Field::FullName, "select", t.identity_document, "off");
    kind.id = "document_kind";
    kind.options = [
        ("id_card", t.identity_doc_id_card),
        ("passport", t.identity_doc_passport),
        ("driving_licence", t.identity_doc_driving_licence),
        ("residence_card", t.identity_doc_residence_card),
    ]
    .into_iter()
    .map(|(value, label)| SelectOption { value: value.into(), label: label.into(), selected: f.document_kind == value })
    .collect();
    let fields = vec![
        text("family_name", t.identity_family_name, &f.family_name, 100),
        text("given_name", t.identity_given_name, &f.given_name, 100),
        text("birth_family_name", t.identity_birth_family_name, &f.birth_family_name, 100),
        text("birth_given_name", t.identity_birth_given_name, &f.birth_given_name, 100),
        text("mother_birth_name", t.identity_mother_birth_name, &f.mother_birth_name, 100),
        text("place_of_birth", t.identity_place_of_birth, &f.place_of_birth, 100),
        born,
        kind,
        text("document_number", t.office_document_number, &f.document_number, 20),
        text("reason", t.office_reason, &f.reason, 200).hint(t.office_reason_hint.to_owned()),
    ];
    FormPage::new(
        Page::new(kapu, ctx, t.office_verify_title),
        &format!("{}: {username}", t.office_verify_title),
        &format!("/office/citizen/{username}/verify"),
        t.office_verify_button,
        fields,
    )
    .intro(t.office_verify_intro)
    .links(vec![LinkView::new(&format!("/office/citizen/{username}"), t.office_citizen_title)])
}

pub async fn verify_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(username): Path<String>) -> PageResult {
    if let Err(refused) = counter(&kapu, &ctx, &username).await? {
        return refused;
    }
    Ok(verify_form(&kapu, &ctx, &username, &VerifyForm::default()).render()?)
}

pub async fn verify_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(username): Path<String>,
    Form(f): Form<VerifyForm>,
) -> PageResult {
    let staff = match counter(&kapu, &ctx, &username).await? {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let t = ctx.t();
    let input = VerificationInput {
        family_name: f.family_name.clone(),
        given_name: f.given_name.clone(),
        birth_family_name: f.birth_family_name.clone(),
        birth_given_name: f.birth_given_name.clone(),
        mother_birth_name: f.mother_birth_name.clone(),
        place_of_birth: f.place_of_birth.clone(),
        birth_date: f.birth_date.clone(),
        document_kind: f.document_kind.clone(),
        document_number: f.document_number.clone(),
        reason: f.reason.clone(),
        ..Default::default()
    };
    let refused = |page: FormPage, status: StatusCode| -> PageResult { Ok(with_status(page.render()?, status)) };
    match kapu.console_verify(&staff, &username, input).await {
        Ok(Ok(_)) => Ok(redirect(&format!("/office/citizen/{username}?msg=verified"))),
        Err(problems) => {
            let mut page = verify_form(&kapu, &ctx, &username, &f);
            for (field, problem) in problems {
                let id = input_id(field);
                let message = input_problem(t, problem).to_owned();
                if let Some(view) = page.fields.iter_mut().find(|v| v.id == id) {
                    view.error = Some(message.clone());
                }
                page = page.page_error(id, message);
            }
            refused(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Ok(Err(IdentityError::AlreadyVerified)) => refused(
            verify_form(&kapu, &ctx, &username, &f).page_error("family_name", t.office_already_verified.into()),
            StatusCode::CONFLICT,
        ),
        Ok(Err(IdentityError::BoundElsewhere)) => refused(
            verify_form(&kapu, &ctx, &username, &f).page_error("family_name", t.office_bound_elsewhere.into()),
            StatusCode::CONFLICT,
        ),
        Ok(Err(e)) => Err(e.into()),
    }
}

fn record_form(kapu: &Kapu, ctx: &Ctx, username: &str, mut fields: Vec<FieldView>, reason: &str) -> FormPage {
    let t = ctx.t();
    let mut why =
        FieldView::text(Field::FullName, t.office_reason, "off", reason, 200).hint(t.office_reason_hint.to_owned());
    why.id = "reason";
    fields.push(why);
    FormPage::new(
        Page::new(kapu, ctx, t.office_record_title),
        &format!("{}: {username}", t.office_record_title),
        &format!("/office/citizen/{username}/delegation"),
        t.delegation_new_button,
        fields,
    )
    .intro(fill(t.office_record_intro, &[("principal", username)]))
    .links(vec![LinkView::new(&format!("/office/citizen/{username}"), t.office_citizen_title)])
}

/// "Meghatalmazás rögzítése": a delegation the citizen (the principal)
/// makes in person; the agent accepts it in the portal.
pub async fn delegation_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Path(username): Path<String>) -> PageResult {
    if let Err(refused) = counter(&kapu, &ctx, &username).await? {
        return refused;
    }
    let empty = NewForm::default();
    let fields = delegation_fields(&kapu, &ctx, &empty).await?;
    Ok(record_form(&kapu, &ctx, &username, fields, "").render()?)
}

pub async fn delegation_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Path(username): Path<String>,
    Form(f): Form<NewForm>,
) -> PageResult {
    let staff = match counter(&kapu, &ctx, &username).await? {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let t = ctx.t();
    let form = |fields| record_form(&kapu, &ctx, &username, fields, &f.reason);
    if f.reason.trim().is_empty() {
        let page = form(delegation_fields(&kapu, &ctx, &f).await?).page_error("reason", t.office_reason_missing.into());
        return Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let clerk = format!("{} ({})", staff.username, staff.name);
    match kapu.office_record_delegation(&username, &f.input(), &clerk, &staff.office, &f.reason).await {
        Ok(_) => Ok(redirect(&format!("/office/citizen/{username}?msg=delegation"))),
        Err(DelegationError::Form(errors)) => {
            let page = form(delegation_fields(&kapu, &ctx, &f).await?).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(DelegationError::NotVerified) => {
            let page = form(delegation_fields(&kapu, &ctx, &f).await?)
                .page_error("agent_username", t.office_principal_not_verified.into());
            Ok(with_status(page.render()?, StatusCode::CONFLICT))
        }
        Err(DelegationError::OfficeRecord) => {
            let page =
                form(delegation_fields(&kapu, &ctx, &f).await?).page_error("reason", t.office_problem_reason.into());
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

/// Every office action, for supervisors.
pub async fn log_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let staff = match door(&kapu, &ctx).await? {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let t = ctx.t();
    if staff.role != Role::Supervisor {
        let page =
            MessagePage::new(Page::new(&kapu, &ctx, t.office_log_title), t.office_log_title, t.office_supervisors_only)
                .link("/office", t.office_title);
        return Ok(with_status(page.render()?, StatusCode::FORBIDDEN));
    }
    let rows = kapu
        .office_log(200)
        .await?
        .into_iter()
        .map(|e| {
            (
                kapu.format_time(e.at),
                e.username.unwrap_or_else(|| "–".into()),
                AuditEvent::parse(&e.event).map_or(e.event.clone(), |ev| event_text(t, ev).to_owned()),
                e.detail.unwrap_or_default(),
            )
        })
        .collect();
    Ok(html(&LogPage { p: Page::new(&kapu, &ctx, t.office_log_title), rows })?)
}
