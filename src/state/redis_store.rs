//! The Redis store: many filter processes share one view of the stream.
//!
//! Every message is counted in one round trip: a Lua script (`redis.lua`,
//! sent once and then called by its hash, EVALSHA) updates the sender's
//! windows, the text's bands and reads the conversation, and returns what it
//! saw. Keys start with the deployment's prefix and carry a time-to-live, so
//! Redis never grows without bound: a sender lives `sender_idle_ms` after
//! its last message, a band's bin one campaign window and a half, a
//! conversation its window. The windows themselves follow event time, as in
//! memory; the time-to-live is Redis's own clock and only bounds memory.
//! Senders, recipients and texts reach Redis only as keyed hashes.
//!
//! Every message is also counted in a local in-memory store. When Redis is
//! down, slow or restarted, `check` answers from it: a call waits at most
//! the timeout, then a circuit breaker keeps Redis out of the path for a
//! backoff that doubles up to a few seconds, after which one check probes
//! it again. `Stats::shared_degraded` says the shared view is away and
//! `Stats::degraded_checks` counts the checks answered without it.
//!
//! How stale a count can be: while Redis answers, not at all: a message's
//! updates and the counts it reads run as one script, so every message
//! counted by any filter before it is in them. While it does not, a filter
//! sees only the messages it counted itself (a swarm spread over N filters
//! shows each about 1/N of its senders), and what it counted then is not
//! sent to Redis afterwards. The clock stays each filter's own.
//!
//! The keys are built inside the script from the prefix, so a Redis
//! Cluster, which needs every key named up front, is not supported.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redis::{Client, Connection, Script};

use super::hash::{count_estimate, distinct};
use super::memory::Durations;
use super::store::{Observation, Query, StateStore};
use super::{
    CampaignCounts, CampaignObservation, MemoryStore, SenderObservation, StateSnapshot, Stats,
    StorePolicy, Windows, conversation,
};
use crate::Error;

/// Where the shared store is and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisConfig {
    pub url: String,
    pub prefix: String,
    /// Longest wait for a connection, a reply or a write.
    pub timeout: Duration,
}

/// The longest the breaker keeps Redis out of the path between probes.
const MAX_BACKOFF_MS: u64 = 5_000;
const MIN_BACKOFF_MS: u64 = 100;
/// Connections kept open: threads that check at once do not queue on one.
const POOL: usize = 4;

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

/// The stream state in Redis, with a local store in front for when Redis
/// is away.
pub(crate) struct RedisStore {
    pool: Pool,
    observe: Script,
    record: Script,
    prefix: String,
    secs: Durations,
    local: MemoryStore,
    breaker: Breaker,
    degraded_checks: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("stats", &self.stats())
            .finish()
    }
}

const RECORD: &str = "local last = tonumber(redis.call('GET', KEYS[1]) or '0') \
    redis.call('SET', KEYS[1], math.max(last, tonumber(ARGV[1])), 'EX', ARGV[2]) return 1";

impl RedisStore {
    /// A store on the Redis at `config.url`. A URL the client cannot use is
    /// an error; a server that does not answer is not: the store starts
    /// degraded and connects when it can.
    pub fn new(
        config: &RedisConfig,
        policy: &StorePolicy,
        windows: Windows,
    ) -> Result<RedisStore, Error> {
        if config.prefix.is_empty() {
            return Err(Error::invalid_input(
                "the redis key prefix is empty: give each deployment its own",
            ));
        }
        let store = RedisStore {
            pool: Pool::new(config, POOL)?,
            observe: Script::new(include_str!("redis.lua")),
            record: Script::new(RECORD),
            prefix: config.prefix.clone(),
            secs: Durations::new(policy, windows),
            local: MemoryStore::new(policy, windows),
            breaker: Breaker {
                start: Instant::now(),
                open_until: AtomicU64::new(0),
                failures: AtomicU32::new(0),
                down: AtomicBool::new(false),
            },
            degraded_checks: AtomicU64::new(0),
        };
        match store.pool.with(|c| redis::cmd("PING").query::<String>(c)) {
            Ok(_) => store.breaker.success(),
            Err(_) => store.breaker.failure(),
        }
        Ok(store)
    }

    /// Runs a call on Redis unless the breaker keeps it out; `None` when it
    /// did not answer.
    fn shared<T>(&self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Option<T> {
        if !self.breaker.allows() {
            return None;
        }
        match self.pool.with(f) {
            Ok(v) => {
                self.breaker.success();
                Some(v)
            }
            Err(_) => {
                self.breaker.failure();
                None
            }
        }
    }

    fn observe_shared(&self, q: &Query<'_>) -> Option<Observation> {
        let p = &self.prefix;
        let sender = q.sender.unwrap_or(0);
        let conversation = match (q.sender, q.recipient) {
            (Some(person), Some(brand)) => Some(conversation::key(person, brand)),
            _ => None,
        };
        let mut call = self.observe.prepare_invoke();
        call.key(format!("{p}:s:{sender:016x}"))
            .key(format!("{p}:v:{:016x}", conversation.unwrap_or(0)));
        for band in q.bands {
            call.key(format!("{p}:c:{band:016x}"));
        }
        // The bit the in-memory bitmap would set: the top six bits.
        let fanout_bit = q.recipient.map_or(-1, |r| (r >> 58) as i64);
        let tag = q.recipient.map_or(0, |r| ((r >> 24) as u16).max(1));
        let secs = &self.secs;
        call.arg(q.t)
            .arg(u8::from(q.sender.is_some()))
            .arg(q.t / secs.fanout_bin)
            .arg(fanout_bit)
            .arg(tag)
            .arg(secs.sender_idle)
            .arg(q.new_by_profile.map_or(-1, i8::from))
            .arg(secs.conversation_window)
            .arg(q.t / secs.campaign_bin)
            .arg(secs.campaign_window + secs.campaign_bin)
            .arg(format!("{sender:x}"))
            .arg(q.recipient.map_or(String::new(), |r| format!("{r:x}")))
            .arg(u8::from(conversation.is_some()));
        let reply: Vec<i64> = self.shared(|c| call.invoke(c))?;
        parse(&reply)
    }
}

/// The script's reply as an observation; `None` for a reply of the wrong
/// shape (an older script under the same name, say).
fn parse(r: &[i64]) -> Option<Observation> {
    let &[
        conv,
        has_sender,
        m0,
        m1,
        h0,
        h1,
        now,
        lo,
        hi,
        first,
        new_in_stream,
        new_sender,
        has_campaign,
        messages,
        senders,
        recipients,
        new_senders,
    ] = r
    else {
        return None;
    };
    let count = |x: i64| u16::try_from(x).unwrap_or(u16::MAX);
    let now = u32::try_from(now).unwrap_or(0);
    let bits = u64::from(lo as u32) | (u64::from(hi as u32) << 32);
    let sender = (has_sender == 1).then(|| SenderObservation {
        per_minute: count_estimate([count(m0), count(m1)], now, 60),
        per_hour: count_estimate([count(h0), count(h1)], now, 3600),
        recipients: distinct(bits),
        first_contact: first == 1,
        new_in_stream: new_in_stream == 1,
    });
    let campaign = (has_campaign == 1).then_some(CampaignCounts::Estimated(CampaignObservation {
        messages: messages as f64,
        senders: senders as f64,
        recipients: recipients as f64,
        new_senders: new_senders as f64,
    }));
    Some(Observation {
        in_conversation: conv == 1,
        sender,
        new_sender: new_sender == 1,
        campaign,
    })
}

impl StateStore for RedisStore {
    fn prefetch(&self, sender: Option<u64>, bands: &[u64]) {
        self.local.prefetch(sender, bands);
    }

    fn observe(&self, q: &Query<'_>) -> Observation {
        let local = self.local.observe(q);
        match self.observe_shared(q) {
            Some(shared) => shared,
            None => {
                self.degraded_checks.fetch_add(1, Ordering::Relaxed);
                local
            }
        }
    }

    fn record_conversation(&self, person: u64, brand: u64, t: u32) {
        self.local.record_conversation(person, brand, t);
        let key = format!(
            "{}:v:{:016x}",
            self.prefix,
            conversation::key(person, brand)
        );
        let window = self.secs.conversation_window;
        let mut call = self.record.prepare_invoke();
        call.key(key).arg(t).arg(window);
        let _: Option<i64> = self.shared(|c| call.invoke(c));
    }

    fn stats(&self) -> Stats {
        Stats {
            shared_degraded: self.breaker.down.load(Ordering::Relaxed),
            degraded_checks: self.degraded_checks.load(Ordering::Relaxed),
            ..self.local.stats()
        }
    }

    fn snapshot(&self, latest_ms: Option<i64>) -> StateSnapshot {
        self.local.snapshot(latest_ms)
    }

    fn restore(&self, snapshot: &StateSnapshot, now: u32) -> Result<(), Error> {
        self.local.restore(snapshot, now)
    }
}
