//! The in-memory store, the default: three tables, each split into
//! `shards` mutex-protected parts chosen by key: senders (rate windows,
//! fan-out, recent recipients), fingerprint bands (who sent which text to
//! whom) and conversations (which people each brand wrote to, and when).
//! All are set-associative with a fixed cap (see `shard`), so memory stays
//! bounded whatever the input.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::store::{Observation, Query, StateStore};
use super::{
    CampaignCell, CampaignCounts, Conversation, SenderRecord, StateSnapshot, Stats, StorePolicy,
    Windows, conversation, shard,
};
use crate::Error;
use shard::Shard;

/// The store's durations in whole seconds (at least one), converted once
/// rather than per message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Durations {
    pub sender_idle: u32,
    /// Half the fan-out window: one bin of the sender's recipient bitmaps.
    pub fanout_bin: u32,
    pub campaign_window: u32,
    /// Half the campaign window: one bin of a band's counts.
    pub campaign_bin: u32,
    pub conversation_window: u32,
}

fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX).max(1)
}

impl Durations {
    pub fn new(store: &StorePolicy, windows: Windows) -> Durations {
        Durations {
            sender_idle: secs(store.sender_idle_ms),
            fanout_bin: secs(windows.fanout_ms / 2),
            campaign_window: secs(windows.campaign_ms),
            campaign_bin: secs(windows.campaign_ms / 2),
            conversation_window: secs(windows.conversation_ms),
        }
    }
}

/// The stream's memory in this process.
pub(crate) struct MemoryStore {
    senders: Box<[Shard<SenderRecord>]>,
    campaigns: Box<[Shard<CampaignCell>]>,
    conversations: Box<[Shard<Conversation>]>,
    /// Whether any conversation was ever recorded: a filter whose caller
    /// never records outgoing DMs skips the lookup (and its lock).
    any_conversation: AtomicBool,
    secs: Durations,
    /// `shards - 1` when the shard count is a power of two (the default
    /// 16): then a mask picks the shard instead of a 64-bit division.
    shard_mask: Option<u64>,
    /// Timed messages without a sender (the others are counted in the
    /// sender shards).
    unsent: AtomicU64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("stats", &self.stats())
            .finish()
    }
}

impl MemoryStore {
    pub fn new(policy: &StorePolicy, windows: Windows) -> MemoryStore {
        let shards = policy.shards.max(1);
        let per = |cap: usize| cap.div_ceil(shards);
        MemoryStore {
            senders: (0..shards)
                .map(|_| Shard::new(per(policy.max_senders)))
                .collect(),
            campaigns: (0..shards)
                .map(|_| Shard::new(per(policy.max_fingerprints)))
                .collect(),
            conversations: (0..shards)
                .map(|_| Shard::new(per(policy.max_conversations)))
                .collect(),
            any_conversation: AtomicBool::new(false),
            secs: Durations::new(policy, windows),
            shard_mask: (shards as u64).is_power_of_two().then(|| shards as u64 - 1),
            unsent: AtomicU64::new(0),
        }
    }

    fn shard<'a, T>(&self, shards: &'a [T], key: u64) -> &'a T {
        let i = match self.shard_mask {
            Some(mask) => key & mask,
            None => key % shards.len() as u64,
        };
        &shards[i as usize]
    }

    /// Whether the brand wrote to the person within the conversation window
    /// before `t` (seconds): one lookup, none while no conversation was
    /// ever recorded.
    pub fn in_conversation(&self, person: u64, brand: u64, t: u32) -> bool {
        if !self.any_conversation.load(Ordering::Relaxed) {
            return false;
        }
        let key = conversation::key(person, brand);
        let table = self.shard(&self.conversations, key).lock();
        table
            .get(key)
            .is_some_and(|c| c.covers(t, self.secs.conversation_window))
    }
}

impl StateStore for MemoryStore {
    fn prefetch(&self, sender: Option<u64>, bands: &[u64]) {
        if let Some(key) = sender {
            self.shard(&self.senders, key).prefetch(key);
        }
        for &key in bands {
            self.shard(&self.campaigns, key).prefetch(key);
        }
    }

    fn observe(&self, q: &Query<'_>) -> Observation {
        let t = q.t;
        let in_conversation = match (q.sender, q.recipient) {
            (Some(person), Some(brand)) => self.in_conversation(person, brand, t),
            _ => false,
        };
        let sender = match q.sender {
            Some(key) => {
                let mut table = self.shard(&self.senders, key).lock();
                table.messages += 1;
                let (record, fresh) = table.entry(key, t, self.secs.sender_idle);
                Some(record.observe(fresh, t, q.recipient, t / self.secs.fanout_bin))
            }
            None => {
                self.unsent.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        let new_sender = q
            .new_by_profile
            .unwrap_or(sender.is_some_and(|s| s.new_in_stream));
        let bin = t / self.secs.campaign_bin;
        let ttl = self.secs.campaign_window;
        let mut campaign: Option<CampaignCounts> = None;
        for &key in q.bands {
            let o = {
                let mut table = self.shard(&self.campaigns, key).lock();
                let (cell, fresh) = table.entry(key, t, ttl);
                cell.observe(fresh, t, bin, q.sender, q.recipient, new_sender)
            };
            // The band that has seen this text most widely speaks for it.
            if campaign.is_none_or(|b| o.messages() > b.messages()) {
                campaign = Some(o);
            }
        }
        Observation {
            in_conversation,
            sender,
            new_sender,
            campaign,
        }
    }

    fn record_conversation(&self, person: u64, brand: u64, t: u32) {
        let key = conversation::key(person, brand);
        {
            let mut table = self.shard(&self.conversations, key).lock();
            let window = self.secs.conversation_window;
            table.entry(key, t, window).0.wrote(t);
        }
        if !self.any_conversation.load(Ordering::Relaxed) {
            self.any_conversation.store(true, Ordering::Relaxed);
        }
    }

    fn stats(&self) -> Stats {
        let senders = shard::tally(&self.senders);
        let campaigns = shard::tally(&self.campaigns);
        let conversations = shard::tally(&self.conversations);
        Stats {
            senders: senders.len,
            messages: self.unsent.load(Ordering::Relaxed) + senders.messages,
            senders_evicted: senders.evicted,
            fingerprints: campaigns.len,
            fingerprints_evicted: campaigns.evicted,
            conversations: conversations.len,
            conversations_evicted: conversations.evicted,
            expired: senders.expired + campaigns.expired + conversations.expired,
            bytes: senders.bytes + campaigns.bytes + conversations.bytes,
            ..Stats::default()
        }
    }

    fn snapshot(&self, latest_ms: Option<i64>) -> StateSnapshot {
        let senders = self
            .senders
            .iter()
            .flat_map(|s| s.lock().iter().map(|(k, v)| (k, *v)).collect::<Vec<_>>())
            .collect();
        let campaigns = self
            .campaigns
            .iter()
            .flat_map(|s| s.lock().iter().map(|(k, v)| (k, *v)).collect::<Vec<_>>())
            .collect();
        let conversations = self
            .conversations
            .iter()
            .flat_map(|s| s.lock().iter().map(|(k, v)| (k, *v)).collect::<Vec<_>>())
            .collect();
        StateSnapshot::new(latest_ms, senders, campaigns).with_conversations(conversations)
    }

    fn restore(&self, snapshot: &StateSnapshot, now: u32) -> Result<(), Error> {
        for &(key, record) in snapshot.senders() {
            let mut table = self.shard(&self.senders, key).lock();
            *table.entry(key, now, self.secs.sender_idle).0 = record;
        }
        for &(key, cell) in snapshot.campaigns() {
            let mut table = self.shard(&self.campaigns, key).lock();
            *table.entry(key, now, self.secs.campaign_window).0 = cell;
        }
        for &(key, conversation) in snapshot.conversations() {
            let mut table = self.shard(&self.conversations, key).lock();
            *table.entry(key, now, self.secs.conversation_window).0 = conversation;
            self.any_conversation.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}
