//! Sender-profile evidence: what the platform says about the account.
//!
//! Weights are modest on purpose: a customer who made a fresh account to
//! complain must never be flagged for that alone. New account, lopsided
//! following and a first contact together stay below the review threshold;
//! they matter when the text or the stream adds to them.

use crate::features::{CodeInfo, Evidence};
use crate::message::SenderProfile;
use crate::state::StreamPolicy;

pub(crate) const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "SENDER_NEW_ACCOUNT",
        default_weight: 1.0,
        summary: "the sender's account is only days old",
    },
    CodeInfo {
        code: "SENDER_FOLLOW_RATIO",
        default_weight: 0.8,
        summary: "the sender follows far more accounts than follow it",
    },
    CodeInfo {
        code: "SENDER_VERIFIED",
        // Modest: verified and followed accounts get hijacked, and a
        // hijacked account's scam must still reach review on its text.
        default_weight: -1.0,
        summary: "the platform has verified the sender",
    },
    CodeInfo {
        code: "SENDER_FOLLOWED_BY_RECIPIENT",
        default_weight: -0.5,
        summary: "the recipient follows the sender",
    },
];

/// Records the profile's evidence. Returns whether the account counts as
/// new, when its age is known.
pub(crate) fn scan(
    profile: Option<&SenderProfile>,
    policy: &StreamPolicy,
    evidence: &mut Evidence,
) -> Option<bool> {
    let profile = profile?;
    if profile.verified {
        evidence.push("SENDER_VERIFIED", 1.0, "the sender is verified");
    }
    if profile.recipient_follows_sender {
        evidence.push(
            "SENDER_FOLLOWED_BY_RECIPIENT",
            1.0,
            "the recipient follows the sender",
        );
    }
    if let (Some(following), Some(followers)) = (profile.following, profile.followers)
        && following >= policy.follow_min_following
        && following as f64 >= policy.follow_ratio * followers.max(1) as f64
    {
        evidence.push(
            "SENDER_FOLLOW_RATIO",
            1.0,
            format!("the sender follows {following} accounts and has {followers} followers"),
        );
    }
    let age = profile.account_age_days?;
    let new = age < policy.new_account_days;
    if new {
        // The younger the account, the stronger; a day-old account is the
        // typical throwaway.
        let strength = match age {
            0..=1 => 1.0,
            2..=6 => 0.75,
            _ => 0.5,
        };
        evidence.push(
            "SENDER_NEW_ACCOUNT",
            strength,
            format!("the sender's account is {age} day(s) old"),
        );
    }
    Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(profile: SenderProfile) -> (Vec<&'static str>, Option<bool>) {
        let mut ev = Evidence::default();
        let new = scan(Some(&profile), &StreamPolicy::default(), &mut ev);
        (ev.hits.iter().map(|h| h.code).collect(), new)
    }

    #[test]
    fn fresh_lopsided_account() {
        let (codes, new) = codes(SenderProfile {
            account_age_days: Some(1),
            followers: Some(2),
            following: Some(1500),
            ..SenderProfile::default()
        });
        assert_eq!(codes, ["SENDER_FOLLOW_RATIO", "SENDER_NEW_ACCOUNT"]);
        assert_eq!(new, Some(true));
    }

    #[test]
    fn established_followed_account_speaks_for_the_message() {
        let (codes, new) = codes(SenderProfile {
            account_age_days: Some(2000),
            followers: Some(300),
            following: Some(280),
            verified: true,
            recipient_follows_sender: true,
        });
        assert_eq!(codes, ["SENDER_VERIFIED", "SENDER_FOLLOWED_BY_RECIPIENT"]);
        assert_eq!(new, Some(false));
    }

    #[test]
    fn the_profile_alone_never_reaches_review() {
        let worst: f64 = CODES.iter().map(|c| c.default_weight.max(0.0)).sum::<f64>()
            + super::super::rate::CODES
                .iter()
                .find(|c| c.code == "SENDER_FIRST_CONTACT")
                .map_or(0.0, |c| c.default_weight);
        // The combiner's bias is -3: review needs log-odds of 0.
        assert!(worst < -crate::combine::DEFAULT_BIAS, "{worst}");
    }
}
