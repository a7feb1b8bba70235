//! HTTP: every route in one place, the middleware stack, and serving.
//!
//! Page routes go through [`context::page_context`] (session, language,
//! CSRF, error pages). Infrastructure routes (health, metrics, static files,
//! session status) do not touch the session.

pub mod assets;
pub mod authenticator;
pub mod context;
pub mod error;
pub mod form;
pub mod headers;
pub mod info;
pub mod infra;
pub mod server;
pub mod templates;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::Kapu;
use crate::accounts::pages as accounts;
use crate::audit::pages as audit;
use crate::identity::pages as identity;
use crate::oidc::api as oidc_api;
use crate::oidc::pages as oidc;
use crate::twostep::pages as twostep;

pub fn router(kapu: Arc<Kapu>) -> Router {
    let pages = Router::new()
        .route("/", get(accounts::home_get))
        .route("/help", get(info::help_get))
        .route("/contact", get(info::contact_get))
        .route("/privacy", get(info::privacy_get))
        .route("/accessibility", get(info::accessibility_get))
        .route("/login", get(accounts::login_get).post(accounts::login_post))
        .route("/login/cancel", get(accounts::login_cancel_get))
        .route("/logout", post(accounts::logout_post))
        .route("/lang", post(accounts::lang_post))
        .route("/register", get(accounts::register_get).post(accounts::register_post))
        .route("/register/resend", post(accounts::register_resend_post))
        .route("/register/confirm/{token}", get(accounts::register_confirm_get).post(accounts::register_confirm_post))
        .route("/password/forgot", get(accounts::forgot_get).post(accounts::forgot_post))
        .route("/password/reset/{token}", get(accounts::reset_get).post(accounts::reset_post))
        .route("/password/change", get(accounts::change_password_get).post(accounts::change_password_post))
        .route("/account", get(accounts::registration_data_get).post(accounts::registration_data_post))
        .route("/account/email/confirm/{token}", get(accounts::email_confirm_get).post(accounts::email_confirm_post))
        .route("/account/email/resend", get(accounts::email_resend_get).post(accounts::email_resend_post))
        .route("/account/identity", get(identity::identity_get).post(identity::identity_post))
        .route("/account/delete", get(accounts::delete_get).post(accounts::delete_post))
        .route("/settings", get(accounts::settings_get).post(accounts::settings_post))
        .route("/activity", get(audit::activity_get))
        .route("/activity/sessions", get(audit::sessions_get))
        .route("/activity/sessions/end", post(audit::sessions_end_post))
        .route("/plus", get(twostep::plus_get))
        .route("/plus/start", post(twostep::plus_start_post))
        .route("/plus/setup", get(twostep::plus_setup_get).post(twostep::plus_setup_post))
        .route("/plus/setup/qr.svg", get(twostep::plus_setup_qr_get))
        .route("/plus/setup/new", post(twostep::plus_setup_new_post))
        .route("/plus/cancel", post(twostep::plus_cancel_post))
        .route("/plus/revocation", get(twostep::plus_revocation_get))
        .route("/plus/revocation.txt", get(twostep::plus_revocation_txt_get))
        .route("/plus/finish", post(twostep::plus_finish_post))
        .route("/plus/done", get(twostep::plus_done_get))
        .route("/plus/waiting", get(twostep::plus_waiting_get))
        .route("/plus/activate/resend", post(twostep::plus_activate_resend_post))
        .route("/plus/activate/{token}", get(twostep::plus_activate_get).post(twostep::plus_activate_post))
        .route("/plus/device", get(twostep::device_get).post(twostep::device_post))
        .route("/login/code", get(twostep::login_code_get).post(twostep::login_code_post))
        .route("/login/lost", get(twostep::lost_get).post(twostep::lost_post))
        .route("/login/unlock/{token}", get(twostep::unlock_get).post(twostep::unlock_post))
        .route("/session/keepalive", post(infra::keepalive_post))
        .route("/authorize", get(oidc::authorize_get).post(oidc::authorize_post))
        .route("/authorize/continue", get(oidc::authorize_continue_get))
        .route("/authorize/consent", get(oidc::consent_get).post(oidc::consent_post))
        .route("/services", get(oidc::services_get))
        .route("/authorize/represent", get(oidc::represent_get).post(oidc::represent_post))
        .route("/office", get(crate::office::pages::office_get))
        .route("/office/log", get(crate::office::pages::log_get))
        .route("/office/citizen/{username}", get(crate::office::pages::citizen_get))
        .route("/office/citizen/{username}/reset", post(crate::office::pages::reset_post))
        .route("/office/citizen/{username}/unlock", post(crate::office::pages::unlock_post))
        .route(
            "/office/citizen/{username}/delegation",
            get(crate::office::pages::delegation_get).post(crate::office::pages::delegation_post),
        )
        .route(
            "/office/citizen/{username}/verify",
            get(crate::office::pages::verify_get).post(crate::office::pages::verify_post),
        )
        .route("/delegations", get(crate::delegations::pages::delegations_get))
        .route("/delegations/new", get(crate::delegations::pages::new_get).post(crate::delegations::pages::new_post))
        .route("/delegations/accept", post(crate::delegations::pages::accept_post))
        .route("/delegations/end", post(crate::delegations::pages::end_post))
        .route("/services/withdraw", post(oidc::services_withdraw_post))
        .route("/logout/oidc", get(oidc::oidc_logout_get).post(oidc::oidc_logout_post))
        .route("/logout/oidc/confirm", post(oidc::oidc_logout_confirm_post))
        .fallback(infra::not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&kapu), context::page_context));
    let infra = Router::new()
        .route("/healthz", get(infra::healthz))
        .route("/readyz", get(infra::readyz))
        .route("/metrics", get(infra::metrics))
        .route("/session/status", get(infra::session_status))
        .route("/.well-known/openid-configuration", get(oidc_api::discovery).options(oidc_api::preflight))
        .route("/jwks", get(oidc_api::jwks).options(oidc_api::preflight))
        .route("/par", post(oidc_api::par_post).options(oidc_api::preflight))
        .route("/token", post(oidc_api::token_post).options(oidc_api::preflight))
        .route("/userinfo", get(oidc_api::userinfo).post(oidc_api::userinfo).options(oidc_api::preflight))
        .route("/static/{file}", get(assets::static_file))
        .route("/authenticator", get(authenticator::page))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&kapu), server::read_body_in_time));
    pages
        .merge(infra)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&kapu), headers::security_headers))
        .with_state(kapu)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    kapu: Arc<Kapu>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(crate::retention::run_sweeper(Arc::clone(&kapu)));
    let mail = tokio::spawn(crate::mail::queue::run_worker(Arc::clone(&kapu)));
    let logouts = tokio::spawn(crate::oidc::logout::run_worker(Arc::clone(&kapu)));
    let metrics = match kapu.config.server.metrics_listen {
        Some(address) => {
            let metrics_only = Router::new()
                .route("/metrics", get(|State(kapu): State<Arc<Kapu>>| async move { infra::metrics_text(&kapu) }))
                .with_state(Arc::clone(&kapu));
            let listener = TcpListener::bind(address).await?;
            tracing::info!(%address, "metrics served on their own address");
            Some(tokio::spawn(async move { axum::serve(listener, metrics_only).await }))
        }
        None => None,
    };
    let app = router(Arc::clone(&kapu));
    let result = server::serve_connections(kapu, app, listener, shutdown).await;
    sweeper.abort();
    mail.abort();
    logouts.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    result
}
