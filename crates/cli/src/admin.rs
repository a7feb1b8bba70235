//! `kapu admin ...`: every command prints a clear result, or an error and a
//! non-zero exit code; `--json` prints the same as one JSON object.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kapu::Kapu;
use kapu::accounts::model::Language;
use serde_json::json;

use crate::{parse_language, read_password_stdin};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Accounts: create (at an office), list, unlock.
    #[command(subcommand)]
    User(UserCommand),
    /// Print a user's security events, newest first.
    Audit(AuditArgs),
    /// Turn off a citizen's two-step login at an office, after checking their
    /// ID in person (they lost both the phone and the revocation code).
    #[command(name = "reset-2fa")]
    ResetTwoStep(ResetArgs),
    /// Services that log their users in through kapu (OpenID Connect clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// ID-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a service. A confidential client's secret is printed once and stored only hashed.
    Add(ClientAddArgs),
    List(JsonOnly),
    /// Remove a service; its codes and tokens go with it.
    Remove(ClientRemoveArgs),
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Start signing with new keys; the old ones stay published until their tokens expire.
    Rotate(JsonOnly),
}

#[derive(Args)]
pub struct JsonOnly {
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct ClientAddArgs {
    /// The name citizens see on the login page, e.g. "Bevallás".
    #[arg(long)]
    name: String,
    /// Where codes are sent; matched exactly. Repeat for several.
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// Where the browser may return after logout. Repeat for several.
    #[arg(long = "post-logout-uri")]
    post_logout_uris: Vec<String>,
    /// A public client (no secret; PKCE S256 required), e.g. a single-page app.
    #[arg(long)]
    public: bool,
    /// ID-token signature: ES256 (default) or RS256.
    #[arg(long, default_value = "ES256", value_parser = parse_alg)]
    alg: kapu::oidc::model::SigningAlg,
    /// The lowest level the service accepts: two_step (Ügyfélkapu+, default) or password.
    #[arg(long, default_value = "two_step", value_parser = parse_level)]
    level: kapu::oidc::model::Level,
    /// A file with the service's public JWK set, for private_key_jwt client authentication.
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct ClientRemoveArgs {
    #[arg(long = "client-id")]
    client_id: String,
    #[command(flatten)]
    out: Json,
}

fn parse_alg(s: &str) -> Result<kapu::oidc::model::SigningAlg, String> {
    kapu::oidc::model::SigningAlg::parse(s).ok_or_else(|| format!("{s:?}: use ES256 or RS256"))
}

fn parse_level(s: &str) -> Result<kapu::oidc::model::Level, String> {
    kapu::oidc::model::Level::parse(s).ok_or_else(|| format!("{s:?}: use two_step or password"))
}

#[derive(Args)]
pub struct ResetArgs {
    #[arg(long = "user", value_name = "USERNAME")]
    user: String,
    /// Why, for the audit log (e.g. "ID card checked, office Budapest XI").
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    out: Json,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an active account for a citizen whose ID was checked in person.
    /// The initial password is read from standard input.
    Add(UserAddArgs),
    /// List accounts.
    List(ListArgs),
    /// Lift the lock after too many failed logins.
    Unlock(UserArgs),
}

#[derive(Args)]
pub struct Json {
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UserAddArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    name: String,
    #[arg(long)]
    email: String,
    /// Page and email language: hu or en.
    #[arg(long, default_value = "hu", value_parser = parse_language)]
    language: Language,
    /// Read the initial password from standard input (required: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long, default_value_t = 100)]
    limit: i64,
    #[arg(long, default_value_t = 0)]
    offset: i64,
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct UserArgs {
    #[arg(long = "user", value_name = "USERNAME")]
    user: String,
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct AuditArgs {
    #[arg(long = "user", value_name = "USERNAME")]
    user: String,
    #[arg(long, default_value_t = 100)]
    limit: i64,
    #[command(flatten)]
    out: Json,
}

fn fail(json: bool, message: &str) -> ExitCode {
    if json {
        println!("{}", json!({ "ok": false, "error": message }));
    } else {
        eprintln!("kapu: {message}");
    }
    ExitCode::FAILURE
}

pub async fn run(kapu: &Kapu, command: AdminCommand) -> ExitCode {
    match command {
        AdminCommand::User(UserCommand::Add(a)) => {
            let password = match read_password_stdin() {
                Ok(p) => p,
                Err(e) => return fail(a.out.json, &e.to_string()),
            };
            match kapu.admin_create_user(&a.username, &a.name, &a.email, &password, a.language).await {
                Ok(account) if a.out.json => {
                    println!("{}", json!({ "ok": true, "account": account }));
                    ExitCode::SUCCESS
                }
                Ok(account) => {
                    println!("created account {} ({}), active", account.username, account.full_name.as_str());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(a.out.json, &e.to_string()),
            }
        }
        AdminCommand::User(UserCommand::List(a)) => match kapu.admin_list_users(a.limit, a.offset).await {
            Ok(accounts) if a.out.json => {
                println!("{}", json!({ "ok": true, "accounts": accounts }));
                ExitCode::SUCCESS
            }
            Ok(accounts) => {
                println!("{:<24} {:<8} {:<32} email", "username", "status", "name");
                for acc in &accounts {
                    println!(
                        "{:<24} {:<8} {:<32} {}",
                        acc.username.as_str(),
                        acc.status.as_str(),
                        acc.full_name.as_str(),
                        acc.email.as_str()
                    );
                }
                println!("{} account(s)", accounts.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::User(UserCommand::Unlock(a)) => match kapu.admin_unlock(&a.user).await {
            Ok(was_locked) if a.out.json => {
                println!("{}", json!({ "ok": true, "username": a.user, "was_locked": was_locked }));
                ExitCode::SUCCESS
            }
            Ok(true) => {
                println!("unlocked {}", a.user);
                ExitCode::SUCCESS
            }
            Ok(false) => {
                println!("{} was not locked; nothing to do", a.user);
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::ResetTwoStep(a) => match kapu.office_reset_two_step(&a.user, &a.reason).await {
            Ok(account) if a.out.json => {
                println!("{}", json!({ "ok": true, "username": account.username, "two_step": "off" }));
                ExitCode::SUCCESS
            }
            Ok(account) => {
                println!("two-step login of {} is off; the user was emailed and all sessions ended", account.username);
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Client(ClientCommand::Add(a)) => {
            let jwks = match &a.jwks_file {
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(text) => Some(text),
                    Err(e) => return fail(a.out.json, &format!("cannot read {}: {e}", path.display())),
                },
                None => None,
            };
            let new = kapu::oidc::service::NewClient {
                name: a.name.clone(),
                redirect_uris: a.redirect_uris.clone(),
                post_logout_redirect_uris: a.post_logout_uris.clone(),
                confidential: !a.public,
                id_token_alg: a.alg,
                required_level: a.level,
                jwks,
            };
            match kapu.register_client(new).await {
                Ok((client, secret)) if a.out.json => {
                    println!(
                        "{}",
                        json!({ "ok": true, "client_id": client.client_id, "client_secret": secret, "client": client })
                    );
                    ExitCode::SUCCESS
                }
                Ok((client, secret)) => {
                    println!(
                        "registered {} ({})",
                        client.name,
                        if client.confidential { "confidential" } else { "public" }
                    );
                    println!("client_id:     {}", client.client_id);
                    if let Some(secret) = secret {
                        println!("client_secret: {secret}");
                        println!("(shown once: kapu keeps only a hash of it)");
                    }
                    println!("issuer:        {}", kapu.issuer());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(a.out.json, &e.to_string()),
            }
        }
        AdminCommand::Client(ClientCommand::List(a)) => match kapu.store.list_clients().await {
            Ok(clients) if a.out.json => {
                println!("{}", json!({ "ok": true, "clients": clients }));
                ExitCode::SUCCESS
            }
            Ok(clients) => {
                println!("{:<22} {:<24} {:<12} {:<6} {:<9} redirect URIs", "client_id", "name", "type", "alg", "level");
                for c in &clients {
                    println!(
                        "{:<22} {:<24} {:<12} {:<6} {:<9} {}",
                        c.client_id,
                        c.name,
                        if c.confidential { "confidential" } else { "public" },
                        c.id_token_alg.as_str(),
                        c.required_level.as_str(),
                        c.redirect_uris.join(" ")
                    );
                }
                println!("{} client(s)", clients.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Client(ClientCommand::Remove(a)) => match kapu.store.delete_client(&a.client_id).await {
            Ok(true) if a.out.json => {
                println!("{}", json!({ "ok": true, "removed": a.client_id }));
                ExitCode::SUCCESS
            }
            Ok(true) => {
                println!("removed client {}", a.client_id);
                ExitCode::SUCCESS
            }
            Ok(false) => fail(a.out.json, &format!("no client {:?}", a.client_id)),
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Keys(KeysCommand::Rotate(a)) => match kapu.rotate_signing_keys().await {
            Ok(kids) if a.out.json => {
                println!("{}", json!({ "ok": true, "new_kids": kids }));
                ExitCode::SUCCESS
            }
            Ok(kids) => {
                println!(
                    "now signing with {}; the previous keys stay in the JWKS until their tokens expire",
                    kids.join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Audit(a) => match kapu.admin_audit(&a.user, a.limit).await {
            Ok(events) if a.out.json => {
                println!("{}", json!({ "ok": true, "events": events }));
                ExitCode::SUCCESS
            }
            Ok(events) => {
                println!("{:<20} {:<28} {:<8} address", "time", "event", "outcome");
                for e in &events {
                    println!(
                        "{:<20} {:<28} {:<8} {}",
                        kapu.format_time(e.at),
                        e.event,
                        e.outcome,
                        e.client_addr.as_deref().unwrap_or("-")
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
    }
}
