//! Replacing a file so that a crash, a full disk or a power cut at any moment
//! leaves either the old or the new contents under the name, never a mix:
//!
//! 1. write the new contents to `<file>.tmp` in the same directory (same
//!    file system, so the rename below is atomic) and fsync it;
//! 2. point `<file>.bak` at the current file (a hard link renamed into
//!    place, so `.bak` too is always complete; a copy where links are not
//!    supported);
//! 3. rename `<file>.tmp` over `<file>`, and fsync the directory so that the
//!    rename itself survives a power cut.
//!
//! If step 1 fails, the temporary file is removed and nothing else changed.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

fn sync_dir(dir: &Path) {
    // Not every platform can open a directory for syncing; the rename is
    // still atomic, only its durability across a power cut is weaker.
    if let Ok(d) = File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) {
        let _ = d.sync_all();
    }
}

/// Replaces `path` with `contents` as described in the module
/// documentation, keeping the previous contents in `<path>.bak` when
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
    let dir = path.parent().unwrap_or(Path::new(""));
    let tmp = with_suffix(path, ".tmp");
    // A leftover from an earlier crash; remove_file on a symlink removes the
    // link, never its target. A directory in the way makes creation fail.
    if fs::symlink_metadata(&tmp).is_ok_and(|m| !m.is_dir()) {
        fs::remove_file(&tmp)?;
    }
    let file = create_private(&tmp)?;
    let written = write_and_sync(file, contents, wrap);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if keep_backup
        && fs::symlink_metadata(path).is_ok()
        && let Err(e) = point_backup_at(path)
    {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

fn write_and_sync<W: Write>(file: File, contents: &[u8], wrap: impl FnOnce(File) -> W) -> io::Result<()> {
    let sync_handle = file.try_clone()?;
    let mut writer = wrap(file);
    writer.write_all(contents)?;
    writer.flush()?;
    drop(writer);
    sync_handle.sync_all()
}

fn point_backup_at(path: &Path) -> io::Result<()> {
    let bak = backup_path(path);
    let bak_tmp = with_suffix(path, ".bak.tmp");
    if fs::symlink_metadata(&bak_tmp).is_ok_and(|m| !m.is_dir()) {
        fs::remove_file(&bak_tmp)?;
    }
    if fs::hard_link(path, &bak_tmp).is_err() {
        let contents = fs::read(path)?;
        write_and_sync(create_private(&bak_tmp)?, &contents, |f| f)?;
    }
    fs::rename(&bak_tmp, &bak)
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

    #[test]
    fn replaces_and_keeps_backup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        replace(&p, b"one", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert!(!backup_path(&p).exists());
        replace(&p, b"two", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"one");
        replace(&p, b"three", true).unwrap();
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"two");
        assert!(!with_suffix(&p, ".tmp").exists());
        assert!(!with_suffix(&p, ".bak.tmp").exists());
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
        assert!(!with_suffix(&p, ".tmp").exists(), "no half-written file left behind");
        assert!(!backup_path(&p).exists(), "backup untouched when nothing was replaced");
    }

    #[test]
    fn stale_temp_file_is_replaced_but_a_directory_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        replace(&p, b"old", true).unwrap();
        fs::write(with_suffix(&p, ".tmp"), b"crashed half").unwrap();
        replace(&p, b"new", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        fs::create_dir(with_suffix(&p, ".tmp")).unwrap();
        assert!(replace(&p, b"newer", true).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"new");
    }
}
