//! Outgoing email: single-use links (registration confirmation, password
//! reset, email change, unlock) and security notices.
//!
//! Two transports sit behind the [`Mailer`] trait:
//!
//! * [`SmtpMailer`] hands messages to a real relay (STARTTLS or implicit TLS;
//!   plaintext only to a loopback relay), used when `[mail.smtp]` is set;
//! * [`OutboxMailer`] writes each message as one `.eml` file into a directory,
//!   used otherwise (development, tests, air-gapped demos).
//!
//! The outbox writes the body as `8bit` UTF-8 instead of the quoted-printable
//! or base64 that mail libraries pick for non-ASCII text. Those encodings
//! break long URLs across lines and turn `=` into `=3D`, so neither a person
//! reading the file nor a test searching for a link could find it verbatim.
//! [`read_outbox`] decodes the files back for tests and tools.
//!
//! Bodies carry live single-use tokens, so nothing here logs a body; logs name
//! only the recipient and where the message went. Sending is meant to happen
//! off the request path ([`send_in_background`]) so that whether, and how
//! slowly, a message goes out cannot be observed by the person who triggered
//! it (no account enumeration by timing).

mod address;
mod config;
mod message;
pub mod notice;
mod outbox;
pub mod queue;
mod smtp;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

pub use address::{EmailAddress, EmailAddressError, Sender};
pub use config::{MailConfig, SmtpConfig, SmtpSecurity};
pub use outbox::{OutboxMailer, OutboxMessage, read_message, read_outbox};
pub use smtp::SmtpMailer;

/// One plain-text message to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: EmailAddress,
    /// Shown next to the address by mail clients, e.g. the person's full name.
    pub to_name: Option<String>,
    pub subject: String,
    /// Plain UTF-8 text; `\n` or `\r\n` line ends both work.
    pub text: String,
}

impl OutgoingEmail {
    pub fn new(to: EmailAddress, subject: impl Into<String>, text: impl Into<String>) -> Self {
        OutgoingEmail { to, to_name: None, subject: subject.into(), text: text.into() }
    }

    pub fn with_to_name(mut self, name: impl Into<String>) -> Self {
        self.to_name = Some(name.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message is already phrased for an operator (`mail.smtp.host ...`);
    /// the config loader adds which section it came from.
    #[error("{0}")]
    Config(String),
    #[error("invalid email address: {0}")]
    Address(#[from] EmailAddressError),
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("cannot write to the mail outbox {path}: {source}")]
    Outbox { path: PathBuf, source: std::io::Error },
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("SMTP delivery did not finish within {0} seconds")]
    Timeout(u64),
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: OutgoingEmail) -> Result<(), MailError>;
}

/// The SMTP relay when `[mail.smtp]` is configured, otherwise the outbox in
/// `outbox_dir`. Must be called inside the tokio runtime (the SMTP connection
/// pool starts a background task).
pub fn mailer_from_config(cfg: &MailConfig, outbox_dir: PathBuf) -> Result<Arc<dyn Mailer>, MailError> {
    cfg.validate()?;
    let from = cfg.sender()?;
    match &cfg.smtp {
        Some(smtp) => {
            let mailer = SmtpMailer::new(smtp, from)?;
            tracing::info!(
                host = %smtp.host,
                port = smtp.effective_port(),
                security = ?smtp.security,
                "mail: sending through SMTP"
            );
            Ok(Arc::new(mailer))
        }
        None => {
            let mailer = OutboxMailer::new(outbox_dir, from)?;
            // `kapu serve` says it loudly at start-up (in production nobody
            // would get their links); one-shot commands need not repeat it.
            tracing::debug!(
                dir = %mailer.dir().display(),
                "mail: no [mail.smtp] configured; messages are only written to the outbox directory"
            );
            Ok(Arc::new(mailer))
        }
    }
}

/// Sends `email` on a separate task and returns at once.
///
/// The page that triggered the message (registration, password reset, ...)
/// must answer in the same time, and the same way, whether or not an account
/// exists and whether or not the relay is slow or down; otherwise response
/// times would tell an attacker which addresses are registered. Failures are
/// therefore only logged.
pub fn send_in_background(mailer: Arc<dyn Mailer>, email: OutgoingEmail) {
    let to = email.to.clone();
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Only reachable from code running outside the server's runtime;
        // dropping the message beats panicking in a request path.
        tracing::warn!(to = %to, "mail: not sent: no tokio runtime to send from");
        return;
    };
    runtime.spawn(async move {
        if let Err(error) = mailer.send(email).await {
            tracing::warn!(to = %to, error = %error, "mail: sending failed");
        }
    });
}
