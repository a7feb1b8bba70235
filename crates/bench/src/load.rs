//! Load shapes: a closed loop (N browsers, each starting its next job when
//! the last one ends: the peak rate) and an open, paced loop (jobs started
//! at a fixed rate whatever happens: latency at a given load, measured from
//! the moment each job was due, so a stalled server is not hidden).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::browser::Browser;

/// What a run did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Outcome {
    pub ok: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    #[serde(skip)]
    latencies_ms: Vec<f64>,
}

impl Outcome {
    fn record(&mut self, started: Instant, result: Result<()>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latencies_ms.push(started.elapsed().as_secs_f64() * 1e3);
            }
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{e:#}"));
                }
            }
        }
    }

    fn merge(&mut self, other: Outcome) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.latencies_ms.extend(other.latencies_ms);
    }

    fn finish(mut self, elapsed: Duration) -> Self {
        self.seconds = elapsed.as_secs_f64();
        self.per_second = self.ok as f64 / self.seconds.max(1e-9);
        self.latencies_ms.sort_by(f64::total_cmp);
        self.p50_ms = percentile(&self.latencies_ms, 0.50);
        self.p99_ms = percentile(&self.latencies_ms, 0.99);
        self
    }
}

pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile(values, 0.5)
}

/// `concurrency` browsers, each running `job` again and again until
/// `duration` is over (jobs under way then are finished and counted), or
/// until `job` says there is nothing left (`Ok(false)`).
pub async fn closed_loop<J, F>(
    bases: &Arc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
    job: J,
) -> Result<Outcome>
where
    J: Fn(Browser) -> F + Send + Sync + 'static,
    F: Future<Output = (Browser, Result<bool>)> + Send,
{
    let job = Arc::new(job);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let mut browser = Browser::new(Arc::clone(bases))?;
        let job = Arc::clone(&job);
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome::default();
            while Instant::now() < deadline {
                let started = Instant::now();
                let (back, result) = job(browser).await;
                browser = back;
                match result {
                    Ok(false) => break,
                    Ok(true) => outcome.record(started, Ok(())),
                    Err(e) => outcome.record(started, Err(e)),
                }
            }
            outcome
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        total.merge(task.await?);
    }
    Ok(total.finish(start.elapsed()))
}

/// Jobs started at `rate` per second for `duration`, each on a free browser
/// (a new one when all are busy).
pub async fn paced<J, F>(bases: &Arc<Vec<String>>, rate: f64, duration: Duration, job: J) -> Result<Outcome>
where
    J: Fn(Browser) -> F + Send + Sync + 'static,
    F: Future<Output = (Browser, Result<bool>)> + Send + 'static,
{
    let job = Arc::new(job);
    let free: Arc<Mutex<Vec<Browser>>> = Arc::new(Mutex::new(Vec::new()));
    let total = Arc::new(Mutex::new(Outcome::default()));
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut due = start;
    while due < start + duration {
        tokio::time::sleep_until(due.into()).await;
        let browser = match free.lock().await.pop() {
            Some(b) => b,
            None => Browser::new(Arc::clone(bases))?,
        };
        let (job, free, total) = (Arc::clone(&job), Arc::clone(&free), Arc::clone(&total));
        let scheduled = due;
        tasks.push(tokio::spawn(async move {
            let (browser, result) = job(browser).await;
            total.lock().await.record(scheduled, result.map(|_| ()));
            free.lock().await.push(browser);
        }));
        due += interval;
    }
    for task in tasks {
        task.await?;
    }
    let outcome = std::mem::take(&mut *total.lock().await);
    Ok(outcome.finish(start.elapsed()))
}
