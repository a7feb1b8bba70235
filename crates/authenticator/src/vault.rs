//! The vault: the user's accounts in one passphrase-encrypted file.
//!
//! The file is an encrypted backup ([`crate::envelope`] around
//! [`crate::backup`]'s JSON), so a copy of the vault can be restored anywhere
//! a backup can. It is replaced atomically on every save, and the previous
//! version is kept as `<vault>.bak` ([`crate::atomic`]).
//!
//! Opening tells apart what the user must act on differently: no vault yet,
//! a wrong passphrase, a truncated file, a file that is not a vault at all,
//! and a vault whose contents fail authentication.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::account::Account;
use crate::atomic;
use crate::backup;
use crate::envelope::{self, KdfParams, OpenError, SealError, SealingKey};

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
    /// Encryption failed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// An open vault: its accounts in memory, and the key to save them again.
#[derive(Debug)]
pub struct Vault {
    path: PathBuf,
    key: SealingKey,
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
        let p = || path.to_owned();
        let (plaintext, key) = envelope::open(&bytes, passphrase).map_err(|e| match e {
            OpenError::Truncated => VaultError::Truncated(p()),
            OpenError::NotEncryptedFormat => VaultError::NotAVault(p()),
            OpenError::UnsupportedVersion(version) => VaultError::UnsupportedVersion { path: p(), version },
            OpenError::BadHeader(reason) => VaultError::BadHeader { path: p(), reason },
            OpenError::WrongPassphrase => VaultError::WrongPassphrase(p()),
            OpenError::Damaged => VaultError::Damaged(p()),
        })?;
        let accounts = backup::from_json(&plaintext).map_err(|reason| VaultError::Contents { path: p(), reason })?;
        Ok(Self { path: path.to_owned(), key, accounts, on_disk: Some(bytes) })
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
        let current = match std::fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(VaultError::Io { action: "read", path: self.path.clone(), source }),
        };
        if current != self.on_disk {
            return Err(VaultError::ChangedOnDisk(self.path.clone()));
        }
        let sealed = self.key.seal(&backup::to_json(&self.accounts)?)?;
        let io_err = |action, source| VaultError::Io { action, path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            atomic::create_private_dir(dir).map_err(|e| io_err("create the directory of", e))?;
        }
        atomic::replace_with(&self.path, &sealed, true, wrap).map_err(|e| io_err("write", e))?;
        self.on_disk = Some(sealed);
        Ok(())
    }
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
        assert!(matches!(b.save(), Err(VaultError::ChangedOnDisk(_))));
        assert_eq!(Vault::open(v.path(), P).unwrap().accounts.len(), 2);
    }
}
