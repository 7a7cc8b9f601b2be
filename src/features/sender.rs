//! Sender-profile evidence: what the platform says about the account.
//!
//! Evidence counts both ways. Against the message, modestly: a customer
//! who made a fresh account to complain must never be flagged for that
//! alone, so a new account, a lopsided following and a first contact
//! together stay below the review threshold (`combine` caps them at 1.5);
//! they matter when the text or the stream adds to them. For it, enough to
//! outweigh a text classifier that misreads a customer: an established
//! account, a verified one, one the brand follows (together capped at
//! -2.5 in `combine`, since a hijacked account shows them all), and above
//! all a person the brand itself wrote to lately.

use super::stream::StreamPolicy;
use crate::codes::Code;
use crate::features::Evidence;
use crate::message::SenderProfile;

/// Records the profile's evidence. Returns whether the account counts as
/// new, when its age is known.
pub(crate) fn scan(
    profile: Option<&SenderProfile>,
    policy: &StreamPolicy,
    evidence: &mut Evidence,
) -> Option<bool> {
    let profile = profile?;
    if profile.verified {
        evidence.push(Code::SENDER_VERIFIED, 1.0, "the sender is verified");
    }
    if profile.recipient_follows_sender {
        evidence.push(
            Code::SENDER_FOLLOWED_BY_RECIPIENT,
            1.0,
            "the recipient follows the sender",
        );
    }
    let mut ordinary_following = false;
    if let (Some(following), Some(followers)) = (profile.following, profile.followers) {
        if following >= policy.follow_min_following
            && following as f64 >= policy.follow_ratio * followers.max(1) as f64
        {
            evidence.push(
                Code::SENDER_FOLLOW_RATIO,
                1.0,
                format!("the sender follows {following} accounts and has {followers} followers"),
            );
        } else {
            ordinary_following = true;
        }
    }
    let age = profile.account_age_days?;
    if ordinary_following && age >= policy.established_account_days {
        evidence.push(
            Code::SENDER_ESTABLISHED,
            1.0,
            format!("the sender's account is {age} days old, with an ordinary following"),
        );
    }
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
            Code::SENDER_NEW_ACCOUNT,
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
        (ev.hits.iter().map(|h| h.code.as_str()).collect(), new)
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
        assert_eq!(
            codes,
            [
                "SENDER_VERIFIED",
                "SENDER_FOLLOWED_BY_RECIPIENT",
                "SENDER_ESTABLISHED"
            ]
        );
        assert_eq!(new, Some(false));
    }

    #[test]
    fn an_old_lopsided_account_is_not_established() {
        let (found, new) = codes(SenderProfile {
            account_age_days: Some(2000),
            followers: Some(3),
            following: Some(4000),
            ..SenderProfile::default()
        });
        assert_eq!(found, ["SENDER_FOLLOW_RATIO"]);
        assert_eq!(new, Some(false));
        let (found, _) = codes(SenderProfile {
            account_age_days: Some(2000),
            ..SenderProfile::default()
        });
        assert!(found.is_empty(), "followers unknown: {found:?}");
    }

    #[test]
    fn the_profile_alone_never_reaches_review() {
        let worst: f64 = crate::codes::all_codes()
            .filter(|c| c.code.starts_with("SENDER_") && c.family() == crate::Family::Sender)
            .map(|c| c.default_weight.max(0.0))
            .sum();
        // The combiner's bias is -3: review needs log-odds of 0.
        assert!(worst < -crate::codes::DEFAULT_BIAS, "{worst}");
    }
}
