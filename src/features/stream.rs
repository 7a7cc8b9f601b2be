//! Stream evidence: what the stream says about a message. The store counts
//! the message under its sender, its text's fingerprint bands and its
//! (brand, person) pair and returns what it saw; this module asks, and hands
//! the observations to the families that weigh them (`rate` for the sender's
//! rate and the text's spread, `sender` for the profile and the
//! conversation).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use crate::policy::StreamPolicy;

use super::fingerprint::{self, Fingerprint};
use super::{Evidence, rate, sender as profile};
use crate::Error;
use crate::classifier::Words;
use crate::codes::Code;
use crate::message::Message;
use crate::normalize::Canonical;
use crate::state::hash::{HashKey, RECIPIENT_SEED, SENDER_SEED, hash_str};
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
    /// The secret mixed into every key the store sees (see `state::hash`):
    /// the policy's `[store] hash_key`, or 0 (the public seeds). A restore
    /// into an empty filter may take the snapshot's instead, hence atomic.
    key: AtomicU64,
    /// Whether the key was set by the policy (or is shared through a
    /// store), which a snapshot then cannot change.
    key_fixed: bool,
}

impl Stream {
    /// Stream evidence over the in-memory store.
    pub fn new(policy: &StreamPolicy, store: &StorePolicy) -> Stream {
        let memory = Arc::new(MemoryStore::new(store, policy.windows()));
        Stream::with_store(policy, memory, store.key())
    }

    /// Stream evidence over the given store, its keys hashed with `key`;
    /// without one, with the public seeds until a restored snapshot brings
    /// its own.
    pub fn with_store(
        policy: &StreamPolicy,
        store: Arc<dyn StateStore>,
        key: Option<HashKey>,
    ) -> Stream {
        Stream {
            clock: Clock::new(policy.late_slack_ms),
            policy: policy.clone(),
            store,
            key: AtomicU64::new(key.unwrap_or_default().0),
            key_fixed: key.is_some(),
        }
    }

    fn key(&self) -> HashKey {
        HashKey(self.key.load(Ordering::Relaxed))
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
        let secret = self.key();
        let sender = msg.sender.map(|s| hash_str(s, secret.seed(SENDER_SEED)));
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
            recipient: msg
                .recipient
                .map(|r| hash_str(r, self.key().seed(RECIPIENT_SEED))),
            bands: plan.fingerprint.as_ref().map_or(&[], Fingerprint::keys),
            new_by_profile,
        };
        let seen = self.store.observe(&query);
        if seen.in_conversation {
            evidence.push(
                Code::SENDER_IN_CONVERSATION,
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
        let secret = self.key();
        self.store.record_conversation(
            hash_str(person, secret.seed(SENDER_SEED)),
            hash_str(brand, secret.seed(RECIPIENT_SEED)),
            seconds(t_ms),
        );
    }

    /// Starts a shared store's exchange (see `StateStore::start`).
    pub fn start(&self) -> Result<(), Error> {
        self.store.start()
    }

    /// Exchanges with a shared store's other filters now.
    pub fn sync(&self) -> bool {
        self.store.sync()
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
        self.store
            .snapshot(self.clock.latest_ms())
            .with_hash_key(self.key())
    }

    /// Makes sure the snapshot's keys mean the same senders and texts
    /// here: a filter whose tables are empty and whose key is its own
    /// random one takes the snapshot's key; otherwise the keys must be
    /// equal. A snapshot without entries keys nothing and always fits.
    fn adopt_key(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        let theirs = snapshot.hash_key();
        let ours = self.key();
        let keyed =
            snapshot.sender_count() + snapshot.fingerprint_count() + snapshot.conversation_count();
        if theirs == ours || keyed == 0 {
            return Ok(());
        }
        let stats = self.store.stats();
        let held = stats.senders + stats.fingerprints + stats.conversations;
        if self.key_fixed || held > 0 {
            let why = if self.key_fixed {
                "the policy's [store] hash_key".to_string()
            } else {
                format!("this filter's own key, under which it already holds {held} entries")
            };
            return Err(Error::invalid_input(format!(
                "the state snapshot's tables are keyed with hash_key {} (\"{}\" for \
                 snapshots written before keys), not with {why}: its senders and texts \
                 would match nothing here; restore it into a fresh filter, or set \
                 [store] hash_key to the snapshot's",
                theirs.to_hex(),
                HashKey(0).to_hex(),
            )));
        }
        self.key.store(theirs.0, Ordering::Relaxed);
        Ok(())
    }

    /// Adds a snapshot's entries to the state (a fresh filter gets exactly
    /// the snapshot's memory, up to its own caps).
    pub fn restore(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        snapshot.check()?;
        self.adopt_key(snapshot)?;
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

    fn keyed(key: Option<&str>) -> Stream {
        let store = StorePolicy {
            hash_key: key.map(str::to_string),
            ..StorePolicy::default()
        };
        Stream::new(&StreamPolicy::default(), &store)
    }

    fn one_sender(stream: &Stream, name: &str) {
        let msg = Message::new("hi there")
            .with_sender(name)
            .with_timestamp_ms(T0);
        let plan = stream.plan(&msg, &Canonical::default(), &Words::default());
        stream.observe(&msg, plan, &mut Evidence::default());
    }

    #[test]
    fn filters_key_their_tables_apart_and_a_snapshot_brings_its_key() {
        let (a, b) = (keyed(Some("00000000000000aa")), keyed(None));
        assert_eq!(b.key(), HashKey(0), "the public seeds by default");
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
        assert!(e.contains("policy's [store] hash_key"), "{e}");
        // The same key set in two policies keys the same.
        let d2 = keyed(Some("0123456789abcdef"));
        one_sender(&d2, "u3");
        d.restore(&d2.snapshot()).unwrap();
        one_sender(&d, "u3");
        assert_eq!(d.stats().senders, 1);
    }
}
