//! TOTP verification cost beside the bare HMAC it is built on.
//!
//! `cargo bench -p otp --bench totp`
//!
//! A login verifies one typed code with `window = 1`, so three time steps
//! are computed whatever happens (see `Totp::verify_code`: no early exit).
//! The worst case is a code that matches none of them, measured here. The
//! reference is what those three steps cost at the very least with the same
//! RustCrypto crates: three HMAC-SHA1s of an 8-byte counter, each keyed from
//! scratch as a fresh verification would be.
//!
//! Criterion's groups come first (its usual report). Then the bench times
//! kapu's figure and the reference again with its own interleaved loop (21
//! batches each, alternating, median batch) so that both medians come from
//! the same minutes of the same run, and prints them as a Markdown table
//! with the ratio (target: at most 1.2). Nothing is asserted: timings on a
//! shared machine are noisy, and a benchmark must not fail a build.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use hmac::{Hmac, Mac};
use otp::{Algorithm, Code, Digits, Period, Secret, Totp};
use sha1::Sha1;

/// RFC 6238's SHA-1 test key (20 bytes, the length kapu generates).
const KEY: &[u8] = b"12345678901234567890";
/// 2023-11-14 22:13:20 UTC, an arbitrary "now".
const NOW: u64 = 1_700_000_000;
const BATCHES: usize = 21;
const TARGET_RATIO: f64 = 1.2;

/// One RFC 4226 HMAC the way a fresh verification would do it: key, update
/// with the 8-byte big-endian counter, finalize.
fn hmac_sha1(key: &[u8], counter: u64) -> [u8; 20] {
    // `new_from_slice` never fails for HMAC (any key length is valid); the
    // fallback keeps the bench free of `unwrap` and is never taken.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else { return [0; 20] };
    mac.update(&counter.to_be_bytes());
    mac.finalize().into_bytes().into()
}

fn three_hmac_sha1(key: &[u8], step: u64) -> [[u8; 20]; 3] {
    [hmac_sha1(key, step - 1), hmac_sha1(key, step), hmac_sha1(key, step + 1)]
}

struct Fixture {
    totp: Totp,
    /// A code that matches none of the three steps around `NOW`.
    wrong: Code,
    step: u64,
}

fn fixture() -> Option<Fixture> {
    let totp = Totp::new(Secret::from_slice(KEY).ok()?, Algorithm::Sha1, Digits::SIX, Period::DEFAULT);
    let step = totp.step_at(NOW);
    let in_window: Vec<u32> = (step - 1..=step + 1).map(|s| totp.code_value_at_step(s).value()).collect();
    let wrong = (0..1_000_000u32).find(|v| !in_window.contains(v))?;
    let wrong = Code::from_value(wrong, Digits::SIX)?;
    // The worst case only if it really does not match.
    if totp.verify_code(&wrong, NOW, 1, None).is_some() {
        return None;
    }
    Some(Fixture { totp, wrong, step })
}

fn criterion_groups(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("totp");
    group.bench_function("totp_verify_window1", |b| {
        b.iter(|| black_box(&f.totp).verify_code(black_box(&f.wrong), black_box(NOW), 1, None));
    });
    group.bench_function("totp_new_and_verify_window1", |b| {
        b.iter(|| {
            let secret = Secret::from_slice(black_box(KEY)).ok();
            secret.map(|s| {
                Totp::new(s, Algorithm::Sha1, Digits::SIX, Period::DEFAULT).verify_code(
                    black_box(&f.wrong),
                    black_box(NOW),
                    1,
                    None,
                )
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("reference");
    group.bench_function("hmac_sha1_8_bytes", |b| b.iter(|| hmac_sha1(black_box(KEY), black_box(f.step))));
    group.bench_function("3x hmac_sha1", |b| b.iter(|| three_hmac_sha1(black_box(KEY), black_box(f.step))));
    group.finish();
}

/// Nanoseconds per call of `op`, one batch of `iterations` calls.
fn batch_ns<R>(iterations: u32, op: &mut impl FnMut() -> R) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(op());
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(iterations)
}

/// Iterations that make one batch take about `target`.
fn calibrate<R>(target: Duration, op: &mut impl FnMut() -> R) -> u32 {
    let mut iterations = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iterations {
            black_box(op());
        }
        let elapsed = start.elapsed();
        if elapsed >= target / 4 || iterations >= 1 << 28 {
            let per_call = elapsed.as_secs_f64() / f64::from(iterations);
            return ((target.as_secs_f64() / per_call) as u32).max(1);
        }
        iterations *= 2;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median ns per call of `a` and of `b`, their batches alternating so that
/// machine noise hits both alike.
fn paired_medians<A, B>(mut a: impl FnMut() -> A, mut b: impl FnMut() -> B) -> (f64, f64) {
    let batch = Duration::from_millis(20);
    let (na, nb) = (calibrate(batch, &mut a), calibrate(batch, &mut b));
    let (mut ta, mut tb) = (Vec::with_capacity(BATCHES), Vec::with_capacity(BATCHES));
    for _ in 0..BATCHES {
        ta.push(batch_ns(na, &mut a));
        tb.push(batch_ns(nb, &mut b));
    }
    (median(ta), median(tb))
}

fn row(figure: &str, kapu_ns: f64, reference: &str, reference_ns: f64) -> String {
    let ratio = kapu_ns / reference_ns;
    let verdict = if ratio <= TARGET_RATIO { "" } else { " (above target)" };
    format!("| {figure} | {kapu_ns:.0} ns | {reference}: {reference_ns:.0} ns | {ratio:.2}{verdict} |")
}

fn table(f: &Fixture) {
    let (verify, three) = paired_medians(
        || black_box(&f.totp).verify_code(black_box(&f.wrong), black_box(NOW), 1, None),
        || three_hmac_sha1(black_box(KEY), black_box(f.step)),
    );
    let (fresh, three_again) = paired_medians(
        || {
            Secret::from_slice(black_box(KEY)).ok().map(|s| {
                Totp::new(s, Algorithm::Sha1, Digits::SIX, Period::DEFAULT).verify_code(
                    black_box(&f.wrong),
                    black_box(NOW),
                    1,
                    None,
                )
            })
        },
        || three_hmac_sha1(black_box(KEY), black_box(f.step)),
    );
    let (one, three_once_more) = paired_medians(
        || hmac_sha1(black_box(KEY), black_box(f.step)),
        || three_hmac_sha1(black_box(KEY), black_box(f.step)),
    );

    println!();
    println!("TOTP verification (SHA-1, 6 digits, window 1, wrong code: 3 steps computed);");
    println!("medians of {BATCHES} alternating batches of ~20 ms, same run; target ratio <= {TARGET_RATIO}");
    println!();
    println!("| figure | kapu | reference | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!("{}", row("totp_verify_window1 (prepared Totp)", verify, "3x hmac_sha1", three));
    println!("{}", row("Totp::new + verify_code (per login)", fresh, "3x hmac_sha1", three_again));
    println!("| hmac_sha1_8_bytes (reference only) | - | {one:.0} ns | - |");
    println!();
    println!("3x hmac_sha1 / hmac_sha1_8_bytes, same batches: {:.2} (expected ~3)", three_once_more / one);
    println!();
}

fn main() {
    let Some(f) = fixture() else {
        eprintln!("totp bench: could not build the fixture");
        std::process::exit(1);
    };
    // `cargo bench -- --test` (or `cargo test --benches`) only checks that
    // the benchmarks run; skip the table then.
    let test_mode = std::env::args().any(|a| a == "--test");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    criterion_groups(&mut c, &f);
    c.final_summary();
    if !test_mode {
        table(&f);
    }
}
