//! Health, metrics, security headers, and hash upgrades.

use kapu::store::repos::*;
use std::sync::Arc;

use kapu::Kapu;
use kapu::accounts::model::Username;
use kapu::audit::Actor;
use kapu::passwords::Password;
use reqwest::StatusCode;

use crate::both_backends;
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "tavaszi szel vizet araszt";

both_backends!(health_metrics_and_headers, hashes_are_upgraded_at_login);

async fn health_metrics_and_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    let ready = app.get("/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (StatusCode::OK, "ready\n"));

    let login = app.get("/login").await;
    let h = &login.headers;
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    assert!(!login.body.contains("<script>"), "no inline script");
    let css = app.get("/static/kapu.css").await;
    assert_eq!(css.headers.get("content-type").unwrap(), "text/css; charset=utf-8");
    assert!(css.headers.get("content-security-policy").is_some());

    app.register_confirmed("merheto", "Mérhető Márta", "marta@example.hu", PASSWORD).await;
    app.login("merheto", PASSWORD).await;
    app.login_with(&app.new_browser(), "merheto", "rossz jelszo").await;
    let metrics = app.get("/metrics").await.body;
    for needle in [
        "kapu_logins_total{outcome=\"success\"} 1",
        "kapu_logins_total{outcome=\"invalid_credentials\"} 1",
        "kapu_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"}",
        "kapu_password_hash_seconds_count",
        "kapu_lockouts_total 0",
    ] {
        assert!(metrics.contains(needle), "{needle} missing:\n{metrics}");
    }
    // The server never logs or exposes secrets in its metrics.
    assert!(!metrics.contains(PASSWORD));
    app.stop().await;
}

/// A login with the right password re-hashes it when the configured
/// parameters changed, so raising them reaches every active account.
async fn hashes_are_upgraded_at_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("regi.hash", "Régi Hash", "rh@example.hu", PASSWORD).await;
    let name = Username::parse("regi.hash").unwrap();
    let before = app.kapu.store.account_by_username(&name).await.unwrap().unwrap().password_hash;
    assert!(before.contains("m=64,t=1,p=1"), "{before}");

    let mut config = (*app.kapu.config).clone();
    config.password_hash.memory_kib = 128;
    config.password_hash.iterations = 2;
    let stronger = Arc::new(Kapu::open(config).await.unwrap());
    stronger.login("regi.hash", &Password::new(PASSWORD.into()), &Actor::default()).await.unwrap();
    let after = app.kapu.store.account_by_username(&name).await.unwrap().unwrap().password_hash;
    assert!(after.contains("m=128,t=2,p=1"), "{after}");
    // The upgraded hash still verifies, on both configurations.
    stronger.login("regi.hash", &Password::new(PASSWORD.into()), &Actor::default()).await.unwrap();
    assert_eq!(app.login("regi.hash", PASSWORD).await.status, StatusCode::SEE_OTHER);
    stronger.store.close().await;
    app.stop().await;
}
