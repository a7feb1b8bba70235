//! The outbox: one readable `.eml` file per message instead of delivery.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;

use super::message::{self, BodyEncoding};
use super::{MailError, Mailer, OutgoingEmail, Sender};

/// Writes every message into a directory, named so that sorting the names
/// sorts the messages by time: `20261122T031500.123Z-1a2b3c4d.eml`.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Sender,
}

impl OutboxMailer {
    /// Creates `dir` (mode 0700) if it is missing. The files hold live
    /// single-use links, hence private modes on both.
    pub fn new(dir: PathBuf, from: impl Into<Sender>) -> Result<Self, MailError> {
        let outbox_err = |source| MailError::Outbox { path: dir.clone(), source };
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(outbox_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).map_err(outbox_err)?.permissions().mode();
            if mode & 0o077 != 0 {
                // An existing directory is the operator's; say so rather
                // than silently changing it. The files themselves are 0600.
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "mail: the outbox directory is accessible to other users"
                );
            }
        }
        Ok(OutboxMailer { dir, from: from.into() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), MailError> {
        let bytes = message::build(&self.from, &email, BodyEncoding::EightBit)?.formatted();
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_message(&dir, &bytes))
            .await
            .map_err(|e| MailError::Outbox { path: self.dir.clone(), source: io::Error::other(e) })??;
        tracing::info!(to = %email.to, path = %path.display(), "mail: written to the outbox");
        Ok(())
    }
}

/// Write to a hidden temporary name, flush to disk, then rename: a reader
/// polling the directory sees either no file or the whole message, and a
/// crash leaves no half-written `.eml`.
fn write_message(dir: &Path, bytes: &[u8]) -> Result<PathBuf, MailError> {
    let name = format!("{}.eml", file_stem()?);
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let outbox_err = |source| MailError::Outbox { path: path.clone(), source };

    let written = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        // Best effort: the temp file may not even exist.
        let _ = fs::remove_file(&tmp);
        return Err(outbox_err(e));
    }
    // Makes the rename itself durable. The message is complete and visible
    // either way, so a failure here is not worth failing the send.
    #[cfg(unix)]
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(path)
}

/// The newest timestamp handed out, so that two messages written in the same
/// millisecond still sort in the order they were sent.
static LAST_MILLISECOND: Mutex<i64> = Mutex::new(i64::MIN);

fn file_stem() -> Result<String, MailError> {
    let now = Timestamp::now();
    let ms = {
        let mut last = LAST_MILLISECOND.lock().unwrap_or_else(PoisonError::into_inner);
        let ms = now.as_millisecond().max(last.saturating_add(1));
        *last = ms;
        ms
    };
    let ts = Timestamp::from_millisecond(ms).unwrap_or(now);
    Ok(format!("{}-{}", ts.strftime("%Y%m%dT%H%M%S%.3fZ"), message::random_hex(4)?))
}

/// One message read back from an outbox directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub path: PathBuf,
    /// The recipient's bare address.
    pub to: String,
    /// Decoded (RFC 2047 undone).
    pub subject: String,
    /// The decoded body, `\n` line ends.
    pub text: String,
}

/// All messages in `dir`, oldest first, for tests and tools that need to
/// follow an emailed link. Temporary files of writes in progress are skipped.
pub fn read_outbox(dir: &Path) -> io::Result<Vec<OutboxMessage>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".eml") && !name.starts_with('.') && entry.file_type()?.is_file() {
            paths.push(entry.path());
        }
    }
    paths.sort();
    paths.into_iter().map(read_message).collect()
}

/// One message file (an outbox's, or one an SMTP server stored).
pub fn read_message(path: PathBuf) -> io::Result<OutboxMessage> {
    let raw = fs::read(&path)?;
    let parsed = message::parse(&raw)
        .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", path.display())))?;
    Ok(OutboxMessage { path, to: parsed.to, subject: parsed.subject, text: parsed.text })
}
