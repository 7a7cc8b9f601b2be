//! The `[store]` section of a policy: how much the stream state holds.

use serde::{Deserialize, Serialize};

use crate::Error;

/// How much stream state the filter keeps, read from a policy's `[store]`
/// table. What the evidence makes of that state is the `[stream]` table's
/// ([`StreamPolicy`](crate::StreamPolicy)).
///
/// Memory is bounded by `max_senders`, `max_fingerprints` and
/// `max_conversations`: 64 bytes per sender, 120 per fingerprint band and
/// 12 per conversation (slot and key). Each table fills to about 90% of its
/// cap; then a new entry takes the place of the entry seen longest ago among
/// the few it could go to: an idle one (`Stats::expired`) or, when all are
/// active, a live one (`Stats::senders_evicted`,
/// `Stats::fingerprints_evicted`).
///
/// These keys used to sit in `[stream]`, and a policy file that has them
/// there still works; naming one in both tables is an error.
///
/// ```
/// use dmguard::Policy;
///
/// let policy = Policy::from_toml_str("[store]\nmax_senders = 100000\n")?;
/// assert_eq!(policy.store.max_senders, 100_000);
/// let older = Policy::from_toml_str("[stream]\nmax_senders = 100000\n")?;
/// assert_eq!(older, policy);
/// assert!(Policy::from_toml_str("[store]\nshards = 0\n").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorePolicy {
    /// Independent locks the state is split into, so that many threads can
    /// check at once. Default 16.
    pub shards: usize,
    /// Senders remembered at most; beyond it the sender seen longest ago in
    /// the same two small sets is forgotten; a table holds about 90% of its
    /// cap before it starts forgetting. Default 1 250 000 (80 MB).
    pub max_senders: usize,
    /// Fingerprint bands remembered at most (each text has
    /// `fingerprint_bands` of them). Default 262 144.
    pub max_fingerprints: usize,
    /// (brand, person) conversations remembered at most; beyond it the one
    /// whose brand wrote longest ago goes (`Stats::conversations_evicted`).
    /// 12 bytes each. Default 1 000 000 (12 MB).
    pub max_conversations: usize,
    /// A sender idle this long is forgotten first when room is needed.
    /// Default 86 400 000 (a day).
    pub sender_idle_ms: u64,
    /// The secret that keys the sender, campaign and conversation tables,
    /// as 16 hexadecimal digits: set the same in several instances (or a
    /// replay) for their snapshots to key the same senders and texts. Keep
    /// it secret: whoever knows it can craft sender ids or texts that
    /// collide in the tables and push out a chosen record. Default: none,
    /// the public seeds, so that a replay of a stream gives the same
    /// verdicts in any process (a snapshot restored into a fresh filter
    /// brings its own key along). Set one where attackers write.
    pub hash_key: Option<String>,
}

/// The keys of [`StorePolicy`], which older policy files have in `[stream]`.
pub(crate) const MOVED_KEYS: [&str; 5] = [
    "shards",
    "max_senders",
    "max_fingerprints",
    "max_conversations",
    "sender_idle_ms",
];

impl Default for StorePolicy {
    fn default() -> Self {
        StorePolicy {
            shards: 16,
            max_senders: 1_250_000,
            max_fingerprints: 1 << 18,
            max_conversations: 1_000_000,
            sender_idle_ms: 86_400_000,
            hash_key: None,
        }
    }
}

impl StorePolicy {
    /// The key set by `hash_key`, if it is set and valid.
    pub(crate) fn key(&self) -> Option<crate::state::hash::HashKey> {
        self.hash_key
            .as_deref()
            .and_then(crate::state::hash::HashKey::from_hex)
    }

    /// Checks ranges; errors name the key.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |key: &str, why: String| Err(Error::policy(Some(format!("store.{key}")), why));
        if !(1..=4096).contains(&self.shards) {
            return bad(
                "shards",
                format!("shards = {} is outside 1..=4096", self.shards),
            );
        }
        for (key, v) in [
            ("max_senders", self.max_senders),
            ("max_fingerprints", self.max_fingerprints),
            ("max_conversations", self.max_conversations),
        ] {
            if v == 0 {
                return bad(key, format!("{key} must be at least 1"));
            }
            let max = crate::limits::MAX_TABLE_ENTRIES;
            if v > max {
                return bad(key, format!("{key} = {v} is above {max}"));
            }
        }
        let v = self.sender_idle_ms;
        if !(2_000..=u64::from(u32::MAX) * 1000).contains(&v) {
            return bad(
                "sender_idle_ms",
                format!("sender_idle_ms = {v} is outside 2 s ..= 136 years"),
            );
        }
        if let Some(hex) = &self.hash_key
            && self.key().is_none_or(|k| k.0 == 0)
        {
            // Key 0 is the public seeds: no secret at all.
            return bad(
                "hash_key",
                format!("hash_key = {hex:?} is not 16 hexadecimal digits other than all zeros"),
            );
        }
        Ok(())
    }
}

/// The windows a store counts in, from the `[stream]` table: the store
/// keeps its counts in two bins of half a window each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Windows {
    pub fanout_ms: u64,
    pub campaign_ms: u64,
    pub conversation_ms: u64,
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    #[test]
    fn bad_store_values_are_named() {
        for (source, key) in [
            ("[store]\nshards = 0\n", "shards"),
            ("[store]\nmax_senders = 0\n", "max_senders"),
            ("[store]\nmax_conversations = 0\n", "max_conversations"),
            (
                "[store]\nmax_fingerprints = 1000000000000\n",
                "max_fingerprints",
            ),
            ("[store]\nsender_idle_ms = 10\n", "sender_idle_ms"),
            ("[stream]\nshards = 0\n", "shards"),
            ("[store]\nmax_sendres = 3\n", "max_sendres"),
            ("[store]\nhash_key = \"abc\"\n", "hash_key"),
            ("[store]\nhash_key = \"0000000000000000\"\n", "hash_key"),
        ] {
            let e = Policy::from_toml_str(source).unwrap_err().to_string();
            assert!(e.contains(key), "{source}: {e}");
        }
    }

    #[test]
    fn the_older_spelling_in_stream_is_read_into_store() {
        let old = Policy::from_toml_str("[stream]\nshards = 4\nburst_per_minute = 5\n").unwrap();
        assert_eq!((old.store.shards, old.stream.burst_per_minute), (4, 5));
        let old = Policy::from_json_str(r#"{"stream": {"max_conversations": 9}}"#).unwrap();
        assert_eq!(old.store.max_conversations, 9);
    }

    #[test]
    fn a_key_in_both_tables_is_refused_naming_it() {
        let e = Policy::from_toml_str("[stream]\nshards = 4\n[store]\nshards = 8\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("shards") && e.contains("[store]"), "{e}");
    }
}
