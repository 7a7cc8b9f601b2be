//! Saving and restoring everything a filter learned and remembers, as one
//! directory that is replaced atomically.
//!
//! ```text
//! DIR/MANIFEST             which state is current, and each file's size and checksum
//! DIR/state-<unique>/      the current state's files:
//!     model.dmgm           the model with its learned weights (absent without a model)
//!     learned.bin          per-brand overlays, unlearn journals, brand reputation
//!     stream.json          the stream snapshot (senders, campaigns, shared reputation)
//! ```
//!
//! A save writes a fresh `tmp-<unique>` directory, syncs every file and the
//! directory, renames it to `state-<unique>`, then replaces `MANIFEST`
//! through a synced temporary file and a rename, and only then removes the
//! previous state. A reader follows `MANIFEST`, so it sees the old state or
//! the new one, never half of one; a writer killed at any point leaves the
//! previous state loadable. Saves within one process take turns; two
//! processes must not save into one directory at once.

pub(crate) mod codec;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::Error;
use crate::hash::fnv;

const MANIFEST: &str = "MANIFEST";
const HEADER: &str = "dmguard-state 1";
pub(crate) const MODEL: &str = "model.dmgm";
pub(crate) const LEARNED: &str = "learned.bin";
pub(crate) const STREAM: &str = "stream.json";

/// Saves in this process take turns, so that one never removes the
/// directory another has just published.
static SAVING: Mutex<()> = Mutex::new(());

/// A name no other save, in this process or another, has used.
fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Relaxed)
    )
}

/// Syncs a directory, so that a rename inside it survives a crash.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for syncing on every platform; where
    // they cannot, the rename is as durable as that platform makes it.
    match std::fs::File::open(dir) {
        Ok(d) => d.sync_all().or(Ok(())),
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` to a new file at `path` and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Replaces `path` with `bytes` atomically: a temporary file unique to
/// this save in the same directory, synced, renamed over `path`, and the
/// directory synced; a crash at any point leaves the old file or the new
/// one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", unique()));
    let tmp = path.with_file_name(tmp_name);
    if let Err(e) = write_synced(&tmp, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    sync_dir(parent.unwrap_or(Path::new("."))).map_err(|e| Error::io(path, e))
}

/// Saves `files` (name, bytes) as the new state of `dir`.
pub(crate) fn save(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), Error> {
    let _turn = SAVING.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = unique();
    let tmp = dir.join(format!("tmp-{name}"));
    let state = format!("state-{name}");
    let write = || -> Result<(), Error> {
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        for (file, bytes) in files {
            let path = tmp.join(file);
            write_synced(&path, bytes).map_err(|e| Error::io(&path, e))?;
        }
        sync_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let published = dir.join(&state);
        std::fs::rename(&tmp, &published).map_err(|e| Error::io(&published, e))?;
        sync_dir(dir).map_err(|e| Error::io(dir, e))
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_dir_all(dir.join(&state));
        return Err(e);
    }
    let mut manifest = format!("{HEADER}\nstate {state}\n");
    for (file, bytes) in files {
        manifest.push_str(&format!(
            "file {file} {} {:016x}\n",
            bytes.len(),
            fnv(bytes)
        ));
    }
    manifest.push_str(&format!("checksum {:016x}\n", fnv(manifest.as_bytes())));
    if let Err(e) = write_atomic(&dir.join(MANIFEST), manifest.as_bytes()) {
        let _ = std::fs::remove_dir_all(dir.join(&state));
        return Err(e);
    }
    // The previous state, and what writers killed mid-save left behind.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            let stale = (file.starts_with("state-") && file != state)
                || file.starts_with("tmp-")
                || file.starts_with("MANIFEST.tmp-");
            if stale {
                let path = entry.path();
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
    }
    Ok(())
}

/// A state read back: each file's bytes, checked against the manifest.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub files: Vec<(String, PathBuf, Vec<u8>)>,
}

impl Loaded {
    /// The bytes of `name` and its path, if the state has that file.
    pub fn get(&self, name: &str) -> Option<(&Path, &[u8])> {
        self.files
            .iter()
            .find(|f| f.0 == name)
            .map(|f| (f.1.as_path(), f.2.as_slice()))
    }

    /// The bytes of `name`, which every state has.
    pub fn require(&self, name: &str, dir: &Path) -> Result<(&Path, &[u8]), Error> {
        self.get(name).ok_or_else(|| {
            Error::invalid_input(format!(
                "{}: the saved state has no {name}",
                dir.join(MANIFEST).display()
            ))
        })
    }
}

fn bad(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::invalid_input(format!("{}: {message}", path.display()))
}

/// Reads the state saved in `dir`; `None` when there is none (no such
/// directory, or an empty one). Every file is checked against its size
/// and checksum in the manifest; an error names the file.
pub(crate) fn load(dir: &Path) -> Result<Option<Loaded>, Error> {
    let manifest_path = dir.join(MANIFEST);
    let text = match std::fs::read(&manifest_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let empty = match std::fs::read_dir(dir) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err(Error::io(dir, e)),
            };
            return if empty {
                Ok(None)
            } else {
                Err(bad(
                    &manifest_path,
                    "missing: the directory holds no saved state",
                ))
            };
        }
        Err(e) => return Err(Error::io(&manifest_path, e)),
    };
    let text = String::from_utf8(text).map_err(|_| bad(&manifest_path, "corrupt: not UTF-8"))?;
    let body_end = text
        .rfind("checksum ")
        .ok_or_else(|| bad(&manifest_path, "truncated: no checksum line"))?;
    let (body, sum) = text.split_at(body_end);
    let sum = sum
        .trim_end()
        .strip_prefix("checksum ")
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| bad(&manifest_path, "corrupt checksum line"))?;
    if sum != fnv(body.as_bytes()) {
        return Err(bad(&manifest_path, "corrupt: the checksum does not match"));
    }
    let mut lines = body.lines();
    if lines.next() != Some(HEADER) {
        return Err(bad(
            &manifest_path,
            format!("not a saved state (expected \"{HEADER}\")"),
        ));
    }
    let state = lines
        .next()
        .and_then(|l| l.strip_prefix("state "))
        .filter(|s| s.starts_with("state-") && !s.contains(['/', '\\']))
        .ok_or_else(|| bad(&manifest_path, "corrupt: no state line"))?;
    let state_dir = dir.join(state);
    let mut files = Vec::new();
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let [_, name, len, sum] = parts[..] else {
            return Err(bad(&manifest_path, format!("corrupt line {line:?}")));
        };
        let (Ok(len), Ok(sum)) = (len.parse::<usize>(), u64::from_str_radix(sum, 16)) else {
            return Err(bad(&manifest_path, format!("corrupt line {line:?}")));
        };
        if parts[0] != "file" || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(bad(&manifest_path, format!("corrupt line {line:?}")));
        }
        let path = state_dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        if bytes.len() != len {
            return Err(bad(
                &path,
                format!(
                    "truncated or damaged: {} bytes, the manifest says {len}",
                    bytes.len()
                ),
            ));
        }
        if fnv(&bytes) != sum {
            return Err(bad(
                &path,
                "corrupt: the checksum does not match the manifest",
            ));
        }
        files.push((name.to_string(), path, bytes));
    }
    Ok(Some(Loaded { files }))
}
