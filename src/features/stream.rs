//! Stream evidence: what the stream says about a message. The store counts
//! the message under its sender, its text's fingerprint bands and its
//! (brand, person) pair and returns what it saw; this module asks, and hands
//! the observations to the families that weigh them (`rate` for the sender's
//! rate and the text's spread, `sender` for the profile and the
//! conversation).

mod policy;

use std::sync::Arc;

pub use policy::StreamPolicy;

use super::fingerprint::{self, Fingerprint};
use super::{Evidence, rate, sender as profile};
use crate::Error;
use crate::classifier::Words;
use crate::message::Message;
use crate::normalize::Canonical;
use crate::state::hash::{RECIPIENT_SEED, SENDER_SEED, hash_str};
use crate::state::store::{Query, StateStore};
use crate::state::{Clock, MemoryStore, StateSnapshot, Stats, StorePolicy, seconds};

/// What a message's keys are, worked out from its text before the store is
/// asked: see [`Stream::plan`].
#[derive(Debug, Default)]
pub(crate) struct Plan {
    sender: Option<u64>,
    fingerprint: Option<Fingerprint>,
}

/// The stream evidence of one filter: its clock, its store and the
/// thresholds that weigh what the store saw.
#[derive(Debug)]
pub(crate) struct Stream {
    policy: StreamPolicy,
    clock: Clock,
    store: Arc<dyn StateStore>,
}

impl Stream {
    /// Stream evidence over the in-memory store.
    pub fn new(policy: &StreamPolicy, store: &StorePolicy) -> Stream {
        Stream::with_store(policy, Arc::new(MemoryStore::new(store, policy.windows())))
    }

    /// Stream evidence over the given store.
    pub fn with_store(policy: &StreamPolicy, store: Arc<dyn StateStore>) -> Stream {
        Stream {
            clock: Clock::new(policy.late_slack_ms),
            policy: policy.clone(),
            store,
        }
    }

    /// The message's keys: its sender's hash and its text's fingerprint.
    /// Called as soon as the text is canonical, so that the store can start
    /// fetching the entries while the text and links are scanned. Changes
    /// nothing.
    pub fn plan(&self, msg: &Message<'_>, canon: &Canonical, words: &Words) -> Plan {
        // Without a time the message adds profile evidence only.
        if msg.timestamp_ms.is_none() && self.clock.latest_ms().is_none() {
            return Plan::default();
        }
        let sender = msg.sender.map(|s| hash_str(s, SENDER_SEED));
        let p = &self.policy;
        let fingerprint = fingerprint::fingerprint(
            &canon.text,
            words,
            p.fingerprint_bands,
            p.fingerprint_min_words,
        );
        self.store
            .prefetch(sender, fingerprint.as_ref().map_or(&[], Fingerprint::keys));
        Plan {
            sender,
            fingerprint,
        }
    }

    /// Counts the message at its event time and records the stream and
    /// profile evidence.
    pub fn observe(&self, msg: &Message<'_>, plan: Plan, evidence: &mut Evidence) {
        let p = &self.policy;
        let new_by_profile = profile::scan(msg.profile.as_ref(), p, evidence);
        let Some(t_ms) = self.clock.event_time(msg.timestamp_ms) else {
            return;
        };
        let query = Query {
            t: seconds(t_ms),
            sender: plan.sender,
            recipient: msg.recipient.map(|r| hash_str(r, RECIPIENT_SEED)),
            bands: plan.fingerprint.as_ref().map_or(&[], Fingerprint::keys),
            new_by_profile,
        };
        let seen = self.store.observe(&query);
        if seen.in_conversation {
            evidence.push(
                "SENDER_IN_CONVERSATION",
                1.0,
                "the recipient wrote to this sender lately",
            );
        }
        // Most DMs to a brand are first contacts: only an unprofiled or
        // new sender that nobody here knows makes one a sign.
        let followed = msg.profile.is_some_and(|p| p.recipient_follows_sender);
        let unknown = !followed && !seen.in_conversation && new_by_profile != Some(false);
        if let Some(o) = &seen.sender {
            rate::sender(o, unknown, p, evidence);
        }
        let Some(counts) = seen.campaign else {
            return;
        };
        let me = rate::Participant {
            recipients: seen.sender.map(|o| o.recipients),
            new: seen.new_sender,
            profiled: new_by_profile.is_some(),
        };
        if me.may_spread() {
            rate::campaign(&counts.estimate(), me, p, evidence);
        }
    }

    /// Records a brand's own DM: `msg.sender` is the brand, `msg.recipient`
    /// the person. Without both, or before any event time is known, there
    /// is nothing to record. Moves the event time like any message.
    pub fn observe_outgoing(&self, msg: &Message<'_>) {
        let Some(t_ms) = self.clock.event_time(msg.timestamp_ms) else {
            return;
        };
        let (Some(brand), Some(person)) = (msg.sender, msg.recipient) else {
            return;
        };
        self.store.record_conversation(
            hash_str(person, SENDER_SEED),
            hash_str(brand, RECIPIENT_SEED),
            seconds(t_ms),
        );
    }

    pub fn stats(&self) -> Stats {
        let (untimed, late) = self.clock.counts();
        Stats {
            untimed,
            late,
            ..self.store.stats()
        }
    }

    pub fn snapshot(&self) -> StateSnapshot {
        self.store.snapshot(self.clock.latest_ms())
    }

    /// Adds a snapshot's entries to the state (a fresh filter gets exactly
    /// the snapshot's memory, up to its own caps).
    pub fn restore(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        snapshot.check()?;
        if let Some(latest) = snapshot.latest_ms() {
            self.clock.restore(latest);
        }
        let now = seconds(snapshot.latest_ms().unwrap_or(0));
        self.store.restore(snapshot, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_750_000_000_000;

    #[test]
    fn a_restored_clock_beyond_the_tables_is_refused() {
        let stream = Stream::new(&StreamPolicy::default(), &StorePolicy::default());
        let msg = |ts| Message::new("hello there").with_timestamp_ms(ts);
        for bad in [i64::MAX, crate::state::MAX_EVENT_MS + 1, -5] {
            let snapshot = StateSnapshot::new(Some(bad), vec![], vec![]);
            let e = stream.restore(&snapshot).unwrap_err().to_string();
            assert!(e.contains("latest_ms"), "{e}");
        }
        assert_eq!(
            stream.snapshot().latest_ms(),
            None,
            "the clock did not move"
        );
        let snapshot = StateSnapshot::new(Some(T0), vec![], vec![]);
        stream.restore(&snapshot).unwrap();
        stream.observe_outgoing(&msg(T0 + 1000));
        assert_eq!(stream.snapshot().latest_ms(), Some(T0 + 1000));
        assert_eq!(stream.stats().late, 0);
    }
}
