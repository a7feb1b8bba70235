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
