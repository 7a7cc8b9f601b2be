//! Combining: every hit's strength times its weight, summed as log-odds, gives
//! the score; the policy's thresholds turn the score into an action.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{BuildHasherDefault, Hasher};

use crate::features::{CodeInfo, Evidence};
use crate::policy::Policy;
use crate::verdict::{Action, Family, Reason, Verdict};

/// Codes that come from the pipeline itself: padding a text past the limit
/// is a trick of the text.
pub(crate) const PIPELINE_CODES: &[CodeInfo] = &[CodeInfo {
    code: "TEXT_TRUNCATED",
    default_weight: 0.25,
    summary: "the text is longer than the policy's max_text_bytes; only its start and end were \
              examined (strength 1 at the cap, up to 4 the more it overshoots)",
}];

/// Codes of the policy's own allow and deny lists, and the combination's
/// note that it did not block on one family of evidence.
pub(crate) const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "POLICY_ALLOW_SENDER",
        default_weight: -12.0,
        summary: "the sender is on the policy's allow list",
    },
    CodeInfo {
        code: "POLICY_ALLOW_PHRASE",
        default_weight: -4.0,
        summary: "the text contains a phrase from the policy's allow list",
    },
    CodeInfo {
        code: "POLICY_DENY_SENDER",
        default_weight: 12.0,
        summary: "the sender is on the policy's deny list",
    },
    CodeInfo {
        code: "POLICY_DENY_PHRASE",
        default_weight: 6.0,
        summary: "the text contains a phrase or pattern from the policy's deny list",
    },
    CodeInfo {
        code: SINGLE_FAMILY,
        // A note, not evidence: it never changes the score.
        default_weight: 0.0,
        summary: "the score reached block, but fewer families of evidence than the policy's \
                  block_min_families agree, so the message is held for review instead",
    },
];

/// The code of the note that a block was lowered to review.
pub(crate) const SINGLE_FAMILY: &str = "VERDICT_SINGLE_FAMILY";

/// Codes that all say one thing, that the sender is unknown here: a new
/// account, a lopsided following, a first message to this inbox, a link in
/// that first message. Every customer writing for the first time from a
/// fresh account shows most of them at once, so together they count at most
/// [`UNKNOWN_SENDER_CAP`] log-odds, however many fire: alone they leave such
/// a customer allowed (−3 + 1.5 gives 0.18), and they still add to real
/// evidence against the text. The first hits keep their weight; the rest
/// show what is left of the cap, down to 0, so every one stays in the
/// reasons.
const UNKNOWN_SENDER: [&str; 4] = [
    "SENDER_NEW_ACCOUNT",
    "SENDER_FOLLOW_RATIO",
    "SENDER_FIRST_CONTACT",
    "LINK_FIRST_CONTACT",
];
const UNKNOWN_SENDER_CAP: f64 = 1.5;

/// Log-odds of spam for a message with no evidence at all: most DMs to a
/// brand are from customers.
pub(crate) const DEFAULT_BIAS: f64 = -3.0;

/// Codes that all say one thing, that the platform and the brand know the
/// sender: an aged account with an ordinary following, a verified account,
/// an account the brand follows. A hijacked account shows all of them at
/// once, so together they count at most [`TRUSTED_SENDER_CAP`] log-odds:
/// enough to bring the texts that an SMS-trained classifier misreads in a
/// brand inbox (its weight on them stays under 5) below review, not enough
/// to hide a link, a campaign or a scam the classifier is sure of (its
/// weight on SMS spam has a median of 23).
const TRUSTED_SENDER: [&str; 3] = [
    "SENDER_ESTABLISHED",
    "SENDER_VERIFIED",
    "SENDER_FOLLOWED_BY_RECIPIENT",
];
const TRUSTED_SENDER_CAP: f64 = 2.5;

/// Codes that say one thing, and so count together up to a cap on the
/// side they speak for (the sign of `cap`); weights on the other side are
/// not capped.
struct CappedGroup {
    codes: &'static [&'static str],
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

/// The weight of every code, resolved once when the filter is built.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    pub bias: f64,
    by_code: HashMap<&'static str, Resolved, BuildHasherDefault<CodeHasher>>,
}

/// A code's weight and what the combination needs to know about it,
/// resolved when the filter is built so that a hit needs no string
/// comparisons.
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
}

impl Role {
    fn of(code: &str) -> Role {
        match code {
            "POLICY_ALLOW_SENDER" => Role::ForceAllow,
            "POLICY_DENY_SENDER" => Role::ForceBlock,
            "POLICY_DENY_PHRASE" | "LINK_DENY" => Role::Deny,
            _ => CAPPED
                .iter()
                .position(|group| group.codes.contains(&code))
                .map_or(Role::Plain, Role::Capped),
        }
    }
}

/// FNV-1a for the weight table, looked up once per hit: its keys are the
/// crate's own few dozen codes, so the flooding resistance of the default
/// keyed hash buys nothing, and that hash cost more than the rest of the
/// lookup.
#[derive(Debug, Clone, Copy)]
struct CodeHasher(u64);

impl Default for CodeHasher {
    fn default() -> Self {
        CodeHasher(crate::hash::FNV_OFFSET)
    }
}

impl Hasher for CodeHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = crate::hash::fnv_extend(self.0, bytes);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Weights {
    /// Defaults of every code, then the fitted weights (from a model), then
    /// the policy's overrides, each replacing the one before.
    pub fn resolve(
        fitted: &[(&'static str, f64)],
        fitted_bias: Option<f64>,
        policy: &Policy,
    ) -> Weights {
        let mut by_code: HashMap<&'static str, Resolved, _> = crate::features::all_codes()
            .map(|info| {
                let resolved = Resolved {
                    weight: info.default_weight,
                    role: Role::of(info.code),
                    family: info.family(),
                };
                (info.code, resolved)
            })
            .collect();
        for &(code, w) in fitted {
            if let Some(slot) = by_code.get_mut(code) {
                slot.weight = w;
            }
        }
        for (code, &w) in &policy.weights {
            if let Some(slot) = by_code.get_mut(code.as_str()) {
                slot.weight = w;
            }
        }
        Weights {
            bias: fitted_bias.unwrap_or(DEFAULT_BIAS),
            by_code,
        }
    }

    pub fn get(&self, code: &str) -> f64 {
        self.entry(code).weight
    }

    fn entry(&self, code: &str) -> Resolved {
        self.by_code.get(code).copied().unwrap_or(Resolved {
            weight: 0.0,
            role: Role::Plain,
            family: Family::Text,
        })
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
        by_family[family as usize] += weight;
        logit += weight;
        reasons.push(Reason {
            code: hit.code,
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
            code: SINGLE_FAMILY,
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
        let weights = Weights::resolve(&[], None, &policy);
        let mut ev = Evidence::default();
        ev.push("POLICY_DENY_PHRASE", 1.0, "deny phrase");
        ev.push("POLICY_ALLOW_PHRASE", 0.5, "allow phrase");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.reasons[0].code, "POLICY_DENY_PHRASE");
        assert_eq!(v.reasons.len(), 2);
        // -3 + 6 - 2 = 1 → 0.73: between review (0.5) and block (0.9).
        assert_eq!(v.action, Action::Review);
    }

    #[test]
    fn unknown_sender_evidence_is_capped_together_and_stays_explained() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &policy);
        let mut ev = Evidence::default();
        ev.push("LINK_FIRST_CONTACT", 1.0, "link");
        ev.push("SENDER_NEW_ACCOUNT", 1.0, "new");
        ev.push("SENDER_FOLLOW_RATIO", 1.0, "ratio");
        ev.push("SENDER_FIRST_CONTACT", 1.0, "first");
        ev.push("TEXT_TRUNCATED", 1.0, "long");
        let v = verdict(&mut ev, &weights, &policy);
        let capped: f64 = v
            .reasons
            .iter()
            .filter(|r| UNKNOWN_SENDER.contains(&r.code))
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
        let weights = Weights::resolve(&[], None, &policy);
        // The text alone: far above block, held for review.
        let mut ev = Evidence::default();
        ev.push("CLASSIFIER_TEXT", 9.0, "classifier");
        ev.push("SENDER_FIRST_CONTACT", 1.0, "first");
        let v = verdict(&mut ev, &weights, &policy);
        assert!(v.score > 0.99);
        assert_eq!(v.action, Action::Review);
        assert_eq!(v.families, [Family::Text], "a first contact alone is weak");
        let note = v.reason(SINGLE_FAMILY).expect("the verdict says why");
        assert_eq!(note.weight, 0.0);
        assert!(note.detail.contains("only text"), "{}", note.detail);
        assert_eq!(v.reasons.last().unwrap().code, SINGLE_FAMILY);

        // A fresh account adds to the score but does not corroborate.
        let mut ev = Evidence::default();
        ev.push("CLASSIFIER_TEXT", 9.0, "classifier");
        ev.push("SENDER_NEW_ACCOUNT", 1.0, "new");
        ev.push("SENDER_FOLLOW_RATIO", 1.0, "ratio");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Review);
        assert_eq!(v.families, [Family::Text, Family::Sender]);
        let note = &v.reason(SINGLE_FAMILY).unwrap().detail;
        assert!(note.contains("unknown sender does not count"), "{note}");

        // Text and a link: blocked, both named.
        let mut ev = Evidence::default();
        ev.push("CLASSIFIER_TEXT", 9.0, "classifier");
        ev.push("LINK_SHORTENER", 1.0, "bit.ly");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.families, [Family::Text, Family::Link]);
        assert!(v.reason(SINGLE_FAMILY).is_none());

        // One family may block when the policy says so.
        let one = Policy {
            block_min_families: 1,
            ..Policy::default()
        };
        let mut ev = Evidence::default();
        ev.push("CLASSIFIER_TEXT", 9.0, "classifier");
        assert_eq!(verdict(&mut ev, &weights, &one).action, Action::Block);
    }

    #[test]
    fn a_deny_list_blocks_on_its_own() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &policy);
        let mut ev = Evidence::default();
        ev.push("POLICY_DENY_PHRASE", 1.0, "deny phrase");
        ev.push("CLASSIFIER_TEXT", 2.0, "classifier");
        let v = verdict(&mut ev, &weights, &policy);
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.families, [Family::Text, Family::Policy]);
        let mut ev = Evidence::default();
        ev.push("LINK_DENY", 1.0, "denied domain");
        assert_eq!(verdict(&mut ev, &weights, &policy).action, Action::Block);
    }

    #[test]
    fn trust_evidence_is_capped_together_and_stays_explained() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &policy);
        let mut ev = Evidence::default();
        ev.push("SENDER_VERIFIED", 1.0, "verified");
        ev.push("SENDER_FOLLOWED_BY_RECIPIENT", 1.0, "followed");
        ev.push("SENDER_ESTABLISHED", 1.0, "aged");
        ev.push("SENDER_IN_CONVERSATION", 1.0, "replied");
        let v = verdict(&mut ev, &weights, &policy);
        let capped: f64 = v
            .reasons
            .iter()
            .filter(|r| TRUSTED_SENDER.contains(&r.code))
            .map(|r| r.weight)
            .sum();
        assert!(
            (capped + TRUSTED_SENDER_CAP).abs() < 1e-9,
            "{:?}",
            v.reasons
        );
        assert!(v.reasons.iter().any(|r| r.detail.contains("capped")));
        // The conversation is not part of the cap.
        let talk = weights.get("SENDER_IN_CONVERSATION");
        let expected = sigmoid(DEFAULT_BIAS - TRUSTED_SENDER_CAP + talk);
        assert!((v.score - expected).abs() < 1e-9);
        assert!(v.families.is_empty());
    }

    #[test]
    fn every_code_has_the_family_of_its_kind() {
        for info in crate::features::all_codes() {
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
        let weights = Weights::resolve(&[], None, &policy);
        let mut ev = Evidence::default();
        ev.push("POLICY_DENY_PHRASE", 1.0, "deny phrase");
        ev.push("POLICY_ALLOW_SENDER", 1.0, "allowed sender");
        assert_eq!(verdict(&mut ev, &weights, &policy).action, Action::Allow);
    }
}
