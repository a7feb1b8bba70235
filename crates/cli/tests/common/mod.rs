//! What the `kapu` binary's integration tests share: a fresh PostgreSQL
//! database per test binary, and the binary run on a test's configuration.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use kapu::store::{Db, query};

/// Under `CI=true` nothing may be skipped: a missing service fails the test.
pub fn required() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Says loudly that a suite is skipped; under CI it fails instead.
pub fn skip(why: &str) {
    assert!(!required(), "{why}: required under CI=true");
    eprintln!("\n!!! SKIPPED: {why} !!!\n");
}

pub fn pg_admin_url() -> String {
    std::env::var("KAPU_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database `kapu_<prefix>_<pid>`, or `None` (a loud skip)
/// when no PostgreSQL answers outside CI.
pub async fn fresh_pg_database(prefix: &str) -> Option<String> {
    let admin = match kapu::store::connect(&pg_admin_url(), 1).await {
        Ok(store) => store,
        Err(e) => {
            skip(&format!("PostgreSQL {prefix} test, no server at {} ({e})", pg_admin_url()));
            return None;
        }
    };
    let name = format!("kapu_{prefix}_{}", std::process::id());
    admin.execute(query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await.unwrap();
    admin.execute(query(&format!("CREATE DATABASE {name}"))).await.unwrap();
    admin.close().await;
    let base = pg_admin_url();
    Some(format!("{}/{name}", base.rsplit_once('/').unwrap().0))
}

pub async fn drop_pg_database(url: &str) {
    let name = url.rsplit('/').next().unwrap();
    let admin = kapu::store::connect(&pg_admin_url(), 1).await.unwrap();
    admin.execute(query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await.unwrap();
    admin.close().await;
}

/// The `kapu` binary on `<dir>/kapu.toml`, logging errors only.
pub fn kapu(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kapu"));
    c.arg("--config").arg(dir.join("kapu.toml")).env_remove("KAPU_DATABASE_URL").env("KAPU_LOG", "error");
    c
}

/// Runs `c`, which must succeed; its standard output.
pub fn run_ok(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
