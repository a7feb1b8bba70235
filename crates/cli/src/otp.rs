//! `kapu otp ...`: the terminal authenticator, for citizens who have no
//! phone app. It works on the user's own encrypted vault file only; it never
//! opens the server's database or configuration, and it has its own parser,
//! so that `kapu otp --help` shows none of the server's options.
//!
//! This module parses arguments, gets passphrases (environment variable for
//! scripts, otherwise asked on the terminal without echo) and prints; the
//! work is in the `authenticator` crate, and every text is in its catalogue
//! (`authenticator::view::lang`, Hungarian and English). Everything printed
//! that came from a file, a QR code or the user goes through
//! `authenticator::escape` (the `say!` macro and the error printer do it),
//! so a hostile name can never write an escape sequence to the terminal.
//! Secrets are printed only by the commands whose purpose is to show them
//! (`export`, `qr`).
//!
//! Every change is a read-modify-write under the vault's lock: open, lock
//! (which reads the file again), change, save; a second `kapu otp` waits
//! for the first, up to `KAPU_VAULT_LOCK_WAIT` seconds, then fails clearly.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use authenticator::account::{self, Account, Color};
use authenticator::envelope::KdfParams;
use authenticator::escape::{Safe, lines_safe};
use authenticator::import::{self, Imported};
use authenticator::view::lang::Lang;
use authenticator::view::{text, watch};
use authenticator::{Vault, VaultError, atomic, backup, clock, merge, qr};
use clap::{Args, Parser, Subcommand};
use otp::{Algorithm, Digits, Kind, OtpAuthUri, Period, Secret};
use serde_json::json;
use zeroize::Zeroizing;

/// The vault passphrase, for scripts (otherwise it is asked on the terminal).
const VAULT_PASSPHRASE_ENV: &str = "KAPU_VAULT_PASSPHRASE";
/// The new passphrase of `kapu otp passwd`, for scripts.
const NEW_PASSPHRASE_ENV: &str = "KAPU_VAULT_NEW_PASSPHRASE";
/// The passphrase of an encrypted export, or the password of an encrypted
/// file being imported, for scripts.
const BACKUP_PASSPHRASE_ENV: &str = "KAPU_BACKUP_PASSPHRASE";
/// Fixes the time (Unix seconds) used for codes: for tests and for checking
/// a code at a given moment.
const NOW_ENV: &str = "KAPU_OTP_NOW";
/// log2 of scrypt's N for a vault created by this run (10-20 with r = 8, the
/// 1 GiB memory cap; default 17).
/// Lower is faster and weaker: meant for tests on slow machines.
const KDF_LOG_N_ENV: &str = "KAPU_VAULT_KDF_LOG_N";
/// How many seconds a change waits for another `kapu otp` changing the
/// same vault (default 10).
const LOCK_WAIT_ENV: &str = "KAPU_VAULT_LOCK_WAIT";
const MIN_PASSPHRASE_CHARS: usize = 8;

/// `kapu otp`, parsed on its own (see [`main`]).
#[derive(Parser)]
#[command(
    name = "kapu otp",
    bin_name = "kapu otp",
    version,
    about = "The terminal authenticator: codes for two-step login from your own encrypted vault \
             (never touches the server's database or configuration)"
)]
pub struct OtpCli {
    #[command(flatten)]
    command: OtpCommand,
}

#[derive(Args)]
pub struct OtpCommand {
    /// The vault file [default: $XDG_DATA_HOME/kapu/authenticator.vault, or ~/.local/share/kapu/authenticator.vault].
    /// The passphrase comes from KAPU_VAULT_PASSPHRASE, or is asked on the terminal.
    #[arg(long, global = true, env = "KAPU_VAULT", value_name = "FILE")]
    vault: Option<PathBuf>,
    /// hu or en [default: from LC_ALL, LC_MESSAGES or LANG; English unless it starts with "hu"].
    #[arg(long, global = true, value_name = "LANG", value_parser = parse_lang)]
    lang: Option<Lang>,
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
    /// Restore or merge accounts from a kapu backup, an Aegis vault, a 2FAS or andOTP export, a Google
    /// Authenticator export (otpauth-migration:// text or QR image), a list of otpauth:// URIs, or a QR image.
    /// Accounts are matched by key and settings: a match takes the backup's name, a missing one is added,
    /// nothing is deleted; entries that cannot be used are listed and skipped.
    Import(ImportArgs),
    /// Give an account another service or account name (or colour).
    Rename(RenameArgs),
    /// Remove an account from the vault (the previous vaults are kept as <vault>.bak, .bak.2, ...).
    Remove(RemoveArgs),
    /// Change the vault's passphrase (the new one from KAPU_VAULT_NEW_PASSPHRASE, or asked twice).
    Passwd,
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
    /// An image of the QR code (PNG, JPEG, GIF, WebP or BMP; e.g. the screenshot of the set-up page).
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
struct RenameArgs {
    /// Part of the service or account name, or #N as numbered by `kapu otp list`.
    name: String,
    /// The new service name ("" for none).
    #[arg(long, value_name = "SERVICE")]
    issuer: Option<String>,
    /// The new account name ("" for none).
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// A new colour.
    #[arg(long, value_name = "COLOUR", value_parser = parse_color)]
    color: Option<Color>,
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

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s)
        .ok_or_else(|| format!("{:?} is not a language: use hu or en", s.chars().take(20).collect::<String>()))
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

/// `kapu otp ...` as a program of its own: `args` are the arguments after
/// `otp`. Errors are printed in the user's language, escaped.
pub fn main(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = OtpCli::parse_from(std::iter::once(std::ffi::OsString::from("kapu otp")).chain(args));
    main_parsed(cli.command)
}

/// Runs a parsed `kapu otp` command (also reached as `kapu --config X otp
/// ...`, whose server options it ignores), printing errors in the user's
/// language, escaped.
pub fn main_parsed(command: OtpCommand) -> ExitCode {
    let lang = Lang::detect(command.lang, |k| std::env::var(k).ok());
    match run(command, lang) {
        Ok(code) => code,
        Err(e) => {
            let message = match e.downcast_ref::<VaultError>() {
                Some(v) => lang.vault_error(v),
                None => format!("{e:#}"),
            };
            eprintln!("{}{}", lang.error_prefix(), lines_safe(&message));
            ExitCode::FAILURE
        }
    }
}

struct Ctx {
    lang: Lang,
    path: Option<PathBuf>,
}

impl Ctx {
    fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.path {
            Some(p) => Ok(p.clone()),
            None => authenticator::vault::default_path()
                .ok_or_else(|| anyhow!("no home directory to keep the vault in: give --vault FILE or set KAPU_VAULT")),
        }
    }
}

fn run(command: OtpCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    let ctx = Ctx { lang, path: command.vault };
    match command.action {
        OtpAction::Add(args) => add(&ctx, args),
        OtpAction::List(args) => list(&ctx, args.json),
        OtpAction::Code(args) => code(&ctx, args),
        OtpAction::Watch => {
            let mut vault = open(&ctx)?;
            now()?;
            let now = || now().unwrap_or_default();
            watch::run(&mut vault, &now, lang).context("the terminal view failed")?;
            Ok(ExitCode::SUCCESS)
        }
        OtpAction::Qr(args) => show_qr(&ctx, &args.name),
        OtpAction::Export(args) => export(&ctx, args),
        OtpAction::Import(args) => import_file(&ctx, &args.file),
        OtpAction::Rename(args) => rename(&ctx, args),
        OtpAction::Remove(args) => remove(&ctx, args),
        OtpAction::Passwd => passwd(&ctx),
        OtpAction::Time(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(time(&ctx, &args.url))
        }
    }
}

// ---------------------------------------------------------------------------
// Output, time, terminal, passphrases
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

/// Writes text that our views made (they escape what they show themselves
/// and may hold colour codes).
fn emit(text: &str) -> anyhow::Result<()> {
    emit_bytes(text.as_bytes())
}

/// `println!` through [`emit`], every line made terminal-safe.
macro_rules! say {
    ($($arg:tt)*) => {
        emit(&format!("{}\n", lines_safe(&format!($($arg)*))))?
    };
}

/// `eprintln!`, every line made terminal-safe.
macro_rules! tell {
    ($($arg:tt)*) => {
        eprintln!("{}", lines_safe(&format!($($arg)*)))
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
    rpassword::prompt_password(lines_safe(prompt)).map(Zeroizing::new).context("cannot read from the terminal")
}

fn ask_line(prompt: &str) -> anyhow::Result<String> {
    eprint!("{}", lines_safe(prompt));
    std::io::stderr().flush()?;
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line)? == 0 {
        bail!("no answer (end of input); nothing was changed");
    }
    Ok(line.trim().to_owned())
}

/// Asks until `parse` accepts the answer, showing why it did not: only the
/// wrong answer is asked again, the earlier ones are kept.
fn ask_until<T>(
    lang: Lang,
    mut ask: impl FnMut() -> anyhow::Result<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<T> {
    loop {
        let answer = Zeroizing::new(ask()?);
        match parse(&answer) {
            Ok(value) => return Ok(value),
            Err(why) => tell!("{}", lang.try_again(&Safe(&why))),
        }
    }
}

fn env_secret(name: &str) -> Option<Zeroizing<String>> {
    std::env::var(name).ok().map(Zeroizing::new)
}

/// A new passphrase: from `env`, or asked twice on the terminal.
fn new_passphrase(lang: Lang, env: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let passphrase = match env_secret(env) {
        Some(p) => p,
        None => {
            if !interactive() {
                bail!("no passphrase for {what}: set {env}, or run this in a terminal to be asked");
            }
            let first = ask_secret(&lang.ask_new_passphrase(what, MIN_PASSPHRASE_CHARS))?;
            let second = ask_secret(&lang.ask_same_again())?;
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
                text.trim().parse().map_err(|_| anyhow!("{KDF_LOG_N_ENV} must be a number from 10 to 20"))?;
            Ok(KdfParams::new(log_n, 8, 1)?)
        }
    }
}

fn lock_wait() -> anyhow::Result<Duration> {
    match std::env::var(LOCK_WAIT_ENV) {
        Err(_) => Ok(authenticator::vault::DEFAULT_LOCK_WAIT),
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| anyhow!("{LOCK_WAIT_ENV} must be a number of seconds from 0 to 3600")),
    }
}

/// Opens the vault, asking for the passphrase up to three times on a
/// terminal.
fn open(ctx: &Ctx) -> anyhow::Result<Vault> {
    let path = ctx.path()?;
    let mut vault = open_at(ctx.lang, &path)?;
    vault.set_lock_wait(lock_wait()?);
    Ok(vault)
}

fn open_at(lang: Lang, path: &Path) -> anyhow::Result<Vault> {
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
        let passphrase = ask_secret(&lang.ask_vault_passphrase(&path.display()))?;
        match Vault::open(path, &passphrase) {
            Err(VaultError::WrongPassphrase(_)) if attempts < 2 => {
                attempts += 1;
                tell!("{}", lang.wrong_passphrase_again());
            }
            other => return Ok(other?),
        }
    }
}

/// Opens the vault for a change: under its lock, with the latest contents.
fn open_for_change(ctx: &Ctx) -> anyhow::Result<Vault> {
    let mut vault = open(ctx)?;
    vault.lock()?;
    Ok(vault)
}

/// Opens the vault for a change, or starts a new one (first use) with a new
/// passphrase; under its lock either way.
fn open_or_create_for_change(ctx: &Ctx) -> anyhow::Result<Vault> {
    let path = ctx.path()?;
    if std::fs::exists(&path).unwrap_or(true) {
        return open_for_change(ctx);
    }
    let passphrase = new_passphrase(ctx.lang, VAULT_PASSPHRASE_ENV, "the new vault")?;
    let mut vault = Vault::create(&path, &passphrase, kdf_params()?)?;
    vault.set_lock_wait(lock_wait()?);
    // Another kapu otp may have created it meanwhile: then this reads it.
    if !vault.lock()? {
        tell!("{}", ctx.lang.creating_vault(&path.display()));
    }
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

fn add(ctx: &Ctx, args: AddArgs) -> anyhow::Result<ExitCode> {
    // Everything is checked before the vault is opened: a bad key, URI or
    // image costs no passphrase and changes nothing.
    let account = account_to_add(ctx.lang, args)?;
    let mut vault = open_or_create_for_change(ctx)?;
    if let Some(i) = vault.accounts.iter().position(|a| a.same_codes_as(&account)) {
        bail!("{}", ctx.lang.duplicate(i + 1, &vault.accounts[i].label()));
    }
    let (label, description) = (account.label(), account.describe());
    vault.accounts.push(account);
    vault.save()?;
    say!("{}", ctx.lang.added(vault.accounts.len(), &label, &description));
    Ok(ExitCode::SUCCESS)
}

fn account_to_add(lang: Lang, args: AddArgs) -> anyhow::Result<Account> {
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
    if !by_hand {
        if !interactive() {
            bail!("say what to add: --uri URI, --qr IMAGE, or --issuer SERVICE --account NAME --key BASE32");
        }
        return ask_account_to_add(lang, &args);
    }
    let issuer = args.issuer.unwrap_or_default();
    let account_name = args.account.unwrap_or_default();
    if issuer.trim().is_empty() && account_name.trim().is_empty() {
        bail!("give the account a name: --issuer SERVICE and/or --account NAME; nothing was added");
    }
    let key = match args.key {
        Some(k) => from_stdin_if_dash(k, "key")?,
        None if interactive() => ask_secret(&lang.ask_key())?,
        None => bail!("give the key with --key BASE32 (or --key - to read it from standard input)"),
    };
    let secret = Secret::from_base32(&key).map_err(|e| anyhow!("{e}; nothing was added"))?;
    let kind = match args.counter {
        Some(counter) => Kind::Hotp { counter },
        None => Kind::Totp { period: args.period.unwrap_or_default() },
    };
    let algorithm = args.algorithm.unwrap_or_default();
    let digits = args.digits.unwrap_or_default();
    Ok(Account::new(issuer.trim().to_owned(), account_name.trim().to_owned(), secret, kind, algorithm, digits, color)?)
}

/// `kapu otp add` on a terminal with nothing given: asks for each part,
/// and asks again only for a part that was wrong.
fn ask_account_to_add(lang: Lang, args: &AddArgs) -> anyhow::Result<Account> {
    let check = |text: &str, component: &str| -> Result<String, String> {
        let text = text.trim().to_owned();
        match text.chars().find(|&c| authenticator::escape::is_unsafe(c)) {
            Some(c) => Err(format!("the {component} contains the forbidden character U+{:04X}.", u32::from(c))),
            None if text.chars().count() > account::MAX_NAME_CHARS => {
                Err(format!("the {component} is longer than {} characters.", account::MAX_NAME_CHARS))
            }
            None => Ok(text),
        }
    };
    let issuer = ask_until(lang, || ask_line(&lang.ask_service()), |t| check(t, "service"))?;
    let account_name = ask_until(
        lang,
        || ask_line(&lang.ask_account()),
        |t| {
            let name = check(t, "account")?;
            if issuer.is_empty() && name.is_empty() { Err(lang.need_a_name()) } else { Ok(name) }
        },
    )?;
    let secret = ask_until(
        lang,
        || Ok(ask_secret(&lang.ask_key())?.to_string()),
        |t| Secret::from_base32(t).map_err(|e| format!("{e}.")),
    )?;
    let color = match args.color {
        Some(c) => c,
        None => ask_until(
            lang,
            || ask_line(&lang.ask_color()),
            |t| {
                if t.is_empty() { Ok(Color::default()) } else { parse_color(t).map_err(|e| format!("{e}.")) }
            },
        )?,
    };
    let kind = match args.counter {
        Some(counter) => Kind::Hotp { counter },
        None => Kind::Totp { period: args.period.unwrap_or_default() },
    };
    Ok(Account::new(
        issuer,
        account_name,
        secret,
        kind,
        args.algorithm.unwrap_or_default(),
        args.digits.unwrap_or_default(),
        color,
    )?)
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

fn list(ctx: &Ctx, as_json: bool) -> anyhow::Result<ExitCode> {
    let vault = open(ctx)?;
    let now = now()?;
    if as_json {
        let accounts: Vec<_> = vault.accounts.iter().enumerate().map(|(i, a)| account_json(i + 1, a, now)).collect();
        emit(&format!("{}\n", json!({ "accounts": accounts })))?;
    } else {
        emit(&text::list(&vault.accounts, now, ansi(), ctx.lang))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn code(ctx: &Ctx, args: CodeArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name else { return list(ctx, args.json) };
    let mut vault = open(ctx)?;
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
            emit(&format!("{v}\n"))?;
        } else {
            emit(&text::code(account, &current, ansi(), ctx.lang))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // HOTP: under the lock, on the latest file, the counter is saved before
    // the code is shown, so that a code is never shown twice, even if this
    // process dies right after or another one makes a code at once.
    let wanted = account.clone();
    vault.lock()?;
    let index = vault
        .accounts
        .iter()
        .position(|a| a.same_codes_as(&wanted))
        .ok_or_else(|| anyhow!("the account was removed meanwhile by another kapu otp"))?;
    let account = &mut vault.accounts[index];
    let Kind::Hotp { counter } = account.kind else { bail!("this account has no code") };
    let code = account.next_hotp_code().ok_or_else(|| anyhow!("the HOTP counter of this account cannot go further"))?;
    let label = account.label();
    vault.save()?;
    if args.json {
        emit(&format!("{}\n", json!({ "name": label, "code": code, "counter": counter })))?;
    } else {
        say!("{}", ctx.lang.hotp_code(&label, &code, counter));
    }
    Ok(ExitCode::SUCCESS)
}

fn show_qr(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let vault = open(ctx)?;
    let account = &vault.accounts[account::find(&vault.accounts, name)?];
    let uri = account.to_uri().to_uri();
    let drawing = qr::render_terminal(&uri, ansi())?;
    say!("{}", ctx.lang.scan_this(&account.label()));
    emit(&drawing)?;
    say!("{}", ctx.lang.qr_is_secret());
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// export, import, rename, remove, passwd
// ---------------------------------------------------------------------------

fn export(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let vault = open(ctx)?;
    let bytes: Zeroizing<Vec<u8>> = if args.encrypted {
        let passphrase = new_passphrase(ctx.lang, BACKUP_PASSPHRASE_ENV, "the encrypted backup")?;
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
            tell!("{}", ctx.lang.exported(n, &file.display(), args.encrypted));
        }
        None => {
            if !args.encrypted && std::io::stdout().is_terminal() {
                tell!("{}", ctx.lang.plain_export_warning());
            }
            emit_bytes(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ask_backup_password(lang: Lang, what: &'static str) -> Result<Zeroizing<String>, String> {
    if let Some(p) = env_secret(BACKUP_PASSPHRASE_ENV) {
        return Ok(p);
    }
    if !interactive() {
        return Err(format!("{what} is encrypted: set {BACKUP_PASSPHRASE_ENV}, or run this in a terminal to be asked"));
    }
    ask_secret(&lang.ask_file_password(what)).map_err(|e| format!("{e:#}"))
}

fn import_file(ctx: &Ctx, file: &Path) -> anyhow::Result<ExitCode> {
    let lang = ctx.lang;
    let bytes = read_input(file)?;
    // Read the whole file before touching the vault.
    let Imported { source, accounts, skipped, notes } =
        import::import(&bytes, &mut |what| ask_backup_password(lang, what))
            .map_err(|e| anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let report_skips = || -> anyhow::Result<()> {
        for s in &skipped {
            say!("{}", lang.skipped(s));
        }
        for n in &notes {
            say!("{}", lang.note(n));
        }
        Ok(())
    };
    if accounts.is_empty() {
        report_skips()?;
        say!("{}", lang.nothing_to_import(&file.display(), source));
        return Ok(ExitCode::SUCCESS);
    }
    let mut vault = open_or_create_for_change(ctx)?;
    let outcomes = merge::merge(&mut vault.accounts, accounts);
    vault.save()?;
    for outcome in &outcomes {
        say!("{}", lang.outcome(outcome));
    }
    report_skips()?;
    let count = |f: fn(&merge::Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    say!(
        "{}",
        lang.import_summary(
            &file.display(),
            source,
            [
                count(|o| matches!(o, merge::Outcome::Added { .. })),
                count(|o| matches!(o, merge::Outcome::Renamed { .. })),
                count(|o| matches!(o, merge::Outcome::Recolored { .. })),
                count(|o| matches!(o, merge::Outcome::Unchanged { .. })),
                skipped.len(),
            ]
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn rename(ctx: &Ctx, args: RenameArgs) -> anyhow::Result<ExitCode> {
    if args.issuer.is_none() && args.account.is_none() && args.color.is_none() {
        bail!("{}", ctx.lang.rename_needs_name());
    }
    let mut vault = open_for_change(ctx)?;
    let index = account::find(&vault.accounts, &args.name)?;
    let old = vault.accounts[index].clone();
    let issuer = args.issuer.map_or_else(|| old.issuer.clone(), |i| i.trim().to_owned());
    let account_name = args.account.map_or_else(|| old.account.clone(), |a| a.trim().to_owned());
    let renamed = Account::new(
        issuer,
        account_name,
        old.secret.clone(),
        old.kind,
        old.algorithm,
        old.digits,
        args.color.unwrap_or(old.color),
    )?;
    let (from, to) = (old.label(), renamed.label());
    vault.accounts[index] = renamed;
    vault.save()?;
    say!("{}", ctx.lang.renamed(&from, &to));
    Ok(ExitCode::SUCCESS)
}

fn remove(ctx: &Ctx, args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let lang = ctx.lang;
    let path = ctx.path()?;
    let mut vault = open_for_change(ctx)?;
    let index = account::find(&vault.accounts, &args.name)?;
    let label = vault.accounts[index].label();
    if !args.yes {
        if !interactive() {
            bail!("{}", lang.remove_needs_yes(&label));
        }
        let answer = ask_line(&lang.confirm_remove(&label))?;
        if !matches!(answer.to_lowercase().as_str(), "y" | "yes" | "i" | "igen") {
            say!("{}", lang.not_removed());
            return Ok(ExitCode::SUCCESS);
        }
    }
    vault.accounts.remove(index);
    vault.save()?;
    say!("{}", lang.removed(&label, &atomic::backup_path(&path).display()));
    Ok(ExitCode::SUCCESS)
}

fn passwd(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let path = ctx.path()?;
    let mut vault = open_for_change(ctx)?;
    let passphrase = new_passphrase(ctx.lang, NEW_PASSPHRASE_ENV, "the vault")?;
    vault.change_passphrase(&passphrase, kdf_params()?)?;
    vault.save()?;
    say!("{}", ctx.lang.passphrase_changed(&atomic::backup_path(&path).display()));
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------

async fn time(ctx: &Ctx, url: &str) -> anyhow::Result<ExitCode> {
    let lang = ctx.lang;
    let check = clock::check(url, Duration::from_secs(10)).await?;
    let offset = check.offset_seconds;
    say!("{}", lang.server_time(&check.server_date_text(), url));
    say!(
        "{}",
        lang.offset(
            offset.abs(),
            offset >= 0.0,
            0.5 + check.round_trip.as_secs_f64() / 2.0,
            check.round_trip.as_millis()
        )
    );
    match check.verdict() {
        clock::Verdict::Ok => {
            say!("{}", lang.clock_ok(clock::WARN_SECONDS));
            Ok(ExitCode::SUCCESS)
        }
        clock::Verdict::Warn => {
            say!("{}", lang.clock_warn(offset.abs()));
            Ok(ExitCode::SUCCESS)
        }
        clock::Verdict::CodesWillFail => {
            say!("{}", lang.clock_fail(offset.abs(), clock::FAIL_SECONDS));
            Ok(ExitCode::FAILURE)
        }
    }
}
