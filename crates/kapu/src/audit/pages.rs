//! "Biztonsági napló": each user sees their own recent events, so they can
//! spot a login that was not theirs.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use crate::Kapu;
use crate::audit::model::AuditEvent;
use crate::audit::repo::AuditRepo;
use crate::i18n::event_text;
use crate::web::context::Ctx;
use crate::web::error::PageError;
use crate::web::templates::{ActivityPage, ActivityRow, Page, html};

const SHOWN_EVENTS: i64 = 50;

pub async fn activity_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> Result<Response, PageError> {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let entries = kapu.store.audit_for_account(&session.account.id, SHOWN_EVENTS).await?;
    let rows = entries
        .into_iter()
        .map(|e| {
            let failed = e.outcome != "success";
            ActivityRow {
                time: kapu.format_time(e.at),
                event: AuditEvent::parse(&e.event).map_or(e.event.clone(), |ev| event_text(t, ev).to_owned()),
                address: e.client_addr.unwrap_or_else(|| "–".into()),
                outcome: if failed { t.outcome_failure } else { t.outcome_success }.to_owned(),
                failed,
            }
        })
        .collect();
    let zone_note = crate::i18n::fill(t.time_zone_note, &[("zone", &kapu.config.server.time_zone)]);
    Ok(html(&ActivityPage { p: Page::new(&kapu, &ctx, t.activity_title), rows, zone_note })?)
}
