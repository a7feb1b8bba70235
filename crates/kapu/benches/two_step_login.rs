//! Full two-step logins per second on this machine, beside the limit that
//! Argon2id sets, both measured in the same run.
//!
//! `cargo bench -p kapu --bench two_step_login`
//!
//! Every login costs exactly one Argon2id computation (the password check),
//! at the configured default cost, on kapu's own hashing pool. So the login
//! rate can never beat the pool's hash rate with every worker busy; the
//! question is how close the rest of the login (HTTP, templates, CSRF, the
//! database, the TOTP check, the session) lets it get. Target: at least 0.9.
//!
//! 1. Argon2id limit: `PasswordHasher::start` with
//!    `PasswordHashConfig::default()` (m = 19456 KiB, t = 2, p = 1, one
//!    worker per core); the median of single hashes, then hashes per second
//!    with 2 × workers requests always queued, for a few seconds.
//! 2. A real server in-process, as `tests/it/support` starts one (SQLite in
//!    a temporary data directory, `kapu::web::serve` on 127.0.0.1:0), but with
//!    the default password-hash parameters, and a `ManualClock`.
//! 3. `USERS` accounts with two-step login on, made through the service
//!    layer (office creation, set-up, confirmation with a code from the key,
//!    finish).
//! 4. Logins over HTTP, each as a new browser (empty cookie jar): GET /login,
//!    POST /login (303 to /login/code), GET /login/code, POST /login/code
//!    (303 to /), GET / (200). 2 × workers browsers at once, for
//!    `LOGIN_SECONDS` in `SEGMENTS` parts. A code is accepted once per user
//!    and 30-second step, so users are taken in turn and the manual clock
//!    moves on 30 s each time every user has had a login (the server's window
//!    of ±1 step covers logins still in flight then).
//! 5. The Argon2id limit again after each segment, so that the reference
//!    brackets the logins on a machine shared with other work; the reference
//!    is the mean of all the measurements.
//!
//! Prints a Markdown table and writes it as JSON to
//! `<target dir>/bench-two-step.json`. It also reads the CPU time of each
//! group of threads (Argon2 workers, server runtime, SQLite workers, the
//! benchmark's own HTTP client) from /proc: per login, as a profile hint,
//! and as Argon2's share of all CPU spent, a second estimate of the ratio
//! that other processes on the machine move much less than wall time.
//! Nothing is asserted: timings are reported, not judged.
//!
//! By hand, `KAPU_BENCH_BROWSERS=n` and `KAPU_BENCH_SECONDS=s` change the
//! number of concurrent browsers and the length of the login run.

// A benchmark's main: failing loudly on a broken set-up is the right
// response, so unwrap/expect are allowed here (not in kapu's own code).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kapu::Kapu;
use kapu::accounts::model::Language;
use kapu::audit::Actor;
use kapu::clock::ManualClock;
use kapu::config::Config;
use kapu::passwords::{Password, PasswordHashConfig, PasswordHasher};
use kapu::twostep::model::EnrolmentPurpose;
use otp::{Algorithm, Digits, Period, Secret, Totp};
use reqwest::StatusCode;
use reqwest::header::HeaderValue;

/// Accounts to log in with: more than enough that no user logs in twice
/// within one 30-second step of the manual clock.
const USERS: usize = 240;
/// How long logins are started for.
const LOGIN_SECONDS: u64 = 10;
/// Login segments, each followed by a measurement of the limit.
const SEGMENTS: u64 = 2;
/// How long the Argon2id throughput is measured, each time.
const LIMIT_SECONDS: u64 = 3;
/// Single hashes timed for the median.
const SINGLE_HASHES: usize = 11;
const PASSWORD: &str = "Mogyoro-kalap-szel-2024";
const TARGET_RATIO: f64 = 0.9;

fn main() {
    if std::env::args().any(|a| a == "--test") {
        // `cargo test --benches`: nothing to check without the real run.
        println!("two_step_login: skipped in test mode");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run());
}

// ---------------------------------------------------------------------------
// Argon2id limit

struct Limit {
    workers: usize,
    single_ms: f64,
    hashes_per_second: f64,
    hashes: usize,
    /// CPU time of the Argon2 threads per hash in the throughput phase.
    cpu_ms_per_hash: f64,
    /// Cores the Argon2 threads actually got (CPU time / wall time).
    cores_used: f64,
}

async fn argon2_limit(seconds: u64) -> Limit {
    let config = PasswordHashConfig::default();
    let hasher = PasswordHasher::start(&config, None).expect("hashing pool");
    let workers = hasher.workers();
    let password = Password::new(PASSWORD.to_owned());

    // Warm-up (page faults of the first use), then single hashes in a row.
    hasher.hash(&password).await.expect("hash");
    let mut singles = Vec::with_capacity(SINGLE_HASHES);
    for _ in 0..SINGLE_HASHES {
        let start = Instant::now();
        hasher.hash(&password).await.expect("hash");
        singles.push(start.elapsed().as_secs_f64() * 1e3);
    }

    // Throughput: 2 × workers requests in flight until the deadline.
    let cpu_before = cpu_by_group();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..2 * workers)
        .map(|_| {
            let hasher = hasher.clone();
            let password = password.clone();
            tokio::spawn(async move {
                let mut done = 0usize;
                while Instant::now() < deadline {
                    hasher.hash(&password).await.expect("hash");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut hashes = 0;
    for task in tasks {
        hashes += task.await.expect("hash task");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let argon2 = |cpu: &BTreeMap<&str, f64>| cpu.get("argon2 workers").copied().unwrap_or(0.0);
    let cpu_seconds = argon2(&cpu_by_group()) - argon2(&cpu_before);
    Limit {
        workers,
        single_ms: percentile(&mut singles, 0.5),
        hashes_per_second: hashes as f64 / elapsed,
        hashes,
        cpu_ms_per_hash: cpu_seconds * 1e3 / hashes.max(1) as f64,
        cores_used: cpu_seconds / elapsed,
    }
}

// ---------------------------------------------------------------------------
// The server and its users

struct Server {
    url: String,
    kapu: Arc<Kapu>,
    clock: ManualClock,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    // Everything else, the password-hash cost above all, stays at its default.
    let listener = tokio::net::TcpListener::bind(config.server.listen).await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    config.server.public_url = Some(format!("http://{addr}"));
    let clock = ManualClock::new(jiff::Timestamp::now().as_second());
    let kapu = Arc::new(Kapu::open_with_clock(config, Arc::new(clock.clone())).await.expect("open kapu"));
    kapu.store.migrate().await.expect("migrate");
    let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
    let server_kapu = Arc::clone(&kapu);
    let task = tokio::spawn(async move {
        kapu::web::serve(server_kapu, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    Server { url: format!("http://{addr}"), kapu, clock, shutdown, task, _dir: dir }
}

struct User {
    username: String,
    totp: Totp,
}

/// One account with two-step login on, through the service layer.
async fn create_user(kapu: &Kapu, clock: &ManualClock, index: usize) -> User {
    let username = format!("bench{index:04}");
    let password = Password::new(PASSWORD.to_owned());
    let account = kapu
        .admin_create_user(
            &username,
            &format!("Teszt Elek {index}"),
            &format!("{username}@example.hu"),
            &password,
            Language::Hu,
        )
        .await
        .expect("create user");
    kapu.start_enrolment(&account, EnrolmentPurpose::Setup).await.expect("start set-up");
    let view = kapu.enrolment_view(&account).await.expect("set-up view");
    let secret = Secret::from_base32(&view.key_grouped).expect("the shown key decodes");
    let totp = Totp::new(secret, Algorithm::Sha1, Digits::SIX, Period::DEFAULT);
    let code = totp.code_at(unix(clock));
    kapu.confirm_enrolment(&account, &password, &code, &Actor::default()).await.expect("confirm set-up");
    kapu.finish_enrolment(&account, true, &Actor::default()).await.expect("finish set-up");
    User { username, totp }
}

async fn create_users(kapu: &Arc<Kapu>, clock: &ManualClock, count: usize, concurrency: usize) -> Vec<User> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (kapu, clock, next) = (Arc::clone(kapu), clock.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let mut made = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        return made;
                    }
                    made.push(create_user(&kapu, &clock, index).await);
                }
            })
        })
        .collect();
    let mut users = Vec::with_capacity(count);
    for task in tasks {
        users.extend(task.await.expect("user task"));
    }
    users.sort_by(|a, b| a.username.cmp(&b.username));
    users
}

fn unix(clock: &ManualClock) -> u64 {
    u64::try_from(kapu::clock::Clock::now(clock)).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Logins over HTTP

/// Hands out (user, code) in turn; after each full round of users the
/// manual clock moves to the next 30-second step.
struct Tickets {
    users: Vec<User>,
    clock: ManualClock,
    issued: Mutex<usize>,
}

impl Tickets {
    fn next(&self) -> (String, String) {
        let mut issued = self.issued.lock().expect("ticket lock");
        let index = *issued;
        *issued += 1;
        if index > 0 && index.is_multiple_of(self.users.len()) {
            self.clock.advance(30);
        }
        let user = &self.users[index % self.users.len()];
        (user.username.clone(), user.totp.code_at(unix(&self.clock)))
    }
}

/// A cookie jar that can be emptied, so that one HTTP client (and its
/// keep-alive connection) can play a new browser for every login.
#[derive(Default)]
struct Jar(Mutex<BTreeMap<String, String>>);

impl Jar {
    fn clear(&self) {
        self.0.lock().expect("jar").clear();
    }
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, _url: &reqwest::Url) {
        let mut jar = self.0.lock().expect("jar");
        for header in headers {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let expired = parts.any(|a| a.eq_ignore_ascii_case("max-age=0"));
            if expired || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookies(&self, _url: &reqwest::Url) -> Option<HeaderValue> {
        let jar = self.0.lock().expect("jar");
        if jar.is_empty() {
            return None;
        }
        let line = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        HeaderValue::from_str(&line).ok()
    }
}

struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
}

fn csrf(body: &str) -> Result<String, String> {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).ok_or("no CSRF field")? + marker.len();
    Ok(body[start..].split('"').next().unwrap_or_default().to_owned())
}

fn expect(what: &str, response: &reqwest::Response, status: StatusCode, location: Option<&str>) -> Result<(), String> {
    let found = response.headers().get("location").and_then(|v| v.to_str().ok());
    if response.status() != status || (location.is_some() && found != location) {
        return Err(format!("{what}: {} (location {found:?}), wanted {status} {location:?}", response.status()));
    }
    Ok(())
}

impl Browser {
    fn new(base: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { client, jar, base: base.to_owned() }
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        self.client.get(format!("{}{path}", self.base)).send().await.map_err(|e| format!("GET {path}: {e}"))
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<reqwest::Response, String> {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))
    }

    /// One whole two-step login as a new browser.
    async fn login(&self, username: &str, code: &str) -> Result<(), String> {
        self.jar.clear();
        let page = self.get("/login").await?;
        expect("GET /login", &page, StatusCode::OK, None)?;
        let token = csrf(&page.text().await.map_err(|e| e.to_string())?)?;

        let answer = self.post("/login", &[("csrf", &token), ("username", username), ("password", PASSWORD)]).await?;
        expect("POST /login", &answer, StatusCode::SEE_OTHER, Some("/login/code"))?;

        // A browser follows the redirect to the code page.
        let page = self.get("/login/code").await?;
        expect("GET /login/code", &page, StatusCode::OK, None)?;
        let token = csrf(&page.text().await.map_err(|e| e.to_string())?)?;

        let answer = self.post("/login/code", &[("csrf", &token), ("code", code)]).await?;
        expect("POST /login/code", &answer, StatusCode::SEE_OTHER, Some("/"))?;

        let home = self.get("/").await?;
        expect("GET /", &home, StatusCode::OK, None)?;
        home.bytes().await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

struct LoginRun {
    concurrency: usize,
    logins: usize,
    errors: usize,
    first_error: Option<String>,
    seconds: f64,
    latencies_ms: Vec<f64>,
    /// CPU seconds spent per thread group during the run, read on the
    /// client thread while it is still alive.
    cpu_spent: BTreeMap<&'static str, f64>,
}

impl LoginRun {
    fn add(&mut self, other: LoginRun) {
        self.logins += other.logins;
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.seconds += other.seconds;
        self.latencies_ms.extend(other.latencies_ms);
        for (group, seconds) in other.cpu_spent {
            *self.cpu_spent.entry(group).or_insert(0.0) += seconds;
        }
    }
}

/// Runs the browsers on a thread of their own ("bench-client"), so that the
/// CPU time of the load generator can be told apart from the server's.
fn run_logins(base: String, tickets: Arc<Tickets>, concurrency: usize, seconds: u64) -> LoginRun {
    std::thread::Builder::new()
        .name("bench-client".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("bench-client")
                .build()
                .expect("client runtime");
            runtime.block_on(async move {
                let cpu_before = cpu_by_group();
                let start = Instant::now();
                let deadline = start + Duration::from_secs(seconds);
                // Tasks of this single-threaded runtime: all on this thread.
                let browsers: Vec<_> = (0..concurrency)
                    .map(|_| {
                        let (browser, tickets) = (Browser::new(&base), Arc::clone(&tickets));
                        tokio::spawn(async move {
                            let mut latencies = Vec::new();
                            let mut errors = Vec::new();
                            while Instant::now() < deadline {
                                let (username, code) = tickets.next();
                                let started = Instant::now();
                                match browser.login(&username, &code).await {
                                    Ok(()) => latencies.push(started.elapsed().as_secs_f64() * 1e3),
                                    Err(e) => errors.push(format!("{username}: {e}")),
                                }
                            }
                            (latencies, errors)
                        })
                    })
                    .collect();
                let mut results = Vec::with_capacity(browsers.len());
                for browser in browsers {
                    results.push(browser.await.expect("browser task"));
                }
                let seconds = start.elapsed().as_secs_f64();
                let cpu_after = cpu_by_group();
                let mut run = LoginRun {
                    concurrency,
                    logins: 0,
                    errors: 0,
                    first_error: None,
                    seconds,
                    latencies_ms: Vec::new(),
                    cpu_spent: cpu_after
                        .iter()
                        .map(|(group, after)| (*group, after - cpu_before.get(group).copied().unwrap_or(0.0)))
                        .collect(),
                };
                for (latencies, errors) in results {
                    run.logins += latencies.len();
                    run.latencies_ms.extend(latencies);
                    run.errors += errors.len();
                    if run.first_error.is_none() {
                        run.first_error = errors.into_iter().next();
                    }
                }
                run
            })
        })
        .expect("client thread")
        .join()
        .expect("client thread finished")
}

// ---------------------------------------------------------------------------
// CPU time per thread group, from /proc (Linux only; empty elsewhere)

/// CPU seconds per thread group: Argon2 workers, SQLite workers, the server's
/// runtime and everything else, the benchmark's client.
fn cpu_by_group() -> BTreeMap<&'static str, f64> {
    let mut groups = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return groups };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the name: state is field 3 of stat(5); utime 14, stime 15.
        let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        let seconds = (ticks(14) + ticks(15)) / 100.0; // USER_HZ is 100 on Linux
        let group = if name.starts_with("kapu-argon2") {
            "argon2 workers"
        } else if name.starts_with("sqlx-sqlite") {
            "sqlite workers"
        } else if name.starts_with("bench-client") {
            "bench HTTP client"
        } else if name.starts_with("tokio-r") {
            // "tokio-rt-worker" (or older tokio's "tokio-runtime-worker").
            "server runtime (axum, handlers)"
        } else {
            "other threads"
        };
        *groups.entry(group).or_insert(0.0) += seconds;
    }
    groups
}

// ---------------------------------------------------------------------------
// Report

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() - 1) as f64 * p).round() as usize;
    values[rank]
}

/// An optional override from the environment, for exploring by hand.
fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok().filter(|&n| n > 0)
}

fn target_dir() -> PathBuf {
    // The bench runs as <target>/<profile>/deps/two_step_login-<hash>.
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(PathBuf::from))
        .filter(|dir| dir.join("CACHEDIR.TAG").exists())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn print_limit(when: &str, limit: &Limit) {
    println!(
        "  Argon2id limit ({when}): {:.1} hashes/s ({} hashes, {} workers, {:.2} cores got), single hash median {:.1} ms, CPU {:.1} ms/hash",
        limit.hashes_per_second, limit.hashes, limit.workers, limit.cores_used, limit.single_ms, limit.cpu_ms_per_hash
    );
}

async fn run() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("two_step_login: {cores} cores; Argon2id at PasswordHashConfig::default()");

    let mut limits = vec![argon2_limit(LIMIT_SECONDS).await];
    print_limit("before", &limits[0]);

    let server = start_server().await;
    let workers = server.kapu.hasher.workers();
    let concurrency = env_number("KAPU_BENCH_BROWSERS").unwrap_or(2 * workers);
    let started = Instant::now();
    let users = create_users(&server.kapu, &server.clock, USERS, concurrency).await;
    println!("  {} users with two-step login made in {:.1} s", users.len(), started.elapsed().as_secs_f64());
    // The set-up used this step's codes: logins start at the next one.
    server.clock.advance(30);

    // Login segments alternate with measurements of the limit, so that the
    // reference brackets the logins on a machine shared with other work.
    let tickets = Arc::new(Tickets { users, clock: server.clock.clone(), issued: Mutex::new(0) });
    let seconds = env_number("KAPU_BENCH_SECONDS").map_or(LOGIN_SECONDS, |s| s as u64);
    let mut run: Option<LoginRun> = None;
    for segment in 1..=SEGMENTS {
        let part = run_logins(server.url.clone(), Arc::clone(&tickets), concurrency, seconds.div_ceil(SEGMENTS));
        println!(
            "  logins, segment {segment}: {} logins, {} errors in {:.1} s ({:.1}/s, {concurrency} browsers)",
            part.logins,
            part.errors,
            part.seconds,
            part.logins as f64 / part.seconds
        );
        match &mut run {
            Some(run) => run.add(part),
            None => run = Some(part),
        }
        limits.push(argon2_limit(LIMIT_SECONDS).await);
        print_limit(&format!("after segment {segment}"), &limits[limits.len() - 1]);
    }
    let mut run = run.expect("at least one segment");
    let issued = tickets.issued.lock().map_or(0, |n| *n);
    println!("  {issued} logins started, {} clock steps of 30 s", issued.div_ceil(USERS));
    if let Some(e) = &run.first_error {
        println!("  first error: {e}");
    }

    let _ = server.shutdown.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server.task).await;
    server.kapu.store.close().await;
    drop(server.kapu);

    let count = limits.len() as f64;
    let limit = limits.iter().map(|l| l.hashes_per_second).sum::<f64>() / count;
    let single_ms = limits.iter().map(|l| l.single_ms).sum::<f64>() / count;
    let rate = run.logins as f64 / run.seconds;
    let p50 = percentile(&mut run.latencies_ms, 0.5);
    let p99 = percentile(&mut run.latencies_ms, 0.99);
    let ratio = rate / limit;
    let verdict = |ratio: f64| if ratio >= TARGET_RATIO { "" } else { " (below target)" };

    // CPU per login by thread group: a profile hint, and a second estimate
    // of the ratio that other processes' load does not move much (CPU time,
    // not wall time): Argon2's share of all the CPU the process spent.
    let cpu: BTreeMap<&str, f64> = if run.logins == 0 {
        BTreeMap::new()
    } else {
        run.cpu_spent.iter().map(|(group, seconds)| (*group, seconds * 1e3 / run.logins as f64)).collect()
    };
    let cpu_total: f64 = cpu.values().sum();
    let cpu_client = cpu.get("bench HTTP client").copied().unwrap_or(0.0);
    let cpu_argon2 = cpu.get("argon2 workers").copied().unwrap_or(0.0);
    let cpu_share = cpu_argon2 / cpu_total;
    let cpu_share_server = cpu_argon2 / (cpu_total - cpu_client);
    let hash_cpu = limits.iter().map(|l| l.cpu_ms_per_hash).sum::<f64>() / count;

    println!();
    println!("| figure | kapu | reference | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| two-step logins/s ({concurrency} browsers) | {rate:.1} | Argon2id limit {limit:.1} hashes/s ({workers} workers) | {ratio:.2}{} |",
        verdict(ratio)
    );
    println!("| login latency p50 | {p50:.1} ms | one Argon2id hash {single_ms:.1} ms | {:.2} |", p50 / single_ms);
    println!("| login latency p99 | {p99:.1} ms | one Argon2id hash {single_ms:.1} ms | {:.2} |", p99 / single_ms);
    println!(
        "| Argon2 share of the login run's CPU | {cpu_total:.2} ms/login | of it Argon2 {cpu_argon2:.2} ms | {cpu_share:.2}{} |",
        verdict(cpu_share)
    );
    println!(
        "| the same without the bench's client | {:.2} ms/login | of it Argon2 {cpu_argon2:.2} ms | {cpu_share_server:.2}{} |",
        cpu_total - cpu_client,
        verdict(cpu_share_server)
    );
    println!();
    let each: Vec<String> = limits.iter().map(|l| format!("{:.1}", l.hashes_per_second)).collect();
    println!(
        "Argon2id limit measured {} times, around the login segments: {} hashes/s (reference: their mean). Target ratio >= {TARGET_RATIO}.",
        limits.len(),
        each.join(" / ")
    );
    println!(
        "CPU rows: CPU time, not wall time, of one login run: Argon2's share of all the CPU the process spent, which is the ratio a CPU-bound server reaches; other processes on the machine move it much less than the wall-time row."
    );
    println!("CPU time per login by thread group (profile hint; /proc, 10 ms ticks):");
    for (group, ms) in &cpu {
        println!("  {group}: {ms:.2} ms");
    }
    println!(
        "Cores the process got during the logins: {:.2} (Argon2 threads {:.2}); in the limit runs: {}.",
        cpu_total * rate / 1e3,
        cpu_argon2 * rate / 1e3,
        limits.iter().map(|l| format!("{:.2}", l.cores_used)).collect::<Vec<_>>().join(" / ")
    );

    let json = serde_json::json!({
        "cores": cores,
        "argon2": {
            "memory_kib": PasswordHashConfig::default().memory_kib,
            "iterations": PasswordHashConfig::default().iterations,
            "parallelism": PasswordHashConfig::default().parallelism,
            "workers": workers,
            "single_hash_median_ms": single_ms,
            "limit_hashes_per_second": limit,
            "limit_measurements": limits.iter().map(|l| l.hashes_per_second).collect::<Vec<_>>(),
            "cpu_ms_per_hash": hash_cpu,
            "cores_used_in_limit_runs": limits.iter().map(|l| l.cores_used).collect::<Vec<_>>(),
        },
        "logins": {
            "users": USERS,
            "concurrency": run.concurrency,
            "count": run.logins,
            "errors": run.errors,
            "seconds": run.seconds,
            "per_second": rate,
            "p50_ms": p50,
            "p99_ms": p99,
            "cpu_ms_per_login": cpu,
        },
        "table": [
            {"figure": "two-step logins/s", "kapu": rate, "reference": limit, "ratio": ratio},
            {"figure": "login latency p50 ms", "kapu": p50, "reference": single_ms, "ratio": p50 / single_ms},
            {"figure": "login latency p99 ms", "kapu": p99, "reference": single_ms, "ratio": p99 / single_ms},
            {"figure": "Argon2 share of the login run's CPU (ms per login)", "kapu": cpu_total, "reference": cpu_argon2, "ratio": cpu_share},
            {"figure": "the same without the bench's client (ms per login)", "kapu": cpu_total - cpu_client, "reference": cpu_argon2, "ratio": cpu_share_server},
        ],
        "target_ratio": TARGET_RATIO,
    });
    let path = target_dir().join("bench-two-step.json");
    match std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap_or_default()) {
        Ok(()) => println!("Written to {}", path.display()),
        Err(e) => println!("Could not write {}: {e}", path.display()),
    }
}
