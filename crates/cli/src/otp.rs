//! `kapu otp ...`: the terminal authenticator, for citizens who have no
//! phone app. It works on the user's own encrypted vault file only; it never
//! opens the server's database or configuration.
//!
//! This module parses arguments, gets passphrases (environment variable for
//! scripts, otherwise asked on the terminal without echo) and prints; the
//! work is in the `authenticator` crate. Secrets are printed only by the
//! commands whose purpose is to show them (`export`, `qr`).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use authenticator::account::{self, Account, Color};
use authenticator::envelope::KdfParams;
use authenticator::import::{self, Imported};
use authenticator::view::{text, watch};
use authenticator::{Vault, VaultError, atomic, backup, clock, merge, qr};
use clap::{Args, Subcommand};
use otp::{Algorithm, Digits, Kind, OtpAuthUri, Period, Secret};
use serde_json::json;
use zeroize::Zeroizing;

/// The vault passphrase, for scripts (otherwise it is asked on the terminal).
const VAULT_PASSPHRASE_ENV: &str = "KAPU_VAULT_PASSPHRASE";
/// The passphrase of an encrypted export, or the password of an encrypted
/// file being imported, for scripts.
const BACKUP_PASSPHRASE_ENV: &str = "KAPU_BACKUP_PASSPHRASE";
/// Fixes the time (Unix seconds) used for codes: for tests and for checking
/// a code at a given moment.
const NOW_ENV: &str = "KAPU_OTP_NOW";
/// log2 of scrypt's N for a vault created by this run (10-22; default 17).
/// Lower is faster and weaker: meant for tests on slow machines.
const KDF_LOG_N_ENV: &str = "KAPU_VAULT_KDF_LOG_N";
const MIN_PASSPHRASE_CHARS: usize = 8;

#[derive(Args)]
pub struct OtpCommand {
    /// The vault file [default: $XDG_DATA_HOME/kapu/authenticator.vault, or ~/.local/share/kapu/authenticator.vault].
    /// The passphrase comes from KAPU_VAULT_PASSPHRASE, or is asked on the terminal.
    #[arg(long, global = true, env = "KAPU_VAULT", value_name = "FILE")]
    vault: Option<PathBuf>,
    #[command(subcommand)]
    action: OtpAction,
}

#[derive(Subcommand)]
enum OtpAction {
    /// Add an account: from a QR image, an otpauth:// URI, or by hand (asks on the terminal when given nothing).
    /// The first account creates the vault.
    Add(AddArgs),
    /// Every account with its current code and the seconds left.
    List(JsonFlag),
    /// The current code of one account (or of all), with the next one when fewer than 7 s are left.
    /// For an HOTP account: the next code, and the counter moves on.
    Code(CodeArgs),
    /// Full-screen live view: codes, countdown bars, search (/), copy (Enter), quit (q).
    Watch,
    /// Show an account's QR code in the terminal, to set up one more device. It shows the secret key.
    Qr(NameArg),
    /// Write every account to a backup (kapu JSON, plain or encrypted). It contains the secret keys.
    Export(ExportArgs),
    /// Restore or merge accounts from a kapu backup, an Aegis vault, a Google Authenticator export
    /// (otpauth-migration:// text or QR image), a list of otpauth:// URIs, or a QR image.
    /// Accounts are matched by key: a match takes the backup's name, a missing one is added, nothing is deleted.
    Import(ImportArgs),
    /// Remove an account from the vault (the previous vault is kept as <vault>.bak).
    Remove(RemoveArgs),
    /// Compare this computer's clock with a server's (the HTTP Date header): codes are wrong if the clock is.
    Time(TimeArgs),
}

#[derive(Args)]
struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct NameArg {
    /// Part of the service or account name (case-insensitive), or #N as numbered by `kapu otp list`.
    name: String,
}

#[derive(Args)]
struct CodeArgs {
    /// Part of the service or account name (case-insensitive), or #N as numbered by `kapu otp list`.
    name: Option<String>,
    /// Print JSON: {name, code, seconds_left, period, next_code (when fewer than 7 s are left)}.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct AddArgs {
    /// An otpauth:// URI; "-" reads it from standard input (keeps the key out of the shell history).
    #[arg(long, value_name = "URI", conflicts_with_all = ["qr", "issuer", "account", "key", "algorithm", "digits", "period", "counter"])]
    uri: Option<String>,
    /// A PNG or JPEG image of the QR code (e.g. the screenshot of the set-up page).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["issuer", "account", "key", "algorithm", "digits", "period", "counter"])]
    qr: Option<PathBuf>,
    /// By hand: the service, e.g. "Ügyfélkapu".
    #[arg(long, value_name = "SERVICE")]
    issuer: Option<String>,
    /// By hand: the account name, e.g. your user name.
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// By hand: the key in base32 (spaces and lower case are fine); "-" reads it from standard input.
    /// Without --key it is asked on the terminal, without echo.
    #[arg(long, value_name = "BASE32")]
    key: Option<String>,
    /// red, orange, yellow, green, blue, purple or grey [default: blue].
    #[arg(long, value_name = "COLOUR", value_parser = parse_color)]
    color: Option<Color>,
    /// By hand: SHA1, SHA256 or SHA512 [default: SHA1].
    #[arg(long, value_parser = parse_algorithm)]
    algorithm: Option<Algorithm>,
    /// By hand: 6, 7 or 8 [default: 6].
    #[arg(long, value_parser = parse_digits)]
    digits: Option<Digits>,
    /// By hand: seconds per code [default: 30].
    #[arg(long, value_parser = parse_period, conflicts_with = "counter")]
    period: Option<Period>,
    /// By hand: make an HOTP (counter-based) account whose next code is number N.
    #[arg(long, value_name = "N")]
    counter: Option<u64>,
}

#[derive(Args)]
struct ExportArgs {
    /// Encrypt with a passphrase (KAPU_BACKUP_PASSPHRASE, or asked twice on the terminal).
    #[arg(long)]
    encrypted: bool,
    /// Write to FILE (readable by you only) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ImportArgs {
    /// The file, or "-" for standard input. An encrypted file's password comes from
    /// KAPU_BACKUP_PASSPHRASE, or is asked on the terminal.
    file: PathBuf,
}

#[derive(Args)]
struct RemoveArgs {
    /// Part of the service or account name, or #N as numbered by `kapu otp list`.
    name: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

#[derive(Args)]
struct TimeArgs {
    /// An http(s) URL of a server with a correct clock, e.g. your kapu server.
    url: String,
}

fn parse_color(s: &str) -> Result<Color, String> {
    s.parse::<Color>().map_err(|e| e.to_string())
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse::<Algorithm>().map_err(|e| e.to_string())
}

fn parse_digits(s: &str) -> Result<Digits, String> {
    let n: u8 = s.parse().map_err(|_| format!("{s:?} is not 6, 7 or 8"))?;
    Digits::new(n).map_err(|e| e.to_string())
}

fn parse_period(s: &str) -> Result<Period, String> {
    let n: u64 = s.parse().map_err(|_| format!("{s:?} is not a whole number of seconds"))?;
    Period::new(n).map_err(|e| e.to_string())
}

pub async fn run(command: OtpCommand) -> anyhow::Result<ExitCode> {
    let vault_path = || -> anyhow::Result<PathBuf> {
        match &command.vault {
            Some(p) => Ok(p.clone()),
            None => authenticator::vault::default_path()
                .ok_or_else(|| anyhow!("no home directory to keep the vault in: give --vault FILE or set KAPU_VAULT")),
        }
    };
    match command.action {
        OtpAction::Add(args) => add(&vault_path()?, args),
        OtpAction::List(args) => list(&vault_path()?, args.json),
        OtpAction::Code(args) => code(&vault_path()?, args),
        OtpAction::Watch => {
            let mut vault = open(&vault_path()?)?;
            now()?;
            let now = || now().unwrap_or_default();
            watch::run(&mut vault, &now).context("the terminal view failed")?;
            Ok(ExitCode::SUCCESS)
        }
        OtpAction::Qr(args) => show_qr(&vault_path()?, &args.name),
        OtpAction::Export(args) => export(&vault_path()?, args),
        OtpAction::Import(args) => import_file(&vault_path()?, &args.file),
        OtpAction::Remove(args) => remove(&vault_path()?, args),
        OtpAction::Time(args) => time(&args.url).await,
    }
}

// ---------------------------------------------------------------------------
// Time, terminal, passphrases
// ---------------------------------------------------------------------------

/// Writes to standard output; a closed pipe (`kapu otp export | head`) ends
/// the output quietly instead of panicking as `println!` does.
fn emit_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other.context("cannot write to standard output")?),
    }
}

fn emit(text: &str) -> anyhow::Result<()> {
    emit_bytes(text.as_bytes())
}

/// `println!` through [`emit`].
macro_rules! say {
    ($($arg:tt)*) => {
        emit(&format!("{}\n", format_args!($($arg)*)))?
    };
}

fn now() -> anyhow::Result<u64> {
    if let Some(fixed) = std::env::var_os(NOW_ENV) {
        return fixed
            .to_str()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| anyhow!("{NOW_ENV} must be a number of seconds since 1970"));
    }
    Ok(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).context("the system clock is before 1970")?.as_secs())
}

fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn ansi() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn ask_secret(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt).map(Zeroizing::new).context("cannot read from the terminal")
}

fn ask_line(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn env_secret(name: &str) -> Option<Zeroizing<String>> {
    std::env::var(name).ok().map(Zeroizing::new)
}

/// A new passphrase: from `env`, or asked twice on the terminal.
fn new_passphrase(env: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let passphrase = match env_secret(env) {
        Some(p) => p,
        None => {
            if !interactive() {
                bail!("no passphrase for {what}: set {env}, or run this in a terminal to be asked");
            }
            let first =
                ask_secret(&format!("New passphrase for {what} (at least {MIN_PASSPHRASE_CHARS} characters): "))?;
            let second = ask_secret("The same passphrase again: ")?;
            if *first != *second {
                bail!("the two passphrases differ; nothing was changed");
            }
            first
        }
    };
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        bail!("the passphrase for {what} must have at least {MIN_PASSPHRASE_CHARS} characters");
    }
    Ok(passphrase)
}

fn kdf_params() -> anyhow::Result<KdfParams> {
    match std::env::var(KDF_LOG_N_ENV) {
        Err(_) => Ok(KdfParams::DEFAULT),
        Ok(text) => {
            let log_n: u8 =
                text.trim().parse().map_err(|_| anyhow!("{KDF_LOG_N_ENV} must be a number from 10 to 22"))?;
            Ok(KdfParams::new(log_n, 8, 1)?)
        }
    }
}

/// Opens the vault, asking for the passphrase up to three times on a
/// terminal.
fn open(path: &Path) -> anyhow::Result<Vault> {
    if let Some(passphrase) = env_secret(VAULT_PASSPHRASE_ENV) {
        return Ok(Vault::open(path, &passphrase)?);
    }
    if !std::fs::exists(path).unwrap_or(true) {
        return Err(VaultError::NotFound(path.to_owned()).into());
    }
    if !interactive() {
        bail!("no passphrase for the vault {}: set {VAULT_PASSPHRASE_ENV}, or run this in a terminal", path.display());
    }
    let mut attempts = 0;
    loop {
        let passphrase = ask_secret(&format!("Passphrase of the vault {}: ", path.display()))?;
        match Vault::open(path, &passphrase) {
            Err(VaultError::WrongPassphrase(_)) if attempts < 2 => {
                attempts += 1;
                eprintln!("Wrong passphrase, try again.");
            }
            other => return Ok(other?),
        }
    }
}

/// Opens the vault, or starts a new one (first use) with a new passphrase.
fn open_or_create(path: &Path) -> anyhow::Result<Vault> {
    if std::fs::exists(path).unwrap_or(true) {
        return open(path);
    }
    let passphrase = new_passphrase(VAULT_PASSPHRASE_ENV, "the new vault")?;
    let vault = Vault::create(path, &passphrase, kdf_params()?)?;
    eprintln!(
        "Creating the vault {} (keep the passphrase safe: without it the vault cannot be opened).",
        path.display()
    );
    Ok(vault)
}

fn read_input(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes).context("cannot read standard input")?;
    } else {
        let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        file.read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

/// A value given as "-": the first line of standard input.
fn from_stdin_if_dash(value: String, what: &str) -> anyhow::Result<Zeroizing<String>> {
    if value != "-" {
        return Ok(Zeroizing::new(value));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().read_line(&mut line).with_context(|| format!("cannot read the {what} from standard input"))?;
    Ok(Zeroizing::new(line.trim().to_owned()))
}

// ---------------------------------------------------------------------------
// add
// ---------------------------------------------------------------------------

fn add(path: &Path, args: AddArgs) -> anyhow::Result<ExitCode> {
    // Everything is checked before the vault is opened: a bad key, URI or
    // image costs no passphrase and changes nothing.
    let account = account_to_add(args)?;
    let mut vault = open_or_create(path)?;
    if let Some(i) = vault.accounts.iter().position(|a| a.secret == account.secret) {
        bail!("this key is already in the vault as #{} {}; nothing was added", i + 1, vault.accounts[i].label());
    }
    let description = format!("{} ({})", account.label(), account.describe());
    vault.accounts.push(account);
    vault.save()?;
    say!("added: #{} {description}", vault.accounts.len());
    Ok(ExitCode::SUCCESS)
}

fn account_to_add(args: AddArgs) -> anyhow::Result<Account> {
    let color = args.color.unwrap_or_default();
    if let Some(uri) = args.uri {
        let uri = from_stdin_if_dash(uri, "URI")?;
        if import::google::is_migration_uri(uri.trim()) {
            bail!("this is a Google Authenticator export: save it in a file and use `kapu otp import FILE`");
        }
        let parsed = OtpAuthUri::parse(uri.trim()).map_err(|e| anyhow!("the URI was not added: {e}"))?;
        return Ok(Account::from_uri(parsed, color)?);
    }
    if let Some(image) = args.qr {
        return account_from_qr(&image, color);
    }
    let by_hand = args.issuer.is_some() || args.account.is_some() || args.key.is_some();
    if !by_hand && !interactive() {
        bail!("say what to add: --uri URI, --qr IMAGE, or --issuer SERVICE --account NAME --key BASE32");
    }
    let issuer = match args.issuer {
        Some(i) => i,
        None if by_hand => String::new(),
        None => ask_line("Service (e.g. Ügyfélkapu): ")?,
    };
    let account_name = match args.account {
        Some(a) => a,
        None if by_hand => String::new(),
        None => ask_line("Account (e.g. your user name): ")?,
    };
    if issuer.trim().is_empty() && account_name.trim().is_empty() {
        bail!("give the account a name: --issuer SERVICE and/or --account NAME; nothing was added");
    }
    let key = match args.key {
        Some(k) => from_stdin_if_dash(k, "key")?,
        None if interactive() => ask_secret("Key (base32; not shown as you type): ")?,
        None => bail!("give the key with --key BASE32 (or --key - to read it from standard input)"),
    };
    let secret = Secret::from_base32(&key).map_err(|e| anyhow!("{e}; nothing was added"))?;
    let color = match args.color {
        Some(c) => c,
        None if !by_hand => {
            let answer = ask_line("Colour (red, orange, yellow, green, blue, purple, grey) [blue]: ")?;
            if answer.is_empty() { Color::default() } else { parse_color(&answer).map_err(|e| anyhow!(e))? }
        }
        None => color,
    };
    let kind = match args.counter {
        Some(counter) => Kind::Hotp { counter },
        None => Kind::Totp { period: args.period.unwrap_or_default() },
    };
    let algorithm = args.algorithm.unwrap_or_default();
    let digits = args.digits.unwrap_or_default();
    Ok(Account::new(issuer.trim().to_owned(), account_name.trim().to_owned(), secret, kind, algorithm, digits, color)?)
}

fn account_from_qr(image: &Path, color: Color) -> anyhow::Result<Account> {
    let bytes = read_input(image)?;
    let texts = qr::decode(&bytes).map_err(|e| anyhow!("{}: {e}; nothing was added", image.display()))?;
    if texts.iter().any(|t| import::google::is_migration_uri(t)) {
        bail!(
            "{} is a Google Authenticator export: use `kapu otp import {}` to add its accounts",
            image.display(),
            image.display()
        );
    }
    let [text] = texts.as_slice() else {
        bail!("{} has {} QR codes: use `kapu otp import` to add them all", image.display(), texts.len());
    };
    let parsed = OtpAuthUri::parse(text).map_err(|e| match e {
        otp::UriError::NotOtpauth => {
            anyhow!("the QR code in {} is not an otpauth:// URI; nothing was added", image.display())
        }
        e => anyhow!("the QR code in {} holds a bad URI: {e}; nothing was added", image.display()),
    })?;
    Ok(Account::from_uri(parsed, color)?)
}

// ---------------------------------------------------------------------------
// list, code, qr
// ---------------------------------------------------------------------------

fn account_json(number: usize, account: &Account, now: u64) -> serde_json::Value {
    let mut v = json!({
        "number": number,
        "name": account.label(),
        "issuer": account.issuer,
        "account": account.account,
        "algorithm": account.algorithm.as_str(),
        "digits": account.digits.get(),
        "color": account.color.as_str(),
    });
    match (account.kind, account.code_at(now)) {
        (Kind::Totp { period }, Some(current)) => {
            v["type"] = "totp".into();
            v["period"] = period.seconds().into();
            v["code"] = current.code.into();
            v["seconds_left"] = current.seconds_left.into();
            if let Some(next) = current.next_code {
                v["next_code"] = next.into();
            }
        }
        (Kind::Hotp { counter }, _) => {
            v["type"] = "hotp".into();
            v["counter"] = counter.into();
        }
        (Kind::Totp { .. }, None) => {}
    }
    v
}

fn list(path: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let vault = open(path)?;
    let now = now()?;
    if as_json {
        let accounts: Vec<_> = vault.accounts.iter().enumerate().map(|(i, a)| account_json(i + 1, a, now)).collect();
        say!("{}", json!({ "accounts": accounts }));
    } else {
        emit(&text::list(&vault.accounts, now, ansi()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn code(path: &Path, args: CodeArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name else { return list(path, args.json) };
    let mut vault = open(path)?;
    let index = account::find(&vault.accounts, &name)?;
    let now = now()?;
    let account = &vault.accounts[index];
    if let Some(current) = account.code_at(now) {
        if args.json {
            let mut v = json!({
                "name": account.label(),
                "code": current.code,
                "seconds_left": current.seconds_left,
                "period": current.period,
            });
            if let Some(next) = &current.next_code {
                v["next_code"] = next.clone().into();
            }
            say!("{v}");
        } else {
            emit(&text::code(account, &current, ansi()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // HOTP: the counter is saved before the code is shown, so that a code
    // is never shown twice, even if this process dies right after.
    let account = &mut vault.accounts[index];
    let Kind::Hotp { counter } = account.kind else { bail!("this account has no code") };
    let code = account.next_hotp_code().ok_or_else(|| anyhow!("the HOTP counter of this account cannot go further"))?;
    let label = account.label();
    vault.save()?;
    if args.json {
        say!("{}", json!({ "name": label, "code": code, "counter": counter }));
    } else {
        say!("{label}  {code}  (HOTP code number {counter}; the next one will be number {})", counter + 1);
    }
    Ok(ExitCode::SUCCESS)
}

fn show_qr(path: &Path, name: &str) -> anyhow::Result<ExitCode> {
    let vault = open(path)?;
    let account = &vault.accounts[account::find(&vault.accounts, name)?];
    let uri = account.to_uri().to_uri();
    let drawing = qr::render_terminal(&uri, ansi())?;
    say!("Scan this with the authenticator app of the other device: {}", account.label());
    emit(&drawing)?;
    say!("This QR code holds the secret key: do not let anyone else see or photograph it.");
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// export, import, remove
// ---------------------------------------------------------------------------

fn export(path: &Path, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let vault = open(path)?;
    let bytes: Zeroizing<Vec<u8>> = if args.encrypted {
        let passphrase = new_passphrase(BACKUP_PASSPHRASE_ENV, "the encrypted backup")?;
        Zeroizing::new(backup::to_encrypted(&vault.accounts, &passphrase, KdfParams::DEFAULT)?)
    } else {
        backup::to_json(&vault.accounts)?
    };
    let n = vault.accounts.len();
    match args.output {
        Some(file) => {
            if let Some(dir) = file.parent() {
                atomic::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            atomic::replace(&file, &bytes, false).with_context(|| format!("cannot write {}", file.display()))?;
            let kind = if args.encrypted { "encrypted" } else { "plain, with the secret keys readable" };
            eprintln!("exported {n} accounts to {} ({kind})", file.display());
        }
        None => {
            if !args.encrypted && std::io::stdout().is_terminal() {
                eprintln!("Warning: this backup holds your secret keys in plain text.");
            }
            emit_bytes(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ask_backup_password(what: &'static str) -> Result<Zeroizing<String>, String> {
    if let Some(p) = env_secret(BACKUP_PASSPHRASE_ENV) {
        return Ok(p);
    }
    if !interactive() {
        return Err(format!("{what} is encrypted: set {BACKUP_PASSPHRASE_ENV}, or run this in a terminal to be asked"));
    }
    ask_secret(&format!("Password of {what}: ")).map_err(|e| format!("{e:#}"))
}

fn import_file(path: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = read_input(file)?;
    // Read the whole file before touching the vault: all or nothing.
    let Imported { source, accounts, skipped } = import::import(&bytes, &mut ask_backup_password)
        .map_err(|e| anyhow!("{}: {e}; nothing was imported", file.display()))?;
    if accounts.is_empty() {
        for s in &skipped {
            say!("skipped: {} ({})", s.name, s.reason);
        }
        say!("{} ({source}) has no account that can be imported; the vault was not changed", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut vault = open_or_create(path)?;
    let outcomes = merge::merge(&mut vault.accounts, accounts);
    vault.save()?;
    for outcome in &outcomes {
        say!("{outcome}");
    }
    for s in &skipped {
        say!("skipped: {} ({})", s.name, s.reason);
    }
    let count = |f: fn(&merge::Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    say!(
        "imported from {} ({source}): {} added, {} renamed, {} recoloured, {} unchanged, {} skipped; nothing deleted",
        file.display(),
        count(|o| matches!(o, merge::Outcome::Added { .. })),
        count(|o| matches!(o, merge::Outcome::Renamed { .. })),
        count(|o| matches!(o, merge::Outcome::Recolored { .. })),
        count(|o| matches!(o, merge::Outcome::Unchanged { .. })),
        skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn remove(path: &Path, args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let mut vault = open(path)?;
    let index = account::find(&vault.accounts, &args.name)?;
    let label = vault.accounts[index].label();
    if !args.yes {
        if !interactive() {
            bail!("to remove {label} without being asked, add --yes");
        }
        let answer = ask_line(&format!(
            "Remove {label}? Without its key (QR code or backup) its codes cannot be made again. [y/N] "
        ))?;
        if !matches!(answer.to_lowercase().as_str(), "y" | "yes" | "i" | "igen") {
            say!("not removed");
            return Ok(ExitCode::SUCCESS);
        }
    }
    vault.accounts.remove(index);
    vault.save()?;
    say!("removed: {label} (the vault before this is in {})", atomic::backup_path(path).display());
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------

async fn time(url: &str) -> anyhow::Result<ExitCode> {
    let check = clock::check(url, Duration::from_secs(10)).await?;
    let offset = check.offset_seconds;
    let direction = if offset >= 0.0 { "behind" } else { "ahead of" };
    say!("server time:  {} ({url})", check.server_date_text());
    say!(
        "offset:       this computer is {:.1} s {direction} the server (±{:.1} s; round trip {} ms)",
        offset.abs(),
        0.5 + check.round_trip.as_secs_f64() / 2.0,
        check.round_trip.as_millis()
    );
    match check.verdict() {
        clock::Verdict::Ok => {
            say!("ok: the clock is right to within {} s, codes made here are accepted", clock::WARN_SECONDS);
            Ok(ExitCode::SUCCESS)
        }
        clock::Verdict::Warn => {
            say!(
                "warning: the clock is {:.0} s off: a code typed late in its 30 s may be refused; \
                 set the clock right (turn on automatic time / NTP)",
                offset.abs()
            );
            Ok(ExitCode::SUCCESS)
        }
        clock::Verdict::CodesWillFail => {
            say!(
                "error: the clock is {:.0} s off (more than {} s): codes made here will be refused; \
                 set the clock right (turn on automatic time / NTP)",
                offset.abs(),
                clock::FAIL_SECONDS
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
