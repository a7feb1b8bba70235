//! kapu's hot primitives, each beside the bare library call it is built on,
//! measured in the same run.
//!
//! `cargo bench -p kapu --bench micro` (about two minutes on 2 cores)
//!
//! | criterion id | kapu's code path | reference |
//! | --- | --- | --- |
//! | `argon2id/kapu_hash` vs `argon2id/argon2_reused_memory` | `PasswordHasher::hash` on a one-worker pool at `PasswordHashConfig::default()` (m = 19456 KiB, t = 2, p = 1), driven by a current-thread runtime's `block_on` | `argon2`'s `hash_password_into_with_memory`, same parameters, one buffer reused |
//! | `argon2id/argon2_fresh_memory` | (information) | plain `hash_password_into`, which allocates its memory every time |
//! | `id_token/es256_kapu` vs `id_token/es256_primitive` | `oidc::keys::sign`, as the token endpoint calls it, with the claims of a two-step login that asked for `profile email` | `ring`'s `EcdsaKeyPair::sign` (P-256, fixed-size r ‖ s) over a message of the same length, key parsed once |
//! | `id_token/rs256_kapu` vs `id_token/rs256_primitive` | the same with an RS256 key | `ring`'s `RsaKeyPair::sign` (PKCS#1 v1.5 SHA-256, 2048 bits, blinded), key parsed once |
//! | `revocation/kapu_check` vs `revocation/argon2_verify` | the revocation-code check of `revoke_two_step`: `RevocationCode::parse` of the typed code, then `PasswordHasher::verify` against the stored Argon2id hash | `argon2`'s `PasswordVerifier` on the same PHC string |
//!
//! The TOTP pair lives in `crates/otp/benches/totp.rs`.
//!
//! Criterion's groups come first (its usual report; other tools read
//! `target/criterion/<group>/<function>/new/estimates.json`). Then, as
//! `totp.rs` does, the bench times each pair again with its own interleaved
//! loop (alternating batches, median batch) so that both medians of a pair
//! come from the same seconds of the same run, and prints a Markdown table
//! with the ratio kapu / reference. Nothing is asserted: timings on a shared
//! machine are noisy, and a benchmark must not fail a build.
//! `cargo bench -- --test` (and `cargo test --benches`) runs each once and
//! skips the table (a few seconds).

// A benchmark's main: failing loudly on a broken set-up is the right
// response, so unwrap/expect are allowed here (not in kapu's own code).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, PasswordVerifier, Version};
use criterion::Criterion;
use kapu::crypto::SecretKey;
use kapu::crypto::secret_box::SecretBox;
use kapu::oidc::keys;
use kapu::oidc::model::{IdTokenClaims, SigningAlg, SigningKeyRecord};
use kapu::passwords::{Password, PasswordHash, PasswordHashConfig, PasswordHasher, Verification};
use kapu::twostep::model::RevocationCode;
use p256::pkcs8::EncodePrivateKey;
use rand_core::OsRng;
use rsa::pkcs1::EncodeRsaPrivateKey;

/// A password of a realistic length.
const PASSWORD: &str = "Tavaszi szél vizet áraszt";
/// 2023-11-14 22:13:20 UTC, an arbitrary "now".
const NOW: i64 = 1_700_000_000;

/// Claims filled as for a two-step login by a service that asked for
/// `openid profile email`.
fn claims() -> IdTokenClaims {
    IdTokenClaims {
        iss: "https://ugyfelkapu.example.hu".to_owned(),
        // A pairwise subject: base64url of an HMAC-SHA256 (43 characters).
        sub: "q3Vb0cZr2m8Jx1Yt6NwLh4Ue9Ks5Pa7DfGi0Oj2Mn8E".to_owned(),
        // kapu's client ids are 20 characters.
        aud: "b7Kx2Qm9Tz4Wc1Ve8Nr5".to_owned(),
        exp: NOW + 300,
        iat: NOW,
        auth_time: NOW - 20,
        nonce: Some("n-0S6_WzA2Mj4Yh7Rk9Lp1Xc3Vb5Nd8Fg".to_owned()),
        acr: "ugyfelkapu-plus".to_owned(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        sid: Some("5f0c8e2a9b1d4e7f8a3c6b0d2e4f6a8c".to_owned()),
        name: Some("Kovácsné Szabó Éva Mária".to_owned()),
        email: Some("kovacsne.szabo.eva@example.hu".to_owned()),
        email_verified: Some(true),
        identity: serde_json::Map::new(),
        act: None,
        delegated_matters: None,
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    hasher: PasswordHasher,
    password: Password,
    params: Params,
    salt: [u8; 16],
    sealer: SecretBox,
    claims: IdTokenClaims,
    es256: SigningKeyRecord,
    rs256: SigningKeyRecord,
    es256_key: ring::signature::EcdsaKeyPair,
    rs256_key: ring::signature::RsaKeyPair,
    rng: ring::rand::SystemRandom,
    /// The JWS signing input (`header.claims`) of kapu's ES256 token: the
    /// primitive signs a message of the same length.
    es256_input: Vec<u8>,
    rs256_input: Vec<u8>,
    /// The revocation code as the user types it (groups of four).
    revocation_typed: String,
    /// Its stored Argon2id hash, made by kapu's hasher.
    revocation_hash: String,
}

fn signing_input(token: &str) -> Vec<u8> {
    let (input, _signature) = token.rsplit_once('.').expect("a compact JWS");
    input.as_bytes().to_vec()
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
    let config = PasswordHashConfig { workers: 1, ..PasswordHashConfig::default() };
    let hasher = PasswordHasher::start(&config, None).expect("the hashing pool");
    let params = Params::new(config.memory_kib, config.iterations, config.parallelism, Some(32)).expect("params");

    let sealer = SecretBox::new(&SecretKey::generate().derive("totp-secrets"));
    let es256 = keys::generate(SigningAlg::ES256, &sealer, NOW, NOW).expect("an ES256 key");
    let rs256 = keys::generate(SigningAlg::RS256, &sealer, NOW, NOW).expect("an RS256 key");
    let claims = claims();
    let es256_input = signing_input(&keys::sign(&es256, &sealer, &claims).expect("an ES256 token"));
    let rs256_input = signing_input(&keys::sign(&rs256, &sealer, &claims).expect("an RS256 token"));
    let rsa_der = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key").to_pkcs1_der().expect("PKCS#1");
    let ec_der = p256::SecretKey::random(&mut OsRng).to_pkcs8_der().expect("PKCS#8");
    let rng = ring::rand::SystemRandom::new();
    let es256_key = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        ec_der.as_bytes(),
        &rng,
    )
    .expect("an ES256 key pair");
    let rs256_key = ring::signature::RsaKeyPair::from_der(rsa_der.as_bytes()).expect("an RS256 key pair");

    let revocation = RevocationCode::generate();
    let revocation_hash = runtime
        .block_on(hasher.hash(&Password::new(revocation.as_str().to_owned())))
        .expect("the revocation hash")
        .into_string();

    Fixture {
        runtime,
        hasher,
        password: Password::new(PASSWORD.to_owned()),
        params,
        salt: *b"kapu-bench-salt!",
        sealer,
        claims,
        es256,
        rs256,
        es256_key,
        rs256_key,
        rng,
        es256_input,
        rs256_input,
        revocation_typed: revocation.grouped(),
        revocation_hash,
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn kapu_hash(f: &Fixture) -> PasswordHash {
    f.runtime.block_on(f.hasher.hash(black_box(&f.password))).expect("a hash")
}

fn argon2_reused_memory(f: &Fixture, memory: &mut [Block]) -> [u8; 32] {
    let mut out = [0u8; 32];
    argon2(&f.params)
        .hash_password_into_with_memory(black_box(PASSWORD.as_bytes()), &f.salt, &mut out, memory)
        .expect("argon2");
    out
}

fn argon2_fresh_memory(f: &Fixture) -> [u8; 32] {
    let mut out = [0u8; 32];
    argon2(&f.params).hash_password_into(black_box(PASSWORD.as_bytes()), &f.salt, &mut out).expect("argon2");
    out
}

fn es256_kapu(f: &Fixture) -> String {
    keys::sign(black_box(&f.es256), &f.sealer, black_box(&f.claims)).expect("a token")
}

fn es256_primitive(f: &Fixture) -> ring::signature::Signature {
    f.es256_key.sign(&f.rng, black_box(&f.es256_input)).expect("a signature")
}

fn rs256_kapu(f: &Fixture) -> String {
    keys::sign(black_box(&f.rs256), &f.sealer, black_box(&f.claims)).expect("a token")
}

fn rs256_primitive(f: &Fixture) -> Vec<u8> {
    let mut signature = vec![0; f.rs256_key.public().modulus_len()];
    f.rs256_key
        .sign(&ring::signature::RSA_PKCS1_SHA256, &f.rng, black_box(&f.rs256_input), &mut signature)
        .expect("a signature");
    signature
}

/// `revoke_two_step`'s check of the typed code: parse it, then verify it on
/// the hashing pool against the stored hash (a wrong format costs a dummy
/// verification there instead; the benchmark types the right code).
fn kapu_check(f: &Fixture) -> bool {
    let typed = black_box(f.revocation_typed.as_str());
    let Some(code) = RevocationCode::parse(typed) else { return false };
    let stored = PasswordHash::from_stored(f.revocation_hash.clone()).expect("a stored hash");
    let verification =
        f.runtime.block_on(f.hasher.verify(&Password::new(code.as_str().to_owned()), &stored)).expect("verified");
    matches!(verification, Verification::Valid { .. })
}

fn argon2_verify(f: &Fixture, digits: &str) -> bool {
    let stored = argon2::PasswordHash::new(black_box(&f.revocation_hash)).expect("a PHC string");
    Argon2::default().verify_password(black_box(digits.as_bytes()), &stored).is_ok()
}

fn criterion_groups(c: &mut Criterion, f: &Fixture) {
    let mut memory = vec![Block::default(); f.params.block_count()];
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.bench_function("kapu_hash", |b| b.iter(|| kapu_hash(f)));
    group.bench_function("argon2_reused_memory", |b| b.iter(|| argon2_reused_memory(f, &mut memory)));
    group.bench_function("argon2_fresh_memory", |b| b.iter(|| argon2_fresh_memory(f)));
    group.finish();

    let mut group = c.benchmark_group("id_token");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.bench_function("es256_kapu", |b| b.iter(|| es256_kapu(f)));
    group.bench_function("es256_primitive", |b| b.iter(|| es256_primitive(f)));
    group.bench_function("rs256_kapu", |b| b.iter(|| rs256_kapu(f)));
    group.bench_function("rs256_primitive", |b| b.iter(|| rs256_primitive(f)));
    group.finish();

    let digits = RevocationCode::parse(&f.revocation_typed).expect("the code").as_str().to_owned();
    let mut group = c.benchmark_group("revocation");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.bench_function("kapu_check", |b| b.iter(|| kapu_check(f)));
    group.bench_function("argon2_verify", |b| b.iter(|| argon2_verify(f, &digits)));
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

/// Iterations that make one batch take about `target` (at least one).
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

/// Median ns per call of `a` and of `b`, `batches` batches of about `batch`
/// each, alternating so that machine noise hits both alike.
fn paired_medians<A, B>(
    batch: Duration,
    batches: usize,
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> (f64, f64) {
    let (na, nb) = (calibrate(batch, &mut a), calibrate(batch, &mut b));
    let (mut ta, mut tb) = (Vec::with_capacity(batches), Vec::with_capacity(batches));
    for _ in 0..batches {
        ta.push(batch_ns(na, &mut a));
        tb.push(batch_ns(nb, &mut b));
    }
    (median(ta), median(tb))
}

fn duration(ns: f64) -> String {
    match ns {
        ns if ns < 10_000.0 => format!("{ns:.0} ns"),
        ns if ns < 10_000_000.0 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{:.0} µs", ns / 1e3),
    }
}

fn row(figure: &str, kapu_ns: f64, reference: &str, reference_ns: f64) -> String {
    format!(
        "| {figure} | {} | {reference}: {} | {:.2} |",
        duration(kapu_ns),
        duration(reference_ns),
        kapu_ns / reference_ns
    )
}

fn table(f: &Fixture) {
    // Argon2: ~100 ms batches (a few hashes), 11 of each.
    let slow = (Duration::from_millis(100), 11);
    // Signatures: ~20 ms batches, 21 of each.
    let fast = (Duration::from_millis(20), 21);
    let mut memory = vec![Block::default(); f.params.block_count()];
    let (hash, reused) = paired_medians(slow.0, slow.1, || kapu_hash(f), || argon2_reused_memory(f, &mut memory));
    let (fresh, reused_again) =
        paired_medians(slow.0, slow.1, || argon2_fresh_memory(f), || argon2_reused_memory(f, &mut memory));
    let (es_kapu, es_primitive) = paired_medians(fast.0, fast.1, || es256_kapu(f), || es256_primitive(f));
    let (rs_kapu, rs_primitive) = paired_medians(fast.0, fast.1, || rs256_kapu(f), || rs256_primitive(f));
    let digits = RevocationCode::parse(&f.revocation_typed).expect("the code").as_str().to_owned();
    let (check, verify) = paired_medians(slow.0, slow.1, || kapu_check(f), || argon2_verify(f, &digits));

    println!();
    println!("kapu beside the primitive it is built on; medians of alternating batches, same run");
    println!("(Argon2id m=19456 KiB t=2 p=1: {} batches of ~100 ms; signatures: {} batches of ~20 ms)", slow.1, fast.1);
    println!();
    println!("| figure | kapu | reference | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!("{}", row("argon2id hash (pool, 1 worker)", hash, "argon2_reused_memory", reused));
    println!("{}", row("argon2id hash, fresh memory (information)", fresh, "argon2_reused_memory", reused_again));
    println!("{}", row("ID token ES256", es_kapu, "es256_primitive", es_primitive));
    println!("{}", row("ID token RS256 (2048)", rs_kapu, "rs256_primitive", rs_primitive));
    println!("{}", row("revocation code check", check, "argon2_verify", verify));
    println!();
    println!("signatures per second on one core: ES256 {:.0}, RS256 {:.0}", 1e9 / es_kapu, 1e9 / rs_kapu);
    println!();
}

fn main() {
    let f = fixture();
    // Criterion benchmarks only when cargo bench passes `--bench`; under
    // `cargo test --benches` (no `--bench`) or `cargo bench -- --test` (or
    // `--list`) it only checks that each benchmark runs: skip the table then.
    let arg = |name: &str| std::env::args().any(|a| a == name);
    let benchmarking = arg("--bench") && !arg("--test") && !arg("--list");
    let mut c = Criterion::default().configure_from_args();
    criterion_groups(&mut c, &f);
    c.final_summary();
    if benchmarking {
        table(&f);
    }
}
