//! The server benchmarks: what is measured, on which deployment, in which
//! order. Every figure lands in `server.json` under a fixed id that
//! `report.rs` turns into a row.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::browser::{Browser, Grant, OidcClient};
use crate::load::{self, Outcome};
use crate::server::{Deployment, Instance, free_port, pg_activity};
use crate::users::{Dispenser, read_secrets};

pub const PASSWORD: &str = "Mogyoro-kalap-szel-2024";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// A password hash so cheap it does not count, for the deployments whose
/// measured step hashes nothing (the code step alone): preparing thousands
/// of half-finished logins at the real cost would take minutes.
const CHEAP_HASH: &str = "[password_hash]\nmemory_kib = 64\niterations = 1\n";

#[derive(clap::Args)]
pub struct ServerArgs {
    /// The `kapu` binary to benchmark (a release build).
    #[arg(long)]
    kapu: PathBuf,
    /// Output directory (deployments, logs, server.json).
    #[arg(long)]
    out: PathBuf,
    /// The core `kapu serve` and the Argon2 limit run on (taskset -c).
    #[arg(long, default_value = "0")]
    server_cpu: String,
    /// Seconds for each measured phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Browsers at once in the closed-loop (peak) runs.
    #[arg(long, default_value_t = 6)]
    concurrency: usize,
    /// Accounts seeded per deployment for the login runs (each logs in at
    /// most once per two 30-s steps).
    #[arg(long, default_value_t = 6000)]
    users: usize,
    /// Accounts for the start-up measurement.
    #[arg(long, default_value_t = 1_000_000)]
    million: usize,
    /// Concurrent logins in the memory storm.
    #[arg(long, default_value_t = 500)]
    storm: usize,
    /// Skip the PostgreSQL deployments (outside CI, when none runs here).
    #[arg(long)]
    no_postgres: bool,
    /// Run only these parts (repeatable): logins, code-step, memory, startup.
    #[arg(long)]
    only: Vec<String>,
}

impl ServerArgs {
    fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == part)
    }
}

struct Ctx {
    args: ServerArgs,
    results: BTreeMap<String, Value>,
    password_file: PathBuf,
}

impl Ctx {
    fn put(&mut self, id: &str, value: Value) {
        println!("  {id}: {value}");
        self.results.insert(id.to_owned(), value);
    }

    fn save(&self) -> Result<()> {
        let path = self.args.out.join("server.json");
        std::fs::write(&path, serde_json::to_string_pretty(&self.results)?)?;
        Ok(())
    }
}

pub async fn run(args: ServerArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let out = std::fs::canonicalize(&args.out)?;
    let password_file = out.join("password.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n"))?;
    let mut ctx = Ctx { args: ServerArgs { out, ..args }, results: BTreeMap::new(), password_file };
    ctx.put("machine", machine());

    let mut backends: Vec<(&str, Option<&str>, usize)> = vec![("sqlite", None, 1)];
    if !ctx.args.no_postgres {
        backends.push(("postgres", Some("kapu_bench_pg"), 1));
        backends.push(("postgres_x2", Some("kapu_bench_pg2"), 2));
    }
    for (label, database, instances) in backends {
        if ctx.args.runs("logins") {
            println!("== {label}: logins, OpenID Connect, token exchange");
            if let Err(e) = logins_suite(&mut ctx, label, database, instances).await {
                ctx.put(&format!("{label}.error"), json!(format!("{e:#}")));
            }
        }
        if ctx.args.runs("code-step") {
            println!("== {label}: the code step alone");
            if let Err(e) = code_step_suite(&mut ctx, label, database.map(|d| format!("{d}_code")), instances).await {
                ctx.put(&format!("{label}.code_step.error"), json!(format!("{e:#}")));
            }
        }
        ctx.save()?;
    }
    if ctx.args.runs("memory") {
        println!("== memory: idle, and a storm of {} logins at once", ctx.args.storm);
        if let Err(e) = memory_suite(&mut ctx).await {
            ctx.put("memory.error", json!(format!("{e:#}")));
        }
        ctx.save()?;
    }
    if ctx.args.runs("startup") {
        println!("== start-up: empty, and {} accounts", ctx.args.million);
        if let Err(e) = startup_suite(&mut ctx).await {
            ctx.put("startup.error", json!(format!("{e:#}")));
        }
    }
    ctx.save()?;
    println!("wrote {}", ctx.args.out.join("server.json").display());
    Ok(())
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok());
    json!({
        "cpu": model.map(str::trim),
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "online_cores": cpuinfo.lines().filter(|l| l.starts_with("processor")).count(),
        "memory_gib": memory.map(|k| (k / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
    })
}

/// Seeds `count` accounts with two-step login on; returns the users.
fn seed(ctx: &Ctx, deployment: &Deployment, count: usize) -> Result<(Dispenser, f64)> {
    let secrets = deployment.dir.join("secrets.csv");
    let started = Instant::now();
    let count_text = count.to_string();
    let password = ctx.password_file.to_string_lossy().into_owned();
    let secrets_text = secrets.to_string_lossy().into_owned();
    deployment.admin(&[
        "seed",
        "--accounts",
        &count_text,
        "--password-file",
        &password,
        "--secrets-out",
        &secrets_text,
    ])?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((Dispenser::new(read_secrets(&secrets)?), seconds))
}

fn add_client(deployment: &Deployment) -> Result<OidcClient> {
    let answer = deployment.admin(&["client", "add", "--name", "Bench", "--redirect-uri", REDIRECT_URI])?;
    let text = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(OidcClient {
        client_id: text("client_id").context("no client_id")?,
        client_secret: text("client_secret").context("no client_secret")?,
        redirect_uri: REDIRECT_URI.to_owned(),
    })
}

async fn start_instances(
    ctx: &Ctx,
    deployment: &Deployment,
    count: usize,
) -> Result<(Vec<Instance>, Arc<Vec<String>>)> {
    let first = free_port()?;
    let public_url = format!("http://127.0.0.1:{first}");
    let mut instances = Vec::new();
    for index in 0..count {
        let port = if index == 0 { first } else { free_port()? };
        let (instance, _) = deployment.start(port, &public_url, &ctx.args.server_cpu).await?;
        instances.push(instance);
    }
    let bases = Arc::new(instances.iter().map(|i| i.url.clone()).collect());
    Ok((instances, bases))
}

/// `kapu-bench argon2-limit`, pinned to the server core.
fn argon2_limit(ctx: &Ctx, seconds: f64) -> Result<Value> {
    let me = std::env::current_exe()?;
    let output = std::process::Command::new("taskset")
        .args(["-c", &ctx.args.server_cpu])
        .arg(me)
        .args(["argon2-limit", "--seconds", &seconds.to_string()])
        .output()?;
    if !output.status.success() {
        bail!("argon2-limit: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn outcome(o: &Outcome) -> Value {
    json!(o)
}

async fn logins_suite(ctx: &mut Ctx, label: &str, database: Option<&str>, instances: usize) -> Result<()> {
    let deployment = Deployment::create(&ctx.args.kapu, ctx.args.out.join(label), database, None)?;
    let (users, seed_seconds) = seed(ctx, &deployment, ctx.args.users)?;
    ctx.put(&format!("{label}.seed_seconds"), json!(seed_seconds));
    let users = Arc::new(users);
    let client = add_client(&deployment)?;
    let (mut servers, bases) = start_instances(ctx, &deployment, instances).await?;
    let seconds = Duration::from_secs(ctx.args.seconds);

    // The limit, the peak, the limit again: the reference brackets the run.
    let before = argon2_limit(ctx, 3.0)?;
    let job = {
        let users = Arc::clone(&users);
        move |mut browser: Browser| {
            let users = Arc::clone(&users);
            async move {
                let user = users.next().await;
                let result = browser.two_step_login(&user.username, PASSWORD, &user.code()).await;
                (browser, result.map(|()| true))
            }
        }
    };
    let activity_before = database.map(pg_activity).transpose()?;
    let cpu_before = cpu_of(&servers)?;
    let peak = load::closed_loop(&bases, ctx.args.concurrency, seconds, job.clone()).await?;
    let cpu = cpu_share(&cpu_before, &cpu_of(&servers)?, peak.seconds, peak.ok);
    ctx.put(&format!("{label}.two_step_logins_cpu"), cpu);
    if let (Some(database), Some(before)) = (database, activity_before) {
        // Idle backends report their statistics after 10 s (PostgreSQL 15).
        tokio::time::sleep(Duration::from_secs(11)).await;
        let after = pg_activity(database)?;
        let per_login = |i: usize| (after[i] - before[i]) / peak.ok.max(1) as f64;
        ctx.put(
            &format!("{label}.pg_per_login"),
            json!({ "transactions": per_login(0), "rows_inserted": per_login(1), "rows_updated": per_login(2),
                    "rows_deleted": per_login(3), "rows_written": per_login(1) + per_login(2) + per_login(3),
                    "write_transactions": per_login(4) }),
        );
    }
    let after = argon2_limit(ctx, 3.0)?;
    let limit_of = |v: &Value| v.get("hashes_per_second").and_then(Value::as_f64).unwrap_or(f64::NAN);
    let limit = (limit_of(&before) + limit_of(&after)) / 2.0;
    ctx.put(&format!("{label}.argon2_limit"), json!({ "before": before, "after": after, "mean_per_second": limit }));
    ctx.put(&format!("{label}.two_step_logins"), outcome(&peak));

    // Latency at 80 % of the peak just measured.
    let rate = peak.per_second * 0.8;
    let paced = load::paced(&bases, rate, seconds, job).await?;
    ctx.put(&format!("{label}.two_step_logins_at_80"), json!({ "rate": rate, "outcome": outcome(&paced) }));

    // Full OpenID Connect logins: authorize, password, code, back, token.
    let oidc_job = {
        let (users, client) = (Arc::clone(&users), client.clone());
        move |mut browser: Browser| {
            let (users, client) = (Arc::clone(&users), client.clone());
            async move {
                let user = users.next().await;
                let result = async {
                    let grant = browser.oidc_login(&client, &user.username, PASSWORD, || user.code()).await?;
                    browser.exchange(&client, &grant).await
                }
                .await;
                (browser, result.map(|()| true))
            }
        }
    };
    let oidc = load::closed_loop(&bases, ctx.args.concurrency, seconds, oidc_job).await?;
    ctx.put(&format!("{label}.oidc_logins"), outcome(&oidc));

    // One live session, then the service's side only: authorize in that
    // session (SSO) + token exchange, and the token exchange alone.
    let mut browser = Browser::new(Arc::clone(&bases))?;
    let user = users.next().await;
    browser.two_step_login(&user.username, PASSWORD, &user.code()).await?;
    let session = browser.cookies();
    let sso_job = {
        let (session, client) = (session.clone(), client.clone());
        move |mut browser: Browser| {
            let (session, client) = (session.clone(), client.clone());
            async move {
                browser.set_cookies(session);
                let result = async {
                    let grant = browser.authorize_in_session(&client).await?;
                    browser.exchange(&client, &grant).await
                }
                .await;
                (browser, result.map(|()| true))
            }
        }
    };
    let sso = load::closed_loop(&bases, ctx.args.concurrency, seconds / 2, sso_job).await?;
    ctx.put(&format!("{label}.oidc_sso_flows"), outcome(&sso));

    let grants = collect_grants(&bases, &client, &session, ctx.args.concurrency, seconds / 2).await?;
    let collected = grants.len();
    let grants = Arc::new(Mutex::new(grants));
    let exchange_job = {
        let (grants, client) = (Arc::clone(&grants), client.clone());
        move |mut browser: Browser| {
            let (grants, client) = (Arc::clone(&grants), client.clone());
            async move {
                let Some(grant) = grants.lock().await.pop_front() else {
                    return (browser, Ok(false));
                };
                let result = browser.exchange(&client, &grant).await;
                (browser, result.map(|()| true))
            }
        }
    };
    let cpu_before = cpu_of(&servers)?;
    let exchange = load::closed_loop(&bases, ctx.args.concurrency, seconds, exchange_job).await?;
    ctx.put(
        &format!("{label}.token_exchange_cpu"),
        cpu_share(&cpu_before, &cpu_of(&servers)?, exchange.seconds, exchange.ok),
    );
    ctx.put(&format!("{label}.token_exchange"), json!({ "codes": collected, "outcome": outcome(&exchange) }));

    for server in &mut servers {
        ctx.put(&format!("{label}.memory_after_runs_{}", server.pid()), json!(server.memory()?));
        server.stop();
    }
    Ok(())
}

fn cpu_of(servers: &[Instance]) -> Result<BTreeMap<String, f64>> {
    let mut total = BTreeMap::new();
    for server in servers {
        for (group, seconds) in server.cpu_by_thread()? {
            *total.entry(group).or_insert(0.0) += seconds;
        }
    }
    Ok(total)
}

/// Where the servers' CPU went during a run: per thread group, ms per
/// operation, Argon2's share of it all (a second estimate of the ratio to
/// the Argon2 limit, which other load on the machine moves much less than
/// wall-clock rates) and the cores the servers kept busy.
fn cpu_share(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, seconds: f64, operations: usize) -> Value {
    let spent: BTreeMap<&String, f64> =
        after.iter().map(|(g, s)| (g, s - before.get(g).copied().unwrap_or(0.0))).collect();
    // "process" is the whole process (ended threads too); the groups split it.
    let total: f64 = spent
        .iter()
        .find(|(g, _)| g.as_str() == "process")
        .map_or_else(|| spent.iter().filter(|(g, _)| g.as_str() != "process").map(|(_, s)| s).sum(), |(_, s)| *s);
    let per_op: BTreeMap<&String, f64> = spent.iter().map(|(g, s)| (*g, s * 1e3 / operations.max(1) as f64)).collect();
    let argon2 = spent.iter().find(|(g, _)| g.as_str() == "argon2").map_or(0.0, |(_, s)| *s);
    json!({
        "ms_per_operation": per_op,
        "argon2_share": argon2 / total.max(1e-9),
        "cores_busy": total / seconds.max(1e-9),
    })
}

/// Codes from authorize calls inside one live session, for `duration`.
async fn collect_grants(
    bases: &Arc<Vec<String>>,
    client: &OidcClient,
    session: &BTreeMap<String, String>,
    concurrency: usize,
    duration: Duration,
) -> Result<VecDeque<Grant>> {
    let grants = Arc::new(Mutex::new(VecDeque::new()));
    let job = {
        let (grants, client, session) = (Arc::clone(&grants), client.clone(), session.clone());
        move |mut browser: Browser| {
            let (grants, client, session) = (Arc::clone(&grants), client.clone(), session.clone());
            async move {
                browser.set_cookies(session);
                let result = browser.authorize_in_session(&client).await;
                let result = match result {
                    Ok(grant) => {
                        grants.lock().await.push_back(grant);
                        Ok(true)
                    }
                    Err(e) => Err(e),
                };
                (browser, result)
            }
        }
    };
    let outcome = load::closed_loop(bases, concurrency, duration, job).await?;
    if let Some(error) = outcome.first_error {
        bail!("collecting codes: {error}");
    }
    let collected = std::mem::take(&mut *grants.lock().await);
    Ok(collected)
}

/// The code step alone: logins brought to the code page first (not
/// measured), then only `POST /login/code` — the TOTP check, the replay
/// record and the new session.
async fn code_step_suite(ctx: &mut Ctx, label: &str, database: Option<String>, instances: usize) -> Result<()> {
    let dir = ctx.args.out.join(format!("{label}-code"));
    let deployment = Deployment::create(&ctx.args.kapu, dir, database.as_deref(), Some(CHEAP_HASH))?;
    let (users, _) = seed(ctx, &deployment, ctx.args.users)?;
    let (mut servers, bases) = start_instances(ctx, &deployment, instances).await?;

    // Half-finished logins, one per user, each a browser's cookies + the
    // code form's CSRF token.
    let pending = Arc::new(Mutex::new(Vec::new()));
    let users = Arc::new(users);
    let next_user = Arc::new(AtomicUsize::new(0));
    let prepare = {
        let (pending, users) = (Arc::clone(&pending), Arc::clone(&users));
        move |mut browser: Browser| {
            let (pending, users, next_user) = (Arc::clone(&pending), Arc::clone(&users), Arc::clone(&next_user));
            async move {
                // Each user once: a second login would reuse its code.
                let Some(user) = users.get(next_user.fetch_add(1, Ordering::Relaxed)) else {
                    return (browser, Ok(false));
                };
                browser.clear();
                let result = browser.password_step("/login", &user.username, PASSWORD).await;
                let result = match result {
                    Ok(form) => {
                        pending.lock().await.push((browser.cookies(), form, user.username.clone()));
                        Ok(true)
                    }
                    Err(e) => Err(e),
                };
                (browser, result)
            }
        }
    };
    let prepared = load::closed_loop(&bases, ctx.args.concurrency, Duration::from_secs(60), prepare).await?;
    if let Some(error) = prepared.first_error {
        bail!("preparing logins: {error}");
    }
    let codes: BTreeMap<String, String> = users.all().iter().map(|u| (u.username.clone(), u.code())).collect();
    let pending = Arc::new(Mutex::new(std::mem::take(&mut *pending.lock().await)));
    let codes = Arc::new(codes);
    let job = {
        let (pending, codes) = (Arc::clone(&pending), Arc::clone(&codes));
        move |mut browser: Browser| {
            let (pending, codes) = (Arc::clone(&pending), Arc::clone(&codes));
            async move {
                let Some((cookies, form, username)) = pending.lock().await.pop() else {
                    return (browser, Ok(false));
                };
                browser.set_cookies(cookies);
                let code = codes.get(&username).cloned().unwrap_or_default();
                let result = browser.code_step(&form, &code, "/").await;
                (browser, result.map(|_| true))
            }
        }
    };
    let cpu_before = cpu_of(&servers)?;
    let measured = load::closed_loop(&bases, ctx.args.concurrency, Duration::from_secs(ctx.args.seconds), job).await?;
    let cpu = cpu_share(&cpu_before, &cpu_of(&servers)?, measured.seconds, measured.ok);
    ctx.put(
        &format!("{label}.code_step"),
        json!({ "prepared": prepared.ok, "outcome": outcome(&measured), "cpu": cpu }),
    );
    for server in &mut servers {
        server.stop();
    }
    Ok(())
}

/// Idle memory right after start-up, then the peak during `storm` logins
/// at once (each a new browser and connection).
async fn memory_suite(ctx: &mut Ctx) -> Result<()> {
    let deployment = Deployment::create(&ctx.args.kapu, ctx.args.out.join("memory"), None, None)?;
    let (users, _) = seed(ctx, &deployment, ctx.args.storm.max(1) * 2)?;
    let users = Arc::new(users);
    let (mut servers, bases) = start_instances(ctx, &deployment, 1).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = servers[0].memory()?;
    ctx.put("memory.idle", json!(idle));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..ctx.args.storm {
        let (users, bases) = (Arc::clone(&users), Arc::clone(&bases));
        tasks.push(tokio::spawn(async move {
            let mut browser = Browser::new(bases)?;
            let user = users.next().await;
            browser.two_step_login(&user.username, PASSWORD, &user.code()).await
        }));
    }
    let (mut ok, mut errors, mut first_error) = (0, 0, None);
    for task in tasks {
        match task.await? {
            Ok(()) => ok += 1,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let storm = servers[0].memory()?;
    ctx.put(
        "memory.storm",
        json!({
            "concurrent": ctx.args.storm, "ok": ok, "errors": errors, "first_error": first_error,
            "seconds": started.elapsed().as_secs_f64(), "memory": storm,
        }),
    );
    for server in &mut servers {
        server.stop();
    }
    Ok(())
}

async fn time_startups(ctx: &Ctx, deployment: &Deployment, runs: usize, fresh: bool) -> Result<(f64, Value)> {
    let mut times = Vec::new();
    let mut memory = Value::Null;
    for run in 0..runs {
        if fresh && run > 0 {
            for entry in std::fs::read_dir(&deployment.dir)? {
                let path = entry?.path();
                if path.is_file() && path.extension().is_none_or(|e| e != "log") {
                    std::fs::remove_file(path)?;
                }
            }
        }
        let port = free_port()?;
        let (mut instance, took) =
            deployment.start(port, &format!("http://127.0.0.1:{port}"), &ctx.args.server_cpu).await?;
        times.push(took.as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(500)).await;
        memory = json!(instance.memory()?);
        instance.stop();
    }
    Ok((load::median(&mut times), json!({ "runs_ms": times, "idle_memory": memory })))
}

async fn startup_suite(ctx: &mut Ctx) -> Result<()> {
    let empty = Deployment::create(&ctx.args.kapu, ctx.args.out.join("startup-empty"), None, None)?;
    let (median, detail) = time_startups(ctx, &empty, 5, true).await?;
    ctx.put("startup.empty_sqlite", json!({ "median_ms": median, "detail": detail }));

    let big = Deployment::create(&ctx.args.kapu, ctx.args.out.join("startup-million"), None, None)?;
    let started = Instant::now();
    let count = ctx.args.million.to_string();
    let password = ctx.password_file.to_string_lossy().into_owned();
    big.admin(&["seed", "--accounts", &count, "--password-file", &password])?;
    let seed_seconds = started.elapsed().as_secs_f64();
    let db = big.dir.join("kapu.db");
    let size_mib = std::fs::metadata(&db).map(|m| m.len() as f64 / 1048576.0).unwrap_or(f64::NAN);
    let (median, detail) = time_startups(ctx, &big, 5, false).await?;
    ctx.put(
        "startup.million_sqlite",
        json!({ "accounts": ctx.args.million, "median_ms": median, "detail": detail,
                "seed_seconds": seed_seconds, "database_mib": size_mib }),
    );
    // 1 M accounts take ~1 GB; the next run starts from scratch anyway.
    let _ = std::fs::remove_dir_all(&big.dir);
    Ok(())
}
