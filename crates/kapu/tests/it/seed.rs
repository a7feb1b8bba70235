//! `kapu admin seed`'s use case: seeded accounts log in like registered ones
//! (password, then a code from the written key), and a seeding is all or
//! nothing: overlapping names or a failure half way leave the database as it was.

use kapu::store::repos::*;
use std::io::Write;

use kapu::accounts::model::{AccountStatus, Language};
use kapu::accounts::seed::{SeedError, SeedRequest};
use kapu::passwords::Password;
use reqwest::StatusCode;
use sqlx::Connection;

use crate::both_backends;
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "terheles alatti jelmondat";

both_backends!(seeded_accounts_log_in_with_password_and_code, seeding_is_all_or_nothing);

fn request(count: u32, prefix: &str) -> SeedRequest {
    SeedRequest { count, prefix: prefix.into(), password: Some(Password::new(PASSWORD.into())) }
}

/// `username,BASE32KEY` lines as the secrets output has them.
fn secrets_of(out: &[u8]) -> Vec<(String, String)> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            let (name, key) = l.split_once(',').unwrap();
            (name.to_owned(), key.to_owned())
        })
        .collect()
}

/// One number from the database, whichever engine the app uses.
async fn count(app: &TestApp, sql: &str) -> i64 {
    let url = app.kapu.config.database_url();
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

async fn seeded_accounts_log_in_with_password_and_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut out = Vec::new();
    let report = app.kapu.seed_accounts(&request(30, "bench"), Some(&mut out)).await.unwrap();
    assert_eq!((report.count, report.first.as_str(), report.last.as_str()), (30, "bench0000001", "bench0000030"));
    assert!(report.generated_password.is_none());

    let secrets = secrets_of(&out);
    assert_eq!(secrets.len(), 30);
    assert_eq!(secrets[0].0, "bench0000001");
    assert_eq!(secrets[29].0, "bench0000030");
    for (_, key) in &secrets {
        assert_eq!(otp::Secret::from_base32(key).unwrap().len(), 20, "160-bit keys");
    }
    assert_ne!(secrets[0].1, secrets[1].1, "a key of its own each");

    let accounts = app.kapu.admin_list_users(100, 0).await.unwrap();
    assert_eq!(accounts.len(), 30);
    let third = &accounts[2];
    assert_eq!(third.username.as_str(), "bench0000003");
    assert_eq!(third.status, AccountStatus::Active);
    assert_eq!(third.email.as_str(), "bench0000003@seed.invalid");
    assert_eq!(third.full_name.as_str(), "Seeded Citizen 0000003");
    assert_eq!(third.language, Language::Hu);
    let credential = app.kapu.store.credential(&third.id).await.unwrap().unwrap();
    assert_eq!((credential.algorithm.as_str(), credential.digits, credential.period), ("SHA1", 6, 30));
    assert_eq!(credential.last_used_step, -1);
    let raw = otp::Secret::from_base32(&secrets[2].1).unwrap();
    assert!(!credential.secret_sealed.windows(20).any(|w| w == raw.expose_bytes()), "sealed at rest");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM totp_credentials").await, 30);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_events WHERE event = 'accounts_seeded' AND detail LIKE '30 accounts%'")
            .await,
        1,
        "one audit event for the whole seeding"
    );

    // Password, then a code computed from the written key: a full login.
    let (name, key) = &secrets[16];
    let page = app.login_with_code(&app.client, name, PASSWORD, &app.code_for(key, 0)).await;
    assert_eq!(page.location.as_deref(), Some("/"), "{}", page.body);
    app.get("/").await.assert_contains("BEJELENTKEZVE:");
    // Every account has its own key: another's code does not open this one.
    let other = app.new_browser();
    let wrong = app.login_with_code(&other, "bench0000018", PASSWORD, &app.code_for(&secrets[0].1, 0)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // And a wrong password is still wrong.
    assert_eq!(app.login_with(&other, "bench0000019", "nem ez a jelszo").await.status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A writer that fails after `lines` lines: a full disk half way.
struct FailsAfter {
    lines: usize,
}

impl Write for FailsAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let newlines = buf.iter().filter(|b| **b == b'\n').count();
        if newlines > self.lines {
            return Err(std::io::Error::other("disk full"));
        }
        self.lines -= newlines;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn seeding_is_all_or_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.kapu.seed_accounts(&request(30, "bench"), None).await.unwrap();

    // Overlapping names: refused before anything is written, naming the first.
    let mut out = Vec::new();
    let err = app.kapu.seed_accounts(&request(40, "bench"), Some(&mut out)).await.unwrap_err();
    match &err {
        SeedError::Taken { taken, first_taken, .. } => assert_eq!((*taken, first_taken.as_str()), (30, "bench0000001")),
        other => panic!("expected Taken, got {other:?}"),
    }
    assert!(err.to_string().contains("nothing was created"), "{err}");
    assert!(out.is_empty(), "no key leaves a refused seeding");
    assert_eq!(app.kapu.admin_list_users(1000, 0).await.unwrap().len(), 30);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM totp_credentials").await, 30);

    // One ordinary account inside the range is enough to refuse.
    let password = Password::new(PASSWORD.into());
    app.kapu.admin_create_user("other0000003", "Mas Valaki", "m@example.hu", &password, Language::Hu).await.unwrap();
    let err = app.kapu.seed_accounts(&request(5, "other"), None).await.unwrap_err();
    assert!(matches!(&err, SeedError::Taken { taken: 1, first_taken, .. } if first_taken == "other0000003"), "{err:?}");
    assert_eq!(app.kapu.admin_list_users(1000, 0).await.unwrap().len(), 31);

    // A failure after a whole batch was inserted: the transaction is undone.
    let mut failing = FailsAfter { lines: 1500 };
    let err = app.kapu.seed_accounts(&request(2500, "late"), Some(&mut failing)).await.unwrap_err();
    assert!(matches!(err, SeedError::Secrets(_)), "{err:?}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 31);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM totp_credentials").await, 30);

    // Invalid input is refused with a reason.
    let short = SeedRequest { password: Some(Password::new("rovid".into())), ..request(3, "fresh") };
    assert!(
        matches!(app.kapu.seed_accounts(&short, None).await, Err(SeedError::Invalid(m)) if m.starts_with("password"))
    );
    assert!(matches!(app.kapu.seed_accounts(&request(3, "-bad"), None).await, Err(SeedError::Invalid(_))));

    // Without a password one is generated, and it works; other names are free.
    let generated = SeedRequest { password: None, ..request(2, "fresh") };
    let report = app.kapu.seed_accounts(&generated, None).await.unwrap();
    let password = report.generated_password.unwrap();
    assert!(password.expose().len() >= 24);
    let first = app.login("fresh0000001", password.expose()).await;
    assert_eq!(first.location.as_deref(), Some("/login/code"), "two-step login is on");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 33);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_events WHERE event = 'accounts_seeded'").await,
        2,
        "failed seedings leave no event"
    );
    app.stop().await;
}
