//! Real `kapu` processes: set-up through `kapu admin`, `kapu serve` pinned
//! to the server core, readiness, memory, stop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A data directory (key, outbox, SQLite file) and, for PostgreSQL, the
/// database URL; every instance of one deployment shares both.
#[derive(Clone)]
pub struct Deployment {
    pub kapu: PathBuf,
    pub dir: PathBuf,
    pub database_url: Option<String>,
    /// Extra TOML for this deployment (e.g. a cheap password hash).
    pub config: Option<PathBuf>,
}

impl Deployment {
    /// A new, empty deployment in `dir` (removed first if it exists). For
    /// PostgreSQL, a fresh database `name` on the local server.
    pub fn create(kapu: &Path, dir: PathBuf, postgres: Option<&str>, extra_toml: Option<&str>) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let database_url = match postgres {
            Some(name) => {
                psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
                psql(&format!("CREATE DATABASE {name}"))?;
                Some(format!("postgres://postgres@127.0.0.1:5432/{name}"))
            }
            None => None,
        };
        let config = match extra_toml {
            Some(text) => {
                let path = dir.join("bench.toml");
                std::fs::write(&path, text)?;
                Some(path)
            }
            None => None,
        };
        Ok(Self { kapu: kapu.to_owned(), dir, database_url, config })
    }

    fn command(&self, cpu: Option<&str>) -> Command {
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu]).arg(&self.kapu);
                c
            }
            None => Command::new(&self.kapu),
        };
        command.arg("--data-dir").arg(&self.dir);
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command.env("RUST_LOG", "warn");
        command
    }

    /// `kapu admin <args> --json`, its JSON answer.
    pub fn admin(&self, args: &[&str]) -> Result<serde_json::Value> {
        let output = self
            .command(None)
            .arg("admin")
            .args(args)
            .arg("--json")
            .output()
            .with_context(|| format!("running {}", self.kapu.display()))?;
        if !output.status.success() {
            bail!("kapu admin {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
        }
        serde_json::from_slice(&output.stdout).with_context(|| format!("kapu admin {} printed no JSON", args.join(" ")))
    }

    /// Starts `kapu serve` on `port`, pinned to `cpu`, and waits for
    /// `/readyz`; returns the instance and the time from exec to ready.
    pub async fn start(&self, port: u16, public_url: &str, cpu: &str) -> Result<(Instance, Duration)> {
        let log_path = self.dir.join(format!("serve-{port}.log"));
        let log = std::fs::File::create(&log_path)?;
        let started = Instant::now();
        let child = self
            .command(Some(cpu))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--public-url")
            .arg(public_url)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting kapu serve")?;
        let mut instance = Instance { child, url: format!("http://127.0.0.1:{port}"), log: log_path };
        let ready = format!("{}/readyz", instance.url);
        let client = reqwest::Client::new();
        loop {
            if let Ok(response) = client.get(&ready).send().await
                && response.status().is_success()
            {
                return Ok((instance, started.elapsed()));
            }
            if let Some(status) = instance.child.try_wait()? {
                bail!("kapu serve exited with {status} before it was ready; see {}", instance.log.display());
            }
            if started.elapsed() > Duration::from_secs(120) {
                instance.stop();
                bail!("kapu serve not ready after 120 s; see {}", instance.log.display());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

pub struct Instance {
    child: Child,
    pub url: String,
    log: PathBuf,
}

/// Resident memory of a process, from /proc/<pid>/status.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// VmRSS: now.
    pub rss_mib: f64,
    /// VmHWM: the highest since the process started.
    pub peak_mib: f64,
}

impl Instance {
    pub fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0)
        };
        Ok(Memory { rss_mib: field("VmRSS:").context("no VmRSS")?, peak_mib: field("VmHWM:").context("no VmHWM")? })
    }

    /// CPU seconds used so far by each group of threads (named by the
    /// thread's name: `kapu-argon2-*` → "argon2", ...), from /proc.
    pub fn cpu_by_thread(&self) -> Result<std::collections::BTreeMap<String, f64>> {
        let mut groups = std::collections::BTreeMap::new();
        let ticks = 100.0; // USER_HZ on Linux
        for task in std::fs::read_dir(format!("/proc/{}/task", self.child.id()))? {
            let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else { continue };
            // "pid (name) state ..." — the name may hold spaces; fields after ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
            let name = &stat[open + 1..close];
            let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
            let cpu = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
            // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name.
            let seconds = (cpu(11) + cpu(12)) / ticks;
            let group = if name.starts_with("kapu-argon2") {
                "argon2"
            } else if name.starts_with("sqlx-sqlite") {
                "sqlite"
            } else if name.starts_with("tokio") {
                "tokio"
            } else {
                "other"
            };
            *groups.entry(group.to_owned()).or_insert(0.0) += seconds;
        }
        // The whole process, threads that have ended included (a closed
        // connection's SQLite worker, for one): the groups above miss those.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        if let Some(close) = stat.rfind(')') {
            let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
            let cpu = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
            groups.insert("process".to_owned(), (cpu(11) + cpu(12)) / ticks);
        }
        Ok(groups)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (kapu stops cleanly), then waits.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

pub fn psql(sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .context("running psql (is PostgreSQL installed?)")?;
    if !output.status.success() {
        bail!("psql {sql}: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// Activity counters of one database (`pg_stat_database`): transactions
/// committed and rows inserted, updated, deleted.
pub fn pg_activity(database: &str) -> Result<[f64; 5]> {
    // Transaction ids are given only to transactions that write, so the
    // next id's advance counts write transactions (the whole server's: run
    // nothing else meanwhile); xact_commit counts every transaction, reads too.
    let sql = format!(
        "SELECT pg_stat_force_next_flush(); SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, \
         pg_snapshot_xmax(pg_current_snapshot())::text::bigint FROM pg_stat_database WHERE datname = '{database}'"
    );
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-At", "-F", " ", "-c", &sql])
        .output()
        .context("running psql")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    let numbers: Vec<f64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    match numbers[..] {
        [a, b, c, d, e] => Ok([a, b, c, d, e]),
        _ => bail!("pg_stat_database for {database}: {text}"),
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
