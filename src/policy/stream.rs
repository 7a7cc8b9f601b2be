//! The `[stream]` section of a policy: windows and thresholds of the rate,
//! campaign and sender evidence. How much the store holds is the `[store]`
//! section's ([`StorePolicy`](crate::StorePolicy)).

use serde::{Deserialize, Serialize};

use super::Windows;
use crate::Error;

/// Settings of the stream evidence (sender rate, fan-out, campaigns, sender
/// profile), read from a policy's `[stream]` table. The store's sizing
/// (shards, caps, idle time) is in `[store]`
/// ([`StorePolicy`](crate::StorePolicy)); those keys are still read from
/// `[stream]`, where older policy files have them.
///
/// Windows and expiry follow event time (`Message::timestamp_ms`), never the
/// wall clock:
///
/// - a message counts at its own timestamp, unless it is more than
///   `late_slack_ms` older than the latest event time seen; then it counts
///   at that latest time minus the slack (reported in `Stats::late`); the
///   latest event time moves forward by at most half the slack per message,
///   so one timestamp far in the future cannot make all others late;
/// - a message without a timestamp counts at the latest event time seen;
///   before any timestamped message it gets profile evidence only
///   (`Stats::untimed`);
/// - without a sender there is no rate or fan-out evidence, and the message
///   cannot be blamed for spreading a text; without a recipient it adds no
///   fan-out.
///
/// ```
/// use dmguard::Policy;
///
/// let policy = Policy::from_toml_str("[stream]\nburst_per_minute = 20\n")?;
/// assert_eq!(policy.stream.burst_per_minute, 20);
/// assert!(Policy::from_toml_str("[stream]\nfingerprint_bands = 9\n").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamPolicy {
    /// How late a message may arrive and still count at its own time; an
    /// older one counts at the latest event time minus this slack.
    /// Default 120 000 (two minutes).
    pub late_slack_ms: u64,
    /// Window for a sender's distinct recipients. Default 1 200 000 (20 min).
    pub fanout_window_ms: u64,
    /// Window for a text's senders and recipients. Default 1 200 000 (20 min).
    pub campaign_window_ms: u64,
    /// Messages per minute from one sender that count as a burst. Default 10.
    pub burst_per_minute: u32,
    /// Messages per hour from one sender that count as a burst. Default 60.
    pub burst_per_hour: u32,
    /// Distinct recipients of one sender in the fan-out window from which
    /// `SENDER_FANOUT` fires. Default 3.
    pub fanout_recipients: u32,
    /// Distinct recipients of one text from which `CAMPAIGN_FANOUT` may fire
    /// (it also needs the text to reach more inboxes than it has senders).
    /// Default 3.
    pub campaign_recipients: u32,
    /// New senders of one text from which `CAMPAIGN_SWARM` may fire.
    /// Default 3.
    pub swarm_new_senders: u32,
    /// Share of a text's senders that must be new for `CAMPAIGN_SWARM`.
    /// Default 0.75.
    pub swarm_new_share: f64,
    /// Accounts younger than this many days are new: for the profile, the
    /// swarm and, unless `[links]` sets its own, `LINK_FIRST_CONTACT`.
    /// Default 30.
    pub new_account_days: u32,
    /// Accounts at least this many days old, with followers and following
    /// known and not lopsided (`SENDER_FOLLOW_RATIO` does not fire), are
    /// established (`SENDER_ESTABLISHED`, which speaks for the message).
    /// At least `new_account_days`. Default 180.
    pub established_account_days: u32,
    /// How long after a brand's own DM to a person (recorded with
    /// `Filter::observe_outgoing`) that person's DMs to the brand carry
    /// `SENDER_IN_CONVERSATION`. Default 2 592 000 000 (30 days).
    pub conversation_window_ms: u64,
    /// `SENDER_FOLLOW_RATIO` fires when the sender follows at least this many
    /// times more accounts than follow it back... Default 20.
    pub follow_ratio: f64,
    /// ...and follows at least this many accounts. Default 200.
    pub follow_min_following: u64,
    /// Bands per fingerprint, 1 to 4: more bands catch copies that differ
    /// more, at a little more cost. Default 3.
    pub fingerprint_bands: usize,
    /// Words (after masking numbers and links) a text needs to be
    /// fingerprinted. Default 4.
    pub fingerprint_min_words: usize,
}

impl Default for StreamPolicy {
    fn default() -> Self {
        StreamPolicy {
            late_slack_ms: 120_000,
            fanout_window_ms: 1_200_000,
            campaign_window_ms: 1_200_000,
            burst_per_minute: 10,
            burst_per_hour: 60,
            fanout_recipients: 3,
            campaign_recipients: 3,
            swarm_new_senders: 3,
            swarm_new_share: 0.75,
            new_account_days: 30,
            established_account_days: 180,
            conversation_window_ms: 30 * 86_400_000,
            follow_ratio: 20.0,
            follow_min_following: 200,
            fingerprint_bands: 3,
            fingerprint_min_words: 4,
        }
    }
}

impl StreamPolicy {
    /// The windows the store counts in.
    pub(crate) fn windows(&self) -> Windows {
        Windows {
            fanout_ms: self.fanout_window_ms,
            campaign_ms: self.campaign_window_ms,
            conversation_ms: self.conversation_window_ms,
        }
    }

    /// Checks ranges; errors name the key.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |key: &str, why: String| Err(Error::policy(Some(format!("stream.{key}")), why));
        for (key, v) in [
            ("fanout_window_ms", self.fanout_window_ms),
            ("campaign_window_ms", self.campaign_window_ms),
            ("conversation_window_ms", self.conversation_window_ms),
        ] {
            if !(2_000..=u64::from(u32::MAX) * 1000).contains(&v) {
                return bad(key, format!("{key} = {v} is outside 2 s ..= 136 years"));
            }
        }
        if !(1..=4).contains(&self.fingerprint_bands) {
            return bad(
                "fingerprint_bands",
                format!(
                    "fingerprint_bands = {} is outside 1..=4",
                    self.fingerprint_bands
                ),
            );
        }
        if !(0.0..=1.0).contains(&self.swarm_new_share) {
            return bad(
                "swarm_new_share",
                format!(
                    "swarm_new_share = {} is outside [0, 1]",
                    self.swarm_new_share
                ),
            );
        }
        if self.established_account_days < self.new_account_days {
            return bad(
                "established_account_days",
                format!(
                    "established_account_days = {} is below new_account_days = {}",
                    self.established_account_days, self.new_account_days
                ),
            );
        }
        if !(self.follow_ratio.is_finite() && self.follow_ratio >= 1.0) {
            return bad(
                "follow_ratio",
                format!("follow_ratio = {} must be a number >= 1", self.follow_ratio),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    #[test]
    fn bad_stream_values_are_named() {
        for (source, key) in [
            ("[stream]\nfingerprint_bands = 9\n", "fingerprint_bands"),
            ("[stream]\nswarm_new_share = 1.5\n", "swarm_new_share"),
            ("[stream]\ncampaign_window_ms = 10\n", "campaign_window_ms"),
            (
                "[stream]\nestablished_account_days = 7\n",
                "established_account_days",
            ),
            ("[stream]\nburst_per_mintue = 3\n", "burst_per_mintue"),
        ] {
            let e = Policy::from_toml_str(source).unwrap_err().to_string();
            assert!(e.contains(key), "{source}: {e}");
        }
    }

    #[test]
    fn the_default_section_round_trips() {
        let policy = Policy::from_toml_str("[stream]\nlate_slack_ms = 5000\n").unwrap();
        assert_eq!(policy.stream.late_slack_ms, 5000);
        assert_eq!(policy.stream.burst_per_minute, 10);
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(Policy::from_json_str(&json).unwrap(), policy);
    }
}
