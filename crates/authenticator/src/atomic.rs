//! Replacing a file so that a crash, a full disk or a power cut at any moment
//! leaves either the old or the new contents under the name, never a mix,
//! and so that concurrent writers never lose each other's changes:
//!
//! * [`FileLock`]: an exclusive advisory lock (`flock`) on `<file>.lock`,
//!   held by a writer around its whole read-modify-write. A second writer
//!   waits a little for it, then fails with a clear error; it never
//!   overwrites a change it has not read.
//! * [`replace`]:
//!   1. write the new contents to a temporary file of its own
//!      (`<file>.tmp-<pid>-<random>`) in the same directory (same file
//!      system, so the rename below is atomic) and fsync it;
//!   2. keep the previous versions: `<file>.bak` (the last), `<file>.bak.2`,
//!      ... up to [`BACKUP_GENERATIONS`], each renamed one place down and the
//!      current file hard-linked as the new `<file>.bak`, so each is always
//!      complete (a copy where links are not supported);
//!   3. rename the temporary file over `<file>`, and fsync the directory so
//!      that the renames themselves survive a power cut.
//!
//! If step 1 fails, the temporary file is removed and nothing else changed.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand_core::RngCore as _;

/// How many previous versions are kept: `<file>.bak`, `<file>.bak.2`, ...
pub const BACKUP_GENERATIONS: usize = 5;

/// `<path><suffix>`, e.g. `authenticator.vault.bak`.
#[must_use]
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The backup kept of `path`'s previous contents.
#[must_use]
pub fn backup_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

/// The `generation`-th previous version of `path` (1 is `<path>.bak`, 2 is
/// `<path>.bak.2`...).
#[must_use]
pub fn backup_generation(path: &Path, generation: usize) -> PathBuf {
    if generation <= 1 { backup_path(path) } else { with_suffix(path, &format!(".bak.{generation}")) }
}

/// The lock file of `path`.
#[must_use]
pub fn lock_path(path: &Path) -> PathBuf {
    with_suffix(path, ".lock")
}

/// An exclusive lock on `<file>.lock`, released when dropped (or when the
/// process dies, however it dies: the kernel releases `flock` locks with
/// the last descriptor).
///
/// The lock file itself is never removed: removing it would let a writer
/// that opened the old file and one that created a new one both "hold" it.
#[derive(Debug)]
pub struct FileLock {
    /// Held open for the lock; never read.
    _file: File,
}

/// The lock is held by another process for longer than we wait.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another program holds it.
    #[error("another program is changing it (it holds {}); waited {:.1} s", .path.display(), .waited.as_secs_f64())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl FileLock {
    /// Takes the lock of `path` (creating `<path>.lock` if needed), trying
    /// again every few milliseconds for up to `wait`.
    pub fn acquire(path: &Path, wait: Duration) -> Result<Self, LockError> {
        let lock = lock_path(path);
        let io_err = |source| LockError::Io { path: lock.clone(), source };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&lock).map_err(io_err)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match try_lock(&file) {
                Ok(true) => return Ok(Self { _file: file }),
                Ok(false) => {}
                Err(e) => return Err(io_err(e)),
            }
            let waited = start.elapsed();
            if waited >= wait {
                return Err(LockError::Busy { path: lock, waited });
            }
            std::thread::sleep(pause.min(wait - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    // Without flock the ChangedOnDisk check of the vault still refuses to
    // overwrite another program's save.
    Ok(true)
}

/// Creates a file readable by its owner only (on Unix).
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates `dir` (and parents) if missing, readable by its owner only on
/// Unix when this call creates it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // Not every platform can open a directory for syncing; there the rename
    // is still atomic, only its durability across a power cut is weaker.
    match File::open(dir) {
        Ok(d) => match d.sync_all() {
            Err(e) if cfg!(unix) => Err(e),
            _ => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// A name for this writer's temporary file: `<path>.tmp-<pid>-<random>`.
fn temp_path(path: &Path) -> PathBuf {
    let mut random = [0u8; 6];
    let _ = rand_core::OsRng.try_fill_bytes(&mut random);
    with_suffix(path, &format!(".tmp-{}-{}", std::process::id(), data_encoding::HEXLOWER.encode(&random)))
}

/// Removes temporary files that writers killed mid-save left next to
/// `path`. Only call while holding its [`FileLock`]: a writer writes its
/// temporary file only while it holds the lock, so any there now is dead.
pub fn remove_stale_temporaries(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!("{name}.tmp-");
    let Ok(entries) = fs::read_dir(parent(path)) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix)
            && entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `contents` as described in the module
/// documentation, keeping [`BACKUP_GENERATIONS`] previous versions when
/// `keep_backup` is set.
pub fn replace(path: &Path, contents: &[u8], keep_backup: bool) -> io::Result<()> {
    replace_with(path, contents, keep_backup, |file| file)
}

/// [`replace`], writing through `wrap(file)`: tests pass a writer that fails
/// part-way, as a full disk would.
pub(crate) fn replace_with<W: Write>(
    path: &Path,
    contents: &[u8],
    keep_backup: bool,
    wrap: impl FnOnce(File) -> W,
) -> io::Result<()> {
    let dir = parent(path);
    let tmp = temp_path(path);
    let file = create_private(&tmp)?;
    let written = write_and_sync(file, contents, wrap);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if keep_backup
        && fs::symlink_metadata(path).is_ok()
        && let Err(e) = keep_previous(path)
    {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

fn write_and_sync<W: Write>(file: File, contents: &[u8], wrap: impl FnOnce(File) -> W) -> io::Result<()> {
    let sync_handle = file.try_clone()?;
    let mut writer = wrap(file);
    writer.write_all(contents)?;
    writer.flush()?;
    drop(writer);
    sync_handle.sync_all()
}

/// Makes the current `path` the newest backup, shifting the older ones one
/// generation down (the oldest falls off). The new `.bak` is prepared
/// first, so a failure there changes nothing.
fn keep_previous(path: &Path) -> io::Result<()> {
    let bak_tmp = with_suffix(path, ".bak.tmp");
    if fs::symlink_metadata(&bak_tmp).is_ok_and(|m| !m.is_dir()) {
        fs::remove_file(&bak_tmp)?;
    }
    if fs::hard_link(path, &bak_tmp).is_err() {
        let contents = fs::read(path)?;
        write_and_sync(create_private(&bak_tmp)?, &contents, |f| f)?;
    }
    for generation in (1..BACKUP_GENERATIONS).rev() {
        let older = backup_generation(path, generation);
        if fs::symlink_metadata(&older).is_ok() {
            fs::rename(&older, backup_generation(path, generation + 1))?;
        }
    }
    fs::rename(&bak_tmp, backup_path(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;

    /// A writer that accepts `budget` bytes and then fails like a full disk.
    pub(crate) struct FullDisk<W> {
        pub(crate) inner: W,
        pub(crate) budget: usize,
    }

    impl<W: Write> Write for FullDisk<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device"));
            }
            let n = buf.len().min(self.budget);
            self.budget -= n;
            self.inner.write(&buf[..n])
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    fn temporaries(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_and_keeps_generations_of_backups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        replace(&p, b"one", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert!(!backup_path(&p).exists());
        replace(&p, b"two", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"one");
        for n in 3..=8 {
            replace(&p, format!("v{n}").as_bytes(), true).unwrap();
        }
        assert_eq!(fs::read(&p).unwrap(), b"v8");
        assert_eq!(fs::read(backup_generation(&p, 1)).unwrap(), b"v7");
        assert_eq!(fs::read(backup_generation(&p, 2)).unwrap(), b"v6");
        assert_eq!(fs::read(backup_generation(&p, BACKUP_GENERATIONS)).unwrap(), b"v3");
        assert!(!backup_generation(&p, BACKUP_GENERATIONS + 1).exists(), "the oldest falls off");
        assert!(temporaries(dir.path()).is_empty(), "{:?}", temporaries(dir.path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn full_disk_midway_leaves_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        replace(&p, b"old contents", true).unwrap();
        let e =
            replace_with(&p, b"new contents that do not fit", true, |f| FullDisk { inner: f, budget: 5 }).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs::read(&p).unwrap(), b"old contents");
        assert!(temporaries(dir.path()).is_empty(), "no half-written file left behind");
        assert!(!backup_path(&p).exists(), "backup untouched when nothing was replaced");
    }

    #[test]
    fn stale_temporaries_are_removed_under_the_lock_and_a_blocked_backup_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        replace(&p, b"old", true).unwrap();
        fs::write(with_suffix(&p, ".tmp-123-abcdef"), b"crashed half").unwrap();
        remove_stale_temporaries(&p);
        assert!(temporaries(dir.path()).is_empty());
        replace(&p, b"new", true).unwrap();
        fs::create_dir(with_suffix(&p, ".bak.tmp")).unwrap();
        fs::write(with_suffix(&p, ".bak.tmp").join("x"), b"x").unwrap();
        assert!(replace(&p, b"newer", true).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"old");
    }

    #[test]
    fn a_second_locker_waits_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let held = FileLock::acquire(&p, Duration::ZERO).unwrap();
        // flock locks belong to the open file description: a second open in
        // the same process conflicts like another process would.
        let start = Instant::now();
        let e = FileLock::acquire(&p, Duration::from_millis(200)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert!(e.to_string().contains("another program is changing it"), "{e}");
        drop(held);
        assert!(FileLock::acquire(&p, Duration::ZERO).is_ok());
    }
}
