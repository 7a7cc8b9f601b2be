//! The Redis store: many filter processes share one view of the stream.
//!
//! Every filter keeps the whole stream in its own memory (a [`MemoryStore`])
//! and answers `check` from it alone; Redis carries what each filter counted
//! to the others. A check counts the message locally and queues it in an
//! outbox (a copy of its hashed keys, no network); a background thread
//! exchanges with Redis every `sync_interval` (10 ms by default) or as soon
//! as a batch is full: in one pipelined round trip it appends the outbox to
//! a Redis stream (XADD, one entry per batch of up to [`BATCH`] messages)
//! and reads what the other filters appended since its last read (XREAD),
//! which it counts into its own tables as if it had seen those messages.
//! Conversations travel the same way, on a stream of their own.
//!
//! Why replicate rather than count in Redis: a per-message script that
//! updates and reads the shared counts costs one round trip and ~70 µs of
//! Redis time per message on a 2-core machine (measured: 4.7k DMs/s against
//! 180k in memory), and a batched merge of the same records still costs
//! 8 µs of Redis time per key, five keys per message. Appending a batch
//! costs Redis well under a microsecond per message, and every count keeps
//! the in-memory tables' exact semantics. The price is that each filter
//! does every filter's counting (about 1 µs per message, without the text
//! work), and sizes its tables (`[store] max_*`) for the whole stream.
//!
//! How stale a count can be: a filter sees another's message after at most
//! the other's next exchange plus its own, two sync intervals (20 ms by
//! default) while Redis answers. A swarm whose messages are more than that
//! apart is counted as in one process; within it, a filter may miss the
//! others' latest messages (see `docs/PERFORMANCE.md` for what this costs,
//! measured with `simulate --check --instances 2 --lag-ms L`).
//! [`Filter::sync_shared`](crate::Filter::sync_shared) exchanges at once.
//!
//! Redis down, slow or restarted: checks never wait for it. The exchange
//! waits at most the timeout; a circuit breaker then keeps Redis out for a
//! backoff that doubles up to a few seconds, after which one exchange
//! probes it. The outbox keeps the newest [`MAX_PENDING`] messages
//! meanwhile, and sends them when Redis answers again (older ones are
//! dropped and counted). `Stats` says the shared view is degraded and how
//! many checks were answered while it was.
//!
//! What Redis holds, bounded: two streams per deployment prefix, trimmed to
//! [`MAX_ENTRIES`] batches and to the longest window (MINID, by the server's
//! clock), each expiring a window after its last append. A new filter reads
//! them from the oldest entry once it is built, so it catches up with what
//! the others saw in the window; a filter restarted from its saved state
//! takes the messages up to the state's latest event time as counted (the
//! state holds them, its own included, which the streams list under its
//! former name). Senders, recipients and texts reach Redis only as keyed
//! hashes; entries from filters with another `[store] hash_key` are
//! skipped and counted, since their hashes mean other senders.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use redis::streams::StreamReadReply;
use redis::{Client, Connection, Value};

use super::hash::{HashKey, SENDER_SEED, hash_str};
use super::memory::Durations;
use super::store::{MAX_BANDS, Observation, Query, StateStore};
use super::{MemoryStore, StateSnapshot, Stats, StorePolicy, Windows};
use crate::Error;

/// Where the shared store is, how long to wait for it, and how often to
/// exchange with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisConfig {
    pub url: String,
    pub prefix: String,
    /// Longest wait for a connection, a reply or a write.
    pub timeout: Duration,
    /// How often the background thread exchanges; `None`: only when asked
    /// (`Filter::sync_shared`).
    pub sync_interval: Option<Duration>,
}

/// The longest the breaker keeps Redis out of the path between probes.
const MAX_BACKOFF_MS: u64 = 5_000;
const MIN_BACKOFF_MS: u64 = 100;
/// Messages per stream entry; a full batch also wakes the exchange.
pub(crate) const BATCH: usize = 512;
/// Messages (and conversations) the outbox holds while Redis is away: 3.5
/// MB. Beyond it the oldest go first.
pub(crate) const MAX_PENDING: usize = 65_536;
/// Entries each stream keeps (MAXLEN ~): at most 2M messages, ~110 MB.
pub(crate) const MAX_ENTRIES: usize = 4_096;
/// Entries read per stream per round trip.
const READ_ENTRIES: usize = 64;
/// Round trips one exchange makes at most while there is more to read; a
/// catching-up filter reads on at the next exchange.
const MAX_ROUNDS: usize = 16;
/// How often the streams are trimmed to the window.
const TRIM_EVERY: Duration = Duration::from_secs(1);
/// The format of an entry's payload, its first byte.
const VERSION: u8 = 1;

/// A circuit breaker: after a failure, Redis is skipped for a backoff that
/// doubles with each failure in a row; then one caller probes it.
#[derive(Debug)]
struct Breaker {
    start: Instant,
    /// Milliseconds since `start` before which Redis is skipped.
    open_until: AtomicU64,
    failures: AtomicU32,
    /// Whether the last call failed (the shared view is away).
    down: AtomicBool,
}

impl Breaker {
    fn new() -> Breaker {
        Breaker {
            start: Instant::now(),
            open_until: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            down: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this caller may use Redis now. While the breaker is open,
    /// only the first caller after the backoff gets through (it moves the
    /// next probe on, so the others keep answering locally meanwhile).
    fn allows(&self) -> bool {
        let until = self.open_until.load(Ordering::Relaxed);
        if until == 0 {
            return true;
        }
        let now = self.now();
        now >= until
            && self
                .open_until
                .compare_exchange(
                    until,
                    now + self.backoff(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn backoff(&self) -> u64 {
        let failures = self.failures.load(Ordering::Relaxed).min(16);
        (MIN_BACKOFF_MS << failures).min(MAX_BACKOFF_MS)
    }

    fn success(&self) {
        if self.open_until.load(Ordering::Relaxed) != 0 {
            self.open_until.store(0, Ordering::Relaxed);
            self.failures.store(0, Ordering::Relaxed);
        }
        if self.down.load(Ordering::Relaxed) {
            self.down.store(false, Ordering::Relaxed);
        }
    }

    fn failure(&self) {
        self.down.store(true, Ordering::Relaxed);
        let backoff = self.backoff();
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.open_until
            .store((self.now() + backoff).max(1), Ordering::Relaxed);
    }
}

/// A few connections opened on demand, each with the timeouts set.
pub(crate) struct Pool {
    client: Client,
    timeout: Duration,
    conns: Box<[Mutex<Option<Connection>>]>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("timeout", &self.timeout)
            .field("connections", &self.conns.len())
            .finish()
    }
}

impl Pool {
    pub fn new(config: &RedisConfig, size: usize) -> Result<Pool, Error> {
        let client = Client::open(config.url.as_str()).map_err(|e| {
            Error::invalid_input(format!("redis URL {:?} is not usable: {e}", config.url))
        })?;
        Ok(Pool {
            client,
            timeout: config.timeout,
            conns: (0..size.max(1)).map(|_| Mutex::new(None)).collect(),
        })
    }

    /// A free connection slot, or the first one when all are busy.
    fn slot(&self) -> MutexGuard<'_, Option<Connection>> {
        for slot in &self.conns {
            if let Ok(guard) = slot.try_lock() {
                return guard;
            }
        }
        self.conns[0].lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn connect(&self) -> redis::RedisResult<Connection> {
        let conn = self.client.get_connection_with_timeout(self.timeout)?;
        conn.set_read_timeout(Some(self.timeout))?;
        conn.set_write_timeout(Some(self.timeout))?;
        Ok(conn)
    }

    /// Runs `f` on a connection; a connection that failed is dropped, so
    /// that the next call opens a fresh one.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<T> {
        let mut slot = self.slot();
        if slot.is_none() {
            *slot = Some(self.connect()?);
        }
        let Some(conn) = slot.as_mut() else {
            unreachable!("the slot was just filled")
        };
        let result = f(conn);
        if result.is_err() {
            *slot = None;
        }
        result
    }
}

/// One counted message as the other filters replay it: the store's query,
/// without the borrowed bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Event {
    t: u32,
    sender: Option<u64>,
    recipient: Option<u64>,
    new_by_profile: Option<bool>,
    bands: [u64; MAX_BANDS],
    len: u8,
}

impl Event {
    fn of(q: &Query<'_>) -> Event {
        let mut bands = [0; MAX_BANDS];
        let len = q.bands.len().min(MAX_BANDS);
        bands[..len].copy_from_slice(&q.bands[..len]);
        Event {
            t: q.t,
            sender: q.sender,
            recipient: q.recipient,
            new_by_profile: q.new_by_profile,
            bands,
            len: len as u8,
        }
    }

    fn query(&self) -> Query<'_> {
        Query {
            t: self.t,
            sender: self.sender,
            recipient: self.recipient,
            bands: &self.bands[..usize::from(self.len)],
            new_by_profile: self.new_by_profile,
        }
    }

    /// Appends the event: a flags byte (sender, recipient, profile known,
    /// profile new), the time, the hashes present, the band count and the
    /// bands, little-endian.
    fn encode(&self, out: &mut Vec<u8>) {
        let flags = u8::from(self.sender.is_some())
            | u8::from(self.recipient.is_some()) << 1
            | u8::from(self.new_by_profile.is_some()) << 2
            | u8::from(self.new_by_profile == Some(true)) << 3;
        out.push(flags);
        out.extend_from_slice(&self.t.to_le_bytes());
        for h in [self.sender, self.recipient].into_iter().flatten() {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out.push(self.len);
        for band in &self.bands[..usize::from(self.len)] {
            out.extend_from_slice(&band.to_le_bytes());
        }
    }

    /// Reads one event; `None` when the bytes end early or say something
    /// no event says.
    fn decode(r: &mut Reader<'_>) -> Option<Event> {
        let flags = r.u8()?;
        if flags > 0b1111 {
            return None;
        }
        let t = r.u32()?;
        let sender = if flags & 1 != 0 { Some(r.u64()?) } else { None };
        let recipient = if flags & 2 != 0 { Some(r.u64()?) } else { None };
        let new_by_profile = (flags & 4 != 0).then_some(flags & 8 != 0);
        let len = r.u8()?;
        if usize::from(len) > MAX_BANDS {
            return None;
        }
        let mut bands = [0; MAX_BANDS];
        for band in &mut bands[..usize::from(len)] {
            *band = r.u64()?;
        }
        Some(Event {
            t,
            sender,
            recipient,
            new_by_profile,
            bands,
            len,
        })
    }
}

/// A brand's own DM to a person: (person, brand, time in seconds).
type Conversation = (u64, u64, u32);

fn encode_conversation(&(person, brand, t): &Conversation, out: &mut Vec<u8>) {
    out.extend_from_slice(&person.to_le_bytes());
    out.extend_from_slice(&brand.to_le_bytes());
    out.extend_from_slice(&t.to_le_bytes());
}

fn decode_conversation(r: &mut Reader<'_>) -> Option<Conversation> {
    Some((r.u64()?, r.u64()?, r.u32()?))
}

/// Reads little-endian numbers off a payload, never past its end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What waits to be published.
#[derive(Debug, Default)]
struct Outbox {
    events: Vec<Event>,
    conversations: Vec<Conversation>,
}

/// Keeps the newest `MAX_PENDING` items: beyond it, drops the oldest
/// quarter at once (so that a long outage costs one move per quarter, not
/// one per message). Returns how many were dropped.
fn bound<T>(items: &mut Vec<T>) -> u64 {
    if items.len() < MAX_PENDING {
        return 0;
    }
    let drop = MAX_PENDING / 4;
    items.drain(..drop);
    drop as u64
}

/// Where this filter has read each stream up to, and when it last trimmed.
#[derive(Debug)]
struct Cursor {
    events: String,
    conversations: String,
    trimmed: Option<Instant>,
    /// The server's clock (ms) at the newest entry this filter appended.
    server_ms: u64,
    /// The outbox's other half: an exchange swaps it in, empty, for the
    /// queue it publishes, so that checks keep pushing into buffers that
    /// have grown already instead of growing new ones.
    spare: Outbox,
}

/// The store's shared part: the thread that exchanges holds it weakly.
struct Shared {
    local: MemoryStore,
    pool: Pool,
    events_key: String,
    conversations_key: String,
    /// This filter's name on the streams (it skips its own entries).
    origin: String,
    /// Which `[store] hash_key` this filter's hashes are under (see
    /// [`key_id`]).
    key_id: String,
    /// How long entries matter: the longest window, ms.
    events_retention_ms: u64,
    conversations_retention_ms: u64,
    outbox: Mutex<Outbox>,
    cursor: Mutex<Cursor>,
    breaker: Breaker,
    /// Wakes the exchange early when a batch is full.
    wake: Arc<(Mutex<()>, Condvar)>,
    degraded_checks: AtomicU64,
    published: AtomicU64,
    applied: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    /// Messages at or before this event time (s) are counted already: a
    /// restored snapshot holds them, and the streams may hold them again
    /// (this filter's own before a restart, under another origin).
    counted_until: AtomicU32,
}

/// The stream state in this process, shared with other filters through
/// Redis.
pub(crate) struct RedisStore {
    shared: Arc<Shared>,
    sync_interval: Option<Duration>,
    started: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("events", &self.shared.events_key)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A name for this filter on a Redis stream (its readers skip their own
/// entries by it): the process, a counter and the time, mixed.
pub(super) fn origin() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}",
        crate::hash::mix(nanos ^ u64::from(std::process::id()) << 32 ^ n.rotate_left(17))
    )
}

impl RedisStore {
    /// A store on the Redis at `config.url`, its hashes under `key`. A URL
    /// the client cannot use is an error; a server that does not answer is
    /// not: the store starts degraded and connects when it can.
    pub fn new(
        config: &RedisConfig,
        policy: &StorePolicy,
        windows: Windows,
        key: u64,
    ) -> Result<RedisStore, Error> {
        if config.prefix.is_empty() {
            return Err(Error::invalid_input(
                "the redis key prefix is empty: give each deployment its own",
            ));
        }
        let secs = Durations::new(policy, windows);
        // The sender's hour and fan-out and the text's campaign window are
        // what a replayed message can still change.
        let events_window = secs.campaign_window.max(secs.fanout_bin * 2).max(2 * 3600);
        let p = &config.prefix;
        let shared = Arc::new(Shared {
            local: MemoryStore::new(policy, windows),
            pool: Pool::new(config, 1)?,
            events_key: format!("{p}:events"),
            conversations_key: format!("{p}:conversations"),
            origin: origin(),
            key_id: key_id(HashKey(key)),
            events_retention_ms: u64::from(events_window) * 1000,
            conversations_retention_ms: u64::from(secs.conversation_window) * 1000,
            outbox: Mutex::new(Outbox::default()),
            cursor: Mutex::new(Cursor {
                events: "0-0".into(),
                conversations: "0-0".into(),
                trimmed: None,
                server_ms: 0,
                spare: Outbox::default(),
            }),
            breaker: Breaker::new(),
            wake: Arc::new((Mutex::new(()), Condvar::new())),
            degraded_checks: AtomicU64::new(0),
            published: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            counted_until: AtomicU32::new(0),
        });
        Ok(RedisStore {
            shared,
            sync_interval: config.sync_interval,
            started: AtomicBool::new(false),
        })
    }
}

/// The background exchange: every `interval`, or when a batch fills,
/// until the store is dropped.
fn follow(weak: &Weak<Shared>, wake: &(Mutex<()>, Condvar), interval: Duration) {
    loop {
        {
            let guard = wake.0.lock().unwrap_or_else(|e| e.into_inner());
            let _ = wake.1.wait_timeout(guard, interval);
        }
        let Some(shared) = weak.upgrade() else {
            return;
        };
        shared.exchange();
    }
}

/// A payload, if the entry is another filter's under the same key; counts
/// the entries skipped for their key or shape.
fn payload<'a>(
    shared: &Shared,
    fields: &'a std::collections::HashMap<String, Value>,
    name: &str,
) -> Option<&'a [u8]> {
    let text = |v: Option<&'a Value>| match v {
        Some(Value::BulkString(bytes)) => Some(bytes.as_slice()),
        Some(Value::SimpleString(s)) => Some(s.as_bytes()),
        _ => None,
    };
    if text(fields.get("o")) == Some(shared.origin.as_bytes()) {
        return None;
    }
    match (text(fields.get("k")), text(fields.get(name))) {
        (Some(key), Some(body))
            if key == shared.key_id.as_bytes() && body.first() == Some(&VERSION) =>
        {
            Some(&body[1..])
        }
        _ => {
            shared.rejected.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// A name for the hash key that entries carry, so that filters under
/// another key skip them: the keyed hash of a fixed id, as a sender's hash
/// is keyed. It tells a reader of Redis no more about the key than the
/// entries' sender hashes of ids they know already do (the mixer itself is
/// invertible, so a plain mix of the key would give half of it away).
fn key_id(key: HashKey) -> String {
    format!(
        "{:016x}",
        hash_str("dmguard shared store", key.seed(SENDER_SEED))
    )
}

/// The milliseconds of a stream entry id (`ms-seq`).
fn id_ms(id: &str) -> u64 {
    id.split_once('-')
        .map_or(id, |(ms, _)| ms)
        .parse()
        .unwrap_or(0)
}

impl Shared {
    /// Queues an item on one of the outbox's lists (the oldest go when it
    /// is full); a full batch wakes the exchange.
    fn enqueue<T>(&self, item: T, list: impl FnOnce(&mut Outbox) -> &mut Vec<T>) {
        let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        let items = list(&mut outbox);
        let dropped = bound(items);
        items.push(item);
        let full = items.len() == BATCH;
        drop(outbox);
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        if full {
            self.wake.1.notify_one();
        }
    }

    /// Publishes the outbox and applies what the others published, in as
    /// few round trips as there are entries to read (at most
    /// `MAX_ROUNDS`). Returns whether Redis answered.
    fn exchange(&self) -> bool {
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        if !self.breaker.allows() {
            return false;
        }
        for _ in 0..MAX_ROUNDS {
            let mut batch = std::mem::take(&mut cursor.spare);
            std::mem::swap(
                &mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()),
                &mut batch,
            );
            let sent = batch.events.len() + batch.conversations.len();
            match self.round_trip(&mut cursor, &batch) {
                Ok(more) => {
                    self.breaker.success();
                    self.published.fetch_add(sent as u64, Ordering::Relaxed);
                    batch.events.clear();
                    batch.conversations.clear();
                    cursor.spare = batch;
                    if !more {
                        break;
                    }
                }
                Err(_) => {
                    self.breaker.failure();
                    self.requeue(batch);
                    return false;
                }
            }
        }
        true
    }

    /// Puts back what a failed round trip did not publish, ahead of what
    /// was queued meanwhile, within the outbox's bound.
    fn requeue(&self, mut unsent: Outbox) {
        let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        unsent.events.append(&mut outbox.events);
        unsent.conversations.append(&mut outbox.conversations);
        let excess = |n: usize| n.saturating_sub(MAX_PENDING);
        let (events, conversations) = (
            excess(unsent.events.len()),
            excess(unsent.conversations.len()),
        );
        unsent.events.drain(..events);
        unsent.conversations.drain(..conversations);
        *outbox = unsent;
        drop(outbox);
        self.dropped
            .fetch_add((events + conversations) as u64, Ordering::Relaxed);
    }

    /// One pipelined round trip: the appends, a trim now and then, and one
    /// read of both streams. Returns whether a stream had more to read.
    fn round_trip(&self, cursor: &mut Cursor, outbox: &Outbox) -> redis::RedisResult<bool> {
        let mut pipe = redis::pipe();
        let mut appends = 0;
        let mut body = Vec::new();
        for chunk in outbox.events.chunks(BATCH) {
            body.clear();
            body.push(VERSION);
            for event in chunk {
                event.encode(&mut body);
            }
            self.append(
                &mut pipe,
                &self.events_key,
                "e",
                &body,
                self.events_retention_ms,
            );
            appends += 1;
        }
        for chunk in outbox.conversations.chunks(BATCH) {
            body.clear();
            body.push(VERSION);
            for c in chunk {
                encode_conversation(c, &mut body);
            }
            let retention = self.conversations_retention_ms;
            self.append(&mut pipe, &self.conversations_key, "c", &body, retention);
            appends += 1;
        }
        let trim =
            cursor.server_ms > 0 && cursor.trimmed.is_none_or(|at| at.elapsed() >= TRIM_EVERY);
        if trim {
            for (key, retention) in [
                (&self.events_key, self.events_retention_ms),
                (&self.conversations_key, self.conversations_retention_ms),
            ] {
                let min = cursor.server_ms.saturating_sub(retention);
                pipe.cmd("XTRIM")
                    .arg(key)
                    .arg("MINID")
                    .arg("~")
                    .arg(min)
                    .ignore();
            }
            cursor.trimmed = Some(Instant::now());
        }
        pipe.cmd("XREAD")
            .arg("COUNT")
            .arg(READ_ENTRIES)
            .arg("STREAMS")
            .arg(&self.events_key)
            .arg(&self.conversations_key)
            .arg(&cursor.events)
            .arg(&cursor.conversations);
        let (ids, read): (Vec<String>, Option<StreamReadReply>) = self.pool.with(|c| {
            let mut reply: Vec<Value> = pipe.query(c)?;
            let read = reply.pop().unwrap_or(Value::Nil);
            let ids = redis::from_redis_value(Value::Array(reply))?;
            Ok((ids, redis::from_redis_value(read)?))
        })?;
        debug_assert_eq!(ids.len(), appends);
        if let Some(ms) = ids.iter().map(|id| id_ms(id)).max() {
            cursor.server_ms = cursor.server_ms.max(ms);
        }
        let mut more = false;
        for stream in read.map(|r| r.keys).unwrap_or_default() {
            let events = stream.key == self.events_key;
            more |= stream.ids.len() >= READ_ENTRIES;
            for entry in &stream.ids {
                if events {
                    cursor.events.clone_from(&entry.id);
                    if let Some(body) = payload(self, &entry.map, "e") {
                        self.apply_events(body);
                    }
                } else {
                    cursor.conversations.clone_from(&entry.id);
                    if let Some(body) = payload(self, &entry.map, "c") {
                        self.apply_conversations(body);
                    }
                }
            }
        }
        Ok(more)
    }

    fn append(&self, pipe: &mut redis::Pipeline, key: &str, field: &str, body: &[u8], ms: u64) {
        pipe.cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(MAX_ENTRIES)
            .arg("*")
            .arg("o")
            .arg(&self.origin)
            .arg("k")
            .arg(&self.key_id)
            .arg(field)
            .arg(body);
        pipe.cmd("PEXPIRE").arg(key).arg(ms.max(1)).ignore();
    }

    /// Counts another filter's messages here, but not those a restored
    /// snapshot holds already; an entry that does not read to its end is
    /// counted as rejected (what it held before is kept).
    fn apply_events(&self, body: &[u8]) {
        let counted_until = self.counted_until.load(Ordering::Relaxed);
        let mut r = Reader(body);
        while !r.is_empty() {
            let Some(event) = Event::decode(&mut r) else {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                return;
            };
            if event.t <= counted_until {
                continue;
            }
            self.local.observe(&event.query());
            self.applied.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn apply_conversations(&self, body: &[u8]) {
        let mut r = Reader(body);
        while !r.is_empty() {
            let Some((person, brand, t)) = decode_conversation(&mut r) else {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                return;
            };
            self.local.record_conversation(person, brand, t);
            self.applied.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for RedisStore {
    /// Publishes what is still queued, once, within the timeout.
    fn drop(&mut self) {
        let pending = {
            let outbox = self.shared.outbox.lock().unwrap_or_else(|e| e.into_inner());
            outbox.events.len() + outbox.conversations.len()
        };
        if pending > 0 {
            self.shared.exchange();
        }
    }
}

impl StateStore for RedisStore {
    fn prefetch(&self, sender: Option<u64>, bands: &[u64]) {
        self.shared.local.prefetch(sender, bands);
    }

    fn observe(&self, q: &Query<'_>) -> Observation {
        let seen = self.shared.local.observe(q);
        self.shared.enqueue(Event::of(q), |o| &mut o.events);
        if self.shared.breaker.down.load(Ordering::Relaxed) {
            self.shared.degraded_checks.fetch_add(1, Ordering::Relaxed);
        }
        seen
    }

    fn record_conversation(&self, person: u64, brand: u64, t: u32) {
        self.shared.local.record_conversation(person, brand, t);
        self.shared
            .enqueue((person, brand, t), |o| &mut o.conversations);
    }

    /// Catches up (before the first check, where Redis answers at once)
    /// and starts the background exchange; once.
    fn start(&self) -> Result<(), Error> {
        if self.started.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        self.shared.exchange();
        if let Some(interval) = self.sync_interval {
            let weak = Arc::downgrade(&self.shared);
            let wake = Arc::clone(&self.shared.wake);
            thread::Builder::new()
                .name("dmguard-shared".into())
                .spawn(move || follow(&weak, &wake, interval))
                .map_err(|e| {
                    Error::invalid_input(format!("cannot start the Redis exchange: {e}"))
                })?;
        }
        Ok(())
    }

    fn sync(&self) -> bool {
        self.shared.exchange()
    }

    fn stats(&self) -> Stats {
        let shared = &self.shared;
        let pending = {
            let outbox = shared.outbox.lock().unwrap_or_else(|e| e.into_inner());
            outbox.events.len() + outbox.conversations.len()
        };
        Stats {
            shared_degraded: shared.breaker.down.load(Ordering::Relaxed),
            degraded_checks: shared.degraded_checks.load(Ordering::Relaxed),
            shared_published: shared.published.load(Ordering::Relaxed),
            shared_pending: pending as u64,
            shared_applied: shared.applied.load(Ordering::Relaxed),
            shared_dropped: shared.dropped.load(Ordering::Relaxed),
            shared_rejected: shared.rejected.load(Ordering::Relaxed),
            ..shared.local.stats()
        }
    }

    fn snapshot(&self, latest_ms: Option<i64>) -> StateSnapshot {
        self.shared.local.snapshot(latest_ms)
    }

    /// Restores the snapshot here; the shared messages up to its latest
    /// event time are then taken as counted (the snapshot holds what this
    /// filter had counted of them), so that a restart that both restores
    /// its saved state and catches up from Redis does not count them
    /// twice. A shared message that arrives later with an older time is
    /// skipped too.
    fn restore(&self, snapshot: &StateSnapshot, now: u32) -> Result<(), Error> {
        self.shared.local.restore(snapshot, now)?;
        if snapshot.sender_count() + snapshot.fingerprint_count() > 0 {
            self.shared.counted_until.fetch_max(now, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(bands: &[u64], sender: Option<u64>, profile: Option<bool>) -> Event {
        Event::of(&Query {
            t: 1_750_000_000,
            sender,
            recipient: Some(7),
            bands,
            new_by_profile: profile,
        })
    }

    #[test]
    fn events_read_back_as_written() {
        let events = [
            event(&[1, 2, 3, 4], Some(u64::MAX), Some(true)),
            event(&[], None, None),
            event(&[9], Some(5), Some(false)),
        ];
        let mut body = Vec::new();
        for e in &events {
            e.encode(&mut body);
        }
        let mut r = Reader(&body);
        for e in &events {
            assert_eq!(Event::decode(&mut r).as_ref(), Some(e));
        }
        assert!(r.is_empty());
    }

    #[test]
    fn a_cut_or_odd_payload_reads_as_nothing() {
        let mut body = Vec::new();
        event(&[1, 2], Some(3), None).encode(&mut body);
        for cut in 0..body.len() {
            assert_eq!(Event::decode(&mut Reader(&body[..cut])), None, "{cut}");
        }
        let mut odd = body.clone();
        odd[0] = 0x10;
        assert_eq!(Event::decode(&mut Reader(&odd)), None);
        let mut many = body;
        many[5 + 8 + 8] = MAX_BANDS as u8 + 1;
        assert_eq!(Event::decode(&mut Reader(&many)), None);
    }

    #[test]
    fn any_bytes_decode_without_panic_and_within_the_payload() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..2_000usize {
            let bytes: Vec<u8> = (0..len % 97)
                .map(|_| {
                    seed = crate::hash::mix(seed);
                    // Mostly small values, so that flags and band counts
                    // often read as valid and decoding goes deep.
                    if seed & 3 == 0 {
                        seed as u8
                    } else {
                        (seed >> 8) as u8 & 7
                    }
                })
                .collect();
            let mut r = Reader(&bytes);
            let mut read = 0;
            while let Some(event) = Event::decode(&mut r) {
                assert!(usize::from(event.len) <= MAX_BANDS);
                read += 1;
                assert!(read <= bytes.len(), "each event takes bytes");
            }
            let mut r = Reader(&bytes);
            while decode_conversation(&mut r).is_some() {}
        }
    }

    #[test]
    fn another_filters_times_may_be_anything() {
        // Entries come from other processes: their times are not clamped
        // by this filter's clock.
        let store = MemoryStore::new(
            &StorePolicy::default(),
            crate::policy::StreamPolicy::default().windows(),
        );
        for &t in &[0, u32::MAX, 1, u32::MAX - 1, 1_750_000_000, 0, u32::MAX] {
            for sender in [Some(1), None] {
                let q = Query {
                    t,
                    sender,
                    recipient: Some(2),
                    bands: &[3, 4],
                    new_by_profile: None,
                };
                let seen = store.observe(&q);
                if let Some(o) = seen.sender {
                    assert!(o.per_minute.is_finite() && o.recipients.is_finite());
                }
                store.record_conversation(1, 2, t);
            }
        }
    }

    #[test]
    fn the_key_id_tells_keys_apart() {
        assert_eq!(key_id(HashKey(7)), key_id(HashKey(7)));
        assert_ne!(key_id(HashKey(7)), key_id(HashKey(8)));
        assert_eq!(key_id(HashKey(7)).len(), 16);
    }

    #[test]
    fn the_outbox_keeps_the_newest() {
        let mut items: Vec<usize> = (0..MAX_PENDING).collect();
        assert_eq!(bound(&mut items), (MAX_PENDING / 4) as u64);
        assert_eq!(items.first(), Some(&(MAX_PENDING / 4)));
        assert_eq!(bound(&mut items), 0);
    }
}
