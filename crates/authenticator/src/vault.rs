//! The vault: the user's accounts in one passphrase-encrypted file.
//!
//! The file is an encrypted backup ([`crate::envelope`] around
//! [`crate::backup`]'s JSON), so a copy of the vault can be restored anywhere
//! a backup can. It is replaced atomically on every save, and the previous
//! versions are kept as `<vault>.bak`, `<vault>.bak.2`... ([`crate::atomic`]).
//!
//! A change is a read-modify-write under the vault's lock: [`Vault::lock`]
//! takes it and reads the file again (another `kapu otp` may have saved
//! since this one opened it), the caller changes the accounts, and
//! [`Vault::save`] writes them; the lock goes with the `Vault`. A writer that
//! cannot get the lock in time gets [`VaultError::Busy`]: an acknowledged
//! change is never overwritten by one that did not see it.
//!
//! Opening tells apart what the user must act on differently: no vault yet,
//! a wrong passphrase, a truncated file, a file that is not a vault at all,
//! and a vault whose contents fail authentication.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::account::Account;
use crate::atomic::{self, FileLock, LockError};
use crate::backup;
use crate::envelope::{self, KdfParams, OpenError, SealError, SealingKey};

/// How long a writer waits for another one to finish, by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// The vault's file name inside the data directory.
pub const FILE_NAME: &str = "authenticator.vault";

/// `$XDG_DATA_HOME/kapu/authenticator.vault`, or
/// `~/.local/share/kapu/authenticator.vault` (the XDG default); `None` when
/// neither variable says where home is.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    let from_env = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let data_home = from_env("XDG_DATA_HOME")
        .or_else(|| from_env("HOME").map(|h| h.join(".local").join("share")))
        .or_else(|| from_env("LOCALAPPDATA"))?;
    Some(data_home.join("kapu").join(FILE_NAME))
}

/// What to tell the user about `<vault>.bak` after a failure.
struct BackupHint<'a>(&'a Path);

impl fmt::Display for BackupHint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bak = atomic::backup_path(self.0);
        if bak.is_file() {
            write!(
                f,
                "; the previous version is in {}: check it with `kapu otp list --vault {}` and copy it over the vault",
                bak.display(),
                bak.display()
            )
        } else {
            Ok(())
        }
    }
}

/// Why the vault could not be opened or saved.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No file at the path.
    #[error("there is no vault at {} yet: add an account with `kapu otp add` to create it", .0.display())]
    NotFound(PathBuf),
    /// [`Vault::create`] found a file already there.
    #[error("a vault already exists at {}", .0.display())]
    AlreadyExists(PathBuf),
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// "read", "write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The passphrase does not open it.
    #[error("wrong passphrase for the vault {}", .0.display())]
    WrongPassphrase(PathBuf),
    /// The file ends early.
    #[error("the vault {} is incomplete (truncated){}", .0.display(), BackupHint(.0))]
    Truncated(PathBuf),
    /// Not a vault (garbage, or another kind of file).
    #[error("{} is not a kapu authenticator vault: it is damaged or another kind of file{}", .0.display(), BackupHint(.0))]
    NotAVault(PathBuf),
    /// Written by a newer version.
    #[error("the vault {} was written by a newer kapu (format version {version}): update kapu", .path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u64,
    },
    /// The header is damaged.
    #[error("the vault {} has a damaged header ({reason}){}", .path.display(), BackupHint(.path))]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The passphrase is right but the contents fail authentication.
    #[error(
        "the vault {} is damaged: the passphrase is right, but its contents fail authentication{}",
        .0.display(), BackupHint(.0)
    )]
    Damaged(PathBuf),
    /// Decrypted, but the JSON inside is wrong (should never happen).
    #[error("the vault {} decrypts, but its contents are unreadable ({reason}){}", .path.display(), BackupHint(.path))]
    Contents {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: backup::BackupError,
    },
    /// Another program saved the vault after we opened it.
    #[error(
        "the vault {} was changed by another kapu since this one opened it; nothing was saved: run the command again",
        .0.display()
    )]
    ChangedOnDisk(PathBuf),
    /// Another `kapu otp` held the vault's lock for longer than we waited.
    #[error(
        "the vault {} is being changed by another kapu otp (waited {:.1} s for it); nothing was saved: run the command again",
        .path.display(), .waited.as_secs_f64()
    )]
    Busy {
        /// The vault.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// Encryption failed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl VaultError {
    fn from_open(path: &Path, e: OpenError) -> Self {
        let p = || path.to_owned();
        match e {
            OpenError::Truncated => Self::Truncated(p()),
            OpenError::NotEncryptedFormat => Self::NotAVault(p()),
            OpenError::UnsupportedVersion(version) => Self::UnsupportedVersion { path: p(), version },
            OpenError::BadHeader(reason) => Self::BadHeader { path: p(), reason },
            OpenError::WrongPassphrase => Self::WrongPassphrase(p()),
            OpenError::Damaged => Self::Damaged(p()),
        }
    }

    fn from_lock(path: &Path, e: LockError) -> Self {
        match e {
            LockError::Busy { waited, .. } => Self::Busy { path: path.to_owned(), waited },
            LockError::Io { path, source } => Self::Io { action: "lock", path, source },
        }
    }
}

/// An open vault: its accounts in memory, and the key to save them again.
#[derive(Debug)]
pub struct Vault {
    path: PathBuf,
    key: SealingKey,
    /// Kept to read the file again after another program saved it with
    /// another salt (a concurrent create, a passphrase change).
    passphrase: Zeroizing<String>,
    lock: Option<FileLock>,
    lock_wait: Duration,
    /// The accounts, in the user's order.
    pub accounts: Vec<Account>,
    /// The file's bytes as last read or written (`None`: not saved yet),
    /// to notice another program saving in between.
    on_disk: Option<Vec<u8>>,
}

impl Vault {
    /// A new, empty vault at `path`, written on the first [`Vault::save`].
    /// Fails if a file is already there.
    pub fn create(path: &Path, passphrase: &str, params: KdfParams) -> Result<Self, VaultError> {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(VaultError::AlreadyExists(path.to_owned()));
        }
        Ok(Self {
            path: path.to_owned(),
            key: SealingKey::new(passphrase, params)?,
            passphrase: Zeroizing::new(passphrase.to_owned()),
            lock: None,
            lock_wait: DEFAULT_LOCK_WAIT,
            accounts: Vec::new(),
            on_disk: None,
        })
    }

    /// Opens the vault at `path`.
    pub fn open(path: &Path, passphrase: &str) -> Result<Self, VaultError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => VaultError::NotFound(path.to_owned()),
            _ => VaultError::Io { action: "read", path: path.to_owned(), source },
        })?;
        let (accounts, key) = decrypt(path, &bytes, passphrase)?;
        Ok(Self {
            path: path.to_owned(),
            key,
            passphrase: Zeroizing::new(passphrase.to_owned()),
            lock: None,
            lock_wait: DEFAULT_LOCK_WAIT,
            accounts,
            on_disk: Some(bytes),
        })
    }

    /// How long [`Vault::lock`] and [`Vault::save`] wait for another writer.
    pub fn set_lock_wait(&mut self, wait: Duration) {
        self.lock_wait = wait;
    }

    /// Takes the vault's lock (waiting for another writer up to the lock
    /// wait) and reads the file again, so that a change made now is made to
    /// the latest accounts. Returns whether they changed since opening.
    /// The lock is held until [`Vault::unlock`] or the vault is dropped.
    pub fn lock(&mut self) -> Result<bool, VaultError> {
        self.take_lock()?;
        atomic::remove_stale_temporaries(&self.path);
        let current = self.read_current()?;
        if current == self.on_disk {
            return Ok(false);
        }
        match current {
            // Removed meanwhile: what we hold will be written as a new vault.
            None => self.on_disk = None,
            Some(bytes) => {
                let (accounts, key) = decrypt(&self.path, &bytes, &self.passphrase)?;
                self.accounts = accounts;
                self.key = key;
                self.on_disk = Some(bytes);
            }
        }
        Ok(true)
    }

    /// Releases the lock (for long-running views between changes).
    pub fn unlock(&mut self) {
        self.lock = None;
    }

    fn take_lock(&mut self) -> Result<(), VaultError> {
        if self.lock.is_none() {
            if let Some(dir) = self.path.parent() {
                atomic::create_private_dir(dir).map_err(|source| VaultError::Io {
                    action: "create the directory of",
                    path: self.path.clone(),
                    source,
                })?;
            }
            self.lock =
                Some(FileLock::acquire(&self.path, self.lock_wait).map_err(|e| VaultError::from_lock(&self.path, e))?);
        }
        Ok(())
    }

    fn read_current(&self) -> Result<Option<Vec<u8>>, VaultError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(VaultError::Io { action: "read", path: self.path.clone(), source }),
        }
    }

    /// From now on the vault is encrypted under `passphrase` (a new salt,
    /// and `params`); written by the next [`Vault::save`].
    pub fn change_passphrase(&mut self, passphrase: &str, params: KdfParams) -> Result<(), VaultError> {
        self.key = SealingKey::new(passphrase, params)?;
        self.passphrase = Zeroizing::new(passphrase.to_owned());
        Ok(())
    }

    /// Where the vault lives.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the vault has never been written (created in this run).
    #[must_use]
    pub fn is_new(&self) -> bool {
        self.on_disk.is_none()
    }

    /// Writes the accounts: atomically, keeping the previous file as
    /// `<vault>.bak`, and only if no other program saved it since it was
    /// opened.
    pub fn save(&mut self) -> Result<(), VaultError> {
        self.save_with(|f| f)
    }

    pub(crate) fn save_with<W: Write>(&mut self, wrap: impl FnOnce(std::fs::File) -> W) -> Result<(), VaultError> {
        // Without the lock taken before the change, take it now: then a
        // save by another program in between is noticed below and refused.
        self.take_lock()?;
        if self.read_current()? != self.on_disk {
            return Err(VaultError::ChangedOnDisk(self.path.clone()));
        }
        let sealed = self.key.seal(&backup::to_json(&self.accounts)?)?;
        atomic::replace_with(&self.path, &sealed, true, wrap).map_err(|source| VaultError::Io {
            action: "write",
            path: self.path.clone(),
            source,
        })?;
        self.on_disk = Some(sealed);
        Ok(())
    }
}

fn decrypt(path: &Path, bytes: &[u8], passphrase: &str) -> Result<(Vec<Account>, SealingKey), VaultError> {
    let (plaintext, key) = envelope::open(bytes, passphrase).map_err(|e| VaultError::from_open(path, e))?;
    let accounts =
        backup::from_json(&plaintext).map_err(|reason| VaultError::Contents { path: path.to_owned(), reason })?;
    Ok((accounts, key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::fs;

    use super::*;
    use crate::atomic::tests::FullDisk;
    use crate::test_support::totp;

    const P: &str = "a long vault passphrase";

    fn new_vault(dir: &Path) -> Vault {
        let path = dir.join("sub").join(FILE_NAME);
        let mut v = Vault::create(&path, P, KdfParams::TEST_ONLY_WEAK).unwrap();
        v.accounts.push(totp("kapu", "imre", "JBSWY3DPEHPK3PXP"));
        v.save().unwrap();
        v.unlock();
        v
    }

    #[test]
    fn create_save_open() {
        let dir = tempfile::tempdir().unwrap();
        let v = new_vault(dir.path());
        assert!(matches!(Vault::create(v.path(), P, KdfParams::TEST_ONLY_WEAK), Err(VaultError::AlreadyExists(_))));
        let again = Vault::open(v.path(), P).unwrap();
        assert_eq!(again.accounts, v.accounts);
        assert!(!again.is_new());
        let text = fs::read_to_string(v.path()).unwrap();
        assert!(text.contains("kapu-authenticator-encrypted"));
        assert!(!text.contains("JBSWY3DPEHPK3PXP") && !text.contains("imre"), "nothing readable on disk");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(v.path().parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn wrong_passphrase_truncated_garbage_damaged_missing_differ() {
        let dir = tempfile::tempdir().unwrap();
        let v = new_vault(dir.path());
        let path = v.path().to_owned();
        let bytes = fs::read(&path).unwrap();
        let messages = |e: VaultError| e.to_string();

        let wrong = Vault::open(&path, "not the passphrase").unwrap_err();
        assert!(matches!(wrong, VaultError::WrongPassphrase(_)), "{wrong}");
        assert_eq!(messages(wrong), format!("wrong passphrase for the vault {}", path.display()));

        fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
        let truncated = Vault::open(&path, P).unwrap_err();
        assert!(matches!(truncated, VaultError::Truncated(_)), "{truncated}");
        assert!(messages(truncated).contains("incomplete (truncated)"));

        fs::write(&path, b"\x00\x01garbage that is not json").unwrap();
        let garbage = Vault::open(&path, P).unwrap_err();
        assert!(matches!(garbage, VaultError::NotAVault(_)), "{garbage}");

        let mut damaged = bytes.clone();
        let at = String::from_utf8_lossy(&bytes).find("\"ciphertext\": \"").unwrap() + 16;
        damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
        fs::write(&path, &damaged).unwrap();
        let damaged = Vault::open(&path, P).unwrap_err();
        assert!(matches!(damaged, VaultError::Damaged(_)), "{damaged}");

        assert!(matches!(Vault::open(&dir.path().join("none"), P), Err(VaultError::NotFound(_))));
    }

    #[test]
    fn failed_write_keeps_old_vault_and_bak_is_previous() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        v.accounts.push(totp("second", "x", "GEZDGNBVGY3TQOJQ"));
        v.save().unwrap();
        let bak = Vault::open(&atomic::backup_path(v.path()), P).unwrap();
        assert_eq!(bak.accounts.len(), 1, ".bak holds the version before the last save");

        v.accounts.push(totp("third", "x", "MFRGGZDFMZTWQ2LK"));
        let e = v.save_with(|f| FullDisk { inner: f, budget: 100 }).unwrap_err();
        assert!(e.to_string().contains("no space left"), "{e}");
        let still = Vault::open(v.path(), P).unwrap();
        assert_eq!(still.accounts.len(), 2, "the old vault still opens");
        assert_eq!(Vault::open(&atomic::backup_path(v.path()), P).unwrap().accounts.len(), 1);
    }

    #[test]
    fn refuses_to_overwrite_a_concurrent_save() {
        let dir = tempfile::tempdir().unwrap();
        let v = new_vault(dir.path());
        let mut a = Vault::open(v.path(), P).unwrap();
        let mut b = Vault::open(v.path(), P).unwrap();
        a.accounts.push(totp("a", "a", "GEZDGNBVGY3TQOJQ"));
        a.save().unwrap();
        b.accounts.push(totp("b", "b", "MFRGGZDFMZTWQ2LK"));
        b.set_lock_wait(Duration::from_millis(50));
        assert!(matches!(b.save(), Err(VaultError::Busy { .. })), "a holds the lock until dropped");
        drop(a);
        assert!(matches!(b.save(), Err(VaultError::ChangedOnDisk(_))));
        assert_eq!(Vault::open(v.path(), P).unwrap().accounts.len(), 2);
    }

    #[test]
    fn lock_reads_the_latest_version_before_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let v = new_vault(dir.path());
        let mut a = Vault::open(v.path(), P).unwrap();
        let mut b = Vault::open(v.path(), P).unwrap();
        assert!(!a.lock().unwrap());
        a.accounts.push(totp("a", "a", "GEZDGNBVGY3TQOJQ"));
        a.save().unwrap();
        b.set_lock_wait(Duration::from_millis(50));
        assert!(matches!(b.lock(), Err(VaultError::Busy { .. })));
        drop(a);
        assert!(b.lock().unwrap(), "b sees a's save");
        b.accounts.push(totp("b", "b", "MFRGGZDFMZTWQ2LK"));
        b.save().unwrap();
        drop(b);
        let names: Vec<String> = Vault::open(v.path(), P).unwrap().accounts.iter().map(Account::label).collect();
        assert_eq!(names, ["kapu:imre", "a:a", "b:b"]);
    }

    #[test]
    fn passphrase_change_keeps_accounts_and_bak_keeps_the_old_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        v.lock().unwrap();
        v.change_passphrase("another long passphrase", KdfParams::TEST_ONLY_WEAK).unwrap();
        v.save().unwrap();
        assert!(matches!(Vault::open(v.path(), P), Err(VaultError::WrongPassphrase(_))));
        assert_eq!(Vault::open(v.path(), "another long passphrase").unwrap().accounts, v.accounts);
        assert_eq!(Vault::open(&atomic::backup_path(v.path()), P).unwrap().accounts, v.accounts);
    }
}
