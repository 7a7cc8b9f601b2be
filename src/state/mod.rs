//! Stream state: what the filter remembers between messages, bounded,
//! sharded and restartable. The state only stores: it counts each message
//! under its keys and returns observations (counts and estimates); the
//! evidence families in `features::stream` weigh them.
//!
//! [`StateStore`](store::StateStore) is the seam: the in-memory store
//! (`memory`) is the default. Time is event time, kept by each filter's own
//! clock (`clock`).

mod campaign;
mod clock;
mod conversation;
#[cfg(feature = "redis")]
pub(crate) mod feedback;
pub(crate) mod hash;
mod memory;
mod prefetch;
#[cfg(feature = "redis")]
mod redis_store;
mod sender;
mod shard;
mod snapshot;
pub(crate) mod store;

use serde::Serialize;

pub(crate) use crate::policy::{StorePolicy, Windows};
pub(crate) use campaign::{CampaignCell, CampaignCounts, CampaignObservation};
pub(crate) use clock::{Clock, seconds};
pub(crate) use conversation::Conversation;
pub(crate) use memory::MemoryStore;
#[cfg(feature = "redis")]
pub(crate) use redis_store::{Pool, RedisConfig, RedisStore};
pub(crate) use sender::{SenderObservation, SenderRecord};
pub(crate) use snapshot::DomainCounts;
pub use snapshot::StateSnapshot;

/// The latest event time the tables can hold, in ms: they count time in
/// 32-bit seconds. A later timestamp is taken for a broken clock.
pub(crate) const MAX_EVENT_MS: i64 = u32::MAX as i64 * 1000;

/// What the stream state holds and has dropped, from [`Filter::stats`].
///
/// [`Filter::stats`]: crate::Filter::stats
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Senders remembered.
    pub senders: usize,
    /// Fingerprint bands remembered.
    pub fingerprints: usize,
    /// Senders forgotten while still active, to make room (the one seen
    /// longest ago in its set goes).
    pub senders_evicted: u64,
    /// Fingerprint bands forgotten while still active, to make room.
    pub fingerprints_evicted: u64,
    /// (brand, person) conversations remembered (see
    /// [`Filter::observe_outgoing`](crate::Filter::observe_outgoing)).
    pub conversations: usize,
    /// Conversations forgotten within their window, to make room (the one
    /// whose brand wrote longest ago in its set goes).
    pub conversations_evicted: u64,
    /// Idle senders, bands and conversations whose room was reused.
    pub expired: u64,
    /// Approximate bytes held by the tables.
    pub bytes: usize,
    /// Messages counted in the stream (with a shared store, every
    /// filter's: `shared_applied` of them came from the others).
    pub messages: u64,
    /// Messages without a timestamp (counted at the latest event time).
    pub untimed: u64,
    /// Messages older than the late slack (counted at latest minus slack).
    pub late: u64,
    /// Whether the shared store (Redis, with the `redis` feature) did not
    /// answer the last call: checks are answered from this process's own
    /// memory until it does. Always false for the in-memory store.
    pub shared_degraded: bool,
    /// Checks made while the shared store was away: they counted only what
    /// this process had seen. Always 0 for the in-memory store.
    pub degraded_checks: u64,
    /// Messages and conversations this process published to the shared
    /// store (with the `redis` feature).
    pub shared_published: u64,
    /// Messages and conversations waiting to be published: the next
    /// exchange sends them, or the first one after the shared store is back.
    pub shared_pending: u64,
    /// Other processes' messages and conversations counted here.
    pub shared_applied: u64,
    /// Messages and conversations never published: the queue overflowed
    /// while the shared store was away (the oldest go first).
    pub shared_dropped: u64,
    /// Shared entries skipped: written under another `[store] hash_key`
    /// (their hashes mean other senders and texts) or unreadable.
    pub shared_rejected: u64,
}
