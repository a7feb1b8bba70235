//! The test harness: a real kapu server on port 0 with its own fresh database
//! (a SQLite file, or a new PostgreSQL database per test), a manual clock, and
//! a cookie-keeping client that reads forms and the mail outbox like a person.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::field_reassign_with_default, dead_code)]

pub mod burst;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kapu::Kapu;
use kapu::clock::{Clock, ManualClock};
use kapu::config::Config;
use kapu::mail::{OutboxMessage, read_outbox};
use reqwest::StatusCode;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend, as two test functions.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::postgres_available().await {
                    super::$name($crate::support::Backend::Postgres).await;
                }
            }
        }
    )*};
}

pub fn pg_admin_url() -> String {
    std::env::var("KAPU_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Under CI every suite must run: a missing PostgreSQL fails the test there.
/// Elsewhere it skips, loudly.
pub async fn postgres_available() -> bool {
    match sqlx::PgConnection::connect(&pg_admin_url()).await {
        Ok(c) => {
            let _ = c.close().await;
            true
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL at {} is required under CI=true: {e}", pg_admin_url());
            }
            eprintln!("\n!!! SKIPPED: PostgreSQL test, no server at {} ({e}) !!!\n", pg_admin_url());
            false
        }
    }
}

async fn fresh_pg_database() -> String {
    let name = format!("kapu_test_{}", &kapu::crypto::random_id()[..16]);
    let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
    admin.close().await.ok();
    let base = pg_admin_url();
    let prefix = base.rsplit_once('/').map_or(base.as_str(), |(p, _)| p).to_owned();
    format!("{prefix}/{name}")
}

/// Settings that keep tests fast: cheap hashing, small limits.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut c = Config::default();
    c.data_dir = dir.to_owned();
    c.server.listen = "127.0.0.1:0".parse().unwrap();
    c.password_hash.memory_kib = 64;
    c.password_hash.iterations = 1;
    c.password_hash.workers = 2;
    // Bursts of hundreds of requests come from one loopback address here.
    c.server.max_connections_per_address = 5000;
    c
}

pub struct TestApp {
    pub url: String,
    pub kapu: Arc<Kapu>,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).unwrap_or_else(|| panic!("no CSRF field in:\n{}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    /// The text between two markers (first occurrence).
    pub fn between(&self, start: &str, end: &str) -> String {
        let from = self.body.find(start).unwrap_or_else(|| panic!("{start:?} not in:\n{}", self.body)) + start.len();
        self.body[from..].split(end).next().unwrap().to_owned()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "expected {text:?} in the page (status {}):\n{}", self.status, self.body);
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        if backend == Backend::Postgres {
            config.database.url = Some(fresh_pg_database().await);
            config.database.max_connections = Some(5);
        }
        adjust(&mut config);
        let clock = ManualClock::new(jiff::Timestamp::now().as_second());
        let (url, kapu, tx, server) = start_server(config, &clock).await;
        TestApp { url, kapu, clock, client: new_client(), backend, dir, shutdown: Some(tx), server: Some(server) }
    }

    /// Another browser: its own cookies.
    pub fn new_browser(&self) -> reqwest::Client {
        new_client()
    }

    /// Another browser whose cookies the test can read (to replay them from raw sockets).
    pub fn browser_with_jar(&self) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        (client, jar)
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.kapu.config.outbox_dir()
    }

    pub async fn get(&self, path: &str) -> Page {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> Page {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.url) };
        page(client.get(url).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(&self.client, path, fields).await
    }

    pub async fn post_with(&self, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.url) };
        page(client.post(url).form(fields).send().await.unwrap()).await
    }

    /// GET the form page, then POST it with its CSRF token and these fields.
    pub async fn submit(&self, form_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        self.submit_with(&self.client, form_path, action, fields).await
    }

    pub async fn submit_with(
        &self,
        client: &reqwest::Client,
        form_path: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let form = self.get_with(client, form_path).await;
        let csrf = form.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_with(client, action, &all).await
    }

    /// Waits for the mail outbox to hold `count` messages (they are sent in the background).
    pub async fn mails(&self, count: usize) -> Vec<OutboxMessage> {
        for _ in 0..100 {
            let mails = read_outbox(&self.outbox_dir()).unwrap_or_default();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails, have {:?}", read_outbox(&self.outbox_dir()).map(|m| m.len()));
    }

    /// The mails in the outbox to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<OutboxMessage> {
        read_outbox(&self.outbox_dir()).unwrap_or_default().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits for mail number `before + 1` to `to` (the queue delivers in
    /// the background, other mails may land in between) and returns it.
    pub async fn next_mail_to(&self, to: &str, before: usize) -> OutboxMessage {
        for _ in 0..100 {
            if let Some(mail) = self.mails_to(to).into_iter().nth(before) {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected mail number {} to {to}, have {}", before + 1, self.mails_to(to).len());
    }

    /// Waits for a mail whose subject contains `subject`; returns the newest such.
    pub async fn mail_with_subject(&self, subject: &str) -> OutboxMessage {
        for _ in 0..100 {
            let mails = read_outbox(&self.outbox_dir()).unwrap_or_default();
            if let Some(m) = mails.into_iter().rev().find(|m| m.subject.contains(subject)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail with subject {subject:?}");
    }

    /// Waits for `count` mails whose subject contains `subject`; returns them, oldest first.
    pub async fn mails_with_subject(&self, subject: &str, count: usize) -> Vec<OutboxMessage> {
        let matching = || {
            read_outbox(&self.outbox_dir())
                .unwrap_or_default()
                .into_iter()
                .filter(|m| m.subject.contains(subject))
                .collect::<Vec<_>>()
        };
        for _ in 0..100 {
            let mails = matching();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails with subject {subject:?}, have {}", matching().len());
    }

    pub async fn mail_count(&self) -> usize {
        // Give background sends a moment to land before counting.
        tokio::time::sleep(Duration::from_millis(200)).await;
        read_outbox(&self.outbox_dir()).map(|m| m.len()).unwrap_or(0)
    }

    /// The one link to a kapu instance in a mail (this one, or a second
    /// instance on the same database: they differ only in the port).
    pub fn link_in(&self, mail: &OutboxMessage) -> String {
        mail.text
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no link in mail:\n{}", mail.text))
            .to_owned()
    }

    /// Registers and confirms an account through the pages; returns nothing,
    /// the account can log in afterwards.
    pub async fn register_confirmed(&self, username: &str, name: &str, email: &str, password: &str) {
        let before = self.mails_to(email).len();
        let page = self
            .submit(
                "/register",
                "/register",
                &[
                    ("username", username),
                    ("full_name", name),
                    ("email", email),
                    ("password", password),
                    ("password_again", password),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "registration failed:\n{}", page.body);
        let mail = self.next_mail_to(email, before).await;
        let link = self.link_in(&mail);
        let confirm = self.get(&link).await;
        let done = self.post(&link, &[("csrf", &confirm.csrf())]).await;
        assert_eq!(done.location.as_deref(), Some("/login?msg=confirmed"));
    }

    pub async fn login(&self, username: &str, password: &str) -> Page {
        self.login_with(&self.client, username, password).await
    }

    pub async fn login_with(&self, client: &reqwest::Client, username: &str, password: &str) -> Page {
        self.submit_with(client, "/login", "/login", &[("username", username), ("password", password)]).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        self.kapu.store.close().await;
        if self.backend == Backend::Postgres
            && let Some(url) = &self.kapu.config.database.url
        {
            {
                let name = url.rsplit('/').next().unwrap_or_default().to_owned();
                if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                }
            }
        }
    }
}

type Server = (String, Arc<Kapu>, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>);

async fn start_server(mut config: Config, clock: &ManualClock) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.server.public_url = Some(format!("http://{addr}"));
    let kapu = Arc::new(Kapu::open_with_clock(config, Arc::new(clock.clone())).await.expect("open kapu"));
    kapu.store.migrate().await.expect("migrate");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server_kapu = Arc::clone(&kapu);
    let server = tokio::spawn(async move {
        kapu::web::serve(server_kapu, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (format!("http://{addr}"), kapu, tx, server)
}

/// A second kapu instance on the same database and secret key (as behind a
/// load balancer), sharing the test's clock.
pub struct SecondInstance {
    pub url: String,
    pub kapu: Arc<Kapu>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl SecondInstance {
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        self.kapu.store.close().await;
    }
}

impl TestApp {
    pub async fn second_instance(&self) -> SecondInstance {
        let (url, kapu, shutdown, server) = start_server((*self.kapu.config).clone(), &self.clock).await;
        SecondInstance { url, kapu, shutdown, server }
    }

    /// The current TOTP code for a base32 key, at the test clock's time.
    pub fn code_for(&self, key: &str, offset_seconds: i64) -> String {
        totp(key).code_at(u64::try_from(self.clock.now() + offset_seconds).unwrap())
    }

    /// Sets up Ügyfélkapu+ through the pages for the logged-in user of
    /// `client`; returns the key (as shown for manual entry) and the
    /// revocation code.
    pub async fn enable_two_step_with(&self, client: &reqwest::Client, password: &str) -> (String, String) {
        let (key, revocation, done) = self.finish_two_step_set_up(client, password).await;
        assert_eq!(done.location.as_deref(), Some("/plus/done"), "{}", done.body);
        // The code used to confirm counts as used: move to the next step.
        self.clock.advance(30);
        (key, revocation)
    }

    /// The set-up pages up to and with "Befejezés"; returns the key, the
    /// revocation code and Befejezés's answer.
    pub async fn finish_two_step_set_up(&self, client: &reqwest::Client, password: &str) -> (String, String, Page) {
        let intro = self.get_with(client, "/plus").await;
        let start = self.post_with(client, "/plus/start", &[("csrf", &intro.csrf())]).await;
        assert_eq!(start.location.as_deref(), Some("/plus/setup"), "{}", start.body);
        let manual = self.get_with(client, "/plus/setup?manual=1").await;
        let key = manual.between("id=\"secret-key\">", "<");
        let code = self.code_for(&key, 0);
        let confirmed = self
            .post_with(client, "/plus/setup", &[("csrf", &manual.csrf()), ("password", password), ("code", &code)])
            .await;
        assert_eq!(confirmed.location.as_deref(), Some("/plus/revocation"), "{}", confirmed.body);
        let page = self.get_with(client, "/plus/revocation").await;
        let revocation = page.between("id=\"revocation-code\">", "<");
        let done = self.post_with(client, "/plus/finish", &[("csrf", &page.csrf()), ("saved", "yes")]).await;
        (key, revocation, done)
    }

    pub async fn enable_two_step(&self, password: &str) -> (String, String) {
        self.enable_two_step_with(&self.client, password).await
    }

    /// Password step then code step; returns the code step's page.
    pub async fn login_with_code(&self, client: &reqwest::Client, username: &str, password: &str, code: &str) -> Page {
        let first = self.login_with(client, username, password).await;
        assert_eq!(first.location.as_deref(), Some("/login/code"), "{}", first.body);
        self.submit_with(client, "/login/code", "/login/code", &[("code", code)]).await
    }
}

pub fn totp(key: &str) -> otp::Totp {
    otp::Totp::new(otp::Secret::from_base32(key).unwrap(), otp::Algorithm::Sha1, otp::Digits::SIX, otp::Period::DEFAULT)
}

fn new_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn page(response: reqwest::Response) -> Page {
    let status = response.status();
    let headers = response.headers().clone();
    let location = headers.get("location").map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    Page { status, location, body, headers }
}
