//! Rate and campaign evidence: what the stream says about a message, read
//! from the observations that `state` made while counting it.
//!
//! The rules encode one asymmetry. Many distinct customers writing the same
//! thing to one brand (a support surge) or one customer writing many times
//! to one brand (an upset customer) is normal. One text spreading across
//! many inboxes, or many new accounts carrying one text, is not.

use super::stream::StreamPolicy;
use crate::codes::Code;
use crate::features::Evidence;
use crate::state::{CampaignObservation, SenderObservation};

/// Strength for a count `n` at or above its threshold `min`: 1 at the
/// threshold, growing with the doubling of the count, capped at 2.
fn grow(n: f64, min: f64) -> f64 {
    (1.0 + 0.5 * (n / min.max(1.0)).log2()).clamp(1.0, 2.0)
}

/// An estimate as a whole number, for details (integers format faster
/// than floats, and "3.97 inboxes" would read oddly).
fn count(x: f64) -> u64 {
    x.round() as u64
}

fn minutes(ms: u64) -> u64 {
    (ms / 60_000).max(1)
}

/// Evidence about the sender's own behaviour. `unknown` is true when the
/// sender is new or has no profile, and the recipient neither follows them
/// nor wrote to them: only then is a first contact a sign.
pub(crate) fn sender(
    o: &SenderObservation,
    unknown: bool,
    p: &StreamPolicy,
    evidence: &mut Evidence,
) {
    let minute = o.per_minute / f64::from(p.burst_per_minute.max(1));
    let hour = o.per_hour / f64::from(p.burst_per_hour.max(1));
    if minute >= 1.0 || hour >= 1.0 {
        // A long exchange with one brand is a conversation, not a flood:
        // half strength when every message went to one inbox.
        let one_inbox = if o.recipients < 1.5 { 0.5 } else { 1.0 };
        let detail = if minute >= hour {
            format!(
                "{} messages from this sender in the last minute",
                count(o.per_minute)
            )
        } else {
            format!(
                "{} messages from this sender in the last hour",
                count(o.per_hour)
            )
        };
        evidence.push(
            Code::SENDER_BURST,
            grow(minute.max(hour), 1.0) * one_inbox,
            detail,
        );
    }
    let min = f64::from(p.fanout_recipients);
    if o.recipients >= min - 0.5 {
        evidence.push(
            Code::SENDER_FANOUT,
            grow(o.recipients, min),
            format!(
                "this sender wrote to {} different inboxes in the last {} min",
                count(o.recipients),
                minutes(p.fanout_window_ms)
            ),
        );
    }
    if o.first_contact && unknown {
        evidence.push(
            Code::SENDER_FIRST_CONTACT,
            1.0,
            "first message from this sender to this inbox",
        );
    }
}

/// What the message's own sender contributes to a campaign verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Participant {
    /// Distinct recipients of this sender in the fan-out window; `None`
    /// when the message names no sender.
    pub recipients: Option<f64>,
    /// The sender counts as new (young account, or new to the stream when
    /// the age is unknown).
    pub new: bool,
    /// The sender's account age is known (rather than guessed from when
    /// the stream first saw it).
    pub profiled: bool,
}

impl Participant {
    /// Whether this sender can be flagged for spreading a text at all:
    /// [`campaign`] flags only a sender that writes to several inboxes or
    /// is new. For everyone else, most customers, the band's counts need
    /// no estimate.
    pub fn may_spread(&self) -> bool {
        self.new || self.recipients.is_some_and(|r| r >= SPREADING_RECIPIENTS)
    }
}

/// Inboxes this sender wrote to in the fan-out window from which it counts
/// as spreading a text (an estimate, so 2 reads as 1.5 or more).
const SPREADING_RECIPIENTS: f64 = 1.5;

/// Evidence about the spread of the message's text. Only the accounts that
/// do the spreading are flagged: `CAMPAIGN_FANOUT` needs this sender to
/// write to more than one inbox, `CAMPAIGN_SWARM` needs it to be new, so a
/// customer who happens to write the words of a campaign is left alone.
pub(crate) fn campaign(
    o: &CampaignObservation,
    me: Participant,
    p: &StreamPolicy,
    evidence: &mut Evidence,
) {
    let window = minutes(p.campaign_window_ms);
    let senders = o.senders.max(1.0);
    let min = f64::from(p.campaign_recipients);
    // One text to many inboxes from few accounts. When the senders
    // outnumber the inboxes, people are converging (a surge), not a text
    // spreading: the strength falls to nothing as inboxes per sender fall
    // to one.
    let spread = (o.recipients / senders - 1.0).clamp(0.0, 1.0);
    let spreading = me.recipients.is_some_and(|r| r >= SPREADING_RECIPIENTS);
    if spreading && o.recipients >= min - 0.5 && spread > 0.0 {
        evidence.push(
            Code::CAMPAIGN_FANOUT,
            grow(o.recipients, min) * spread,
            format!(
                "the same text reached {} inboxes from {} sender(s) in the last {window} min",
                count(o.recipients),
                count(senders)
            ),
        );
    }
    let min = f64::from(p.swarm_new_senders);
    let share = (o.new_senders / senders).min(1.0);
    // Without a profile, "new" only means "first seen lately", which is
    // also true of customers writing for the first time in a surge: then
    // the text must also be reaching several inboxes.
    let spreading = me.profiled || o.recipients >= f64::from(p.campaign_recipients) - 0.5;
    if me.new && spreading && o.new_senders >= min - 0.5 && share >= p.swarm_new_share {
        evidence.push(
            Code::CAMPAIGN_SWARM,
            grow(o.new_senders, min) * share,
            format!(
                "{} of {} senders of this text in the last {window} min are new accounts",
                count(o.new_senders.min(senders)),
                count(senders)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(o: CampaignObservation) -> Vec<(&'static str, f64)> {
        let me = Participant {
            recipients: Some(o.recipients.min(4.0)),
            new: o.new_senders > 0.0,
            profiled: true,
        };
        let mut ev = Evidence::default();
        campaign(&o, me, &StreamPolicy::default(), &mut ev);
        ev.hits
            .iter()
            .map(|h| (h.code.as_str(), h.strength))
            .collect()
    }

    #[test]
    fn a_surge_to_one_inbox_is_not_a_campaign() {
        let surge = CampaignObservation {
            messages: 150.0,
            senders: 150.0,
            recipients: 1.0,
            new_senders: 6.0,
        };
        assert!(hits(surge).is_empty());
    }

    #[test]
    fn one_account_to_many_inboxes_is() {
        let bot = CampaignObservation {
            messages: 4.0,
            senders: 1.0,
            recipients: 4.0,
            new_senders: 0.0,
        };
        assert_eq!(hits(bot)[0].0, "CAMPAIGN_FANOUT");
        assert!(hits(bot)[0].1 > 1.0);
    }

    #[test]
    fn many_new_accounts_with_one_text_is() {
        let swarm = CampaignObservation {
            messages: 4.0,
            senders: 4.0,
            recipients: 1.0,
            new_senders: 4.0,
        };
        assert_eq!(hits(swarm)[0].0, "CAMPAIGN_SWARM");
    }

    #[test]
    fn an_upset_customer_is_not_a_burst() {
        let mut ev = Evidence::default();
        let o = SenderObservation {
            per_minute: 8.0,
            per_hour: 8.0,
            recipients: 1.0,
            first_contact: false,
            new_in_stream: true,
        };
        sender(&o, true, &StreamPolicy::default(), &mut ev);
        assert!(ev.hits.is_empty(), "{:?}", ev.hits);
    }
}
