//! The near-duplicate fingerprint table: for each fingerprint band, who sent
//! that text to whom in the campaign window.

use serde::{Deserialize, Serialize};

use super::hash::{count_add, distinct_wide, roll, wide_bits_add};
use super::shard::Slot;

/// What the filter remembers about one fingerprint band, in 112 bytes.
///
/// Every count keeps two bins, the current and the previous half of the
/// campaign window, so a text that stops spreading is forgotten.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CampaignCell {
    last_s: u32,
    /// The bin of the latest message (event time divided by the bin length,
    /// computed once per message); fills what would otherwise be padding.
    bin: u32,
    messages: [u16; 2],
    /// 128-bit linear-counting bitmaps: at 3 or 4 a collision would turn
    /// three people into one spreading account. New senders use the same
    /// bits as senders, so an all-new group has a share of exactly 1.
    senders: [u128; 2],
    recipients: [u128; 2],
    new_senders: [u128; 2],
}

impl Slot for CampaignCell {
    fn last_seen(&self) -> u32 {
        self.last_s
    }
}

/// The spread of one text in the campaign window, the message included.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CampaignObservation {
    pub messages: f64,
    pub senders: f64,
    pub recipients: f64,
    pub new_senders: f64,
}

/// A band's counts as they stand after a message, before estimating: a
/// message updates every band of its text but only the band that has seen
/// it most widely is read (the estimates cost a bit count each, which
/// `x86_64` without `popcnt` does in a dozen instructions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CampaignCounts {
    pub messages: u32,
    pub senders: u128,
    pub recipients: u128,
    pub new_senders: u128,
}

impl CampaignCounts {
    /// Messages with the text in the campaign window.
    pub fn messages(&self) -> f64 {
        f64::from(self.messages)
    }

    pub fn estimate(&self) -> CampaignObservation {
        CampaignObservation {
            messages: f64::from(self.messages),
            senders: distinct_wide(self.senders),
            recipients: distinct_wide(self.recipients),
            new_senders: distinct_wide(self.new_senders),
        }
    }
}

impl CampaignCell {
    /// Counts one message at `t` (seconds); `bin` is `t` divided by half the
    /// campaign window. Hashes are absent when the message has no sender or
    /// no recipient.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        fresh: bool,
        t: u32,
        bin: u32,
        sender: Option<u64>,
        recipient: Option<u64>,
        new_sender: bool,
    ) -> CampaignCounts {
        if fresh {
            self.last_s = t;
            self.bin = bin;
        }
        let shift = i64::from(bin) - i64::from(self.bin);
        self.bin = self.bin.max(bin);
        count_add(&mut self.messages, shift);
        for (bins, h) in [
            (&mut self.senders, sender),
            (&mut self.recipients, recipient),
            (&mut self.new_senders, sender.filter(|_| new_sender)),
        ] {
            match h {
                Some(h) => wide_bits_add(bins, shift, h),
                None => roll(bins, shift),
            }
        }
        self.last_s = self.last_s.max(t);
        CampaignCounts {
            // The whole window is two bins: count both in full.
            messages: u32::from(self.messages[0]) + u32::from(self.messages[1]),
            senders: self.senders[0] | self.senders[1],
            recipients: self.recipients[0] | self.recipients[1],
            new_senders: self.new_senders[0] | self.new_senders[1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::hash::mix;

    #[test]
    fn cell_stays_small() {
        assert!(
            size_of::<CampaignCell>() <= 112,
            "{}",
            size_of::<CampaignCell>()
        );
    }

    #[test]
    fn counts_senders_recipients_and_new_senders() {
        let mut c = CampaignCell::default();
        let mut o = CampaignObservation::default();
        for i in 0..6u64 {
            let t = 1000 + i as u32;
            o = c
                .observe(i == 0, t, t / 600, Some(mix(1)), Some(mix(100 + i)), i < 2)
                .estimate();
        }
        assert_eq!(o.messages, 6.0);
        assert!(o.senders < 1.1 && o.recipients >= 4.5, "{o:?}");
        assert!(o.new_senders < 1.1);
        // A window later everything has gone.
        let o = c
            .observe(false, 2300, 2300 / 600, Some(mix(2)), Some(mix(7)), false)
            .estimate();
        assert_eq!(o.messages, 1.0);
        assert!(o.recipients < 1.1 && o.new_senders == 0.0, "{o:?}");
    }
}
