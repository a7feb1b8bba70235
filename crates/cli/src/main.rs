//! The `kapu` binary: `serve`, `migrate` and `admin`.
//!
//! The global options name the same data for every command, so an admin
//! command works on exactly what the running server uses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use kapu::accounts::model::Language;
use kapu::config::{Config, Overrides};
use kapu::passwords::Password;

mod admin;
mod otp;

#[derive(Parser)]
#[command(name = "kapu", version, about = "kapu: a citizen login with two-step verification (Ügyfélkapu+ style)")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Directory for the SQLite database, the secret key and the mail outbox (created if missing).
    #[arg(long, global = true, env = "KAPU_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite (several instances can share it).
    #[arg(long, global = true, env = "KAPU_DATABASE_URL", value_name = "postgres://...")]
    database_url: Option<String>,
    /// TOML configuration file (every option is described in docs/operations.md).
    #[arg(long, global = true, env = "KAPU_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first). Stops cleanly on Ctrl-C.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Office and operator tasks on the same data as the server.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The terminal authenticator: codes for two-step login from your own encrypted vault
    /// (never touches the server's database or configuration).
    Otp(otp::OtpCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "KAPU_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// The address citizens use (links in emails, the OIDC issuer), when behind a proxy.
    #[arg(long, env = "KAPU_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
}

fn overrides(global: &Global) -> Overrides {
    Overrides {
        config_file: global.config.clone(),
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        listen: None,
        public_url: None,
    }
}

fn main() -> ExitCode {
    // `kapu otp` is the citizen's own tool, with its own parser: its --help
    // shows none of the server's options.
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == "otp") {
        return otp::main(args);
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAPU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kapu: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kapu: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut overrides = overrides(&cli.global);
    match cli.command {
        // The authenticator is the citizen's own tool: it never loads the
        // server's configuration or opens its database.
        Command::Otp(command) => Ok(tokio::task::spawn_blocking(move || otp::main_parsed(command)).await?),
        Command::Serve(args) => {
            overrides.listen = args.listen;
            overrides.public_url = args.public_url;
            serve(overrides).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = Config::load(&overrides)?;
            let kapu = kapu::Kapu::open(config).await?;
            kapu.store.migrate().await?;
            println!("kapu: database is up to date ({})", kapu.store.backend().name());
            kapu.store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(command) => {
            let config = Config::load(&overrides)?;
            let kapu = kapu::Kapu::open(config).await?;
            kapu.store.migrate().await?;
            let code = admin::run(&kapu, command).await;
            kapu.store.close().await;
            Ok(code)
        }
    }
}

async fn serve(overrides: Overrides) -> anyhow::Result<()> {
    let mut config = Config::load(&overrides)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.server.listen))?;
    let local = listener.local_addr()?;
    // With port 0 (tests) the real port is known only now.
    if config.server.public_url.is_none() {
        config.server.public_url = Some(format!("http://{local}"));
    }
    let kapu = Arc::new(kapu::Kapu::open(config).await?);
    kapu.store.migrate().await?;
    println!("kapu listening on http://{local}");
    if kapu.config.public_url() != format!("http://{local}") {
        println!("kapu public URL {}", kapu.config.public_url());
    }
    tracing::info!(database = kapu.store.backend().name(), data_dir = %kapu.config.data_dir.display(), "started");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        tracing::info!("shutting down");
    };
    kapu::web::serve(Arc::clone(&kapu), listener, shutdown).await?;
    kapu.store.close().await;
    println!("kapu stopped");
    Ok(())
}

/// Reads a password for an admin command: from `--password-stdin`, never from
/// the command line (it would show in the process list and shell history).
fn read_password_stdin() -> anyhow::Result<Password> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    Ok(Password::new(p))
}

fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).ok_or_else(|| format!("{s:?} is not a language: use hu or en"))
}
