//! The application core: configuration, storage, hashing, mail, clock and
//! metrics, wired once. Use cases are methods on [`Kapu`], one `service.rs`
//! per capability; they know nothing of HTTP.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::Config;
use crate::crypto::secret_box::SecretBox;
use crate::crypto::{DerivedKey, KeyError, SecretKey};
use crate::mail::{MailError, Mailer, mailer_from_config};
use crate::metrics::Metrics;
use crate::passwords::{HashError, PasswordHasher};
use crate::store::{Store, StoreError};
use crate::throttle::Limits;

pub struct Kapu {
    pub config: Arc<Config>,
    pub store: Store,
    /// Every attempt limit, with the statements that take attempts.
    pub limits: Limits,
    pub hasher: PasswordHasher,
    pub mailer: Arc<dyn Mailer>,
    /// Wakes the mail worker when a message was queued on this instance.
    pub mail_wakeup: tokio::sync::Notify,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub time_zone: jiff::tz::TimeZone,
    /// Signs CSRF tokens.
    pub csrf_key: DerivedKey,
    /// Seals TOTP keys, pending revocation codes and signing keys at rest.
    pub secret_box: SecretBox,
    /// Derives the pairwise `sub` each service sees.
    pub pairwise_key: DerivedKey,
    /// Keys the person key of a verified identity and binding-code hashes.
    pub identity_key: DerivedKey,
    /// The ID-token signing keys as last read.
    pub signing_keys: crate::oidc::discovery::KeyCache,
    /// Wakes the back-channel logout worker when this instance ended a session.
    pub logout_wakeup: tokio::sync::Notify,
    /// For calls to services (back-channel logout): no redirects followed.
    pub http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hasher(#[from] HashError),
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("HTTP client: {0}")]
    Http(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

/// Creates `dir` (and missing parents) readable by kapu's user only (0700):
/// it holds the database, the key and the mail outbox. An existing directory
/// is the operator's: if others can read it, that is said loudly.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    builder.create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "the data directory is open to other users");
    }
    Ok(())
}

impl Kapu {
    /// Opens everything the configuration names. Does not migrate.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        Self::open_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        config.validate()?;
        create_private_dir(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: config.data_dir.display().to_string(), source })?;
        let key = SecretKey::load_or_create(&config.secret_key_path())?;
        let url = config.database_url();
        let store = crate::store::connect(&url, config.database.pool_size()).await?;
        let metrics = Metrics::new();
        let hasher = PasswordHasher::start(&config.password_hash, Some(metrics.hash_seconds()))?;
        let mailer = mailer_from_config(&config.mail, config.outbox_dir())?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(crate::oidc::logout::DELIVERY_TIMEOUT)
            .user_agent(concat!("kapu/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        Ok(Self {
            signing_keys: Default::default(),
            logout_wakeup: tokio::sync::Notify::new(),
            http,
            limits: Limits::from_config(&config.login_limits, &config.rate_limits, &config.two_step),
            mail_wakeup: tokio::sync::Notify::new(),
            time_zone: config.time_zone(),
            csrf_key: key.derive("csrf"),
            secret_box: SecretBox::new(&key.derive("totp-secrets")),
            pairwise_key: key.derive("oidc-pairwise-sub"),
            identity_key: key.derive("identity"),
            config: Arc::new(config),
            store,
            hasher,
            mailer,
            clock,
            metrics,
        })
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// A time as people read it, in the configured time zone.
    /// Today in the configured time zone (birth dates and delegations are civil dates).
    pub fn today(&self) -> jiff::civil::Date {
        jiff::Timestamp::from_second(self.now()).unwrap_or_default().to_zoned(self.time_zone.clone()).date()
    }

    pub fn format_time(&self, t: UnixTime) -> String {
        crate::clock::format_local(t, &self.time_zone)
    }

    /// An absolute link to a path of this server, for emails.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.config.public_url(), path)
    }
}
