//! The seam between the evidence and what it remembers: a store counts a
//! message under its keys and returns what it saw, as plain numbers; the
//! evidence families (`features::stream`) weigh them.
//!
//! Each call is one atomic read-modify-write per key: two instances or
//! threads counting the same sender or text at once both see both counts.
//! The in-memory store ([`MemoryStore`](super::MemoryStore)) is the default;
//! a shared one lets many processes see one stream.

use std::fmt;

use super::{CampaignCounts, SenderObservation, StateSnapshot, Stats};
use crate::Error;

/// The most fingerprint bands a query carries.
pub(crate) const MAX_BANDS: usize = 4;

/// What a message asks the store to count, with its keys hashed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    /// Event time, seconds since the epoch.
    pub t: u32,
    pub sender: Option<u64>,
    pub recipient: Option<u64>,
    /// The fingerprint bands of the text; empty when it has none.
    pub bands: &'a [u64],
    /// Whether the sender's account is new, when the profile tells its age.
    /// When it does not, a sender the store first saw less than an hour ago
    /// counts as new among the text's senders.
    pub new_by_profile: Option<bool>,
}

/// What the store saw while counting a message, the message included.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Observation {
    /// The recipient (a brand) wrote to the sender within the conversation
    /// window.
    pub in_conversation: bool,
    /// The sender's windows; `None` without a sender.
    pub sender: Option<SenderObservation>,
    /// Whether the sender was counted as new among the text's senders.
    pub new_sender: bool,
    /// The spread of the text in its most widely seen band; `None` without
    /// bands.
    pub campaign: Option<CampaignCounts>,
}

/// A place that remembers the stream: sender windows, campaign cells and
/// conversations.
pub(crate) trait StateStore: Send + Sync + fmt::Debug {
    /// Starts fetching what [`observe`](Self::observe) will touch; a hint
    /// that changes nothing.
    fn prefetch(&self, _sender: Option<u64>, _bands: &[u64]) {}

    /// Counts one incoming message and returns what was seen.
    fn observe(&self, query: &Query<'_>) -> Observation;

    /// Records that `brand` (a recipient hash) wrote to `person` (a sender
    /// hash) at `t` (seconds).
    fn record_conversation(&self, person: u64, brand: u64, t: u32);

    /// Starts sharing, once the filter is built and its saved state
    /// restored: a shared store catches up with the others and starts
    /// exchanging. Nothing to do for a local one.
    fn start(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Exchanges with the other filters now, where the store is shared:
    /// publishes what this one counted and applies what they did. Returns
    /// whether the shared store answered (always true for a local one).
    fn sync(&self) -> bool {
        true
    }

    /// What the store holds; the clock's fields are left at zero.
    fn stats(&self) -> Stats;

    /// A copy of the store's entries, with the clock's latest time.
    fn snapshot(&self, latest_ms: Option<i64>) -> StateSnapshot;

    /// Adds a checked snapshot's entries, as at `now` (seconds).
    fn restore(&self, snapshot: &StateSnapshot, now: u32) -> Result<(), Error>;
}
