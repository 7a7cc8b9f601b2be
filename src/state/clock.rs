//! Event time: the time a message counts at, from its own timestamp and
//! the latest one seen.
//!
//! Each message counts at its own timestamp, except that a message more than
//! `late_slack_ms` older than the latest event time seen counts at that
//! latest time minus the slack (so that a replayed or stuck message cannot
//! rewind the windows). A message without a timestamp counts at the latest
//! event time seen; before any timestamped message has been seen it adds
//! profile evidence only. The latest event time moves forward by at most
//! half the slack per message, so a single timestamp far in the future does
//! not turn every later message into a late one. A timestamp the tables
//! cannot hold (before 1970 or after 2106, the range of a 32-bit count of
//! seconds) is no timestamp: such a message counts like an untimed one, and
//! so cannot set the clock even as the first. The first timed message sets
//! the clock alone, with no bound; until a later message lands within the
//! slack of it, a message that would be late replaces it instead, so that a
//! wrong clock on the very first message is not kept.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use super::MAX_EVENT_MS;

/// One filter's clock. Every instance keeps its own: a shared store holds
/// counts, not time.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Latest event time seen, ms; `i64::MIN` before the first.
    latest_ms: AtomicI64,
    /// Whether a message other than the one that set `latest_ms` first
    /// agreed with it (was not late); a restored clock counts as agreed.
    agreed: AtomicBool,
    /// How far one message may move `latest_ms` forward: half the slack.
    max_step_ms: i64,
    late_slack_ms: i64,
    untimed: AtomicU64,
    late: AtomicU64,
}

impl Clock {
    pub fn new(late_slack_ms: u64) -> Clock {
        Clock {
            latest_ms: AtomicI64::new(i64::MIN),
            agreed: AtomicBool::new(false),
            max_step_ms: i64::try_from(late_slack_ms / 2)
                .unwrap_or(i64::MAX)
                .max(1000),
            late_slack_ms: i64::try_from(late_slack_ms).unwrap_or(i64::MAX),
            untimed: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    /// The event time a message counts at, in ms, or `None` when no time is
    /// known yet. Moves the clock and counts untimed and late messages.
    pub fn event_time(&self, timestamp_ms: Option<i64>) -> Option<i64> {
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
        let floor = latest.saturating_sub(self.late_slack_ms);
        if latest == i64::MIN {
            return Some(ts);
        }
        if ts < floor {
            // A clock that only the first message vouches for is the one
            // in doubt, not this message.
            if !self.agreed.load(Ordering::Relaxed)
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
        if !self.agreed.load(Ordering::Relaxed) {
            self.agreed.store(true, Ordering::Relaxed);
        }
        Some(ts)
    }

    /// The latest event time seen, ms.
    pub fn latest_ms(&self) -> Option<i64> {
        let latest = self.latest_ms.load(Ordering::Relaxed);
        (latest != i64::MIN).then_some(latest)
    }

    /// Moves the clock to a restored time (checked by the snapshot).
    pub fn restore(&self, latest_ms: i64) {
        self.latest_ms.fetch_max(latest_ms, Ordering::Relaxed);
        self.agreed.store(true, Ordering::Relaxed);
    }

    /// Messages without a usable timestamp, and late ones.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.untimed.load(Ordering::Relaxed),
            self.late.load(Ordering::Relaxed),
        )
    }
}

/// An event time in ms as the tables' seconds.
pub(crate) fn seconds(t_ms: i64) -> u32 {
    u32::try_from(t_ms.max(0) / 1000).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_750_000_000_000;

    #[test]
    fn event_time_handles_untimed_late_and_future_messages() {
        let clock = Clock::new(120_000);
        assert_eq!(clock.event_time(None), None, "no clock yet");
        assert_eq!(clock.event_time(Some(T0)), Some(T0));
        assert_eq!(clock.event_time(None), Some(T0));
        // Within the two-minute slack: its own time.
        assert_eq!(clock.event_time(Some(T0 - 60_000)), Some(T0 - 60_000));
        // Beyond it: the latest time minus the slack.
        assert_eq!(clock.event_time(Some(T0 - 3_600_000)), Some(T0 - 120_000));
        // A clock a year ahead moves the filter's clock by one minute only.
        let year = 365 * 86_400_000;
        assert_eq!(clock.event_time(Some(T0 + year)), Some(T0 + year));
        assert_eq!(clock.event_time(None), Some(T0 + 60_000));
        assert_eq!(clock.event_time(Some(T0 + 1000)), Some(T0 + 1000));
        assert_eq!(clock.counts(), (3, 1));
    }

    #[test]
    fn unrepresentable_timestamps_count_as_untimed_and_never_set_the_clock() {
        let clock = Clock::new(120_000);
        // As the very first message, where no step bound applies yet.
        assert_eq!(clock.event_time(Some(9_000_000_000_000_000_000)), None);
        assert_eq!(clock.event_time(Some(i64::MAX)), None);
        assert_eq!(clock.event_time(Some(-1)), None);
        assert_eq!(clock.event_time(Some(T0)), Some(T0));
        assert_eq!(clock.event_time(Some(i64::MAX)), Some(T0));
        assert_eq!(clock.event_time(Some(MAX_EVENT_MS + 1)), Some(T0));
        assert_eq!(clock.event_time(Some(T0 + 5000)), Some(T0 + 5000));
        assert_eq!(clock.counts(), (5, 0));
    }

    #[test]
    fn a_wrong_first_clock_gives_way_to_the_next_message() {
        let year = 365 * 86_400_000;
        let clock = Clock::new(120_000);
        assert_eq!(clock.event_time(Some(T0 + year)), Some(T0 + year));
        // Not late: the clock set by one message alone gives way.
        assert_eq!(clock.event_time(Some(T0)), Some(T0));
        assert_eq!(clock.event_time(Some(T0 + 5000)), Some(T0 + 5000));
        // Now two messages agree: an old one is late as usual.
        assert_eq!(clock.event_time(Some(T0 - year)), Some(T0 + 5000 - 120_000));
        assert_eq!(clock.counts().1, 1);
    }
}
