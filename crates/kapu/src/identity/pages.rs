//! The citizen's side of a verified identity: the read-only data on
//! "Regisztrációs adatok", and the page where the office's code is entered.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::model::{DocumentKind, VerifiedIdentity};
use super::service::IdentityError;
use crate::Kapu;
use crate::accounts::service::Field;
use crate::i18n::{Texts, fill};
use crate::web::context::Ctx;
use crate::web::error::PageResult;
use crate::web::form::{Form, redirect, with_status};
use crate::web::templates::{Facts, FieldView, FormPage, LinkView, Page};

/// The verified data as a list, in the page's language.
pub fn identity_facts(kapu: &Kapu, t: &Texts, identity: &VerifiedIdentity) -> Facts {
    let d = &identity.data;
    let document = match identity.document_kind {
        DocumentKind::IdCard => t.identity_doc_id_card,
        DocumentKind::Passport => t.identity_doc_passport,
        DocumentKind::DrivingLicence => t.identity_doc_driving_licence,
        DocumentKind::ResidenceCard => t.identity_doc_residence_card,
    };
    let row = |label: &str, value: &str| (label.to_owned(), value.to_owned());
    Facts {
        heading: t.identity_verified_heading.to_owned(),
        rows: vec![
            row(t.identity_family_name, d.family_name.as_str()),
            row(t.identity_given_name, d.given_name.as_str()),
            row(t.identity_birth_family_name, d.birth_family_name.as_str()),
            row(t.identity_birth_given_name, d.birth_given_name.as_str()),
            row(t.identity_mother_birth_name, d.mother_birth_name.as_str()),
            row(t.identity_place_of_birth, d.place_of_birth.as_str()),
            row(t.identity_birth_date, &d.birth_date.iso()),
            row(t.identity_document, document),
        ],
        note: fill(
            t.identity_verified_note,
            &[("office", &identity.office), ("date", &kapu.format_time(identity.verified_at))],
        ),
    }
}

/// "Regisztrációs adatok" gets the verified data, or how to get it.
pub async fn with_identity(kapu: &Kapu, ctx: &Ctx, mut page: FormPage) -> PageResult<FormPage> {
    let session = ctx.require_session()?;
    let t = ctx.t();
    match kapu.verified_identity(&session.account.id).await? {
        Some(identity) => page.facts = Some(identity_facts(kapu, t, &identity)),
        None => {
            page = page.intro(t.identity_not_verified);
            page.links.push(LinkView::new("/account/identity", t.identity_bind_link));
        }
    }
    Ok(page)
}

fn bind_form(kapu: &Kapu, ctx: &Ctx, code: &str) -> FormPage {
    let t = ctx.t();
    let mut field = FieldView::text(Field::BindingCode, t.identity_code_label, "off", code, 64)
        .hint(t.identity_code_hint.to_owned());
    field.width = "revocation";
    FormPage::new(
        Page::new(kapu, ctx, t.identity_title),
        t.identity_title,
        "/account/identity",
        t.identity_bind_button,
        vec![field],
    )
    .intro(t.identity_bind_intro)
    .links(vec![LinkView::new("/account", t.data_title)])
}

pub async fn identity_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let session = ctx.require_session()?;
    if session.account.verified {
        return Ok(redirect("/account"));
    }
    Ok(bind_form(&kapu, &ctx, "").render()?)
}

#[derive(Deserialize)]
pub struct BindForm {
    #[serde(default)]
    binding_code: String,
}

pub async fn identity_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx, Form(form): Form<BindForm>) -> PageResult {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let refused = |status: StatusCode, message: String| -> PageResult {
        // The code is not typed back into the form after a refusal.
        let page = bind_form(&kapu, &ctx, "").page_error(Field::BindingCode.id(), message);
        Ok(with_status(page.render()?, status))
    };
    match kapu.bind_identity(&session.account, &form.binding_code, &ctx.actor()).await {
        Ok(_) => Ok(redirect("/account?msg=identity_bound")),
        Err(IdentityError::Form(errors)) => {
            let page = bind_form(&kapu, &ctx, &form.binding_code).field_errors(&errors);
            Ok(with_status(page.render()?, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(IdentityError::Blocked { until }) => {
            refused(StatusCode::TOO_MANY_REQUESTS, fill(t.identity_blocked, &[("time", &kapu.format_time(until))]))
        }
        Err(IdentityError::AlreadyVerified) => refused(StatusCode::CONFLICT, t.identity_already.to_owned()),
        Err(IdentityError::BoundElsewhere) => refused(StatusCode::CONFLICT, t.identity_elsewhere.to_owned()),
        Err(e) => Err(e.into()),
    }
}
