//! Relying-party libraries that other projects wrote, with their default
//! settings, against a real `kapu serve` (SQLite and PostgreSQL): panva's
//! `openid-client` (npm), Authlib and pyoidc (`oic`, PyPI). Each runs as its
//! own process (interop/) and talks JSON lines with this test, which plays
//! the citizen's browser: a two-step login with a real TOTP code, the code
//! flow with PKCE and every client authentication method, userinfo,
//! RP-initiated logout, and the back-channel logout token verified by the
//! library's own JOSE code; then verified identity claims after the consent
//! page, and a login on a principal's behalf (`act`), each with logout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{drop_pg_database, fresh_pg_database, kapu, run_ok, skip};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "tavaszi szel vizet araszt";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const BYE: &str = "http://127.0.0.1:9/bye";
const METHODS: [&str; 4] = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The relying parties: how to start each, if its runtime is here.
fn relying_parties() -> Option<Vec<(&'static str, Vec<String>)>> {
    let interop = repo().join("interop");
    if !interop.join("node_modules/openid-client").exists() {
        skip("interop/node_modules is missing (npm ci --prefix interop)");
        return None;
    }
    let python = std::env::var("KAPU_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python).args(["-c", "import authlib, oic"]).stderr(Stdio::null()).status();
    if !has.is_ok_and(|s| s.success()) {
        skip(&format!("{python} has no authlib/oic (scripts/test makes a venv with them)"));
        return None;
    }
    let script = |name: &str| interop.join(name).display().to_string();
    Some(vec![
        ("openid-client", vec!["node".into(), script("openid_client.mjs")]),
        ("authlib", vec![python.clone(), script("authlib_rp.py")]),
        ("pyoidc", vec![python, script("pyoidc_rp.py")]),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relying_party_libraries_log_in_and_out_on_sqlite() {
    let Some(rps) = relying_parties() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kapu.db").display());
    every_library(&rps, dir.path(), &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relying_party_libraries_log_in_and_out_on_postgres() {
    let Some(rps) = relying_parties() else { return };
    let Some(url) = fresh_pg_database("interop").await else { return };
    let dir = tempfile::tempdir().unwrap();
    every_library(&rps, dir.path(), &url).await;
    drop_pg_database(&url).await;
}

/// A relying party process and its JSON lines.
struct Rp {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Rp {
    fn start(name: &'static str, command: &[String]) -> Rp {
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .current_dir(repo().join("interop"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {command:?}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Rp { name, child, stdin, stdout }
    }

    fn expect(&mut self, event: &str) -> serde_json::Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            let _ = self.child.kill();
            panic!("{}: expected {event}, got {line:?} (its error output is above)", self.name)
        });
        assert_eq!(value["event"], event, "{}: {value}", self.name);
        value
    }

    fn send(&mut self, value: serde_json::Value) {
        writeln!(self.stdin, "{value}").unwrap();
        self.stdin.flush().unwrap();
    }
}

/// The citizen's browser: from `url` through kapu's login pages (password,
/// then the code of the moment) to the redirect that leaves kapu.
async fn browse(browser: &reqwest::Client, base: &str, url: &str, user: &str, key: &str) -> String {
    let mut location = url.to_owned();
    for _ in 0..8 {
        // Left kapu, or logged in at kapu itself.
        if (!location.starts_with(base) && !location.starts_with('/')) || location == "/" {
            return location;
        }
        let absolute = if location.starts_with('/') { format!("{base}{location}") } else { location.clone() };
        let page = browser.get(&absolute).send().await.unwrap();
        if let Some(next) = page.headers().get("location") {
            location = next.to_str().unwrap().to_owned();
            continue;
        }
        let path = reqwest::Url::parse(&absolute).unwrap().path().to_owned();
        let body = page.text().await.unwrap();
        let csrf = body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let form: Vec<(&str, String)> = match path.as_str() {
            "/login" => vec![("csrf", csrf), ("username", user.into()), ("password", PASSWORD.into())],
            "/login/code" => {
                let totp = otp::Totp::new(
                    otp::Secret::from_base32(key).unwrap(),
                    otp::Algorithm::Sha1,
                    otp::Digits::SIX,
                    otp::Period::DEFAULT,
                );
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                vec![("csrf", csrf), ("code", totp.code_at(now))]
            }
            // The citizen agrees to share their verified data.
            "/authorize/consent" => {
                vec![("csrf", csrf), ("request", hidden(&body, "request")), ("decision", "allow".into())]
            }
            // The agent acts for the (first) principal offered.
            "/authorize/represent" => {
                let principal = body
                    .split("name=\"principal\" value=\"")
                    .skip(1)
                    .map(|v| v.split('"').next().unwrap())
                    .find(|v| !v.is_empty())
                    .expect("a principal to choose");
                vec![("csrf", csrf), ("request", hidden(&body, "request")), ("principal", principal.into())]
            }
            other => panic!("stuck at {other}:\n{body}"),
        };
        let posted = browser.post(&absolute).form(&form).send().await.unwrap();
        let status = posted.status();
        location = match posted.headers().get("location") {
            Some(next) => next.to_str().unwrap().to_owned(),
            None => panic!("{path} refused ({status}):\n{}", posted.text().await.unwrap()),
        };
    }
    panic!("never left kapu; last at {location}");
}

/// The value of the first hidden input named `name`.
fn hidden(body: &str, name: &str) -> String {
    body.split(&format!("name=\"{name}\" value=\"")).nth(1).unwrap().split('"').next().unwrap().to_owned()
}

async fn every_library(rps: &[(&'static str, Vec<String>)], dir: &Path, database: &str) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    std::fs::write(
        dir.join("kapu.toml"),
        format!(
            "data_dir = {dir:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n\
             [database]\nurl = \"{database}\"\n[password_hash]\nmemory_kib = 1024\niterations = 1\n\
             [session]\nidle_timeout_seconds = 600\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("password"), PASSWORD).unwrap();
    run_ok({
        let mut c = kapu(dir);
        c.arg("migrate");
        c
    });
    let flows = rps.len() * METHODS.len();
    run_ok({
        let mut c = kapu(dir);
        c.args(["admin", "seed", "--accounts", &flows.to_string(), "--prefix", "rp", "--password-file"])
            .arg(dir.join("password"))
            .arg("--secrets-out")
            .arg(dir.join("keys.csv"));
        c
    });
    let accounts: Vec<(String, String)> = std::fs::read_to_string(dir.join("keys.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let (u, k) = l.split_once(',').unwrap();
            (u.to_owned(), k.to_owned())
        })
        .collect();
    let mut server = kapu(dir).arg("serve").stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/readyz")).await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(Instant::now() < deadline, "kapu did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut account = accounts.iter();
    for (name, command) in rps {
        for method in METHODS {
            let (user, key) = account.next().unwrap();
            flow(name, command, method, dir, &base, user, key).await;
        }
    }
    identity_and_acting(rps, dir, &base).await;
    server.kill().unwrap();
    server.wait().unwrap();
}

async fn flow(name: &'static str, command: &[String], method: &str, dir: &Path, base: &str, user: &str, key: &str) {
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = RpLogin { name, command, method, scope: None, allow_claims: false, user, key };
    let logged_in = run_rp(&login, dir, base, &browser, |claims, userinfo, context| {
        assert_eq!(claims["acr"], "ugyfelkapu-plus", "{context}");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]), "{context}");
        assert_eq!(userinfo["sub"], claims["sub"], "{context}");
        assert_eq!(userinfo["email"], format!("{user}@seed.invalid"), "{context}");
    })
    .await;
    assert!(logged_in, "{name} {method}");
}

/// One run of a relying party: who logs in, how the service is registered.
struct RpLogin<'a> {
    name: &'static str,
    command: &'a [String],
    method: &'a str,
    /// The scope the library asks for (its default: `openid profile email`).
    scope: Option<&'a str>,
    /// Registered with `--allow-claims identity`.
    allow_claims: bool,
    user: &'a str,
    key: &'a str,
}

/// Registers the service, lets the library log `login.user` in through
/// `browser`, checks what every login shows plus `check(id_token_claims,
/// userinfo, context)`, then logs out (RP-initiated, then back-channel).
async fn run_rp(
    login: &RpLogin<'_>,
    dir: &Path,
    base: &str,
    browser: &reqwest::Client,
    check: impl FnOnce(&serde_json::Value, &serde_json::Value, &str),
) -> bool {
    let RpLogin { name, command, method, user, key, .. } = *login;
    let mut rp = Rp::start(name, command);
    let ready = rp.expect("ready");
    let jwks_file = dir.join(format!("{name}-{method}.jwks"));
    std::fs::write(&jwks_file, ready["jwks"].to_string()).unwrap();
    let mut add = kapu(dir);
    add.args(["admin", "client", "add", "--name", &format!("{name} {method}"), "--redirect-uri", REDIRECT])
        .args(["--post-logout-uri", BYE, "--auth-method", method, "--json"])
        .args(["--backchannel-logout-uri", ready["backchannel_uri"].as_str().unwrap()]);
    if login.allow_claims {
        // Verified data with consent, and logins on a principal's behalf.
        add.args(["--allow-claims", "identity", "--delegation-matters", "adobevallas"]);
    }
    if method == "private_key_jwt" {
        add.arg("--jwks-file").arg(&jwks_file);
    }
    let registered: serde_json::Value = serde_json::from_str(&run_ok(add)).unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    rp.send(serde_json::json!({
        "issuer": base,
        "client_id": client_id,
        "client_secret": registered["client_secret"],
        "auth_method": method,
        "redirect_uri": REDIRECT,
        "post_logout_redirect_uri": BYE,
        "scope": login.scope,
    }));
    let authorize = rp.expect("authorize");
    let callback = browse(browser, base, authorize["url"].as_str().unwrap(), user, key).await;
    assert!(callback.starts_with(REDIRECT), "{name} {method}: {callback}");
    rp.send(serde_json::json!({ "callback": callback }));
    let logged_in = rp.expect("logged_in");
    let claims = &logged_in["id_token_claims"];
    let context = format!("{name} {method}: {logged_in}");
    assert_eq!(claims["iss"], base, "{context}");
    assert_eq!(claims["aud"].as_str().or(claims["aud"][0].as_str()), Some(client_id.as_str()), "{context}");
    assert_eq!(claims["sid"].as_str().map(str::len), Some(32), "{context}");
    check(claims, &logged_in["userinfo"], &context);
    // RP-initiated logout with the library's URL: this very session, so no
    // question; back to the service with its state.
    let logout = rp.expect("logout");
    let page = browser.get(logout["url"].as_str().unwrap()).send().await.unwrap();
    let back = page.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    assert_eq!(back.as_deref(), Some(&*format!("{BYE}?state=kijelentkezve")), "{name} {method}");
    rp.send(serde_json::json!({ "logged_out": back }));
    let backchannel = rp.expect("backchannel");
    assert_eq!(backchannel["claims"]["sid"], claims["sid"], "{name} {method}: {backchannel}");
    assert_eq!(backchannel["claims"]["sub"], claims["sub"], "{name} {method}: {backchannel}");
    rp.expect("done");
    rp.child.wait().unwrap().success()
}

/// `kapu ... --json`, its answer.
fn kapu_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut c = kapu(dir);
    c.args(args).arg("--json");
    serde_json::from_str(&run_ok(c)).unwrap()
}

/// Verified identity data and a login on a principal's behalf, read by each
/// library: a verified citizen agrees on the consent page and the library
/// gets the 4T claims (ID token and userinfo); an agent accepts a delegation
/// and logs in choosing the principal, and the library gets the principal's
/// `sub` and name and the agent in `act` — and the logout token names the
/// principal the service knows.
async fn identity_and_acting(rps: &[(&'static str, Vec<String>)], dir: &Path, base: &str) {
    let pairs = rps.len();
    let mut seed = kapu(dir);
    seed.args(["admin", "seed", "--accounts", &(2 * pairs).to_string(), "--prefix", "id", "--password-file"])
        .arg(dir.join("password"))
        .arg("--secrets-out")
        .arg(dir.join("id-keys.csv"));
    run_ok(seed);
    let accounts: Vec<(String, String)> = std::fs::read_to_string(dir.join("id-keys.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split_once(',').map(|(u, k)| (u.to_owned(), k.to_owned())).unwrap())
        .collect();
    for (i, (name, command)) in rps.iter().enumerate() {
        let (principal, principal_key) = &accounts[2 * i];
        let (agent, agent_key) = &accounts[2 * i + 1];
        // One person per account: each pair is born on other days.
        let principal_born = format!("1970-01-{:02}", i + 2);
        let agent_born = format!("1985-06-{:02}", i + 10);
        for (user, family, born) in [(principal, "Kovács", &principal_born), (agent, "Kiss", &agent_born)] {
            kapu_json(
                dir,
                &[
                    "admin",
                    "identity",
                    "verify",
                    "--user",
                    user,
                    "--family-name",
                    family,
                    "--given-name",
                    "Anna",
                    "--birth-family-name",
                    family,
                    "--birth-given-name",
                    "Anna",
                    "--mother-birth-name",
                    "Nagy Erzsébet",
                    "--place-of-birth",
                    "Szeged",
                    "--birth-date",
                    born,
                    "--document-kind",
                    "passport",
                    "--document-number",
                    &format!("P{user}"),
                    "--clerk",
                    "Tóth Judit",
                    "--office",
                    "Szeged",
                    "--reason",
                    "interop",
                ],
            );
        }
        // The principal logs in to the library's service, agrees, gets the data.
        let browser =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let scope = Some("openid profile email identity");
        let login = RpLogin {
            name,
            command,
            method: "client_secret_basic",
            scope,
            allow_claims: true,
            user: principal,
            key: principal_key,
        };
        let ok = run_rp(&login, dir, base, &browser, |claims, userinfo, context| {
            assert_eq!(claims["family_name"], "Kovács", "{context}");
            assert_eq!(claims["birthdate"], principal_born.as_str(), "{context}");
            assert_eq!(claims["mother_birth_name"], "Nagy Erzsébet", "{context}");
            assert_eq!(userinfo["place_of_birth"], "Szeged", "{context}");
            assert_eq!(userinfo["birth_family_name"], "Kovács", "{context}");
        })
        .await;
        assert!(ok, "{name}: identity claims");

        // The principal lets the agent act for her; he accepts at kapu.
        let until = format!(
            "{}-12-31",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 31_556_952 + 1971
        );
        let recorded = kapu_json(
            dir,
            &[
                "admin",
                "delegation",
                "record",
                "--principal",
                principal,
                "--agent",
                agent,
                "--agent-birth-date",
                &agent_born,
                "--matter",
                "adobevallas",
                "--until",
                &until,
                "--clerk",
                "Tóth Judit",
                "--office",
                "Szeged",
                "--reason",
                "interop",
            ],
        );
        let browser =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        assert_eq!(browse(&browser, base, "/login", agent, agent_key).await, "/", "{name}: the agent logs in");
        let page = browser.get(format!("{base}/delegations")).send().await.unwrap().text().await.unwrap();
        let accept = [("csrf", hidden(&page, "csrf")), ("id", recorded["id"].as_str().unwrap().to_owned())];
        let accepted = browser.post(format!("{base}/delegations/accept")).form(&accept).send().await.unwrap();
        assert_eq!(accepted.headers()["location"], "/delegations?msg=accepted", "{name}");

        // The agent logs in to the service on her behalf (his kapu session).
        let login = RpLogin {
            name,
            command,
            method: "client_secret_basic",
            scope,
            allow_claims: true,
            user: agent,
            key: agent_key,
        };
        let ok = run_rp(&login, dir, base, &browser, |claims, userinfo, context| {
            assert_eq!(claims["name"], "Kovács Anna", "{context}");
            assert_eq!(claims["act"]["name"], "Kiss Anna", "{context}");
            assert_eq!(claims["act"]["sub"].as_str().map(str::len), Some(43), "{context}");
            assert_ne!(claims["act"]["sub"], claims["sub"], "{context}");
            assert_eq!(claims["delegated_matters"], serde_json::json!(["adobevallas"]), "{context}");
            assert!(claims.get("email").is_none() && claims.get("family_name").is_none(), "{context}");
            assert_eq!(userinfo["sub"], claims["sub"], "{context}");
            assert_eq!(userinfo["act"], claims["act"], "{context}");
        })
        .await;
        assert!(ok, "{name}: acting for a principal");
    }
}
