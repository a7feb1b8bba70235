//! Delivery through an SMTP relay (lettre, rustls with the webpki roots).

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message::{self, BodyEncoding};
use super::{MailError, Mailer, OutgoingEmail, Sender, SmtpConfig, SmtpSecurity};

/// lettre applies `timeout_seconds` to each step (connect, TLS, each command);
/// a whole delivery is a handful of steps. This bounds the total so a relay
/// that trickles bytes cannot pin background tasks indefinitely.
const STEPS_PER_DELIVERY: u64 = 8;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Sender,
    total_timeout_seconds: u64,
}

impl SmtpMailer {
    /// Validates `cfg` and prepares a pooled transport; no connection is
    /// made until the first message. Must run inside the tokio runtime.
    pub fn new(cfg: &SmtpConfig, from: impl Into<Sender>) -> Result<Self, MailError> {
        cfg.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            // lettre's pool spawns its cleanup task right away and would
            // panic without a runtime.
            return Err(MailError::Config("the SMTP mailer must be created inside the tokio runtime".to_owned()));
        }
        let builder = match cfg.security {
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)?,
            // validate() has checked the host is loopback.
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        };
        let mut builder = builder.port(cfg.effective_port()).timeout(Some(Duration::from_secs(cfg.timeout_seconds)));
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from: from.into(),
            total_timeout_seconds: cfg.timeout_seconds.saturating_mul(STEPS_PER_DELIVERY),
        })
    }
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the credentials; leave it out.
        f.debug_struct("SmtpMailer").field("from", &self.from).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), MailError> {
        // 7-bit clean on the wire: works with relays lacking 8BITMIME, and
        // the recipient's mail client decodes it anyway.
        let message = message::build(&self.from, &email, BodyEncoding::Auto)?;
        let limit = Duration::from_secs(self.total_timeout_seconds);
        match tokio::time::timeout(limit, self.transport.send(message)).await {
            Ok(Ok(_response)) => {
                tracing::info!(to = %email.to, "mail: handed to the SMTP relay");
                Ok(())
            }
            Ok(Err(e)) => Err(MailError::Smtp(e)),
            Err(_elapsed) => Err(MailError::Timeout(self.total_timeout_seconds)),
        }
    }
}
