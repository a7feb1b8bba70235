//! Storage faults end with the fault: a full disk (SQLite) and an
//! unreachable database (PostgreSQL) answer "try again shortly" (503 with
//! `Retry-After`) and `/readyz` says not ready; once the fault is gone, kapu
//! works again without a restart. And the two engines' migrations define the
//! same tables and columns.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kapu::store::{Db, query};
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{Backend, TestApp, pg_admin_url, postgres_available};

const PASSWORD: &str = "tavaszi szel vizet araszt";

fn registration<'a>(username: &'a str, email: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("username", username),
        ("full_name", "Teli Lemez"),
        ("email", email),
        ("password", PASSWORD),
        ("password_again", PASSWORD),
    ]
}

/// A small tmpfs, unmounted when dropped (before its mount point, a
/// temporary directory, is removed). Needs root (CI runs as root).
struct Tmpfs {
    path: PathBuf,
    _mount_point: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs { path: dir.path().to_owned(), _mount_point: dir }),
            other => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("mounting a tmpfs is required under CI=true (run as root): {other:?}");
                }
                eprintln!("\n!!! SKIPPED: full-disk test, cannot mount a tmpfs (needs root): {other:?} !!!\n");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Writes a file until the disk is full; returns its path.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_writes_resume_once_space_is_freed() {
    let Some(disk) = Tmpfs::mount("4m") else { return };
    let data = disk.path.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.data_dir = data.clone()).await;
    let ok = app.submit("/register", "/register", &registration("elso", "elso@example.hu")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    let filler = fill(&disk.path);
    let full = app.submit("/register", "/register", &registration("masodik", "masodik@example.hu")).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE, "{}", full.body);
    assert!(full.headers.get("retry-after").is_some());
    full.assert_contains("átmenetileg nem érhető el");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE, "a full disk is noticed: {}", ready.body);
    // Again: a second failure must not wedge the connection either.
    let again = app.submit("/register", "/register", &registration("harmadik", "harmadik@example.hu")).await;
    assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE);

    std::fs::remove_file(filler).unwrap();
    let freed = Instant::now();
    loop {
        let page = app.submit("/register", "/register", &registration("masodik", "masodik@example.hu")).await;
        if page.status == StatusCode::OK {
            break;
        }
        assert!(freed.elapsed() < Duration::from_secs(1), "still failing after a second: {}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    app.stop().await;
}

/// A TCP proxy in front of PostgreSQL that the test can cut (connections
/// dropped, new ones refused) and restore: the database is unreachable.
struct Proxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy { port, target: target.to_owned(), tasks: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target.clone(), Arc::clone(&self.tasks));
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_answers_503_and_service_resumes() {
    if !postgres_available().await {
        return;
    }
    let upstream = pg_admin_url();
    let host_port = upstream.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
    let proxy = Proxy::start(&host_port).await;
    let via_proxy = format!("127.0.0.1:{}", proxy.port);
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database.url = c.database.url.as_ref().map(|u| u.replacen(&host_port, &via_proxy, 1));
    })
    .await;
    app.register_confirmed("elerheto", "Elér Hető", "elerheto@example.hu", PASSWORD).await;

    proxy.cut();
    let login = app.login("elerheto", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE, "{}", login.body);
    assert!(login.headers.get("retry-after").is_some());
    login.assert_contains("átmenetileg nem érhető el");
    assert_eq!(app.get("/readyz").await.status, StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore().await;
    let back = Instant::now();
    loop {
        let login = app.login_with(&app.new_browser(), "elerheto", PASSWORD).await;
        if login.location.as_deref() == Some("/") {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(15), "not back: {} {}", login.status, login.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    app.stop().await;
}

/// The two migration trees end with the same tables and columns, with the
/// same nullability; only the type names differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_trees_define_the_same_tables_and_columns() {
    if !postgres_available().await {
        return;
    }
    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let postgres = TestApp::spawn(Backend::Postgres).await;
    let sqlite_columns: Vec<(String, String, bool)> = sqlite
        .kapu
        .store
        .fetch_all(query(
            "SELECT m.name, p.name, p.\"notnull\" = 1 OR p.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY 1, 2",
        ))
        .await
        .unwrap();
    let postgres_columns: Vec<(String, String, bool)> = postgres
        .kapu
        .store
        .fetch_all(query(
            "SELECT table_name::text, column_name::text, is_nullable = 'NO' FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY 1, 2",
        ))
        .await
        .unwrap();
    let (mut sqlite_columns, mut postgres_columns) = (sqlite_columns, postgres_columns);
    // Sorted here: the engines' collations order `_` differently.
    sqlite_columns.sort();
    postgres_columns.sort();
    assert!(sqlite_columns.len() > 50, "{sqlite_columns:?}");
    assert_eq!(sqlite_columns, postgres_columns);
    sqlite.stop().await;
    postgres.stop().await;
}
