//! Stream state: what the filter remembers between messages, bounded,
//! sharded and restartable.
//!
//! Three tables, each split into `shards` mutex-protected parts chosen by
//! key: senders (rate windows, fan-out, recent recipients), fingerprint
//! bands (who sent which text to whom) and conversations (which people each
//! brand wrote to, and when). Both are set-associative with a fixed cap
//! (see `shard`), so memory stays bounded whatever the input.
//!
//! Time is event time. Each message counts at its own timestamp, except
//! that a message more than `late_slack_ms` older than the latest event time
//! seen counts at that latest time minus the slack (so that a replayed or
//! stuck message cannot rewind the windows). A message without a timestamp
//! counts at the latest event time seen; before any timestamped message has
//! been seen it adds profile evidence only. The latest event time moves
//! forward by at most half the slack per message, so a single timestamp far
//! in the future does not turn every later message into a late one. A
//! timestamp the tables cannot hold (before 1970 or after 2106, the range
//! of a 32-bit count of seconds) is no timestamp: such a message counts
//! like an untimed one, and so cannot set the clock even as the first.
//! The first timed message sets the clock alone, with no bound; until a
//! later message lands within the slack of it, a message that would be
//! late replaces it instead, so that a wrong clock on the very first
//! message is not kept.

mod campaign;
mod config;
mod conversation;
mod fingerprint;
pub(crate) mod hash;
mod prefetch;
mod sender;
mod shard;
mod snapshot;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use serde::Serialize;

use crate::Error;
use crate::classifier::Words;
use crate::codes::Code;
use crate::features::{Evidence, rate, sender as profile};
use crate::message::Message;
use crate::normalize::Canonical;

pub(crate) use campaign::{CampaignCell, CampaignCounts, CampaignObservation};
pub use config::StreamPolicy;
pub(crate) use conversation::Conversation;
use fingerprint::Fingerprint;
pub(crate) use sender::{SenderObservation, SenderRecord};
use shard::Shard;
pub use snapshot::StateSnapshot;

use hash::{HashKey, RECIPIENT_SEED, SENDER_SEED, hash_str};

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
    /// Messages counted in the stream.
    pub messages: u64,
    /// Messages without a timestamp (counted at the latest event time).
    pub untimed: u64,
    /// Messages older than the late slack (counted at latest minus slack).
    pub late: u64,
}

/// What a message needs from the stream tables, worked out before the
/// tables are read: see [`Stream::look_ahead`].
#[derive(Debug, Default)]
pub(crate) struct Lookahead {
    /// The event time the message counts at, in seconds; `None` when no
    /// time is known yet (then only profile evidence is added).
    t: Option<u32>,
    sender: Option<u64>,
    fingerprint: Option<Fingerprint>,
}

/// The filter's memory of the stream.
pub(crate) struct Stream {
    policy: StreamPolicy,
    senders: Box<[Shard<SenderRecord>]>,
    campaigns: Box<[Shard<CampaignCell>]>,
    conversations: Box<[Shard<Conversation>]>,
    /// Whether any conversation was ever recorded: a filter whose caller
    /// never records outgoing DMs skips the lookup (and its lock).
    any_conversation: AtomicBool,
    /// Latest event time seen, ms; `i64::MIN` before the first.
    latest_ms: AtomicI64,
    /// Whether a message other than the one that set `latest_ms` first
    /// agreed with it (was not late); a restored clock counts as agreed.
    clock_agreed: AtomicBool,
    /// How far one message may move `latest_ms` forward: half the slack.
    max_step_ms: i64,
    /// The policy's durations in seconds, converted once rather than per
    /// message.
    secs: Durations,
    /// `shards - 1` when the shard count is a power of two (the default
    /// 16): then a mask picks the shard instead of a 64-bit division.
    shard_mask: Option<u64>,
    /// The secret mixed into every table key (see `hash`): the policy's
    /// `hash_key`, or random per filter. A restore into an empty filter may
    /// take the snapshot's instead, hence atomic.
    key: AtomicU64,
    /// Whether the policy set the key, which a snapshot then cannot change.
    key_from_policy: bool,
    /// Timed messages without a sender (the others are counted in the
    /// sender shards).
    unsent: AtomicU64,
    untimed: AtomicU64,
    late: AtomicU64,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("stats", &self.stats())
            .finish()
    }
}

fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX).max(1)
}

/// The stream policy's durations in whole seconds (at least one).
#[derive(Debug, Clone, Copy)]
struct Durations {
    sender_idle: u32,
    /// Half the fan-out window: one bin of the sender's recipient bitmaps.
    fanout_bin: u32,
    campaign_window: u32,
    /// Half the campaign window: one bin of a band's counts.
    campaign_bin: u32,
    conversation_window: u32,
}

impl Stream {
    pub fn new(policy: &StreamPolicy) -> Stream {
        let shards = policy.shards.max(1);
        let per = |cap: usize| cap.div_ceil(shards);
        Stream {
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
            secs: Durations {
                sender_idle: secs(policy.sender_idle_ms),
                fanout_bin: secs(policy.fanout_window_ms / 2),
                campaign_window: secs(policy.campaign_window_ms),
                campaign_bin: secs(policy.campaign_window_ms / 2),
                conversation_window: secs(policy.conversation_window_ms),
            },
            shard_mask: (shards as u64).is_power_of_two().then(|| shards as u64 - 1),
            policy: policy.clone(),
            latest_ms: AtomicI64::new(i64::MIN),
            clock_agreed: AtomicBool::new(false),
            max_step_ms: i64::try_from(policy.late_slack_ms / 2)
                .unwrap_or(i64::MAX)
                .max(1000),
            key: AtomicU64::new(policy.key().unwrap_or_else(HashKey::random).0),
            key_from_policy: policy.key().is_some(),
            unsent: AtomicU64::new(0),
            untimed: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    fn key(&self) -> HashKey {
        HashKey(self.key.load(Ordering::Relaxed))
    }

    fn shard<'a, T>(&self, shards: &'a [T], key: u64) -> &'a T {
        let i = match self.shard_mask {
            Some(mask) => key & mask,
            None => key % shards.len() as u64,
        };
        &shards[i as usize]
    }

    /// The event time a message counts at, in ms, or `None` when no time is
    /// known yet.
    fn event_time(&self, timestamp_ms: Option<i64>) -> Option<i64> {
        let Some(ts) = timestamp_ms.filter(|ts| (0..=MAX_EVENT_MS).contains(ts)) else {
            self.untimed.fetch_add(1, Ordering::Relaxed);
            let latest = self.latest_ms.load(Ordering::Relaxed);
            return (latest != i64::MIN).then_some(latest);
        };
        // The latest time moves in whole seconds: one shared write per
        // second instead of one per message, so threads do not contend. It
        // moves at most half the late slack per message, so that one wrong
        // clock far in the future cannot make every other message late; after
        // a real gap it catches up within a few messages.
        let mut latest = self.latest_ms.load(Ordering::Relaxed);
        if ts >= latest.saturating_add(1000) {
            let step = if latest == i64::MIN {
                ts
            } else {
                ts.min(latest.saturating_add(self.max_step_ms))
            };
            latest = self.latest_ms.fetch_max(step, Ordering::Relaxed);
        }
        let floor = latest.saturating_sub(self.policy.late_slack_ms as i64);
        if latest == i64::MIN {
            return Some(ts);
        }
        if ts < floor {
            // A clock that only the first message vouches for is the one
            // in doubt, not this message.
            if !self.clock_agreed.load(Ordering::Relaxed)
                && self
                    .latest_ms
                    .compare_exchange(latest, ts, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                return Some(ts);
            }
            self.late.fetch_add(1, Ordering::Relaxed);
            return Some(floor);
        }
        if !self.clock_agreed.load(Ordering::Relaxed) {
            self.clock_agreed.store(true, Ordering::Relaxed);
        }
        Some(ts)
    }

    /// Works out what [`observe`](Self::observe) will need from the tables
    /// and starts fetching it: called as soon as the text is canonical, so
    /// that the slots arrive in the cache while the text and links are
    /// scanned. Counts the message's event time.
    pub fn look_ahead(&self, msg: &Message<'_>, canon: &Canonical, words: &Words) -> Lookahead {
        let Some(t_ms) = self.event_time(msg.timestamp_ms) else {
            return Lookahead::default();
        };
        let secret = self.key();
        let sender = msg.sender.map(|s| hash_str(s, secret.seed(SENDER_SEED)));
        if let Some(key) = sender {
            self.shard(&self.senders, key).prefetch(key);
        }
        let p = &self.policy;
        let mut fingerprint = fingerprint::fingerprint(
            &canon.text,
            words,
            p.fingerprint_bands,
            p.fingerprint_min_words,
        );
        for band in fingerprint.iter_mut().flat_map(|f| &mut f.bands[..f.len]) {
            *band = secret.band(*band);
        }
        for &key in fingerprint.iter().flat_map(Fingerprint::keys) {
            self.shard(&self.campaigns, key).prefetch(key);
        }
        Lookahead {
            t: Some(u32::try_from(t_ms.max(0) / 1000).unwrap_or(u32::MAX)),
            sender,
            fingerprint,
        }
    }

    /// Counts the message and records the stream and profile evidence.
    pub fn observe(&self, msg: &Message<'_>, ahead: Lookahead, evidence: &mut Evidence) {
        let p = &self.policy;
        let new_by_profile = profile::scan(msg.profile.as_ref(), p, evidence);
        let Lookahead {
            t: Some(t),
            sender,
            fingerprint,
        } = ahead
        else {
            return;
        };
        let recipient = msg
            .recipient
            .map(|r| hash_str(r, self.key().seed(RECIPIENT_SEED)));
        let followed = msg.profile.is_some_and(|p| p.recipient_follows_sender);
        let talking = match (sender, recipient) {
            (Some(person), Some(brand)) => self.in_conversation(person, brand, t),
            _ => false,
        };
        if talking {
            evidence.push(
                Code::SENDER_IN_CONVERSATION,
                1.0,
                "the recipient wrote to this sender lately",
            );
        }
        // Most DMs to a brand are first contacts: only an unprofiled or
        // new sender that nobody here knows makes one a sign.
        let unknown = !followed && !talking && new_by_profile != Some(false);

        if sender.is_none() {
            self.unsent.fetch_add(1, Ordering::Relaxed);
        }
        let mut new_in_stream = false;
        let mut sender_recipients = None;
        if let Some(key) = sender {
            let observation = {
                let mut table = self.shard(&self.senders, key).lock();
                table.messages += 1;
                let (record, fresh) = table.entry(key, t, self.secs.sender_idle);
                record.observe(fresh, t, recipient, t / self.secs.fanout_bin)
            };
            new_in_stream = observation.new_in_stream;
            sender_recipients = Some(observation.recipients);
            rate::sender(&observation, unknown, p, evidence);
        }
        // A sender whose account age is unknown counts as new when the
        // stream first saw it less than an hour ago.
        let new_sender = new_by_profile.unwrap_or(sender.is_some() && new_in_stream);

        let Some(fp) = fingerprint else {
            return;
        };
        let bin = t / self.secs.campaign_bin;
        let ttl = self.secs.campaign_window;
        let mut best: Option<CampaignCounts> = None;
        for &key in fp.keys() {
            let o = {
                let mut table = self.shard(&self.campaigns, key).lock();
                let (cell, fresh) = table.entry(key, t, ttl);
                cell.observe(fresh, t, bin, sender, recipient, new_sender)
            };
            // The band that has seen this text most widely speaks for it.
            if best.is_none_or(|b| o.messages > b.messages) {
                best = Some(o);
            }
        }
        let me = rate::Participant {
            recipients: sender_recipients,
            new: new_sender,
            profiled: new_by_profile.is_some(),
        };
        if let Some(o) = best.filter(|_| me.may_spread()) {
            rate::campaign(&o.estimate(), me, p, evidence);
        }
    }

    /// Records a brand's own DM: `msg.sender` is the brand, `msg.recipient`
    /// the person. Without both, or before any event time is known, there
    /// is nothing to record. Moves the event time like any message.
    pub fn observe_outgoing(&self, msg: &Message<'_>) {
        let Some(t_ms) = self.event_time(msg.timestamp_ms) else {
            return;
        };
        let (Some(brand), Some(person)) = (msg.sender, msg.recipient) else {
            return;
        };
        let t = u32::try_from(t_ms.max(0) / 1000).unwrap_or(u32::MAX);
        let secret = self.key();
        let key = conversation::key(
            hash_str(person, secret.seed(SENDER_SEED)),
            hash_str(brand, secret.seed(RECIPIENT_SEED)),
        );
        {
            let mut table = self.shard(&self.conversations, key).lock();
            let window = self.secs.conversation_window;
            table.entry(key, t, window).0.wrote(t);
        }
        if !self.any_conversation.load(Ordering::Relaxed) {
            self.any_conversation.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the brand wrote to the person within the conversation window
    /// before `t` (seconds): one lookup, none while no conversation was
    /// ever recorded.
    fn in_conversation(&self, person: u64, brand: u64, t: u32) -> bool {
        if !self.any_conversation.load(Ordering::Relaxed) {
            return false;
        }
        let key = conversation::key(person, brand);
        let table = self.shard(&self.conversations, key).lock();
        table
            .get(key)
            .is_some_and(|c| c.covers(t, self.secs.conversation_window))
    }

    /// Makes sure the snapshot's keys mean the same senders and texts
    /// here: a filter whose tables are empty and whose policy sets no key
    /// takes the snapshot's key; otherwise the keys must be equal. A
    /// snapshot without entries keys nothing and always fits.
    fn adopt_key(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        let theirs = snapshot.hash_key();
        let ours = self.key();
        let keyed =
            snapshot.sender_count() + snapshot.fingerprint_count() + snapshot.conversation_count();
        if theirs == ours || keyed == 0 {
            return Ok(());
        }
        let stats = self.stats();
        let held = stats.senders + stats.fingerprints + stats.conversations;
        if self.key_from_policy || held > 0 {
            let why = if self.key_from_policy {
                "the policy's [stream] hash_key".to_string()
            } else {
                format!("this filter's own key, under which it already holds {held} entries")
            };
            return Err(Error::invalid_input(format!(
                "the state snapshot's tables are keyed with hash_key {} (\"{}\" for                  snapshots written before keys), not with {why}: its senders and texts \
                 would match nothing here; restore it into a fresh filter, or set \
                 [stream] hash_key to the snapshot's",
                theirs.to_hex(),
                HashKey(0).to_hex(),
            )));
        }
        self.key.store(theirs.0, Ordering::Relaxed);
        Ok(())
    }

    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            messages: self.unsent.load(Ordering::Relaxed),
            untimed: self.untimed.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            ..Stats::default()
        };
        let senders = shard::tally(&self.senders);
        let campaigns = shard::tally(&self.campaigns);
        let conversations = shard::tally(&self.conversations);
        stats.senders = senders.len;
        stats.messages += senders.messages;
        stats.senders_evicted = senders.evicted;
        stats.fingerprints = campaigns.len;
        stats.fingerprints_evicted = campaigns.evicted;
        stats.conversations = conversations.len;
        stats.conversations_evicted = conversations.evicted;
        stats.expired = senders.expired + campaigns.expired + conversations.expired;
        stats.bytes = senders.bytes + campaigns.bytes + conversations.bytes;
        stats
    }

    pub fn snapshot(&self) -> StateSnapshot {
        let latest = self.latest_ms.load(Ordering::Relaxed);
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
        StateSnapshot::new((latest != i64::MIN).then_some(latest), senders, campaigns)
            .with_conversations(conversations)
            .with_hash_key(self.key())
    }

    /// Adds a snapshot's entries to the state (a fresh filter gets exactly
    /// the snapshot's memory, up to its own caps).
    pub fn restore(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        snapshot.check()?;
        self.adopt_key(snapshot)?;
        if let Some(latest) = snapshot.latest_ms() {
            self.latest_ms.fetch_max(latest, Ordering::Relaxed);
            self.clock_agreed.store(true, Ordering::Relaxed);
        }
        let now = u32::try_from(snapshot.latest_ms().unwrap_or(0).max(0) / 1000).unwrap_or(0);
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

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_750_000_000_000;

    #[test]
    fn event_time_handles_untimed_late_and_future_messages() {
        let stream = Stream::new(&StreamPolicy::default());
        assert_eq!(stream.event_time(None), None, "no clock yet");
        assert_eq!(stream.event_time(Some(T0)), Some(T0));
        assert_eq!(stream.event_time(None), Some(T0));
        // Within the two-minute slack: its own time.
        assert_eq!(stream.event_time(Some(T0 - 60_000)), Some(T0 - 60_000));
        // Beyond it: the latest time minus the slack.
        assert_eq!(stream.event_time(Some(T0 - 3_600_000)), Some(T0 - 120_000));
        // A clock a year ahead moves the filter's clock by one minute only.
        let year = 365 * 86_400_000;
        assert_eq!(stream.event_time(Some(T0 + year)), Some(T0 + year));
        assert_eq!(stream.event_time(None), Some(T0 + 60_000));
        assert_eq!(stream.event_time(Some(T0 + 1000)), Some(T0 + 1000));
        let stats = stream.stats();
        assert_eq!((stats.untimed, stats.late), (3, 1));
    }

    #[test]
    fn unrepresentable_timestamps_count_as_untimed_and_never_set_the_clock() {
        let stream = Stream::new(&StreamPolicy::default());
        // As the very first message, where no step bound applies yet.
        assert_eq!(stream.event_time(Some(9_000_000_000_000_000_000)), None);
        assert_eq!(stream.event_time(Some(i64::MAX)), None);
        assert_eq!(stream.event_time(Some(-1)), None);
        assert_eq!(stream.event_time(Some(T0)), Some(T0));
        assert_eq!(stream.event_time(Some(i64::MAX)), Some(T0));
        assert_eq!(stream.event_time(Some(MAX_EVENT_MS + 1)), Some(T0));
        assert_eq!(stream.event_time(Some(T0 + 5000)), Some(T0 + 5000));
        let stats = stream.stats();
        assert_eq!((stats.untimed, stats.late), (5, 0));
    }

    #[test]
    fn a_wrong_first_clock_gives_way_to_the_next_message() {
        let year = 365 * 86_400_000;
        let stream = Stream::new(&StreamPolicy::default());
        assert_eq!(stream.event_time(Some(T0 + year)), Some(T0 + year));
        // Not late: the clock set by one message alone gives way.
        assert_eq!(stream.event_time(Some(T0)), Some(T0));
        assert_eq!(stream.event_time(Some(T0 + 5000)), Some(T0 + 5000));
        // Now two messages agree: an old one is late as usual.
        assert_eq!(
            stream.event_time(Some(T0 - year)),
            Some(T0 + 5000 - 120_000)
        );
        assert_eq!(stream.stats().late, 1);
    }

    fn keyed(key: Option<&str>) -> Stream {
        Stream::new(&StreamPolicy {
            hash_key: key.map(str::to_string),
            ..StreamPolicy::default()
        })
    }

    fn one_sender(stream: &Stream, name: &str) {
        let msg = Message::new("hi there")
            .with_sender(name)
            .with_timestamp_ms(T0);
        let ahead = stream.look_ahead(&msg, &Canonical::default(), &Words::default());
        stream.observe(&msg, ahead, &mut Evidence::default());
    }

    #[test]
    fn filters_key_their_tables_apart_and_a_snapshot_brings_its_key() {
        let (a, b) = (keyed(None), keyed(None));
        assert_ne!(a.key(), b.key(), "random per filter");
        one_sender(&a, "u1");
        let snap = a.snapshot();
        assert_eq!(snap.hash_key(), a.key());
        // An empty filter takes the snapshot's key: the same sender id
        // then finds its restored record instead of a second one.
        b.restore(&snap).unwrap();
        assert_eq!(b.key(), a.key());
        one_sender(&b, "u1");
        assert_eq!(b.stats().senders, 1);
        // A filter holding entries under another key refuses it.
        let c = keyed(None);
        one_sender(&c, "u2");
        let e = c.restore(&snap).unwrap_err().to_string();
        assert!(e.contains("hash_key") && e.contains("1 entries"), "{e}");
        assert_eq!(c.stats().senders, 1, "nothing was restored");
        // So does one whose policy sets another key, even when empty.
        let d = keyed(Some("0123456789abcdef"));
        assert_eq!(d.key(), HashKey(0x0123_4567_89ab_cdef));
        let e = d.restore(&snap).unwrap_err().to_string();
        assert!(e.contains("policy's [stream] hash_key"), "{e}");
        // The same key set in two policies keys the same.
        let d2 = keyed(Some("0123456789abcdef"));
        one_sender(&d2, "u3");
        d.restore(&d2.snapshot()).unwrap();
        one_sender(&d, "u3");
        assert_eq!(d.stats().senders, 1);
    }

    #[test]
    fn a_restored_clock_beyond_the_tables_is_refused() {
        let stream = Stream::new(&StreamPolicy::default());
        for bad in [i64::MAX, MAX_EVENT_MS + 1, -5] {
            let snapshot = StateSnapshot::new(Some(bad), vec![], vec![]);
            let e = stream.restore(&snapshot).unwrap_err().to_string();
            assert!(e.contains("latest_ms"), "{e}");
        }
        assert_eq!(stream.event_time(None), None, "the clock did not move");
        let snapshot = StateSnapshot::new(Some(T0), vec![], vec![]);
        stream.restore(&snapshot).unwrap();
        assert_eq!(stream.event_time(Some(T0 + 1000)), Some(T0 + 1000));
        assert_eq!(stream.stats().late, 0);
    }
}
