//! The held DMs: a bounded store kept in a JSON-lines journal.
//!
//! Every change appends one line holding the entry as it now is (the last
//! line for a `seq` wins), so that a held DM costs one write, not a
//! rewrite of the whole queue. The journal is compacted, written to a
//! temporary file and renamed over the old one, when the service starts,
//! when it stops and when it has grown to twice the entries kept: it stays
//! bounded, and a reader sees the old journal or the new one, never half
//! of one. A line torn by a crash is the last one and is skipped on load.
//!
//! A JSON-lines file rather than an embedded database: the store is one
//! table read whole at start, bounded in size, and written by one process;
//! a database would add a C build to the example for none of what it does
//! well.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One piece of a held DM's text, marked when it is evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The text of this piece.
    pub text: String,
    /// `"link"` or `"phrase"` when the piece is evidence; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

/// One reason as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldReason {
    /// The reason's stable code.
    pub code: String,
    /// What it added to the log-odds.
    pub weight: f64,
    /// What was found.
    pub detail: String,
}

/// A held DM and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// The store's own number, increasing.
    pub seq: u64,
    /// The DM's id: its own when it had a string id, else `held-SEQ`. The
    /// id a lesson is learned (and unlearned) under.
    pub id: String,
    /// Event time of the DM (ms), when it had one.
    pub ts: Option<i64>,
    /// Who sent it.
    pub sender: Option<String>,
    /// The brand it was sent to.
    pub recipient: Option<String>,
    /// The text as received.
    pub text: String,
    /// The text in pieces, the evidence marked.
    pub segments: Vec<Segment>,
    /// The sender's profile, as sent with the DM.
    pub sender_profile: Option<dmguard::SenderProfile>,
    /// The verdict's score.
    pub score: f64,
    /// `"review"` or `"block"`.
    pub action: String,
    /// The verdict's reasons.
    pub reasons: Vec<HeldReason>,
    /// How many DMs of the same campaign the filter had seen, when a
    /// campaign reason said so.
    pub campaign: Option<u64>,
    /// `"spam"` or `"ham"` once a person decided; the DM has then left
    /// the queue.
    pub decision: Option<String>,
}

/// The bounded store of held DMs.
#[derive(Debug)]
pub struct Queue {
    entries: BTreeMap<u64, Held>,
    /// The `seq`s of the decided entries, the first to go when the store
    /// is full: found without a scan of the whole store.
    decided: BTreeSet<u64>,
    next_seq: u64,
    max: usize,
    journal: Option<Journal>,
}

#[derive(Debug)]
struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl Queue {
    /// A queue kept in memory only (tests, or a service without `--data`).
    pub fn in_memory(max: usize) -> Queue {
        Queue {
            entries: BTreeMap::new(),
            decided: BTreeSet::new(),
            next_seq: 1,
            max: max.max(1),
            journal: None,
        }
    }

    /// Opens the queue kept in `path`, creating it when absent.
    pub fn open(path: &Path, max: usize) -> io::Result<Queue> {
        let mut queue = Queue::in_memory(max);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        }
        match File::open(path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line?;
                    // A line torn by a crash in the middle of a write is
                    // the last one; nothing after it was written.
                    let Ok(entry) = serde_json::from_str::<Held>(&line) else {
                        continue;
                    };
                    queue.next_seq = queue.next_seq.max(entry.seq + 1);
                    queue.insert(entry);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
        queue.evict();
        queue.journal = Some(Journal {
            path: path.to_path_buf(),
            file: compact(path, queue.entries.values())?,
            lines: queue.entries.len(),
        });
        Ok(queue)
    }

    /// Holds a DM; `held.seq` is set here (and `held.id` when empty). A DM
    /// whose id is already waiting for a decision (a client's retry) is
    /// held once: its entry's `seq` is returned and nothing is added.
    pub fn push(&mut self, mut held: Held) -> io::Result<u64> {
        if !held.id.is_empty()
            && let Some(waiting) = self.find(&held.id).filter(|h| h.decision.is_none())
        {
            return Ok(waiting.seq);
        }
        held.seq = self.next_seq;
        self.next_seq += 1;
        if held.id.is_empty() {
            held.id = format!("held-{}", held.seq);
        }
        let seq = held.seq;
        self.append(&held)?;
        self.insert(held);
        self.evict();
        Ok(seq)
    }

    fn insert(&mut self, held: Held) {
        if held.decision.is_some() {
            self.decided.insert(held.seq);
        } else {
            self.decided.remove(&held.seq);
        }
        self.entries.insert(held.seq, held);
    }

    /// The newest held DM with this id (decided or not).
    pub fn find(&self, id: &str) -> Option<&Held> {
        self.entries.values().rev().find(|h| h.id == id)
    }

    /// Records a person's decision on the DM `seq`.
    pub fn decide(&mut self, seq: u64, label: &str) -> io::Result<()> {
        let Some(entry) = self.entries.get_mut(&seq) else {
            return Ok(());
        };
        entry.decision = Some(label.to_string());
        let entry = entry.clone();
        self.decided.insert(seq);
        self.append(&entry)
    }

    /// Undecided DMs, newest first: at most `limit` of those older than
    /// `before` (a `seq`), and the `seq` to ask for the next page.
    pub fn page(&self, before: Option<u64>, limit: usize) -> (Vec<&Held>, Option<u64>) {
        let upper = before.unwrap_or(u64::MAX);
        let mut items = Vec::with_capacity(limit.min(256));
        let mut undecided = self
            .entries
            .range(..upper)
            .rev()
            .filter(|(_, h)| h.decision.is_none());
        for (_, held) in undecided.by_ref().take(limit) {
            items.push(held);
        }
        let next = match undecided.next() {
            Some(_) => items.last().map(|h| h.seq),
            None => None,
        };
        (items, next)
    }

    /// How many DMs wait for a decision.
    pub fn pending(&self) -> usize {
        self.entries.len() - self.decided.len()
    }

    /// Rewrites the journal with the entries kept, atomically.
    pub fn compact(&mut self) -> io::Result<()> {
        if let Some(journal) = &mut self.journal {
            journal.file = compact(&journal.path, self.entries.values())?;
            journal.lines = self.entries.len();
        }
        Ok(())
    }

    fn append(&mut self, held: &Held) -> io::Result<()> {
        let Some(journal) = &mut self.journal else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(held).map_err(io::Error::other)?;
        line.push(b'\n');
        // One write per line: a crash tears at most the last line.
        journal.file.write_all(&line)?;
        journal.lines += 1;
        if journal.lines > 2 * self.max {
            self.compact()?;
        }
        Ok(())
    }

    /// Drops the oldest decided entries first, then the oldest undecided,
    /// until the store is within its bound.
    fn evict(&mut self) {
        while self.entries.len() > self.max {
            let seq = match self.decided.pop_first() {
                Some(seq) => seq,
                None => match self.entries.keys().next() {
                    Some(&seq) => seq,
                    None => break,
                },
            };
            self.entries.remove(&seq);
        }
    }
}

/// Writes `entries` to a temporary file beside `path`, syncs it and renames
/// it over `path`; returns the file opened for appending.
fn compact<'a>(path: &Path, entries: impl Iterator<Item = &'a Held>) -> io::Result<File> {
    let tmp = path.with_extension("jsonl.tmp");
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", tmp.display()));
    {
        let mut out = io::BufWriter::new(File::create(&tmp).map_err(named)?);
        for held in entries {
            serde_json::to_writer(&mut out, held).map_err(io::Error::other)?;
            out.write_all(b"\n").map_err(named)?;
        }
        let file = out.into_inner().map_err(|e| named(e.into_error()))?;
        file.sync_all().map_err(named)?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = File::open(dir)
    {
        // The rename itself is durable once the directory is synced.
        let _ = dir.sync_all();
    }
    OpenOptions::new().append(true).open(path)
}
