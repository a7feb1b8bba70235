//! Health, readiness, metrics, the session countdown's endpoints, and 404.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Kapu;
use crate::crypto::token_hash;
use crate::sessions::repo::SessionRepo;
use crate::web::context::{Ctx, SESSION_COOKIE, cookie_value};
use crate::web::error::PageError;

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers and can write.
pub async fn readyz(State(kapu): State<Arc<Kapu>>) -> Response {
    match kapu.store.check_writable(kapu.now()).await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub async fn metrics(State(kapu): State<Arc<Kapu>>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], kapu.metrics.render())
        .into_response()
}

#[derive(Serialize)]
pub struct SessionStatus {
    pub active: bool,
    pub seconds_left: i64,
}

/// How long the session has left, without extending it (the countdown asks
/// this before giving up, in case another tab kept the session alive).
pub async fn session_status(
    State(kapu): State<Arc<Kapu>>,
    headers: HeaderMap,
) -> Result<Json<SessionStatus>, PageError> {
    let now = kapu.now();
    let session = match cookie_value(&headers, SESSION_COOKIE).filter(|t| !t.is_empty()) {
        Some(token) => kapu.store.active_session(&token_hash(token), now).await?,
        None => None,
    };
    Ok(Json(SessionStatus { active: session.is_some(), seconds_left: session.map_or(0, |s| s.seconds_left(now)) }))
}

/// "Stay logged in": the page middleware already extended the session.
pub async fn keepalive_post(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> Result<Json<SessionStatus>, PageError> {
    let session = ctx.require_session()?;
    Ok(Json(SessionStatus { active: true, seconds_left: kapu.session_seconds_left(session) }))
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}
