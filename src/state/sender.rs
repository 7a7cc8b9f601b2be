//! Per-sender rate windows: what one account did lately, in 56 bytes.

use serde::{Deserialize, Serialize};

use super::hash::{bin_shift, bits_add, count_add, count_estimate, distinct, roll};
use super::shard::Slot;

/// Recipients remembered per sender for "first contact": the most recent
/// eight, as 16-bit tags (a false "known" is one chance in 8 000).
const CONTACTS: usize = 8;

/// What the filter remembers about one sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SenderRecord {
    /// Event time of the latest message, seconds since the epoch.
    last_s: u32,
    /// Event time of the first message held, seconds since the epoch.
    first_s: u32,
    /// Messages in the current and the previous minute.
    minute: [u16; 2],
    /// Messages in the current and the previous hour.
    hour: [u16; 2],
    /// Recipients (linear-counting bitmaps) in the current and previous half
    /// of the fan-out window.
    fanout: [u64; 2],
    /// Recent recipients' tags, a ring; 0 is empty.
    contacts: [u16; CONTACTS],
    /// The fan-out bin of the latest message (event time divided by the bin
    /// length, computed once per message rather than per record).
    fanout_bin: u32,
    next_contact: u8,
}

impl Slot for SenderRecord {
    fn last_seen(&self) -> u32 {
        self.last_s
    }
}

/// What one message told about its sender, the message included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SenderObservation {
    /// Messages in the last minute (sliding estimate).
    pub per_minute: f64,
    /// Messages in the last hour (sliding estimate).
    pub per_hour: f64,
    /// Distinct recipients in the fan-out window (estimate).
    pub recipients: f64,
    /// The sender had not written to this recipient before (as far as the
    /// filter remembers).
    pub first_contact: bool,
    /// The sender's first message held is less than an hour old.
    pub new_in_stream: bool,
}

impl SenderRecord {
    /// Counts one message at `t` (seconds) to `recipient` (a hash); `fresh`
    /// when the record was just created; `fanout_bin` is `t` divided by half
    /// the fan-out window.
    pub fn observe(
        &mut self,
        fresh: bool,
        t: u32,
        recipient: Option<u64>,
        fanout_bin: u32,
    ) -> SenderObservation {
        if fresh {
            self.first_s = t;
            self.last_s = t;
            self.fanout_bin = fanout_bin;
        }
        let last = self.last_s;
        count_add(&mut self.minute, bin_shift(last, t, 60));
        count_add(&mut self.hour, bin_shift(last, t, 3600));
        let shift = i64::from(fanout_bin) - i64::from(self.fanout_bin);
        self.fanout_bin = self.fanout_bin.max(fanout_bin);
        let first_contact = match recipient {
            Some(r) => {
                bits_add(&mut self.fanout, shift, r);
                self.remember(r)
            }
            None => {
                roll(&mut self.fanout, shift);
                false
            }
        };
        self.last_s = last.max(t);
        self.first_s = self.first_s.min(t);
        let now = self.last_s;
        SenderObservation {
            per_minute: count_estimate(self.minute, now, 60),
            per_hour: count_estimate(self.hour, now, 3600),
            recipients: distinct(self.fanout[0] | self.fanout[1]),
            first_contact,
            new_in_stream: now.saturating_sub(self.first_s) < 3600,
        }
    }

    /// Adds the recipient to the ring; true when it was not there.
    fn remember(&mut self, recipient: u64) -> bool {
        let tag = ((recipient >> 24) as u16).max(1);
        if self.contacts.contains(&tag) {
            return false;
        }
        let slot = usize::from(self.next_contact) % CONTACTS;
        self.contacts[slot] = tag;
        self.next_contact = ((slot + 1) % CONTACTS) as u8;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::hash::{RECIPIENT_SEED, hash_str};

    fn r(name: &str) -> Option<u64> {
        Some(hash_str(name, RECIPIENT_SEED))
    }

    #[test]
    fn record_stays_small() {
        assert!(
            size_of::<SenderRecord>() <= 56,
            "{}",
            size_of::<SenderRecord>()
        );
    }

    #[test]
    fn counts_rate_fanout_and_first_contact() {
        let mut s = SenderRecord::default();
        let t0 = 1_750_000_020;
        let o = s.observe(true, t0, r("brand_a"), (t0) / 600);
        assert!(o.first_contact && o.new_in_stream);
        let o = s.observe(false, t0 + 5, r("brand_a"), (t0 + 5) / 600);
        assert!(!o.first_contact);
        for (i, b) in ["brand_b", "brand_c", "brand_d"].iter().enumerate() {
            let o = s.observe(false, t0 + 10 + i as u32, r(b), (t0 + 10 + i as u32) / 600);
            assert!(o.first_contact);
        }
        let o = s.observe(false, t0 + 20, r("brand_a"), (t0 + 20) / 600);
        assert!(o.per_minute >= 5.0, "{o:?}");
        assert!((3.0..=4.6).contains(&o.recipients), "{o:?}");
        // Two hours later the minute, the hour and the fan-out have emptied,
        // but the contacts are remembered.
        let o = s.observe(false, t0 + 7200, r("brand_b"), (t0 + 7200) / 600);
        assert!(o.per_minute <= 1.0 && o.per_hour <= 2.0, "{o:?}");
        assert!(o.recipients <= 1.1 && !o.first_contact && !o.new_in_stream);
    }

    #[test]
    fn a_late_message_counts_in_the_previous_bin() {
        let mut s = SenderRecord::default();
        s.observe(true, 1000 * 60 + 10, r("a"), (1000 * 60 + 10) / 600);
        let o = s.observe(false, 1000 * 60 - 5, r("a"), (1000 * 60 - 5) / 600);
        assert_eq!(s.minute, [1, 1]);
        assert_eq!(s.last_s, 1000 * 60 + 10);
        assert!(o.per_minute > 1.0);
    }
}
