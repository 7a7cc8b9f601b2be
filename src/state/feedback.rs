//! Feedback shared through Redis: each `learn` and `unlearn` is published on
//! a Redis stream (XADD, capped), and every filter on the same prefix reads
//! the others' lessons in a background thread (XREAD) and applies them. A
//! new filter starts from the oldest lesson the stream still holds, so it
//! catches up with the others.
//!
//! A lesson carries the text it teaches (the classifier and the link
//! reputation learn from words and domains, not from hashes), so the stream
//! is capped: `MAX_LESSONS`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use redis::Value;

use super::redis_store::origin;
use super::{Pool, RedisConfig};
use crate::Error;

/// Lessons the stream keeps (approximately: MAXLEN ~ trims by whole nodes).
const MAX_LESSONS: usize = 100_000;
/// How long one read waits for new lessons; the reader's timeout is longer.
const BLOCK_MS: u64 = 500;

/// One lesson, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lesson {
    Learn {
        spam: bool,
        text: String,
        id: Option<String>,
        brand: Option<String>,
    },
    Unlearn {
        id: String,
    },
}

/// Publishes this filter's lessons.
#[derive(Debug)]
pub(crate) struct Feedback {
    pool: Pool,
    key: String,
    /// This filter's name on the stream, so that its reader skips its own
    /// lessons (already applied when they were taught).
    origin: String,
    published: AtomicU64,
    failed: AtomicU64,
}

impl Feedback {
    pub fn new(config: &RedisConfig) -> Result<Feedback, Error> {
        Ok(Feedback {
            pool: Pool::new(config, 1)?,
            key: format!("{}:feedback", config.prefix),
            origin: origin(),
            published: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    /// Publishes a lesson; a Redis that does not answer within the timeout
    /// loses it for the other filters (this one has applied it already).
    pub fn publish(&self, lesson: &Lesson) {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(MAX_LESSONS)
            .arg("*")
            .arg("origin")
            .arg(&self.origin);
        match lesson {
            Lesson::Learn {
                spam,
                text,
                id,
                brand,
            } => {
                cmd.arg("op")
                    .arg(if *spam { "spam" } else { "ham" })
                    .arg("text")
                    .arg(text);
                if let Some(id) = id {
                    cmd.arg("id").arg(id);
                }
                if let Some(brand) = brand {
                    cmd.arg("brand").arg(brand);
                }
            }
            Lesson::Unlearn { id } => {
                cmd.arg("op").arg("unlearn").arg("id").arg(id);
            }
        }
        let counter = match self.pool.with(|c| cmd.query::<String>(c)) {
            Ok(_) => &self.published,
            Err(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the thread that applies the other filters' lessons with
    /// `apply`, for as long as `apply` returns true (`apply(None)` asks
    /// whether the filter is still there, between reads).
    pub fn follow(
        &self,
        config: &RedisConfig,
        apply: impl FnMut(Option<Lesson>) -> bool + Send + 'static,
    ) -> Result<(), Error> {
        let reader_config = RedisConfig {
            timeout: config.timeout.max(Duration::from_millis(BLOCK_MS * 2)),
            ..config.clone()
        };
        let pool = Pool::new(&reader_config, 1)?;
        let key = self.key.clone();
        let origin = self.origin.clone();
        thread::Builder::new()
            .name("dmguard-feedback".into())
            .spawn(move || read(pool, key, origin, apply))
            .map_err(|e| Error::invalid_input(format!("cannot start the feedback reader: {e}")))?;
        Ok(())
    }
}

/// A stream entry id as its two numbers, to compare.
fn id_parts(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// The reader's loop: read, apply, and after a failure wait (doubling up
/// to five seconds) and reconnect. A Redis restarted empty starts its ids
/// again from the beginning: a last id beyond the stream's newest means the
/// stream was lost, and reading starts over.
fn read(pool: Pool, key: String, origin: String, mut apply: impl FnMut(Option<Lesson>) -> bool) {
    let mut last = "0-0".to_string();
    let mut backoff = 50u64;
    loop {
        let newest = pool.with(|c| {
            redis::cmd("XREVRANGE")
                .arg(&key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query::<Vec<(String, Value)>>(c)
        });
        if let Ok(newest) = &newest
            && newest.first().map_or((0, 0), |(id, _)| id_parts(id)) < id_parts(&last)
        {
            last = "0-0".to_string();
        }
        let reply = pool.with(|c| {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(256)
                .arg("BLOCK")
                .arg(BLOCK_MS)
                .arg("STREAMS")
                .arg(&key)
                .arg(&last)
                .query::<Option<Vec<(String, Vec<(String, Vec<Value>)>)>>>(c)
        });
        let entries = match reply {
            Ok(entries) => {
                backoff = 50;
                entries.unwrap_or_default()
            }
            Err(_) => {
                thread::sleep(Duration::from_millis(backoff));
                backoff = (backoff * 2).min(5_000);
                // A filter that was dropped meanwhile ends the thread.
                if !apply(None) {
                    return;
                }
                continue;
            }
        };
        if entries.is_empty() && !apply(None) {
            return;
        }
        for (_, items) in entries {
            for (id, fields) in items {
                last = id;
                let fields: Vec<Option<String>> = fields.iter().map(text).collect();
                let get = |name: &str| {
                    fields
                        .chunks_exact(2)
                        .find(|pair| pair[0].as_deref() == Some(name))
                        .and_then(|pair| pair[1].clone())
                };
                if get("origin").as_deref() == Some(origin.as_str()) {
                    continue;
                }
                let lesson = match get("op").as_deref() {
                    Some("unlearn") => match get("id") {
                        Some(id) => Lesson::Unlearn { id },
                        None => continue,
                    },
                    Some(op @ ("spam" | "ham")) => match get("text") {
                        Some(text) => Lesson::Learn {
                            spam: op == "spam",
                            text,
                            id: get("id"),
                            brand: get("brand"),
                        },
                        None => continue,
                    },
                    _ => continue,
                };
                if !apply(Some(lesson)) {
                    return;
                }
            }
        }
    }
}
