//! "Biztonsági napló": each user sees their own recent events, so they can
//! spot a login that was not theirs.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::Kapu;
use crate::audit::model::AuditEvent;
use crate::audit::repo::AuditRepo;
use crate::i18n::{event_text, fill};
use crate::sessions::service::EndSessions;
use crate::web::context::Ctx;
use crate::web::error::PageError;
use crate::web::form::{Form, redirect};
use crate::web::templates::{ActivityPage, ActivityRow, Page, SessionRow, SessionsPage, html};

const SHOWN_EVENTS: i64 = 50;

pub async fn activity_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> Result<Response, PageError> {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let entries = kapu.store.audit_for_account(&session.account.id, SHOWN_EVENTS).await?;
    let rows = entries.into_iter().map(|e| activity_row(&kapu, t, e)).collect();
    let zone_note = crate::i18n::fill(t.time_zone_note, &[("zone", &kapu.config.server.time_zone)]);
    Ok(html(&ActivityPage { p: Page::new(&kapu, &ctx, t.activity_title), rows, zone_note })?)
}

/// One security-log row in the page's language (also the office console's card).
pub fn activity_row(kapu: &Kapu, t: &crate::i18n::Texts, e: crate::audit::model::AuditEntry) -> ActivityRow {
    let failed = e.outcome != "success";
    ActivityRow {
        time: kapu.format_time(e.at),
        event: AuditEvent::parse(&e.event).map_or(e.event.clone(), |ev| event_text(t, ev).to_owned()),
        address: e.client_addr.unwrap_or_else(|| "–".into()),
        outcome: if failed { t.outcome_failure } else { t.outcome_success }.to_owned(),
        failed,
    }
}

/// A browser in words: the product and the system from its `User-Agent`.
fn browser_name(user_agent: Option<&str>, unknown: &str) -> String {
    let Some(ua) = user_agent else { return unknown.to_owned() };
    let product = ["Edg/", "OPR/", "Firefox/", "Chrome/", "Safari/", "curl/"].iter().find(|p| ua.contains(*p)).map(
        |p| match *p {
            "Edg/" => "Edge",
            "OPR/" => "Opera",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            _ => "curl",
        },
    );
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS X", "Linux"].iter().find(|s| ua.contains(*s));
    match (product, system) {
        (Some(p), Some(s)) => format!("{p}, {}", s.replace("Mac OS X", "macOS")),
        (Some(p), None) => p.to_owned(),
        _ => ua.chars().take(60).collect(),
    }
}

/// "Aktív munkamenetek": where the account is logged in, to end any of them.
pub async fn sessions_get(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Query(q): Query<EndedQuery>,
) -> Result<Response, PageError> {
    let session = ctx.require_session()?;
    let t = ctx.t();
    let rows = kapu
        .sessions_of(&session.account)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: s.id_hash == session.record.id_hash,
            browser: browser_name(s.user_agent.as_deref(), t.sessions_unknown_browser),
            address: s.client_addr.unwrap_or_else(|| "–".into()),
            started: kapu.format_time(s.created_at),
            last_used: kapu.format_time(s.last_seen_at),
            handle: s.id_hash,
        })
        .collect();
    let ended = q.ended.map(|n| fill(t.sessions_ended, &[("count", &n.to_string())]));
    let zone_note = fill(t.time_zone_note, &[("zone", &kapu.config.server.time_zone)]);
    Ok(html(&SessionsPage { p: Page::new(&kapu, &ctx, t.sessions_title), rows, ended, zone_note })?)
}

#[derive(Deserialize)]
pub struct EndedQuery {
    #[serde(default)]
    ended: Option<u64>,
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    session: String,
}

/// Ends one session of the account, or every other one ("others").
pub async fn sessions_end_post(
    State(kapu): State<Arc<Kapu>>,
    ctx: Ctx,
    Form(form): Form<EndForm>,
) -> Result<Response, PageError> {
    let session = ctx.require_session()?;
    let which = if form.session == "others" {
        EndSessions::AllBut(&session.record.id_hash)
    } else if form.session.len() == 64
        && form.session.bytes().all(|b| b.is_ascii_hexdigit())
        && form.session != session.record.id_hash
    {
        EndSessions::One(&form.session)
    } else {
        return Err(PageError::BadForm);
    };
    let ended = kapu.end_sessions(&session.account, which, &ctx.actor()).await?;
    Ok(redirect(&format!("/activity/sessions?ended={ended}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_in_words() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(browser_name(Some(firefox), "?"), "Firefox, Linux");
        let android = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(browser_name(Some(android), "?"), "Chrome, Android");
        assert_eq!(browser_name(None, "Ismeretlen"), "Ismeretlen");
    }
}
