use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use argon2::password_hash::{self, Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use prometheus_client::metrics::histogram::Histogram;
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::Password;

const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// Highest Argon2 memory cost accepted, in KiB (1 GiB), in the config and in
/// stored hashes: a corrupted or tampered row must not make a worker
/// allocate without limit.
pub const MAX_MEMORY_KIB: u32 = 1 << 20;
/// Highest Argon2 iteration count accepted, in the config and in stored
/// hashes, so that one stored hash cannot occupy a worker for minutes.
pub const MAX_ITERATIONS: u32 = 64;
/// Highest Argon2 parallelism accepted. The argon2 crate computes the lanes
/// one after another, so a higher value buys nothing here.
pub const MAX_PARALLELISM: u32 = 64;
/// Highest worker count accepted in the config.
pub const MAX_WORKERS: usize = 256;

/// How long a new password waits for its share of the hashing pool before
/// the request is answered "busy, try again".
pub const NEW_PASSWORD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Argon2id cost and pool size (the `[password_hash]` config section).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordHashConfig {
    /// Argon2 memory per hash, KiB (`m`). Also the size of each worker's
    /// buffer.
    pub memory_kib: u32,
    /// Argon2 passes over the memory (`t`).
    pub iterations: u32,
    /// Argon2 lanes (`p`).
    pub parallelism: u32,
    /// Hashing threads; 0 = one per CPU core.
    pub workers: usize,
    /// Hashes allowed to wait for a free worker; further ones fail at once
    /// with [`HashError::Busy`].
    pub queue: usize,
    /// The part of the workers (and of the queue) that new passwords —
    /// registration, password reset, password change — may hold at once (at
    /// least one): a flood of those leaves the rest to logins.
    pub new_password_share: f64,
}

impl Default for PasswordHashConfig {
    /// OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations,
    /// 1 lane.
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1, workers: 0, queue: 256, new_password_share: 0.5 }
    }
}

impl PasswordHashConfig {
    /// Checks the values; the message names the offending option.
    pub fn validate(&self) -> Result<(), String> {
        if self.parallelism == 0 || self.parallelism > MAX_PARALLELISM {
            return Err(format!(
                "password_hash.parallelism must be between 1 and {MAX_PARALLELISM}, got {}",
                self.parallelism
            ));
        }
        let min_memory = 8 * self.parallelism;
        if self.memory_kib < min_memory {
            return Err(format!(
                "password_hash.memory_kib must be at least 8 × parallelism = {min_memory}, got {}",
                self.memory_kib
            ));
        }
        if self.memory_kib > MAX_MEMORY_KIB {
            return Err(format!(
                "password_hash.memory_kib must be at most {MAX_MEMORY_KIB} (1 GiB), got {}",
                self.memory_kib
            ));
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return Err(format!(
                "password_hash.iterations must be between 1 and {MAX_ITERATIONS}, got {}",
                self.iterations
            ));
        }
        if self.workers > MAX_WORKERS {
            return Err(format!(
                "password_hash.workers must be at most {MAX_WORKERS} (0 = one per CPU core), got {}",
                self.workers
            ));
        }
        if self.queue == 0 {
            return Err("password_hash.queue must be at least 1".to_owned());
        }
        if !(self.new_password_share > 0.0 && self.new_password_share <= 1.0) {
            return Err(format!(
                "password_hash.new_password_share must be more than 0 and at most 1, got {}",
                self.new_password_share
            ));
        }
        self.argon2_params().map(|_| ())
    }

    /// Whether the cost is at least one of the OWASP-recommended Argon2id
    /// settings (46 MiB × 1, 19 MiB × 2, 12 MiB × 3, 9 MiB × 4, 7 MiB × 5).
    /// Tests use far less; production should not.
    pub fn meets_owasp_minimum(&self) -> bool {
        const OWASP: [(u32, u32); 5] = [(47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5)];
        OWASP.iter().any(|&(m, t)| self.memory_kib >= m && self.iterations >= t)
    }

    /// How many new-password hashes may be queued or running at once.
    pub fn new_password_slots(&self) -> usize {
        ((self.effective_workers() as f64 * self.new_password_share).floor() as usize).max(1)
    }

    /// The worker count after resolving 0 to the number of CPU cores.
    pub fn effective_workers(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    fn argon2_params(&self) -> Result<Params, String> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(OUTPUT_LEN))
            .map_err(|e| format!("password_hash: invalid Argon2 parameters: {e}"))
    }
}

/// Why hashing or verifying did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every worker is busy and the queue is full: answer "try again later".
    #[error("password hashing is at capacity")]
    Busy,
    /// The stored hash is not an Argon2 PHC string this module accepts.
    #[error("stored password hash is malformed or unsupported")]
    Malformed,
    /// The `[password_hash]` configuration is invalid (from `start`).
    #[error("invalid password hashing configuration: {0}")]
    Config(String),
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. `needs_rehash`: the stored hash was made with
    /// other parameters than the configured ones; the caller should store a
    /// fresh [`PasswordHasher::hash`] of the password it now has.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

/// A stored password hash: an Argon2 PHC string, checked on construction.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Accepts a PHC string read from storage. Any Argon2 variant and
    /// version verifies (old hashes must keep working); other algorithms,
    /// broken strings and costs above the `MAX_*` limits are `Malformed`.
    pub fn from_stored(phc: String) -> Result<Self, HashError> {
        Parsed::new(&phc)?;
        Ok(Self(phc))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Shows only algorithm, version and cost: a salt and hash in a log would
/// hand an offline guessing attack everything it needs.
impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: Vec<&str> = self.0.splitn(5, '$').take(4).collect();
        write!(f, "PasswordHash({:?}$…)", head.join("$"))
    }
}

/// Why a stored hash did not parse is not worth telling anyone: it is not
/// one of ours.
fn malformed<E>(_: E) -> HashError {
    HashError::Malformed
}

/// A PHC string taken apart into what Argon2 needs.
struct Parsed {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    output: Vec<u8>,
}

impl Parsed {
    fn new(phc: &str) -> Result<Self, HashError> {
        let hash = password_hash::PasswordHash::new(phc).map_err(malformed)?;
        let algorithm = Algorithm::try_from(hash.algorithm).map_err(malformed)?;
        let version = match hash.version {
            Some(v) => Version::try_from(v).map_err(malformed)?,
            // The reference implementation reads a string without `v=` as
            // the original 1.0 format (hashes made before 1.3 existed).
            None => Version::V0x10,
        };
        let params = Params::try_from(&hash).map_err(malformed)?;
        if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_ITERATIONS || params.p_cost() > MAX_PARALLELISM {
            return Err(HashError::Malformed);
        }
        let mut salt_buf = [0u8; 64];
        let salt = hash.salt.ok_or(HashError::Malformed)?.decode_b64(&mut salt_buf).map_err(malformed)?.to_vec();
        if salt.len() < argon2::MIN_SALT_LEN {
            return Err(HashError::Malformed);
        }
        let output = hash.hash.ok_or(HashError::Malformed)?.as_bytes().to_vec();
        Ok(Self { algorithm, version, params, salt, output })
    }

    fn needs_rehash(&self, configured: &Params) -> bool {
        self.algorithm != Algorithm::Argon2id
            || self.version != Version::V0x13
            || self.params != *configured
            || self.salt.len() != SALT_LEN
    }
}

fn phc_string(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, HashError> {
    let internal = |e: password_hash::Error| HashError::Internal(format!("PHC encoding: {e}"));
    let salt = SaltString::encode_b64(salt).map_err(internal)?;
    let hash = password_hash::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(output).map_err(internal)?),
    };
    Ok(hash.to_string())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], HashError> {
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| HashError::Internal(format!("OS random number generator: {e}")))?;
    Ok(bytes)
}

type Reply = Result<Zeroizing<Vec<u8>>, HashError>;

/// One Argon2 computation.
struct Task {
    password: Password,
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    output_len: usize,
}

/// A task on its way to a worker, with where to send the answer.
struct Job {
    task: Task,
    reply: oneshot::Sender<Reply>,
}

/// Argon2id hashing and verification on a bounded pool of dedicated threads
/// (see the module documentation). Cheap to clone; the workers stop when the
/// last clone is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: SyncSender<Job>,
    config: PasswordHashConfig,
    params: Params,
    workers: usize,
    dummy: PasswordHash,
    /// Held by each new-password hash while it is queued or running.
    new_passwords: tokio::sync::Semaphore,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.inner.config)
            .field("workers", &self.inner.workers)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Validates `config` and starts the worker threads, each allocating its
    /// Argon2 buffer up front. `hash_seconds`, if given, receives the
    /// duration of every Argon2 computation (hash, verify and dummy verify;
    /// not the time spent waiting in the queue).
    pub fn start(config: &PasswordHashConfig, hash_seconds: Option<Histogram>) -> Result<Self, HashError> {
        config.validate().map_err(HashError::Config)?;
        let params = config.argon2_params().map_err(HashError::Config)?;
        let workers = config.effective_workers();

        // The output of the dummy is random rather than computed: it only
        // has to be a well-formed hash with the configured cost that no
        // password matches.
        let dummy = PasswordHash(phc_string(&params, &random_bytes::<SALT_LEN>()?, &random_bytes::<OUTPUT_LEN>()?)?);

        let (jobs, receiver) = mpsc::sync_channel(config.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers {
            let receiver = Arc::clone(&receiver);
            let histogram = hash_seconds.clone();
            let block_count = params.block_count();
            std::thread::Builder::new()
                .name(format!("kapu-argon2-{index}"))
                .spawn(move || work(&receiver, block_count, histogram.as_ref()))
                .map_err(|e| HashError::Internal(format!("starting a hashing thread: {e}")))?;
        }
        if !config.meets_owasp_minimum() {
            tracing::warn!(
                memory_kib = config.memory_kib,
                iterations = config.iterations,
                "password_hash cost is below the OWASP recommendation"
            );
        }
        tracing::info!(
            memory_kib = config.memory_kib,
            iterations = config.iterations,
            parallelism = config.parallelism,
            workers,
            queue = config.queue,
            "password hashing pool started"
        );
        let new_passwords = tokio::sync::Semaphore::new(config.new_password_slots());
        Ok(Self { inner: Arc::new(Inner { jobs, config: config.clone(), params, workers, dummy, new_passwords }) })
    }

    /// The configuration the pool was started with.
    pub fn params(&self) -> &PasswordHashConfig {
        &self.inner.config
    }

    /// The number of worker threads (the configured count, or the number of
    /// CPU cores for 0).
    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    /// Hashes a new password with the configured cost and a fresh salt.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let salt = random_bytes::<SALT_LEN>()?;
        let output = self
            .compute(Task {
                password: password.clone(),
                algorithm: Algorithm::Argon2id,
                version: Version::V0x13,
                params: self.inner.params.clone(),
                salt: salt.to_vec(),
                output_len: OUTPUT_LEN,
            })
            .await?;
        phc_string(&self.inner.params, &salt, &output).map(PasswordHash)
    }

    /// Hashes a password someone is choosing (registration, reset, change):
    /// as [`hash`](Self::hash), but only within `new_password_share` of the
    /// pool: beyond it, the request waits for a slot up to
    /// [`NEW_PASSWORD_WAIT`], then [`HashError::Busy`]. A flood of
    /// registrations therefore never holds every worker, and logins keep
    /// flowing, while a few people registering at one moment all get in.
    pub async fn hash_new_password(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let slot = tokio::time::timeout(NEW_PASSWORD_WAIT, self.inner.new_passwords.acquire()).await;
        let _slot = slot.map_err(|_| HashError::Busy)?.map_err(|_| HashError::Busy)?;
        self.hash(password).await
    }

    /// Checks a password against a stored hash, with the cost recorded in
    /// that hash.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn verify(&self, password: &Password, stored: &PasswordHash) -> Result<Verification, HashError> {
        let parsed = Parsed::new(stored.as_str())?;
        let computed = self
            .compute(Task {
                password: password.clone(),
                algorithm: parsed.algorithm,
                version: parsed.version,
                params: parsed.params.clone(),
                salt: parsed.salt.clone(),
                output_len: parsed.output.len(),
            })
            .await?;
        if bool::from(computed.as_slice().ct_eq(parsed.output.as_slice())) {
            Ok(Verification::Valid { needs_rehash: parsed.needs_rehash(&self.inner.params) })
        } else {
            Ok(Verification::Invalid)
        }
    }

    /// Does the work of [`verify`](Self::verify) against a dummy hash with
    /// the configured cost and always answers `Invalid`: the login calls it
    /// for unknown usernames so that they take as long as a wrong password.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn verify_dummy(&self, password: &Password) -> Result<Verification, HashError> {
        self.verify(password, &self.inner.dummy).await.map(|_| Verification::Invalid)
    }

    /// Queues a task and waits for the answer without blocking the runtime.
    async fn compute(&self, task: Task) -> Reply {
        let (reply, answer) = oneshot::channel();
        match self.inner.jobs.try_send(Job { task, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(HashError::Internal("the hashing threads have stopped".to_owned()));
            }
        }
        answer.await.map_err(|_| HashError::Internal("a hashing thread dropped the job".to_owned()))?
    }
}

/// A worker thread's loop: owns one Argon2 buffer from its first hash on
/// (an idle server holds none) and ends when every `PasswordHasher` clone
/// (and so the sender) is gone.
fn work(jobs: &Mutex<Receiver<Job>>, block_count: usize, histogram: Option<&Histogram>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // Poisoning can only come from a panic inside `recv`, which leaves
        // the receiver intact.
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        if job.reply.is_closed() {
            // The caller gave up (e.g. the client disconnected): nobody
            // would see the answer, and a login storm should not cost more
            // work than the answers it gets.
            continue;
        }
        if memory.is_empty() {
            memory = vec![Block::new(); block_count];
        }
        let started = Instant::now();
        // A panic here would otherwise kill the thread and shrink the pool
        // for the rest of the process's life.
        let answer = catch_unwind(AssertUnwindSafe(|| run(&job.task, &mut memory))).unwrap_or_else(|_| {
            tracing::error!("Argon2 computation panicked; the worker carries on");
            Err(HashError::Internal("Argon2 computation panicked".to_owned()))
        });
        if let Some(histogram) = histogram {
            histogram.observe(started.elapsed().as_secs_f64());
        }
        // An error means the caller has gone meanwhile; nothing to do.
        let _ = job.reply.send(answer);
    }
}

fn run(job: &Task, memory: &mut [Block]) -> Reply {
    let argon2 = Argon2::new(job.algorithm, job.version, job.params.clone());
    let mut output = Zeroizing::new(vec![0u8; job.output_len]);
    let needed = job.params.block_count();
    let password = job.password.expose().as_bytes();
    let result = if needed <= memory.len() {
        // Argon2 uses the first `needed` blocks and writes every block before
        // reading it, so the buffer can be reused as it is.
        let result = argon2.hash_password_into_with_memory(password, &job.salt, &mut output, &mut *memory);
        wipe(memory.iter_mut().take(needed));
        result
    } else {
        // A stored hash made with more memory than configured now: a
        // temporary buffer keeps the worker's own one at the configured size.
        let mut temporary = vec![Block::new(); needed];
        let result = argon2.hash_password_into_with_memory(password, &job.salt, &mut output, temporary.as_mut_slice());
        wipe(temporary.iter_mut());
        std::hint::black_box(&temporary);
        result
    };
    result.map_err(|e| HashError::Internal(format!("Argon2: {e}")))?;
    Ok(output)
}

fn wipe<'a>(blocks: impl Iterator<Item = &'a mut Block>) {
    for block in blocks {
        *block = Block::new();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn small(memory_kib: u32, workers: usize, queue: usize) -> PasswordHashConfig {
        PasswordHashConfig { memory_kib, iterations: 1, parallelism: 1, workers, queue, new_password_share: 0.5 }
    }

    fn pw(s: &str) -> Password {
        Password::new(s.to_owned())
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::start(&small(64, 1, 8), None).unwrap();
        let hash = hasher.hash(&pw("hét sárga bicikli")).await.unwrap();
        assert_eq!(
            hasher.verify(&pw("hét sárga bicikli"), &hash).await,
            Ok(Verification::Valid { needs_rehash: false })
        );
        assert_eq!(hasher.verify(&pw("hét sárga biciklj"), &hash).await, Ok(Verification::Invalid));
        assert_eq!(hasher.verify(&pw(""), &hash).await, Ok(Verification::Invalid));
        // Two hashes of one password differ: the salt is fresh each time.
        let again = hasher.hash(&pw("hét sárga bicikli")).await.unwrap();
        assert_ne!(hash.as_str(), again.as_str());
    }

    #[tokio::test]
    async fn needs_rehash_after_a_parameter_change_in_either_direction() {
        let low = PasswordHasher::start(&small(64, 1, 8), None).unwrap();
        let high = PasswordHasher::start(&small(256, 1, 8), None).unwrap();
        let password = pw("correct horse battery staple");

        let low_hash = low.hash(&password).await.unwrap();
        let high_hash = high.hash(&password).await.unwrap();
        let rehash = Ok(Verification::Valid { needs_rehash: true });
        let keep = Ok(Verification::Valid { needs_rehash: false });
        // Smaller stored cost: runs inside the worker's larger buffer.
        assert_eq!(high.verify(&password, &low_hash).await, rehash);
        // Larger stored cost: needs the temporary buffer.
        assert_eq!(low.verify(&password, &high_hash).await, rehash);
        assert_eq!(low.verify(&password, &low_hash).await, keep);
        assert_eq!(high.verify(&password, &high_hash).await, keep);

        let more_passes =
            PasswordHasher::start(&PasswordHashConfig { iterations: 2, ..small(64, 1, 8) }, None).unwrap();
        assert_eq!(more_passes.verify(&password, &low_hash).await, rehash);
        assert_eq!(more_passes.verify(&pw("wrong"), &low_hash).await, Ok(Verification::Invalid));
    }

    #[tokio::test]
    async fn legacy_argon2_variants_verify_and_ask_for_a_rehash() {
        let hasher = PasswordHasher::start(&small(64, 1, 8), None).unwrap();
        let password = pw("régi jelszó");
        for (algorithm, version) in [(Algorithm::Argon2i, Version::V0x13), (Algorithm::Argon2id, Version::V0x10)] {
            let params = Params::new(64, 1, 1, Some(32)).unwrap();
            let mut out = [0u8; 32];
            let salt = [7u8; 16];
            Argon2::new(algorithm, version, params.clone())
                .hash_password_into(password.expose().as_bytes(), &salt, &mut out)
                .unwrap();
            let phc = password_hash::PasswordHash {
                algorithm: algorithm.ident(),
                version: Some(version.into()),
                params: ParamsString::try_from(&params).unwrap(),
                salt: Some(SaltString::encode_b64(&salt).unwrap().as_salt()),
                hash: Some(Output::new(&out).unwrap()),
            }
            .to_string();
            let stored = PasswordHash::from_stored(phc).unwrap();
            assert_eq!(
                hasher.verify(&password, &stored).await,
                Ok(Verification::Valid { needs_rehash: true }),
                "{stored:?}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_stored_hashes_are_refused_without_panicking() {
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$",
            "$argon2id$v=19$m=64,t=1,p=1",
            "$argon2id$v=19$m=64,t=1,p=1$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=64,t=1,p=1,x=3$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            // Costs beyond the limits: a tampered row must not exhaust memory.
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=64,t=100000,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            // Salt of 4 bytes: below Argon2's minimum of 8.
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$pbkdf2-sha256$29000$N2bsnTOGkLKW8p6T8v7/fw$Eqdn6jIBt3D7DsKWOmDkZ7n0RQdi5dX9NQFK0iwsdJI",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        ] {
            assert_eq!(PasswordHash::from_stored(bad.to_owned()).err(), Some(HashError::Malformed), "{bad}");
        }
    }

    #[tokio::test]
    async fn phc_string_round_trips_and_names_the_configured_cost() {
        let config = PasswordHashConfig { workers: 1, ..PasswordHashConfig::default() };
        let hasher = PasswordHasher::start(&config, None).unwrap();
        let hash = hasher.hash(&pw("a real-cost password")).await.unwrap();
        let phc = hash.as_str().to_owned();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parts: Vec<&str> = phc.split('$').collect();
        assert_eq!(parts.len(), 6);
        // Unpadded base64: 16 salt bytes are 22 characters, 32 hash bytes 43.
        assert_eq!(parts[4].len(), 22);
        assert_eq!(parts[5].len(), 43);

        let stored = PasswordHash::from_stored(phc.clone()).unwrap();
        assert_eq!(stored.as_str(), phc);
        assert_eq!(
            hasher.verify(&pw("a real-cost password"), &stored).await,
            Ok(Verification::Valid { needs_rehash: false })
        );
        assert_eq!(stored.clone().into_string(), phc);

        // Debug shows the cost only, never salt or hash.
        let debug = format!("{stored:?}");
        assert_eq!(debug, "PasswordHash(\"$argon2id$v=19$m=19456,t=2,p=1\"$…)");
        assert!(!debug.contains(parts[4]) && !debug.contains(parts[5]));
    }

    #[tokio::test]
    async fn verify_dummy_is_always_invalid_and_uses_the_configured_cost() {
        let hasher = PasswordHasher::start(&small(64, 1, 8), None).unwrap();
        assert!(hasher.inner.dummy.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        for guess in ["", "password", "hét sárga bicikli"] {
            assert_eq!(hasher.verify_dummy(&pw(guess)).await, Ok(Verification::Invalid));
        }
    }

    #[tokio::test]
    async fn full_queue_answers_busy_and_never_hangs() {
        // Heavy enough that the single worker cannot drain the queue while
        // the tasks are submitting.
        let config = PasswordHashConfig { memory_kib: 4096, iterations: 4, ..small(64, 1, 1) };
        let hasher = PasswordHasher::start(&config, None).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let hasher = hasher.clone();
            tasks.spawn(async move { hasher.hash(&pw(&format!("password {i}"))).await });
        }
        let results =
            tokio::time::timeout(Duration::from_secs(60), tasks.join_all()).await.expect("hashing must not hang");
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let busy = results.iter().filter(|r| matches!(r, Err(HashError::Busy))).count();
        assert!(ok >= 1, "ok {ok}, busy {busy}");
        assert!(busy >= 1, "ok {ok}, busy {busy}");
        assert_eq!(ok + busy, 16);
        // Once the storm has passed the pool serves again.
        assert!(hasher.hash(&pw("after the storm")).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_hashes_on_two_workers_all_succeed() {
        let histogram = Histogram::new([0.001, 0.01, 0.1, 1.0]);
        let hasher = PasswordHasher::start(&small(256, 2, 64), Some(histogram.clone())).unwrap();
        assert_eq!(hasher.workers(), 2);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..48 {
            let hasher = hasher.clone();
            tasks.spawn(async move {
                let password = pw(&format!("concurrent password {i}"));
                let hash = hasher.hash(&password).await?;
                let good = hasher.verify(&password, &hash).await?;
                let bad = hasher.verify(&pw("something else"), &hash).await?;
                Ok::<_, HashError>((good, bad))
            });
        }
        let results =
            tokio::time::timeout(Duration::from_secs(120), tasks.join_all()).await.expect("hashing must not hang");
        assert_eq!(results.len(), 48);
        for result in results {
            assert_eq!(result, Ok((Verification::Valid { needs_rehash: false }, Verification::Invalid)));
        }
        // Every computation was timed: 48 × (hash + 2 verifies).
        let mut encoded = String::new();
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("hash_seconds", "test", histogram);
        prometheus_client::encoding::text::encode(&mut encoded, &registry).unwrap();
        assert!(encoded.contains("hash_seconds_count 144"), "{encoded}");
    }

    #[test]
    fn config_defaults_validation_and_deserialization() {
        let default = PasswordHashConfig::default();
        assert_eq!(
            default,
            PasswordHashConfig {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1,
                workers: 0,
                queue: 256,
                new_password_share: 0.5
            }
        );
        assert_eq!(default.validate(), Ok(()));
        assert!(default.meets_owasp_minimum());
        assert!(default.effective_workers() >= 1);
        assert!(!small(64, 1, 1).meets_owasp_minimum());

        let with = |f: fn(&mut PasswordHashConfig)| {
            let mut c = PasswordHashConfig::default();
            f(&mut c);
            c.validate()
        };
        assert!(with(|c| c.iterations = 0).is_err_and(|e| e.contains("iterations")));
        assert!(with(|c| c.parallelism = 0).is_err_and(|e| e.contains("parallelism")));
        assert!(
            with(|c| {
                c.parallelism = 4;
                c.memory_kib = 31;
            })
            .is_err_and(|e| e.contains("memory_kib") && e.contains("32"))
        );
        assert!(with(|c| c.memory_kib = MAX_MEMORY_KIB + 1).is_err_and(|e| e.contains("memory_kib")));
        assert!(with(|c| c.queue = 0).is_err_and(|e| e.contains("queue")));
        assert!(with(|c| c.workers = 10_000).is_err_and(|e| e.contains("workers")));
        assert!(matches!(PasswordHasher::start(&small(64, 1, 0), None), Err(HashError::Config(_))));

        let parsed: PasswordHashConfig = serde_json::from_str(r#"{"memory_kib": 65536, "workers": 2}"#).unwrap();
        assert_eq!(parsed.memory_kib, 65_536);
        assert_eq!(parsed.iterations, 2);
        assert_eq!(parsed.queue, 256);
        assert!(serde_json::from_str::<PasswordHashConfig>(r#"{"memory": 1}"#).is_err());
    }
}
