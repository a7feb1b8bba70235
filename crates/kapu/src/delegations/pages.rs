//! "Meghatalmazások": the delegations a citizen gave and received, the form
//! of a new one, and the buttons that accept, refuse and end them.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::model::{Delegation, EndedBy, State as DelegationState};
use super::service::{DelegationError, DelegationInput};
use crate::Kapu;
use crate::accounts::service::Field;
use crate::i18n::Texts;
use crate::web::context::Ctx;
use crate::web::error::PageResult;
use crate::web::form::{Form, redirect, with_status};
use crate::web::templates::{
    DelegationAction, DelegationRow, DelegationSection, DelegationsPage, FieldView, FormPage, LinkView, Page,
    SelectOption, html,
};

/// A delegation's state in words (the portal's list and the office console's card).
pub(crate) fn state_label(t: &Texts, d: &Delegation, state: DelegationState) -> &'static str {
    match state {
        DelegationState::Pending => t.delegation_state_pending,
        DelegationState::Scheduled => t.delegation_state_scheduled,
        DelegationState::Active => t.delegation_state_active,
        DelegationState::Expired => t.delegation_state_expired,
        DelegationState::Ended(EndedBy::Principal) => t.delegation_state_revoked,
        DelegationState::Ended(EndedBy::Agent) if d.accepted_at.is_none() => t.delegation_state_refused,
        DelegationState::Ended(EndedBy::Agent) => t.delegation_state_renounced,
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    msg: Option<String>,
}

pub async fn delegations_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let me = &session.account;
    let today = kapu.today();
    let all = kapu.delegations(me).await?;
    let row = |d: &Delegation| {
        let state = d.state(today);
        let mine = d.is_principal(&me.id);
        let action = |path: &str, label: &str| DelegationAction {
            action: path.to_owned(),
            label: label.to_owned(),
            id: d.id.clone(),
        };
        let actions = match (state, mine) {
            (DelegationState::Pending, false) => vec![
                action("/delegations/accept", t.delegation_accept),
                action("/delegations/end", t.delegation_refuse),
            ],
            (DelegationState::Pending | DelegationState::Scheduled | DelegationState::Active, true) => {
                vec![action("/delegations/end", t.delegation_revoke)]
            }
            (DelegationState::Scheduled | DelegationState::Active, false) => {
                vec![action("/delegations/end", t.delegation_renounce)]
            }
            _ => Vec::new(),
        };
        DelegationRow {
            party: if mine { d.agent_name.clone() } else { d.principal_name.clone() },
            matter: kapu.matter_label(&d.matter, ctx.lang),
            service: d.service_name.clone().unwrap_or_else(|| t.delegation_any_service.to_owned()),
            period: format!("{} – {}", d.valid_from, d.valid_until),
            state: state_label(t, d, state).to_owned(),
            actions,
        }
    };
    let waiting: Vec<DelegationRow> =
        all.iter().filter(|d| !d.is_principal(&me.id) && d.state(today) == DelegationState::Pending).map(row).collect();
    let given: Vec<DelegationRow> = all.iter().filter(|d| d.is_principal(&me.id)).map(row).collect();
    let received: Vec<DelegationRow> =
        all.iter().filter(|d| !d.is_principal(&me.id) && d.state(today) != DelegationState::Pending).map(row).collect();
    let notice = match q.msg.as_deref() {
        Some("granted") => Some(t.delegation_granted.to_owned()),
        Some("accepted") => Some(t.delegation_accepted.to_owned()),
        Some("ended") => Some(t.delegation_ended.to_owned()),
        _ => None,
    };
    let section = |title: &str, party_col: &str, rows| DelegationSection {
        title: title.to_owned(),
        party_col: party_col.to_owned(),
        rows,
    };
    let page = DelegationsPage {
        p: Page::new(&kapu, &ctx, t.menu_delegations).with_notice(notice),
        verified: me.verified,
        sections: vec![
            section(t.delegations_waiting, t.delegations_col_principal, waiting),
            section(t.delegations_given, t.delegations_col_agent, given),
            section(t.delegations_received, t.delegations_col_principal, received),
        ],
    };
    Ok(html(&page)?)
}

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    pub(crate) agent_username: String,
    #[serde(default)]
    pub(crate) agent_birth_date: String,
    #[serde(default)]
    pub(crate) matter: String,
    #[serde(default)]
    pub(crate) service: String,
    #[serde(default)]
    pub(crate) valid_from: String,
    #[serde(default)]
    pub(crate) valid_until: String,
    /// The clerk's reason (the office console's form only).
    #[serde(default)]
    pub(crate) reason: String,
}

impl NewForm {
    pub(crate) fn input(&self) -> DelegationInput {
        DelegationInput {
            agent_username: self.agent_username.clone(),
            agent_birth_date: self.agent_birth_date.clone(),
            matter: self.matter.clone(),
            service: self.service.clone(),
            valid_from: self.valid_from.clone(),
            valid_until: self.valid_until.clone(),
        }
    }
}

async fn new_form(kapu: &Kapu, ctx: &Ctx, f: &NewForm) -> PageResult<FormPage> {
    let t = ctx.t();
    let fields = delegation_fields(kapu, ctx, f).await?;
    Ok(FormPage::new(
        Page::new(kapu, ctx, t.delegation_new_title),
        t.delegation_new_title,
        "/delegations/new",
        t.delegation_new_button,
        fields,
    )
    .intro(t.delegation_new_intro)
    .links(vec![LinkView::new("/delegations", t.menu_delegations)]))
}

/// The fields of a new delegation: the agent, the matter, the service, the days.
pub(crate) async fn delegation_fields(kapu: &Kapu, ctx: &Ctx, f: &NewForm) -> PageResult<Vec<FieldView>> {
    let t = ctx.t();
    let agent = FieldView::text(Field::AgentUsername, t.delegation_agent_username, "off", &f.agent_username, 64);
    let born = FieldView::text(Field::AgentBirthDate, t.delegation_agent_birth_date, "off", &f.agent_birth_date, 10)
        .kind("date")
        .hint(t.date_hint.to_owned());
    let mut matter = FieldView::input(Field::Matter, "select", t.delegation_matter, "off");
    matter.options = kapu
        .config
        .delegations
        .matters
        .iter()
        .map(|m| SelectOption {
            value: m.id.clone(),
            label: kapu.matter_label(&m.id, ctx.lang),
            selected: m.id == f.matter,
        })
        .collect();
    let mut service = FieldView::input(Field::Service, "select", t.delegation_service, "off");
    service.required = false;
    service.options = std::iter::once(SelectOption {
        value: String::new(),
        label: t.delegation_any_service.to_owned(),
        selected: f.service.is_empty(),
    })
    .chain(kapu.list_clients().await?.into_iter().map(|c| SelectOption {
        selected: c.client_id == f.service,
        value: c.client_id,
        label: c.name,
    }))
    .collect();
    let today = kapu.today().to_string();
    let from_value = if f.valid_from.is_empty() { today.as_str() } else { f.valid_from.as_str() };
    let from = FieldView::text(Field::ValidFrom, t.delegation_from, "off", from_value, 10).kind("date");
    let until = FieldView::text(Field::ValidUntil, t.delegation_until, "off", &f.valid_until, 10)
        .kind("date")
        .hint(t.delegation_until_hint.to_owned());
    Ok(vec![agent, born, matter, service, from, until])
}

pub async fn new_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_session()?;
    if !session.account.verified {
        return Ok(redirect("/delegations"));
    }
    Ok(new_form(&kapu, &ctx, &NewForm::default()).await?.render()?)
}

pub async fn new_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(f): Form<NewForm>) -> PageResult {
    let session = ctx.require_session()?;
    match kapu.grant_delegation(&session.account, &f.input(), &ctx.actor()).await {
        Ok(_) => Ok(redirect("/delegations?msg=granted")),
        Err(DelegationError::Form(errors)) => {
            let page = new_form(&kapu, &ctx, &f).await?.field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(DelegationError::NotVerified) => Ok(redirect("/delegations")),
        Err(DelegationError::Blocked { until }) => {
            let t = ctx.t();
            let message = crate::i18n::fill(t.delegation_blocked, &[("time", &kapu.format_time(until))]);
            let page = new_form(&kapu, &ctx, &f).await?.page_error(Field::AgentUsername.id(), message);
            Ok(with_status(page.render()?, StatusCode::TOO_MANY_REQUESTS))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct IdForm {
    #[serde(default)]
    id: String,
}

pub async fn accept_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(f): Form<IdForm>) -> PageResult {
    let session = ctx.require_session()?;
    match kapu.accept_delegation(&session.account, &f.id, &ctx.actor()).await {
        Ok(()) => Ok(redirect("/delegations?msg=accepted")),
        // Accepted, ended or expired meanwhile: the list shows how it stands.
        Err(DelegationError::NotFound) => Ok(redirect("/delegations")),
        Err(e) => Err(e.into()),
    }
}

pub async fn end_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(f): Form<IdForm>) -> PageResult {
    let session = ctx.require_session()?;
    match kapu.end_delegation(&session.account, &f.id, &ctx.actor()).await {
        Ok(()) => Ok(redirect("/delegations?msg=ended")),
        Err(DelegationError::NotFound) => Ok(redirect("/delegations")),
        Err(e) => Err(e.into()),
    }
}
