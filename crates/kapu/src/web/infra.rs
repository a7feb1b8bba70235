//! Health, readiness, metrics, the session countdown's endpoints, and 404.

use std::sync::Arc;

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Kapu;
use crate::crypto::{constant_time_eq, token_hash};
use crate::sessions::repo::SessionRepo;
use crate::web::context::{Ctx, SESSION_COOKIE, cookie_name, cookie_value};
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

/// `/metrics` on the main listener: with `server.metrics_listen` set it is
/// served only there; with `server.metrics_token`, only to that bearer
/// token; otherwise only to clients on this machine.
pub async fn metrics(
    State(kapu): State<Arc<Kapu>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let server = &kapu.config.server;
    let allowed = if server.metrics_listen.is_some() {
        false
    } else if let Some(token) = &server.metrics_token {
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.split_once(' ')).is_some_and(
            |(scheme, given)| {
                scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
            },
        )
    } else {
        peer.ip().is_loopback()
    };
    if !allowed {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    metrics_text(&kapu)
}

/// The metrics themselves (also what `server.metrics_listen` serves).
pub fn metrics_text(kapu: &Kapu) -> Response {
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
    let session = match cookie_value(&headers, &cookie_name(&kapu, SESSION_COOKIE)).filter(|t| !t.is_empty()) {
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
