//! Conversations: which people each brand wrote to lately, so that their
//! answers count as a customer's.

use serde::{Deserialize, Serialize};

use super::hash::{mix, nonzero};
use super::shard::Slot;

/// What the filter remembers of one (brand, person) pair: when the brand
/// last wrote to the person. Four bytes, plus the eight of its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Conversation {
    /// Event time of the brand's latest DM to the person, seconds since the
    /// epoch.
    last_s: u32,
}

impl Slot for Conversation {
    fn last_seen(&self) -> u32 {
        self.last_s
    }
}

impl Conversation {
    /// Records a DM of the brand at `t` (seconds); a late one does not move
    /// the time back.
    pub fn wrote(&mut self, t: u32) {
        self.last_s = self.last_s.max(t);
    }

    /// Whether a DM from the person at `t` falls within `window` seconds of
    /// the brand's latest DM (or before it, for a late message).
    pub fn covers(&self, t: u32, window: u32) -> bool {
        self.last_s != 0 && t.saturating_sub(self.last_s) < window
    }
}

/// The key of the pair, from the person's hash as a sender and the brand's
/// hash as a recipient: the hashes an incoming DM computes anyway, so that
/// looking a conversation up costs one mix.
pub(crate) fn key(person: u64, brand: u64) -> u64 {
    nonzero(mix(person ^ brand.rotate_left(32)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_the_window_after_the_brand_wrote() {
        let mut c = Conversation::default();
        assert!(!c.covers(1000, 100), "the brand never wrote");
        c.wrote(1000);
        c.wrote(900);
        assert!(c.covers(1000, 100) && c.covers(1099, 100) && c.covers(950, 100));
        assert!(!c.covers(1100, 100));
    }

    #[test]
    fn a_conversation_takes_twelve_bytes_with_its_key() {
        assert_eq!(size_of::<Conversation>() + size_of::<u64>(), 12);
    }

    #[test]
    fn the_pair_is_ordered() {
        assert_ne!(key(1, 2), key(2, 1));
        assert_ne!(key(1, 2), 0);
    }
}
