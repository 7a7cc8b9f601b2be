//! Saving and restoring everything a filter learned and remembers, as one
//! directory that is replaced atomically.
//!
//! ```text
//! DIR/MANIFEST             which state is current, and each file's size and checksum
//! DIR/LOCK                 locked by the save under way (empty)
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
//! previous state loadable. Saves take turns: within one process through
//! a mutex, between processes through an exclusive lock on `DIR/LOCK`
//! (released by the system when a holder dies), so that no save removes
//! a state another has just published. Readers take no lock: one that
//! finds a state removed under it reads the new manifest again.

mod atomic;
pub(crate) mod codec;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(crate) use atomic::{read_capped, write_atomic};
use atomic::{sync_dir, unique, write_new};

use crate::Error;
use crate::hash::fnv;

const MANIFEST: &str = "MANIFEST";
const LOCK: &str = "LOCK";
const HEADER: &str = "dmguard-state 1";
pub(crate) const MODEL: &str = "model.dmgm";
pub(crate) const LEARNED: &str = "learned.bin";
pub(crate) const STREAM: &str = "stream.json";

/// Saves in this process take turns, so that one never removes the
/// directory another has just published.
static SAVING: Mutex<()> = Mutex::new(());

/// Saves `files` (name, bytes) as the new state of `dir`.
pub(crate) fn save(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), Error> {
    let _turn = SAVING.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Held until the save returns; nothing is ever written to it.
    let lock_path = dir.join(LOCK);
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, e))?;
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;
    let name = unique();
    let tmp = dir.join(format!("tmp-{name}"));
    let state = format!("state-{name}");
    let write = || -> Result<(), Error> {
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        for (file, bytes) in files {
            let path = tmp.join(file);
            write_new(&path, bytes).map_err(|e| Error::io(&path, e))?;
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

/// The largest manifest read: a few lines per file.
const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// The largest state file read. The stream state is bounded by the stream
/// policy's caps and a model by its largest table; a file beyond this is
/// damaged or not ours, and is refused before it is read.
pub(crate) const MAX_STATE_FILE_BYTES: u64 = 1 << 30;

/// How many times a load starts again when a save replaced the state it
/// was reading: a save removes the previous state right after publishing
/// the next, so a reader that lost that race finds a new manifest.
const LOAD_ATTEMPTS: usize = 5;

/// Reads the state saved in `dir`; `None` when there is none (no such
/// directory, or an empty one). Every file is checked against its size
/// and checksum in the manifest; an error names the file.
pub(crate) fn load(dir: &Path) -> Result<Option<Loaded>, Error> {
    let manifest_path = dir.join(MANIFEST);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match load_once(dir, &manifest_path) {
            Err((e, Some(read))) if attempt < LOAD_ATTEMPTS => {
                // A state file went missing: start again if a save has
                // replaced the manifest meanwhile, else it is damage.
                match std::fs::read(&manifest_path) {
                    Ok(now) if now != read => continue,
                    _ => return Err(e),
                }
            }
            result => return result.map_err(|(e, _)| e),
        }
    }
}

/// One attempt of [`load`]. A state file that is missing is returned with
/// the manifest that named it, so that the caller can tell a concurrent
/// save from damage.
fn load_once(dir: &Path, manifest_path: &Path) -> Result<Option<Loaded>, (Error, Option<Vec<u8>>)> {
    let text = match read_capped(manifest_path, MAX_MANIFEST_BYTES, |m| bad(manifest_path, m)) {
        Ok(bytes) => bytes,
        Err(e) if !manifest_path.exists() && std::fs::symlink_metadata(manifest_path).is_err() => {
            let empty = match std::fs::read_dir(dir) {
                // The lock and the temporary files of a first save that
                // failed or was killed are no state either. A state
                // directory without a manifest is: its manifest was lost.
                Ok(mut entries) => entries.all(|e| {
                    e.is_ok_and(|e| {
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        name == LOCK
                            || ["tmp-", "MANIFEST.tmp-"]
                                .iter()
                                .any(|p| name.starts_with(p))
                    })
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err((Error::io(dir, e), None)),
            };
            return if empty {
                Ok(None)
            } else if dir.is_dir() {
                Err((
                    bad(manifest_path, "missing: the directory holds no saved state"),
                    None,
                ))
            } else {
                Err((e, None))
            };
        }
        Err(e) => return Err((e, None)),
    };
    let raw = text.clone();
    let fail = |e: Error| (e, None);
    let text =
        String::from_utf8(text).map_err(|_| fail(bad(manifest_path, "corrupt: not UTF-8")))?;
    if text.is_empty() {
        return Err(fail(bad(manifest_path, "empty")));
    }
    // The first line says which format follows, before anything else is
    // read: a newer format may not even checksum the same way.
    match text.lines().next() {
        Some(HEADER) => {}
        Some(h) if h.starts_with("dmguard-state ") => {
            return Err(fail(bad(
                manifest_path,
                format!("unsupported version: \"{h}\", this library reads \"{HEADER}\""),
            )));
        }
        _ => {
            return Err(fail(bad(
                manifest_path,
                format!("not a saved state (expected \"{HEADER}\")"),
            )));
        }
    }
    let body_end = text
        .rfind("checksum ")
        .ok_or_else(|| fail(bad(manifest_path, "truncated: no checksum line")))?;
    let (body, sum) = text.split_at(body_end);
    let sum = sum
        .trim_end()
        .strip_prefix("checksum ")
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| fail(bad(manifest_path, "corrupt checksum line")))?;
    if sum != fnv(body.as_bytes()) {
        return Err(fail(bad(
            manifest_path,
            "corrupt: the checksum does not match",
        )));
    }
    let mut lines = body.lines();
    lines.next();
    let state = lines
        .next()
        .and_then(|l| l.strip_prefix("state "))
        .filter(|s| s.starts_with("state-") && !s.contains(['/', '\\']))
        .ok_or_else(|| fail(bad(manifest_path, "corrupt: no state line")))?;
    let state_dir = dir.join(state);
    let mut files = Vec::new();
    for line in lines {
        let corrupt = || fail(bad(manifest_path, format!("corrupt line {line:?}")));
        let parts: Vec<&str> = line.split(' ').collect();
        let [kind, name, len, sum] = parts[..] else {
            return Err(corrupt());
        };
        let (Ok(len), Ok(sum)) = (len.parse::<u64>(), u64::from_str_radix(sum, 16)) else {
            return Err(corrupt());
        };
        if kind != "file" || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(corrupt());
        }
        let path = state_dir.join(name);
        if len > MAX_STATE_FILE_BYTES {
            return Err(fail(bad(
                &path,
                format!(
                    "too large: the manifest says {len} bytes, the limit is {MAX_STATE_FILE_BYTES}"
                ),
            )));
        }
        let short_or_long = |found: u64| {
            let problem = if found < len {
                format!("truncated: {found} bytes, the manifest says {len}")
            } else {
                format!("damaged: {found} bytes, longer than the {len} the manifest says")
            };
            bad(&path, problem)
        };
        // The size is checked before the file is read, and the read stops
        // one byte past the manifest's size should the file grow meanwhile.
        let bytes = match std::fs::metadata(&path) {
            Ok(m) if m.len() != len => return Err(fail(short_or_long(m.len()))),
            Ok(_) => read_capped(&path, len, |_| short_or_long(len + 1)),
            Err(e) => Err(Error::io(&path, e)),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(e) if !path.exists() => return Err((e, Some(raw))),
            Err(e) => return Err(fail(e)),
        };
        if bytes.len() as u64 != len {
            return Err(fail(short_or_long(bytes.len() as u64)));
        }
        if fnv(&bytes) != sum {
            return Err(fail(bad(
                &path,
                "corrupt: the checksum does not match the manifest",
            )));
        }
        files.push((name.to_string(), path, bytes));
    }
    Ok(Some(Loaded { files }))
}
