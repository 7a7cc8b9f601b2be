//! Writing a file so that a crash never leaves half of it, and reading one
//! without trusting its size.
//!
//! Every file the crate writes goes through [`write_atomic`] (or, for the
//! files of a saved state, [`write_new`] into a directory that is itself
//! published by a rename): the bytes go to a temporary file in the same
//! directory whose name is unique to this save, created exclusively so
//! that nothing already at that name (a symlink planted there to redirect
//! the write) is ever opened or followed; the file is synced, renamed over
//! the target, and the directory synced, so that the rename survives a
//! power cut.

use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::Error;

/// A name no other save, in this process or another, has used or can
/// guess: the process id, a counter, the time and a random part (the
/// standard library's per-process random hash keys, so that no crate is
/// needed for it).
pub(crate) fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u64(count);
    random.write_u128(nanos);
    format!(
        "{}-{count}-{nanos}-{:016x}",
        std::process::id(),
        random.finish()
    )
}

/// Syncs a directory, so that a rename inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for syncing on every platform; where
    // they cannot, the rename is as durable as that platform makes it.
    match std::fs::File::open(dir) {
        Ok(d) => d.sync_all().or(Ok(())),
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` to a file that must not exist yet at `path`, and syncs
/// it. Creation is exclusive (`O_EXCL`): a file or a symlink already at
/// `path` makes it fail, and a symlink is never followed.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The temporary name a save of `path` writes to first.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", unique()));
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically: a crash at any point leaves
/// the old file or the new one, and a reader sees one or the other whole.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = temporary(path);
    if let Err(e) = write_new(&tmp, bytes) {
        // Only a file this save created is removed: when creation failed
        // because something was already there, it is not ours to delete.
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&tmp);
        }
        return Err(Error::io(&tmp, e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    sync_dir(parent.unwrap_or(Path::new("."))).map_err(|e| Error::io(path, e))
}

/// Reads the file at `path`, refusing one larger than `max` bytes before
/// reading it (and, should it grow while being read, stopping at `max`):
/// a 10 GB file where a model or a policy should be is an error, never
/// an allocation. `too_large` makes the error from a message that names
/// the size and the limit.
pub(crate) fn read_capped(
    path: &Path,
    max: u64,
    too_large: impl FnOnce(String) -> Error,
) -> Result<Vec<u8>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > max {
        return Err(too_large(format!(
            "too large: {len} bytes, the limit is {max}"
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(too_large(format!(
            "too large: more than {max} bytes (the file grew while it was read)"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dmguard-atomic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_are_unique() {
        let names: std::collections::HashSet<String> = (0..1000).map(|_| unique()).collect();
        assert_eq!(names.len(), 1000);
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = scratch_dir("replace");
        let path = dir.join("f.bin");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exclusive_creation_refuses_what_is_already_there() {
        let dir = scratch_dir("exclusive");
        let path = dir.join("taken");
        std::fs::write(&path, b"someone else's").unwrap();
        let e = write_new(&path, b"ours").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"someone else's");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A symlink planted at the temporary name a save is about to use is
    /// not followed: the save fails and the file it points at is intact.
    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_not_followed() {
        let dir = scratch_dir("planted");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"not yours").unwrap();
        let tmp = temporary(&dir.join("model.dmgm"));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let e = write_new(&tmp, b"payload").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&victim).unwrap(), b"not yours");
        // A dangling one is not followed either (it would create the file
        // it names).
        let dangling = dir.join("elsewhere");
        std::fs::remove_file(&tmp).unwrap();
        std::os::unix::fs::symlink(&dangling, &tmp).unwrap();
        assert!(write_new(&tmp, b"payload").is_err());
        assert!(!dangling.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reading_refuses_a_file_over_the_cap_before_reading_it() {
        let dir = scratch_dir("capped");
        let path = dir.join("big");
        let file = std::fs::File::create(&path).unwrap();
        // Sparse: 10 GB on paper, nothing on disk.
        file.set_len(10 << 30).unwrap();
        let e = read_capped(&path, 1 << 20, Error::invalid_input).unwrap_err();
        assert!(
            e.to_string().contains("too large: 10737418240 bytes"),
            "{e}"
        );
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(
            read_capped(&path, 5, Error::invalid_input).unwrap(),
            b"12345"
        );
        assert!(read_capped(&path, 4, Error::invalid_input).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
