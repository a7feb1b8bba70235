//! `kapu admin ...`: every command prints a clear result, or an error and a
//! non-zero exit code; `--json` prints the same as one JSON object.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use kapu::Kapu;
use kapu::accounts::model::Language;
use kapu::accounts::seed::SeedRequest;
use kapu::accounts::service::Field;
use kapu::delegations::service::{DelegationError, DelegationInput};
use kapu::identity::model::{BirthDateError, NameError};
use kapu::identity::service::{IdentityError, InputField, InputProblem, VerificationInput};
use kapu::mail::EmailAddress;
use kapu::passwords::Password;
use serde_json::json;
use zeroize::Zeroizing;

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
    /// Make a waiting Ügyfélkapu+ set-up active at an office, after checking
    /// the citizen's ID in person (after the one-step cut-off, a set-up made
    /// with the password alone waits for the mailed link or for this).
    #[command(name = "confirm-2fa")]
    ConfirmTwoStep(ResetArgs),
    /// Verified identities: record a citizen's identity checked in person.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Delegations (meghatalmazás) made in person at an office.
    #[command(subcommand)]
    Delegation(DelegationCommand),
    /// Who may use the office console (/office), in which role.
    #[command(subcommand)]
    Office(OfficeCommand),
    /// Services that log their users in through kapu (OpenID Connect clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// ID-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create many ready accounts for benchmarks and tests (all or nothing).
    ///
    /// <prefix>0000001, <prefix>0000002, ...: active, email
    /// <username>@seed.invalid, two-step login on with a random TOTP key each,
    /// created in one transaction. Refused if any of the names exists.
    ///
    /// All seeded accounts share ONE Argon2id password hash (and one
    /// revocation-code hash): hashing a million passwords at the configured
    /// cost would take hours. Whoever knows one seeded password knows them
    /// all, so seed only test databases.
    Seed(SeedArgs),
}

#[derive(Args)]
pub struct SeedArgs {
    /// How many accounts to create.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    accounts: u32,
    /// Usernames are this followed by a zero-padded number (at least 7 digits).
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Read the shared password from the first line of this file (checked by
    /// the password policy). Default: a random one, printed once.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Write `username,BASE32KEY` lines here (mode 0600; must not exist), so a
    /// load generator can compute codes. Without it no key leaves the command.
    #[arg(long, value_name = "FILE")]
    secrets_out: Option<PathBuf>,
    #[command(flatten)]
    out: Json,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a service. A client secret is printed once and stored only hashed.
    Add(ClientAddArgs),
    /// Change a service's registration (only the options given change).
    Update(ClientUpdateArgs),
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
    /// How the service authenticates at /token and /par, fixed here:
    /// client_secret_basic (default), client_secret_post, private_key_jwt
    /// (with --jwks-file) or none (a public client: PKCE S256 required).
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<kapu::oidc::model::AuthMethod>,
    /// The same as --auth-method none (a single-page or mobile app).
    #[arg(long, conflicts_with = "auth_method")]
    public: bool,
    /// ID-token signature: ES256 (default) or RS256.
    #[arg(long, default_value = "ES256", value_parser = parse_alg)]
    alg: kapu::oidc::model::SigningAlg,
    /// The lowest level the service accepts: two_step (Ügyfélkapu+, default) or password.
    #[arg(long, default_value = "two_step", value_parser = parse_level)]
    level: kapu::oidc::model::Level,
    /// A file with the service's public JWK set, for private_key_jwt.
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    /// Where kapu POSTs logout tokens when a citizen's session ends
    /// (OpenID Connect Back-Channel Logout 1.0).
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// An origin of the service's browser application, allowed by CORS
    /// (public clients only). Repeat for several.
    #[arg(long = "web-origin")]
    web_origins: Vec<String>,
    /// Verified identity data the service may receive, with the citizen's
    /// consent: `identity` for all, or claim names (family_name, given_name,
    /// birthdate, birth_family_name, birth_given_name, mother_birth_name,
    /// place_of_birth). Repeat or separate with commas.
    #[arg(long = "allow-claims", value_delimiter = ',')]
    allowed_claims: Vec<String>,
    /// Delegation matters (ids of [delegations] matters, e.g. adobevallas)
    /// for which the service takes logins on a principal's behalf (the act
    /// claim). Without it agents log in for themselves only.
    #[arg(long = "delegation-matters", value_delimiter = ',')]
    delegation_matters: Vec<String>,
    /// Accept authorization requests only through /par (RFC 9126).
    #[arg(long)]
    par_required: bool,
    /// The FAPI 2.0 Security Profile baseline: PAR, PKCE S256 and
    /// private_key_jwt required, codes live at most 60 s (docs/oidc.md).
    #[arg(long)]
    fapi2: bool,
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct ClientUpdateArgs {
    #[arg(long = "client-id")]
    client_id: String,
    #[arg(long)]
    name: Option<String>,
    /// Replaces every redirect URI. Repeat for several.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Replaces every post-logout URI. Repeat for several.
    #[arg(long = "post-logout-uri")]
    post_logout_uris: Vec<String>,
    /// Remove every post-logout URI (logout then ends at kapu's own page).
    #[arg(long, conflicts_with = "post_logout_uris")]
    no_post_logout_uris: bool,
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<kapu::oidc::model::AuthMethod>,
    #[arg(long, value_parser = parse_alg)]
    alg: Option<kapu::oidc::model::SigningAlg>,
    #[arg(long, value_parser = parse_level)]
    level: Option<kapu::oidc::model::Level>,
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    #[arg(long, conflicts_with = "no_backchannel_logout")]
    backchannel_logout_uri: Option<String>,
    /// Stop sending logout tokens.
    #[arg(long)]
    no_backchannel_logout: bool,
    /// Replaces every web origin. Repeat for several.
    #[arg(long = "web-origin")]
    web_origins: Vec<String>,
    /// Remove every web origin.
    #[arg(long, conflicts_with = "web_origins")]
    no_web_origins: bool,
    /// Replaces the identity claims the service may receive (as for add).
    #[arg(long = "allow-claims", value_delimiter = ',')]
    allowed_claims: Vec<String>,
    /// The service receives no identity data any more.
    #[arg(long, conflicts_with = "allowed_claims")]
    no_allowed_claims: bool,
    /// Replaces the delegation matters (as for add).
    #[arg(long = "delegation-matters", value_delimiter = ',')]
    delegation_matters: Vec<String>,
    /// The service takes no logins on a principal's behalf any more.
    #[arg(long, conflicts_with = "delegation_matters")]
    no_delegation_matters: bool,
    #[arg(long)]
    par_required: Option<bool>,
    #[arg(long)]
    fapi2: Option<bool>,
    /// Issue a new client secret (printed once); the old one stops working.
    #[arg(long)]
    new_secret: bool,
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

fn parse_auth_method(s: &str) -> Result<kapu::oidc::model::AuthMethod, String> {
    kapu::oidc::model::AuthMethod::parse(s)
        .ok_or_else(|| format!("{s:?}: use client_secret_basic, client_secret_post, private_key_jwt or none"))
}

fn read_jwks(path: Option<&std::path::Path>) -> Result<Option<String>, String> {
    path.map(|p| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))).transpose()
}

/// What `client add` and `client update` print about a registration.
fn print_client(kapu: &Kapu, verb: &str, client: &kapu::oidc::model::Client, secret: Option<&str>) {
    println!("{verb} {} ({})", client.name, client.auth_method.as_str());
    println!("client_id:     {}", client.client_id);
    if let Some(secret) = secret {
        println!("client_secret: {secret}");
        println!("(shown once: kapu keeps only a hash of it)");
    }
    if let Some(uri) = &client.backchannel_logout_uri {
        println!("back-channel logout: {uri}");
    }
    if !client.allowed_claims.is_empty() {
        println!("identity claims (with consent): {}", client.allowed_claims.join(", "));
    }
    if !client.delegation_matters.is_empty() {
        println!("logins on a principal's behalf for: {}", client.delegation_matters.join(", "));
    }
    if client.fapi2 {
        println!("FAPI 2.0 baseline: PAR, PKCE S256 and private_key_jwt required");
    } else if client.par_required {
        println!("PAR required");
    }
    println!("issuer:        {}", kapu.issuer());
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
pub enum OfficeCommand {
    /// Let an account use the office console (or change its role or office).
    /// The account logs in with its own two-step login (Ügyfélkapu+).
    Add(OfficeAddArgs),
    /// Take the console away from an account.
    Remove(OfficeUserArgs),
    /// The office staff.
    List(Json),
}

#[derive(Args)]
pub struct OfficeAddArgs {
    #[arg(long = "user", value_name = "USERNAME")]
    user: String,
    /// clerk, or supervisor (also sees every office action).
    #[arg(long, value_parser = parse_role)]
    role: kapu::office::model::Role,
    /// The office, as shown in the console and the audit log.
    #[arg(long)]
    office: String,
    #[command(flatten)]
    out: Json,
}

#[derive(Args)]
pub struct OfficeUserArgs {
    #[arg(long = "user", value_name = "USERNAME")]
    user: String,
    #[command(flatten)]
    out: Json,
}

fn parse_role(s: &str) -> Result<kapu::office::model::Role, String> {
    kapu::office::model::Role::parse(s).ok_or_else(|| format!("{s:?}: use clerk or supervisor"))
}

#[derive(Subcommand)]
pub enum DelegationCommand {
    /// Record a delegation the principal made in person: both must have a
    /// verified identity; the agent is named by username and date of birth
    /// and accepts it in the portal. Audited with the clerk, office and reason.
    Record(RecordDelegationArgs),
}

#[derive(Args)]
pub struct RecordDelegationArgs {
    /// The principal's username (who lets someone act for them).
    #[arg(long, value_name = "USERNAME")]
    principal: String,
    /// The agent's username.
    #[arg(long, value_name = "USERNAME")]
    agent: String,
    /// The agent's date of birth, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    agent_birth_date: String,
    /// A matter id of [delegations] matters (e.g. adobevallas).
    #[arg(long)]
    matter: String,
    /// A client_id: only at this service (default: any service).
    #[arg(long, value_name = "CLIENT_ID", default_value = "")]
    service: String,
    /// The first day, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// The last day, YYYY-MM-DD (included).
    #[arg(long, value_name = "DATE")]
    until: String,
    #[arg(long)]
    clerk: String,
    #[arg(long)]
    office: String,
    /// Why, for the audit log.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    out: Json,
}

#[derive(Subcommand)]
pub enum IdentityCommand {
    /// Record the identity of a citizen checked in person at an office.
    ///
    /// With --user, the identity is bound to that account at once (the
    /// citizen is at the counter). Otherwise a single-use activation code is
    /// printed for the clerk to hand over, or with --mail-to sent as the
    /// letter; the citizen enters it on "Regisztrációs adatok". Audited with
    /// the clerk, the office and the reason.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long, value_name = "NAME")]
    family_name: String,
    #[arg(long, value_name = "NAME")]
    given_name: String,
    #[arg(long, value_name = "NAME")]
    birth_family_name: String,
    #[arg(long, value_name = "NAME")]
    birth_given_name: String,
    #[arg(long, value_name = "NAME")]
    mother_birth_name: String,
    #[arg(long, value_name = "PLACE")]
    place_of_birth: String,
    /// 1980-05-17 or 1980.05.17.
    #[arg(long, value_name = "DATE")]
    birth_date: String,
    /// id_card, passport, driving_licence or residence_card.
    #[arg(long, value_name = "KIND")]
    document_kind: String,
    /// Stored sealed; never shown again.
    #[arg(long, value_name = "NUMBER")]
    document_number: String,
    /// The clerk who checked the document.
    #[arg(long, value_name = "NAME")]
    clerk: String,
    #[arg(long, value_name = "OFFICE")]
    office: String,
    /// Why, for the audit log (e.g. "asked in person").
    #[arg(long)]
    reason: String,
    /// Bind to this account now instead of issuing a code.
    #[arg(long = "user", value_name = "USERNAME", conflicts_with = "mail_to")]
    user: Option<String>,
    /// Send the code to this address (the letter) instead of printing it.
    #[arg(long, value_name = "EMAIL")]
    mail_to: Option<String>,
    #[command(flatten)]
    out: Json,
}

impl VerifyArgs {
    fn input(&self) -> VerificationInput {
        VerificationInput {
            family_name: self.family_name.clone(),
            given_name: self.given_name.clone(),
            birth_family_name: self.birth_family_name.clone(),
            birth_given_name: self.birth_given_name.clone(),
            mother_birth_name: self.mother_birth_name.clone(),
            place_of_birth: self.place_of_birth.clone(),
            birth_date: self.birth_date.clone(),
            document_kind: self.document_kind.clone(),
            document_number: self.document_number.clone(),
            clerk: self.clerk.clone(),
            office: self.office.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// What is wrong with one option of `identity verify`, for the clerk.
fn input_problem_text(field: InputField, problem: InputProblem) -> String {
    let option = match field {
        InputField::FamilyName => "--family-name",
        InputField::GivenName => "--given-name",
        InputField::BirthFamilyName => "--birth-family-name",
        InputField::BirthGivenName => "--birth-given-name",
        InputField::MotherBirthName => "--mother-birth-name",
        InputField::PlaceOfBirth => "--place-of-birth",
        InputField::BirthDate => "--birth-date",
        InputField::DocumentKind => "--document-kind",
        InputField::DocumentNumber => "--document-number",
        InputField::Clerk => "--clerk",
        InputField::Office => "--office",
        InputField::Reason => "--reason",
    };
    let what = match problem {
        InputProblem::Name(NameError::Empty) => "is empty",
        InputProblem::Name(NameError::TooLong) => "is longer than 100 characters",
        InputProblem::Name(NameError::InvalidCharacters) => {
            "may hold only letters, spaces, hyphens, apostrophes and dots, as on the document"
        }
        InputProblem::BirthDate(BirthDateError::Format) => "is not a date like 1980-05-17",
        InputProblem::BirthDate(BirthDateError::OutOfRange) => "must be between 1900-01-01 and today",
        InputProblem::DocumentKind => "must be id_card, passport, driving_licence or residence_card",
        InputProblem::DocumentNumber => "must be 5 to 20 letters and digits",
        InputProblem::Text => "must be 1 to 200 characters without control characters",
    };
    format!("{option} {what}")
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an active account for a citizen whose ID was checked in person.
    /// The initial password is read from standard input.
    Add(UserAddArgs),
    /// List accounts.
    List(ListArgs),
    /// Lift every lock on a citizen: the password limit of the name, the
    /// code step's wait or lock, the lost-phone form's limit. Audited.
    Unlock(UnlockArgs),
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
pub struct UnlockArgs {
    #[arg(long = "user", value_name = "USERNAME")]
    user: String,
    /// Why (recorded in the audit log), e.g. "ID card checked at the office".
    #[arg(long)]
    reason: String,
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
        AdminCommand::Identity(IdentityCommand::Verify(a)) => verify_identity(kapu, &a).await,
        AdminCommand::Delegation(DelegationCommand::Record(a)) => record_delegation(kapu, &a).await,
        AdminCommand::Office(OfficeCommand::Add(a)) => match kapu.admin_office_add(&a.user, a.role, &a.office).await {
            Ok(staff) if a.out.json => {
                println!("{}", json!({ "ok": true, "staff": staff }));
                ExitCode::SUCCESS
            }
            Ok(staff) => {
                println!("{} ({}) is a {} at {}", staff.username, staff.name, staff.role.as_str(), staff.office);
                println!("they use /office after logging in with Ügyfélkapu+");
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Office(OfficeCommand::Remove(a)) => match kapu.admin_office_remove(&a.user).await {
            Ok(()) if a.out.json => {
                println!("{}", json!({ "ok": true }));
                ExitCode::SUCCESS
            }
            Ok(()) => {
                println!("{} can no longer use the office console", a.user);
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Office(OfficeCommand::List(out)) => match kapu.admin_office_list().await {
            Ok(staff) if out.json => {
                println!("{}", json!({ "ok": true, "staff": staff }));
                ExitCode::SUCCESS
            }
            Ok(staff) => {
                for s in &staff {
                    println!("{:<24} {:<10} {}", s.username, s.role.as_str(), s.office);
                }
                println!("{} staff", staff.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(out.json, &e.to_string()),
        },
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
        AdminCommand::User(UserCommand::Unlock(a)) => match kapu.admin_unlock(&a.user, &a.reason).await {
            Ok(lifted) if a.out.json => {
                let was_locked = lifted.login || lifted.codes;
                println!("{}", json!({ "ok": true, "username": a.user, "was_locked": was_locked, "lifted": lifted }));
                ExitCode::SUCCESS
            }
            Ok(lifted) if lifted.login || lifted.codes => {
                let what = match (lifted.login, lifted.codes) {
                    (true, true) => "the password limit and the code lock",
                    (true, false) => "the password limit",
                    _ => "the code lock",
                };
                println!("unlocked {}: lifted {what}", a.user);
                ExitCode::SUCCESS
            }
            Ok(_) => {
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
        AdminCommand::ConfirmTwoStep(a) => match kapu.office_confirm_two_step(&a.user, &a.reason).await {
            Ok(account) if a.out.json => {
                println!("{}", json!({ "ok": true, "username": account.username, "two_step": "on" }));
                ExitCode::SUCCESS
            }
            Ok(account) => {
                println!(
                    "two-step login of {} is on with the authenticator set up; all sessions ended",
                    account.username
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Client(ClientCommand::Add(a)) => {
            let jwks = match read_jwks(a.jwks_file.as_deref()) {
                Ok(j) => j,
                Err(e) => return fail(a.out.json, &e),
            };
            let auth_method = match (a.auth_method, a.public) {
                (Some(m), _) => m,
                (None, true) => kapu::oidc::model::AuthMethod::None,
                (None, false) if jwks.is_some() => kapu::oidc::model::AuthMethod::PrivateKeyJwt,
                (None, false) => kapu::oidc::model::AuthMethod::ClientSecretBasic,
            };
            let new = kapu::oidc::clients::NewClient {
                name: a.name.clone(),
                redirect_uris: a.redirect_uris.clone(),
                post_logout_redirect_uris: a.post_logout_uris.clone(),
                auth_method,
                id_token_alg: a.alg,
                required_level: a.level,
                jwks,
                backchannel_logout_uri: a.backchannel_logout_uri.clone(),
                web_origins: a.web_origins.clone(),
                allowed_claims: a.allowed_claims.clone(),
                delegation_matters: a.delegation_matters.clone(),
                par_required: a.par_required,
                fapi2: a.fapi2,
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
                    print_client(kapu, "registered", &client, secret.as_deref());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(a.out.json, &e.to_string()),
            }
        }
        AdminCommand::Client(ClientCommand::Update(a)) => {
            let jwks = match read_jwks(a.jwks_file.as_deref()) {
                Ok(j) => j,
                Err(e) => return fail(a.out.json, &e),
            };
            let changes = kapu::oidc::clients::ClientChanges {
                name: a.name.clone(),
                redirect_uris: (!a.redirect_uris.is_empty()).then(|| a.redirect_uris.clone()),
                post_logout_redirect_uris: if a.no_post_logout_uris {
                    Some(Vec::new())
                } else {
                    (!a.post_logout_uris.is_empty()).then(|| a.post_logout_uris.clone())
                },
                auth_method: a.auth_method,
                id_token_alg: a.alg,
                required_level: a.level,
                jwks,
                backchannel_logout_uri: if a.no_backchannel_logout {
                    Some(None)
                } else {
                    a.backchannel_logout_uri.clone().map(Some)
                },
                web_origins: if a.no_web_origins {
                    Some(Vec::new())
                } else {
                    (!a.web_origins.is_empty()).then(|| a.web_origins.clone())
                },
                allowed_claims: if a.no_allowed_claims {
                    Some(Vec::new())
                } else {
                    (!a.allowed_claims.is_empty()).then(|| a.allowed_claims.clone())
                },
                delegation_matters: if a.no_delegation_matters {
                    Some(Vec::new())
                } else {
                    (!a.delegation_matters.is_empty()).then(|| a.delegation_matters.clone())
                },
                par_required: a.par_required,
                fapi2: a.fapi2,
                new_secret: a.new_secret,
            };
            match kapu.update_client(&a.client_id, changes).await {
                Ok((client, secret)) if a.out.json => {
                    println!("{}", json!({ "ok": true, "client_secret": secret, "client": client }));
                    ExitCode::SUCCESS
                }
                Ok((client, secret)) => {
                    print_client(kapu, "updated", &client, secret.as_deref());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(a.out.json, &e.to_string()),
            }
        }
        AdminCommand::Client(ClientCommand::List(a)) => match kapu.list_clients().await {
            Ok(clients) if a.out.json => {
                println!("{}", json!({ "ok": true, "clients": clients }));
                ExitCode::SUCCESS
            }
            Ok(clients) => {
                println!(
                    "{:<22} {:<24} {:<20} {:<6} {:<9} redirect URIs",
                    "client_id", "name", "auth method", "alg", "level"
                );
                for c in &clients {
                    println!(
                        "{:<22} {:<24} {:<20} {:<6} {:<9} {}",
                        c.client_id,
                        c.name,
                        c.auth_method.as_str(),
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
        AdminCommand::Client(ClientCommand::Remove(a)) => match kapu.remove_client(&a.client_id).await {
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
            Ok(keys) if a.out.json => {
                let keys: Vec<_> = keys
                    .iter()
                    .map(|(kid, from)| json!({ "kid": kid, "signs_from": from, "signs_from_local": kapu.format_time(*from) }))
                    .collect();
                println!("{}", json!({ "ok": true, "new_keys": keys }));
                ExitCode::SUCCESS
            }
            Ok(keys) => {
                for (kid, from) in &keys {
                    println!("published {kid}; it signs from {}", kapu.format_time(*from));
                }
                println!("the previous keys sign until then, and stay in the JWKS until their tokens expire");
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &e.to_string()),
        },
        AdminCommand::Seed(a) => seed(kapu, &a).await,
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

/// The first line of a file, without its line ending.
fn read_password_file(path: &Path) -> Result<Password, String> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?,
    );
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(format!("the password file {} has no password on its first line", path.display()));
    }
    Ok(Password::new(first.to_owned()))
}

/// Creates the secrets file for the owner only; an existing file is never
/// overwritten (it may hold the keys of an earlier seeding).
fn create_secrets_file(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| format!("cannot create the secrets file {}: {e}", path.display()))
}

async fn seed(kapu: &Kapu, a: &SeedArgs) -> ExitCode {
    let password = match &a.password_file {
        Some(path) => match read_password_file(path) {
            Ok(p) => Some(p),
            Err(e) => return fail(a.out.json, &e),
        },
        None => None,
    };
    let mut secrets = match &a.secrets_out {
        Some(path) => match create_secrets_file(path) {
            Ok(file) => Some(BufWriter::with_capacity(1 << 16, file)),
            Err(e) => return fail(a.out.json, &e),
        },
        None => None,
    };
    let request = SeedRequest { count: a.accounts, prefix: a.prefix.clone(), password };
    let started = Instant::now();
    let seeded = kapu.seed_accounts(&request, secrets.as_mut().map(|w| w as &mut (dyn Write + Send))).await;
    // The keys are written before the accounts are committed; make them durable.
    let synced = match secrets.map(BufWriter::into_inner) {
        Some(Ok(file)) => file.sync_all().map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.error().to_string()),
        None => Ok(()),
    };
    let seconds = started.elapsed().as_secs_f64();
    let report = match (seeded, synced) {
        (Ok(report), Ok(())) => report,
        (Ok(_), Err(e)) => {
            return fail(a.out.json, &format!("the accounts were created, but the secrets file is incomplete: {e}"));
        }
        (Err(e), _) => {
            // Nothing was created: keys for accounts that do not exist are no use.
            if let Some(path) = &a.secrets_out {
                let _ = std::fs::remove_file(path);
            }
            return fail(a.out.json, &e.to_string());
        }
    };
    let secrets_out = a.secrets_out.as_ref().map(|p| p.display().to_string());
    if a.out.json {
        let mut v = json!({
            "ok": true,
            "seeded": report.count,
            "first": report.first,
            "last": report.last,
            "two_step": "on",
            "secrets_out": secrets_out,
            "seconds": (seconds * 1000.0).round() / 1000.0,
        });
        if let Some(p) = &report.generated_password {
            v["password"] = json!(p.expose());
        }
        println!("{v}");
        return ExitCode::SUCCESS;
    }
    println!(
        "seeded {} accounts {}..{} (active, two-step login on) in {seconds:.1} s",
        report.count, report.first, report.last
    );
    if let Some(p) = &report.generated_password {
        println!("password of every seeded account: {}", p.expose());
        println!("(shown once: kapu keeps only a hash of it)");
    }
    match secrets_out {
        Some(path) => println!("TOTP keys: {path} (username,BASE32KEY per line)"),
        None => println!("TOTP keys were not saved (use --secrets-out FILE to compute codes)"),
    }
    ExitCode::SUCCESS
}

async fn verify_identity(kapu: &Kapu, a: &VerifyArgs) -> ExitCode {
    let verification = match kapu.parse_verification(&a.input()) {
        Ok(v) => v,
        Err(problems) => {
            let text: Vec<String> = problems.into_iter().map(|(f, p)| input_problem_text(f, p)).collect();
            return fail(a.out.json, &text.join("; "));
        }
    };
    if let Some(user) = &a.user {
        return match kapu.office_verify_account(user, &verification).await {
            Ok(account) if a.out.json => {
                println!("{}", json!({ "ok": true, "username": account.username, "verified": true }));
                ExitCode::SUCCESS
            }
            Ok(account) => {
                println!("the identity is bound to {}; the citizen was emailed", account.username);
                ExitCode::SUCCESS
            }
            Err(e) => fail(a.out.json, &identity_error_text(&e)),
        };
    }
    let mail_to = match a.mail_to.as_deref().map(EmailAddress::parse).transpose() {
        Ok(to) => to,
        Err(_) => return fail(a.out.json, "--mail-to is not an email address"),
    };
    match kapu.office_issue_binding_code(&verification, mail_to.as_ref()).await {
        Ok((code, until)) => {
            let until = kapu.format_time(until);
            let shown = if mail_to.is_some() { None } else { Some(code.grouped()) };
            if a.out.json {
                println!("{}", json!({ "ok": true, "code": shown, "mailed": mail_to.is_some(), "valid_until": until }));
            } else if let Some(code) = shown {
                println!("activation code (hand it to the citizen; shown once): {code}");
                println!("valid until {until}; the citizen enters it on Regisztrációs adatok");
            } else {
                println!("the activation code was mailed; valid until {until}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(a.out.json, &identity_error_text(&e)),
    }
}

async fn record_delegation(kapu: &Kapu, a: &RecordDelegationArgs) -> ExitCode {
    let input = DelegationInput {
        agent_username: a.agent.clone(),
        agent_birth_date: a.agent_birth_date.clone(),
        matter: a.matter.clone(),
        service: a.service.clone(),
        valid_from: a.from.clone().unwrap_or_else(|| kapu.today().to_string()),
        valid_until: a.until.clone(),
    };
    match kapu.office_record_delegation(&a.principal, &input, &a.clerk, &a.office, &a.reason).await {
        Ok(d) if a.out.json => {
            let json = json!({
                "ok": true, "id": d.id, "principal": d.principal_name, "agent": d.agent_name, "matter": d.matter,
                "service": d.client_id, "from": d.valid_from.to_string(), "until": d.valid_until.to_string(),
                "state": "pending",
            });
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(d) => {
            println!(
                "recorded: {} lets {} act in {} from {} to {}",
                d.principal_name, d.agent_name, d.matter, d.valid_from, d.valid_until
            );
            println!("the agent was emailed and accepts it on Meghatalmazások");
            ExitCode::SUCCESS
        }
        Err(DelegationError::Form(errors)) => {
            let t = kapu::i18n::texts(Language::En);
            let option = |f: Field| match f {
                Field::AgentUsername => "--agent",
                Field::AgentBirthDate => "--agent-birth-date",
                Field::Matter => "--matter",
                Field::Service => "--service",
                Field::ValidFrom => "--from",
                _ => "--until",
            };
            let text: Vec<String> =
                errors.0.iter().map(|(f, p)| format!("{}: {}", option(*f), kapu::i18n::problem_text(t, p))).collect();
            fail(a.out.json, &text.join("; "))
        }
        Err(DelegationError::NotVerified) => fail(a.out.json, "the principal has no verified identity"),
        Err(e) => fail(a.out.json, &e.to_string()),
    }
}

fn identity_error_text(e: &IdentityError) -> String {
    match e {
        IdentityError::AlreadyVerified => "the account already has a verified identity".into(),
        IdentityError::BoundElsewhere => "this person's identity is bound to another account".into(),
        other => other.to_string(),
    }
}
