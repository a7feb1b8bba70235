//! `kapu-demo-tax`: the "Bevallás" demo service. A citizen fills in a tax
//! return; every submission sends them to kapu for a fresh login with a
//! code (Ügyfélkapu+), and the return is filed only if the ID token proves
//! it (see `acceptance`).

mod acceptance;
mod config;
mod oidc;
mod store;
mod web;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::config::Args;
use crate::oidc::Oidc;
use crate::store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(EnvFilter::try_from_env("KAPU_TAX_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    // Bind first: the default public URL is the address actually bound (port 0).
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let public_url = args.public_url(local);

    let store = Store::open(&args.data_dir)
        .await
        .with_context(|| format!("cannot open the database in {}", args.data_dir.display()))?;
    let oidc = Oidc::discover(
        &args.issuer,
        &args.client_id,
        &args.client_secret,
        &public_url,
        Duration::from_secs(args.discovery_wait_seconds),
    )
    .await?;
    tracing::info!(issuer = oidc.issuer(), redirect_uri = oidc.redirect_uri(), "provider discovered");

    let app = Arc::new(web::App::new(store, oidc, &public_url));
    let router = web::router(app);
    println!("kapu-demo-tax listening on http://{local}");
    if public_url != format!("http://{local}") {
        println!("kapu-demo-tax public URL {public_url}");
    }
    axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot wait for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot wait for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
