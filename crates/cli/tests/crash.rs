//! A real `kapu serve` killed with SIGKILL at random moments while citizens
//! log in with a code and services exchange codes (each code twice at once,
//! a raced reuse), thirty times over; then the database is checked: every
//! use case committed whole or not at all.
//!
//! - a used TOTP step always has its session and its audit event (and none
//!   exists without the step);
//! - a redeemed authorization code always has its token and audit event,
//!   unless a reuse revoked the token; a reuse the client saw answered left
//!   no live token behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{drop_pg_database, fresh_pg_database, kapu, run_ok};

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kapu::store::{Db, Store, query};

const PASSWORD: &str = "tavaszi szel vizet araszt";
const CALLBACK: &str = "http://127.0.0.1:9/callback";
const KILLS: usize = 30;
const ACCOUNTS: u32 = 2500;
const WORKERS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_logins_and_token_exchanges_leaves_sqlite_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kapu.db").display());
    crash_loop(dir.path(), &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_logins_and_token_exchanges_leaves_postgres_consistent() {
    let Some(url) = fresh_pg_database("crash").await else { return };
    let dir = tempfile::tempdir().unwrap();
    crash_loop(dir.path(), &url).await;
    drop_pg_database(&url).await;
}

/// What the clients saw of one account's exchanges (the raced pair).
#[derive(Debug, Default, Clone)]
struct Seen {
    token: Option<String>,
    reuse_refused: bool,
}

async fn crash_loop(dir: &Path, url: &str) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        dir.join("kapu.toml"),
        format!(
            "data_dir = {dir:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = {url:?}\n\
             [password_hash]\nmemory_kib = 64\niterations = 1\nworkers = 2\n\
             [login_limits]\naddress_slowdown_after = 1000\naddress_lockout_after = 1000\n",
            dir = dir.display().to_string(),
        ),
    )
    .unwrap();
    std::fs::write(dir.join("password"), PASSWORD).unwrap();
    run_ok({
        let mut c = kapu(dir);
        c.args(["migrate"]);
        c
    });
    run_ok({
        let mut c = kapu(dir);
        c.args(["admin", "seed", "--accounts", &ACCOUNTS.to_string(), "--prefix", "crash", "--json"])
            .arg("--password-file")
            .arg(dir.join("password"))
            .arg("--secrets-out")
            .arg(dir.join("secrets.csv"));
        c
    });
    let client: serde_json::Value = serde_json::from_str(&run_ok({
        let mut c = kapu(dir);
        c.args(["admin", "client", "add", "--name", "Crash", "--redirect-uri", CALLBACK]);
        c.args(["--auth-method", "client_secret_post", "--json"]);
        c
    }))
    .unwrap();
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let accounts: Vec<(String, String)> = std::fs::read_to_string(dir.join("secrets.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let (u, k) = l.split_once(',').unwrap();
            (u.to_owned(), k.to_owned())
        })
        .collect();
    let queue = Arc::new(Mutex::new(accounts.into_iter().rev().collect::<Vec<_>>()));
    let seen = Arc::new(Mutex::new(HashMap::<String, Seen>::new()));
    let base = format!("http://127.0.0.1:{port}");
    let mut rng = Rng::new();
    // Every client here is 127.0.0.1, and a login killed between taking its
    // attempt and giving it back stays counted against the address (up to
    // WORKERS per kill): the per-address limit is lifted so that it does not
    // turn the crash loop into a lockout test.
    let mut completed_logins = 0usize;
    for kill in 0..KILLS {
        let mut server = start(dir, &base).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (queue, seen, stop) = (Arc::clone(&queue), Arc::clone(&seen), Arc::clone(&stop));
                let (base, client_id, secret) = (base.clone(), client_id.clone(), secret.clone());
                tokio::spawn(async move {
                    let mut done = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let Some((user, key)) = queue.lock().unwrap().pop() else { break };
                        if one_citizen(&base, &user, &key, &client_id, &secret, &seen).await {
                            done += 1;
                        }
                    }
                    done
                })
            })
            .collect();
        // Let it work a while, then kill it in the middle of whatever it does.
        // (No worker takes a new account after the kill: each dies with the
        // one it has in flight.)
        tokio::time::sleep(Duration::from_millis(rng.between(150, 700))).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        server.kill().unwrap();
        server.wait().unwrap();
        for w in workers {
            completed_logins += w.await.unwrap();
        }
        assert!(!queue.lock().unwrap().is_empty(), "ran out of accounts at kill {kill}");
    }
    assert!(completed_logins > KILLS, "the loop did real work: {completed_logins} logins finished");
    // A last start: it comes up, and the database it finds is consistent.
    let mut server = start(dir, &base).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let seen = seen.lock().unwrap().clone();
    check_consistency(url, &seen).await;
}

// The caller kills and waits for the child it gets back.
#[allow(clippy::zombie_processes)]
async fn start(dir: &Path, base: &str) -> Child {
    let mut child = kapu(dir).arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return child;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kapu did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Password, code, then a service login whose code is exchanged twice at
/// once. True if it got through the code step. Any error (the server was
/// killed) ends it; the account is never used again.
async fn one_citizen(
    base: &str,
    user: &str,
    key: &str,
    client_id: &str,
    secret: &str,
    seen: &Mutex<HashMap<String, Seen>>,
) -> bool {
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let Some(csrf) = csrf_of(&browser, &format!("{base}/login")).await else { return false };
    let Ok(r) = browser
        .post(format!("{base}/login"))
        .form(&[("csrf", csrf.as_str()), ("username", user), ("password", PASSWORD)])
        .send()
        .await
    else {
        return false;
    };
    if r.status() != 303 {
        return false;
    }
    let code = totp_now(key);
    let Ok(r) = browser
        .post(format!("{base}/login/code"))
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
    else {
        return false;
    };
    if r.headers().get("location").and_then(|v| v.to_str().ok()) != Some("/") {
        return false;
    }
    let auth = format!(
        "{base}/authorize?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope=openid&state=s"
    );
    let Ok(r) = browser.get(auth).send().await else { return true };
    let Some(location) = r.headers().get("location").and_then(|v| v.to_str().ok()) else { return true };
    let Some(code) = url_param(location, "code") else { return true };
    let exchange = || async {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.ok()?;
        Some((status, body))
    };
    let (a, b) = tokio::join!(exchange(), exchange());
    let mut s = Seen::default();
    for (status, body) in [a, b].into_iter().flatten() {
        match status {
            200 => s.token = body["access_token"].as_str().map(str::to_owned),
            400 if body["error_description"].as_str().is_some_and(|d| d.contains("already used")) => {
                s.reuse_refused = true
            }
            _ => {}
        }
    }
    seen.lock().unwrap().insert(user.to_owned(), s);
    true
}

async fn csrf_of(browser: &reqwest::Client, url: &str) -> Option<String> {
    let body = browser.get(url).send().await.ok()?.text().await.ok()?;
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

fn totp_now(key: &str) -> String {
    let totp = otp::Totp::new(
        otp::Secret::from_base32(key).unwrap(),
        otp::Algorithm::Sha1,
        otp::Digits::SIX,
        otp::Period::DEFAULT,
    );
    totp.code_at(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs())
}

fn url_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|p| p.strip_prefix(&format!("{name}="))).map(str::to_owned)
}

async fn check_consistency(url: &str, seen: &HashMap<String, Seen>) {
    let store: Store = kapu::store::connect(url, 1).await.unwrap();
    // Per seeded account: the used step, two-step sessions, their audit events,
    // redeemed codes, live tokens and the exchanges' audit events.
    let rows: Vec<(String, i64, i64, i64, i64, i64, i64)> = store
        .fetch_all(query(
            "SELECT a.username, c.last_used_step, \
               (SELECT COUNT(*) FROM sessions s WHERE s.account_id = a.id AND s.auth_methods = 'pwd otp'), \
               (SELECT COUNT(*) FROM audit_events e WHERE e.account_id = a.id AND e.event = 'login_succeeded' \
                  AND e.detail = 'pwd+otp'), \
               (SELECT COUNT(*) FROM oidc_codes o WHERE o.account_id = a.id AND o.used_at IS NOT NULL), \
               (SELECT COUNT(*) FROM oidc_access_tokens t WHERE t.account_id = a.id), \
               (SELECT COUNT(*) FROM audit_events e WHERE e.account_id = a.id AND e.event = 'service_login' \
                  AND e.detail LIKE 'tokens for service=%') \
             FROM accounts a JOIN totp_credentials c ON c.account_id = a.id WHERE a.username LIKE 'crash%'",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), ACCOUNTS as usize);
    let (mut logged_in, mut exchanged, mut revoked) = (0, 0, 0);
    for (user, step, sessions, login_events, redeemed, tokens, token_events) in rows {
        let stepped = i64::from(step >= 0);
        assert_eq!((sessions, login_events), (stepped, stepped), "{user}: a used step goes with its session and event");
        assert!(redeemed <= 1 && tokens <= redeemed, "{user}: {redeemed} codes redeemed, {tokens} tokens");
        assert_eq!(token_events, redeemed, "{user}: a redeemed code goes with its audit event");
        if let Some(s) = seen.get(&user)
            && s.reuse_refused
        {
            assert_eq!(tokens, 0, "{user}: a reuse that was answered revoked the token");
            revoked += 1;
        }
        logged_in += stepped;
        exchanged += redeemed;
    }
    store.close().await;
    eprintln!("crash test: {logged_in} code steps, {exchanged} codes redeemed, {revoked} raced reuses revoked");
    assert!(logged_in > 0 && exchanged > 0 && revoked > 0, "the test exercised every path");
}

/// Enough randomness for kill times, without a crate for it.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        Self(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1)
    }
    fn between(&mut self, low: u64, high: u64) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}
