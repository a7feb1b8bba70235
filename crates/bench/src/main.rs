//! `kapu-bench`: kapu's server benchmarks and the one table they end in.
//!
//! `bench/run` (the one command) builds kapu, runs the criterion micro
//! benches and the peers, then this program:
//!
//! - `kapu-bench server` — real `kapu serve` processes pinned to the server
//!   core, load from this process on the other core, loopback only, each
//!   phase bounded in time; writes `server.json`.
//! - `kapu-bench argon2-limit` — hashes per second of kapu's Argon2id pool on
//!   the cores this process may use (`server` runs it pinned to the server
//!   core, before and after the login runs).
//! - `kapu-bench report` — one table from `server.json`, criterion's
//!   estimates and the peers' JSON: printed, and written as `results.md` and
//!   `results.json`.
//!
//! Nothing here judges a figure: targets are printed beside the ratios.

// A benchmark driver's main: failing loudly on a broken set-up is the right
// response, but kapu's lints still apply; errors go through anyhow.

mod browser;
mod load;
mod report;
mod scenarios;
mod server;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use kapu::passwords::{Password, PasswordHashConfig, PasswordHasher};

#[derive(Parser)]
#[command(name = "kapu-bench", about = "kapu's server benchmarks (see docs/benchmarks.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Server benchmarks against real `kapu serve` processes; run this pinned to the load core.
    Server(scenarios::ServerArgs),
    /// Argon2id hashes per second of kapu's hashing pool at the default cost; prints JSON.
    Argon2Limit {
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// One table from server.json, criterion's estimates and the peers' results.
    Report {
        /// Where server.json and peers/*.json are; results.{md,json} are written here.
        #[arg(long)]
        dir: PathBuf,
        /// Criterion's output directory (target/criterion).
        #[arg(long)]
        criterion: PathBuf,
        /// The command that produced the run, for the record.
        #[arg(long, default_value = "bench/run")]
        command: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kapu-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => scenarios::run(args).await,
            Command::Argon2Limit { seconds } => argon2_limit(seconds).await,
            Command::Report { dir, criterion, command } => report::write(&dir, &criterion, &command),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kapu-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// kapu's own pool (`PasswordHasher`) at the default cost, as `kapu serve`
/// runs it: one worker per core this process may use, each reusing its
/// memory. Single-hash median, then hashes/s with 2 × workers requests
/// always waiting.
async fn argon2_limit(seconds: f64) -> anyhow::Result<()> {
    let config = PasswordHashConfig::default();
    let hasher = PasswordHasher::start(&config, None)?;
    let workers = hasher.workers();
    let password = Password::new("Mogyoro-kalap-szel-2024".to_owned());
    hasher.hash(&password).await?;
    let mut singles = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        hasher.hash(&password).await?;
        singles.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..2 * workers {
        let (hasher, password) = (hasher.clone(), password.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            while Instant::now() < deadline {
                if hasher.hash(&password).await.is_ok() {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut hashes = 0;
    for task in tasks {
        hashes += task.await?;
    }
    let per_second = hashes as f64 / start.elapsed().as_secs_f64();
    let answer = serde_json::json!({
        "workers": workers,
        "memory_kib": config.memory_kib,
        "iterations": config.iterations,
        "parallelism": config.parallelism,
        "single_ms": load::median(&mut singles),
        "hashes_per_second": per_second,
        "hashes": hashes,
    });
    println!("{answer}");
    Ok(())
}
