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
use kapu::config::{Config, LogFormat, Overrides};
use kapu::passwords::Password;
use tokio::signal::unix::{SignalKind, signal};

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
    /// Log format on standard error: text (colour only on a terminal) or json (one object per line).
    #[arg(long, global = true, env = "KAPU_LOG_FORMAT", value_name = "text|json", value_parser = LogFormat::parse)]
    log_format: Option<LogFormat>,
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
        log_format: global.log_format,
    }
}

/// The log on standard error. Serving logs at INFO; one-shot commands only
/// what went wrong, so `kapu admin` prints its answer and nothing else.
/// `KAPU_LOG` (an env-filter, e.g. `debug`) overrides the level.
fn init_log(format: LogFormat, quiet: bool) {
    use std::io::IsTerminal;
    let default = if quiet { "warn,sqlx=warn" } else { "info,sqlx=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KAPU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).init()
        }
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
    // The format comes from the flag or the configuration file; a file that
    // does not load is reported by the command itself, in text.
    let format = cli
        .global
        .log_format
        .unwrap_or_else(|| Config::load(&overrides(&cli.global)).map(|c| c.log.format).unwrap_or_default());
    init_log(format, !matches!(cli.command, Command::Serve(_)));
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
    // The handlers first: from the moment the address is printed, Ctrl-C or
    // a TERM stops the server cleanly.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    println!("kapu listening on http://{local}");
    if kapu.config.public_url() != format!("http://{local}") {
        println!("kapu public URL {}", kapu.config.public_url());
    }
    tracing::info!(database = kapu.store.backend().name(), data_dir = %kapu.config.data_dir.display(), "started");
    if kapu.config.mail.smtp.is_none() {
        tracing::warn!(
            dir = %kapu.config.outbox_dir().display(),
            "mail: no [mail.smtp] configured; messages are only written to the outbox directory"
        );
    }
    let shutdown = async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
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
