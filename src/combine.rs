//! Combining: every hit's strength times its weight, summed as log-odds, gives
//! the score; the policy's thresholds turn the score into an action.

use std::borrow::Cow;
use std::fmt::Write;

use crate::codes::{COUNT, Code};
use crate::features::Evidence;
use crate::policy::Policy;
use crate::verdict::{Action, Family, Reason, Verdict};

/// The code of the note that a block was lowered to review.
pub(crate) const SINGLE_FAMILY: Code = Code::VERDICT_SINGLE_FAMILY;

/// Codes that all say one thing, that the sender is unknown here: a new
/// account, a lopsided following, a first message to this inbox, a link in
/// that first message. Every customer writing for the first time from a
/// fresh account shows most of them at once, so together they count at most
/// [`UNKNOWN_SENDER_CAP`] log-odds, however many fire: alone they leave such
/// a customer allowed (−3 + 1.5 gives 0.18), and they still add to real
/// evidence against the text. The first hits keep their weight; the rest
/// show what is left of the cap, down to 0, so every one stays in the
/// reasons.
const UNKNOWN_SENDER: [Code; 4] = [
    Code::SENDER_NEW_ACCOUNT,
    Code::SENDER_FOLLOW_RATIO,
    Code::SENDER_FIRST_CONTACT,
    Code::LINK_FIRST_CONTACT,
];
const UNKNOWN_SENDER_CAP: f64 = 1.5;

pub(crate) use crate::codes::DEFAULT_BIAS;

/// Codes that all say one thing, that the platform and the brand know the
/// sender: an aged account with an ordinary following, a verified account,
/// an account the brand follows. A hijacked account shows all of them at
/// once, so together they count at most [`TRUSTED_SENDER_CAP`] log-odds:
/// enough to bring the texts that an SMS-trained classifier misreads in a
/// brand inbox (its weight on them stays under 5) below review, not enough
/// to hide a link, a campaign or a scam the classifier is sure of (its
/// weight on SMS spam has a median of 23).
const TRUSTED_SENDER: [Code; 3] = [
    Code::SENDER_ESTABLISHED,
    Code::SENDER_VERIFIED,
    Code::SENDER_FOLLOWED_BY_RECIPIENT,
];
const TRUSTED_SENDER_CAP: f64 = 2.5;

/// Codes that say one thing, and so count together up to a cap on the
/// side they speak for (the sign of `cap`); weights on the other side are
/// not capped.
struct CappedGroup {
    codes: &'static [Code],
    cap: f64,
    /// What the group says the sender is, for the note on a capped reason.
    sender_is: &'static str,
}

const CAPPED: [CappedGroup; 2] = [
    CappedGroup {
        codes: &UNKNOWN_SENDER,
        cap: UNKNOWN_SENDER_CAP,
        sender_is: "unknown",
    },
    CappedGroup {
        codes: &TRUSTED_SENDER,
        cap: -TRUSTED_SENDER_CAP,
        sender_is: "known",
    },
];

/// The net log-odds a family's reasons must reach for the family to point
/// at spam. Below it are the weak signs that every customer shows now and
/// then: a first contact (0.25), an upset customer's burst to one inbox
/// (0.5), a phone number; a rule of its own (a shortener, 1.5; a day-old
/// account, 1.0; a spam phrase) reaches it.
pub(crate) const FAMILY_MIN_WEIGHT: f64 = 1.0;

/// Whether a family pointing at spam counts towards `block_min_families`.
/// The sender's does not: all it can say against a message is that the
/// sender is unknown (a new account, a lopsided following, a first
/// contact), which a customer who made an account to complain shows too.
/// It still adds to the score and is named in [`Verdict::families`], but
/// a text the classifier misreads from a fresh account is held for review,
/// not blocked; a link, a campaign or a deny list on top still blocks.
fn corroborates(family: Family) -> bool {
    family != Family::Sender
}

/// The weight of every code, resolved once when the filter is built and
/// indexed by the code.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    pub bias: f64,
    by_code: [Resolved; COUNT],
}

/// A code's weight and what the combination needs to know about it,
/// resolved when the filter is built so that a hit costs one indexed load.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    weight: f64,
    role: Role,
    family: Family,
}

/// What a code does in the combination beyond adding its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// One of the codes of `CAPPED[i]`: capped together.
    Capped(usize),
    /// A hit of one of the policy's deny lists (phrases, patterns, link
    /// domains): the brand named it, so it may block on its own.
    Deny,
    /// Decides the action whatever the score.
    ForceAllow,
    ForceBlock,
    /// Adds to the score, but not to its family's agreement: many links
    /// are what a newsletter, a partner's list of articles or a customer's
    /// order pages carry, none of them bad (on SpamAssassin's ham, this
    /// count and a misreading classifier blocked 477 messages). A
    /// shortener, an IP host, a look-alike or a deny list does make the
    /// link family agree.
    Volume,
}

impl Role {
    fn of(code: Code) -> Role {
        match code {
            Code::POLICY_ALLOW_SENDER => Role::ForceAllow,
            Code::POLICY_DENY_SENDER => Role::ForceBlock,
            Code::POLICY_DENY_PHRASE | Code::LINK_DENY => Role::Deny,
            Code::LINK_MANY => Role::Volume,
            _ => CAPPED
                .iter()
                .position(|group| group.codes.contains(&code))
                .map_or(Role::Plain, Role::Capped),
        }
    }
}

impl Weights {
    /// Defaults of every code, then the fitted weights (from a model), then
    /// the policy's overrides (its `[weights]`, resolved to codes when it
    /// was checked), each replacing the one before.
    pub fn resolve(
        fitted: &[(Code, f64)],
        fitted_bias: Option<f64>,
        overrides: &[(Code, f64)],
    ) -> Weights {
        let mut by_code = [Resolved {
            weight: 0.0,
            role: Role::Plain,
            family: Family::Text,
        }; COUNT];
        for code in Code::all() {
            by_code[code.index()] = Resolved {
                weight: code.info().default_weight,
                role: Role::of(code),
                family: code.family(),
            };
        }
        for &(code, w) in fitted.iter().chain(overrides) {
            by_code[code.index()].weight = w;
        }
        Weights {
            bias: fitted_bias.unwrap_or(DEFAULT_BIAS),
            by_code,
        }
    }

    pub fn get(&self, code: Code) -> f64 {
        self.entry(code).weight
    }

    fn entry(&self, code: Code) -> Resolved {
        self.by_code[code.index()]
    }
}

/// Turns evidence into a verdict. Takes the hits' details by move so that
/// the reasons do not copy them.
///
/// The score is the calibrated sum of every weight. The action follows the
/// policy's thresholds, except that a block needs at least
/// `block_min_families` families whose reasons add up to
/// [`FAMILY_MIN_WEIGHT`] or more, or a hit of one of the policy's deny
/// lists; otherwise the message goes to review, with the note
/// [`SINGLE_FAMILY`] among its reasons.
pub(crate) fn verdict(evidence: &mut Evidence, weights: &Weights, policy: &Policy) -> Verdict {
    let mut logit = weights.bias;
    let mut reasons = Vec::with_capacity(evidence.hits.len() + 1);
    let mut forced = None;
    let mut denied = false;
    let mut capped = [0.0f64; CAPPED.len()];
    let mut by_family = [0.0; Family::ALL.len()];
    for mut hit in evidence.hits.drain(..) {
        let Resolved {
            weight,
            role,
            family,
        } = weights.entry(hit.code);
        let mut weight = weight * hit.strength;
        if weight == 0.0 {
            continue;
        }
        if let Role::Capped(g) = role {
            let group = &CAPPED[g];
            if weight * group.cap > 0.0 {
                let room = (group.cap.abs() - capped[g].abs()).max(0.0);
                if weight.abs() > room {
                    weight = room.copysign(group.cap);
                    let _ = write!(
                        hit.detail.to_mut(),
                        " (capped: evidence that the sender is {} counts {} at most)",
                        group.sender_is,
                        group.cap
                    );
                }
                capped[g] += weight;
            }
        }
        match role {
            Role::ForceAllow => forced = Some(Action::Allow),
            Role::ForceBlock if forced.is_none() => {
                forced = Some(Action::Block);
                denied = true;
            }
            Role::Deny if weight > 0.0 => denied = true,
            _ => {}
        }
        if role != Role::Volume {
            by_family[family as usize] += weight;
        }
        logit += weight;
        reasons.push(Reason {
            code: hit.code.as_str(),
            weight: round3(weight),
            detail: hit.detail,
        });
    }
    reasons.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    // Collecting allocates only at the first family that points at spam.
    let families: Vec<Family> = Family::ALL
        .iter()
        .zip(by_family)
        .filter(|&(_, w)| w >= FAMILY_MIN_WEIGHT)
        .map(|(&f, _)| f)
        .collect();
    let agreeing = families.iter().filter(|&&f| corroborates(f)).count();
    let score = sigmoid(logit);
    let mut action = if score >= policy.block_threshold {
        Action::Block
    } else if score >= policy.review_threshold {
        Action::Review
    } else {
        Action::Allow
    };
    if action == Action::Block
        && forced.is_none()
        && !denied
        && agreeing < policy.block_min_families
    {
        action = Action::Review;
        reasons.push(Reason {
            code: SINGLE_FAMILY.as_str(),
            weight: 0.0,
            detail: single_family_detail(&families, policy.block_min_families),
        });
    }
    Verdict {
        score,
        action: forced.unwrap_or(action),
        reasons,
        families,
    }
}

/// Why a block was lowered to review, naming the families that agreed.
fn single_family_detail(families: &[Family], needed: usize) -> Cow<'static, str> {
    let mut detail = String::from("held for review, not blocked: ");
    let mut counted = families.iter().filter(|&&f| corroborates(f)).peekable();
    if counted.peek().is_none() {
        detail.push_str("no family of evidence is strong on its own");
    } else {
        detail.push_str("only ");
        for (i, f) in counted.enumerate() {
            if i > 0 {
                detail.push_str(" and ");
            }
            detail.push_str(f.as_str());
        }
        detail.push_str(" evidence points at spam");
    }
    if families.contains(&Family::Sender) {
        detail.push_str(" (an unknown sender does not count)");
    }
    let _ = write!(detail, "; {needed} families needed");
    Cow::Owned(detail)
}

/// The logistic function, total over every `f64`: NaN maps to 0.5 and the
/// result always lies in `[0, 1]`.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x.is_nan() {
        return 0.5;
    }
    (1.0 / (1.0 + (-x).exp())).clamp(0.0, 1.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_stays_in_unit_interval() {
        for x in [
            f64::NEG_INFINITY,
            -1e308,
            -30.0,
            0.0,
            30.0,
            1e308,
            f64::INFINITY,
            f64::NAN,
        ] {
            let s = sigmoid(x);
            assert!((0.0..=1.0).contains(&s), "sigmoid({x}) = {s}");
        }
    }

    #[test]
    fn reasons_come_strongest_first_and_thresholds_pick_the_action() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &[]);
        let mut ev = Evidence::default();
        ev.push(Code::POLICY_DENY_PHRASE, 1.0, "deny phrase");
        ev.push(Code::POLICY_ALLOW_PHRASE, 0.5, "allow phrase");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.reasons[0].code, "POLICY_DENY_PHRASE");
        assert_eq!(v.reasons.len(), 2);
        // -3 + 6 - 2 = 1 → 0.73: between review (0.5) and block (0.9).
        assert_eq!(v.action, Action::Review);
    }

    #[test]
    fn unknown_sender_evidence_is_capped_together_and_stays_explained() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &[]);
        let mut ev = Evidence::default();
        ev.push(Code::LINK_FIRST_CONTACT, 1.0, "link");
        ev.push(Code::SENDER_NEW_ACCOUNT, 1.0, "new");
        ev.push(Code::SENDER_FOLLOW_RATIO, 1.0, "ratio");
        ev.push(Code::SENDER_FIRST_CONTACT, 1.0, "first");
        ev.push(Code::TEXT_TRUNCATED, 1.0, "long");
        let v = verdict(&mut ev, &weights, &policy);
        let capped: f64 = v
            .reasons
            .iter()
            .filter(|r| UNKNOWN_SENDER.iter().any(|c| c.as_str() == r.code))
            .map(|r| r.weight)
            .sum();
        assert!(
            (capped - UNKNOWN_SENDER_CAP).abs() < 1e-9,
            "{:?}",
            v.reasons
        );
        assert_eq!(v.reasons.len(), 5, "every hit stays in the reasons");
        assert!(v.reasons.iter().any(|r| r.detail.contains("capped")));
        let expected = sigmoid(DEFAULT_BIAS + UNKNOWN_SENDER_CAP + 0.25);
        assert!((v.score - expected).abs() < 1e-9);
    }

    #[test]
    fn one_family_alone_is_held_for_review_and_says_so() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &[]);
        // The text alone: far above block, held for review.
        let mut ev = Evidence::default();
        ev.push(Code::CLASSIFIER_TEXT, 9.0, "classifier");
        ev.push(Code::SENDER_FIRST_CONTACT, 1.0, "first");
        let v = verdict(&mut ev, &weights, &policy);
        assert!(v.score > 0.99);
        assert_eq!(v.action, Action::Review);
        assert_eq!(v.families, [Family::Text], "a first contact alone is weak");
        let note = v
            .reason(SINGLE_FAMILY.as_str())
            .expect("the verdict says why");
        assert_eq!(note.weight, 0.0);
        assert!(note.detail.contains("only text"), "{}", note.detail);
        assert_eq!(v.reasons.last().unwrap().code, SINGLE_FAMILY.as_str());

        // A fresh account adds to the score but does not corroborate.
        let mut ev = Evidence::default();
        ev.push(Code::CLASSIFIER_TEXT, 9.0, "classifier");
        ev.push(Code::SENDER_NEW_ACCOUNT, 1.0, "new");
        ev.push(Code::SENDER_FOLLOW_RATIO, 1.0, "ratio");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Review);
        assert_eq!(v.families, [Family::Text, Family::Sender]);
        let note = &v.reason(SINGLE_FAMILY.as_str()).unwrap().detail;
        assert!(note.contains("unknown sender does not count"), "{note}");

        // Text and a link: blocked, both named.
        let mut ev = Evidence::default();
        ev.push(Code::CLASSIFIER_TEXT, 9.0, "classifier");
        ev.push(Code::LINK_SHORTENER, 1.0, "bit.ly");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.families, [Family::Text, Family::Link]);
        assert!(v.reason(SINGLE_FAMILY.as_str()).is_none());

        // Many links of no ill sort are not a second family.
        let mut ev = Evidence::default();
        ev.push(Code::CLASSIFIER_TEXT, 9.0, "classifier");
        ev.push(Code::LINK_MANY, 3.0, "6 links in one message");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Review);
        assert_eq!(v.families, [Family::Text]);
        assert!(v.reason("LINK_MANY").unwrap().weight > 0.0, "still scored");

        // One family may block when the policy says so.
        let one = Policy {
            block_min_families: 1,
            ..Policy::default()
        };
        let mut ev = Evidence::default();
        ev.push(Code::CLASSIFIER_TEXT, 9.0, "classifier");
        assert_eq!(verdict(&mut ev, &weights, &one).action, Action::Block);
    }

    #[test]
    fn a_deny_list_blocks_on_its_own() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &[]);
        let mut ev = Evidence::default();
        ev.push(Code::POLICY_DENY_PHRASE, 1.0, "deny phrase");
        ev.push(Code::CLASSIFIER_TEXT, 2.0, "classifier");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.families, [Family::Text, Family::Policy]);
        let mut ev = Evidence::default();
        ev.push(Code::LINK_DENY, 1.0, "denied domain");
        assert_eq!(verdict(&mut ev, &weights, &policy).action, Action::Block);
    }

    #[test]
    fn trust_evidence_is_capped_together_and_stays_explained() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &[]);
        let mut ev = Evidence::default();
        ev.push(Code::SENDER_VERIFIED, 1.0, "verified");
        ev.push(Code::SENDER_FOLLOWED_BY_RECIPIENT, 1.0, "followed");
        ev.push(Code::SENDER_ESTABLISHED, 1.0, "aged");
        ev.push(Code::SENDER_IN_CONVERSATION, 1.0, "replied");
        let v = verdict(&mut ev, &weights, &policy);
        let capped: f64 = v
            .reasons
            .iter()
            .filter(|r| TRUSTED_SENDER.iter().any(|c| c.as_str() == r.code))
            .map(|r| r.weight)
            .sum();
        assert!(
            (capped + TRUSTED_SENDER_CAP).abs() < 1e-9,
            "{:?}",
            v.reasons
        );
        assert!(v.reasons.iter().any(|r| r.detail.contains("capped")));
        // The conversation is not part of the cap.
        let talk = weights.get(Code::SENDER_IN_CONVERSATION);
        let expected = sigmoid(DEFAULT_BIAS - TRUSTED_SENDER_CAP + talk);
        assert!((v.score - expected).abs() < 1e-9);
        assert!(v.families.is_empty());
    }

    #[test]
    fn every_code_has_the_family_of_its_kind() {
        for info in crate::codes::all_codes() {
            let family = info.family();
            let expected = match info.code.split('_').next().unwrap() {
                "TEXT" | "CLASSIFIER" => Family::Text,
                "LINK" if info.code == "LINK_FIRST_CONTACT" => Family::Sender,
                "LINK" => Family::Link,
                "CAMPAIGN" => Family::Stream,
                "SENDER" if matches!(info.code, "SENDER_BURST" | "SENDER_FANOUT") => Family::Stream,
                "SENDER" => Family::Sender,
                "POLICY" | "VERDICT" => Family::Policy,
                other => panic!("{}: no family expected for {other}", info.code),
            };
            assert_eq!(family, expected, "{}", info.code);
        }
    }

    #[test]
    fn an_allowed_sender_is_allowed_whatever_else_fired() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &[]);
        let mut ev = Evidence::default();
        ev.push(Code::POLICY_DENY_PHRASE, 1.0, "deny phrase");
        ev.push(Code::POLICY_ALLOW_SENDER, 1.0, "allowed sender");
        assert_eq!(verdict(&mut ev, &weights, &policy).action, Action::Allow);
    }
}
