//! Combining: every hit's strength times its weight, summed as log-odds, gives
//! the score; the policy's thresholds turn the score into an action.

use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{BuildHasherDefault, Hasher};

use crate::features::{CodeInfo, Evidence};
use crate::policy::Policy;
use crate::verdict::{Action, Reason, Verdict};

/// Codes that come from the pipeline itself and from the policy's own allow
/// and deny lists.
pub(crate) const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "TEXT_TRUNCATED",
        default_weight: 0.25,
        summary: "the text is longer than the policy's max_text_bytes; only its start was examined",
    },
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
];

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

/// The weight of every code, resolved once when the filter is built.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    pub bias: f64,
    by_code: HashMap<&'static str, (f64, Role), BuildHasherDefault<CodeHasher>>,
}

/// What a code does in the combination beyond adding its weight, known
/// when the filter is built so that a hit needs no string comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// One of [`UNKNOWN_SENDER`]: capped together.
    UnknownSender,
    /// Decides the action whatever the score.
    ForceAllow,
    ForceBlock,
}

impl Role {
    fn of(code: &str) -> Role {
        match code {
            "POLICY_ALLOW_SENDER" => Role::ForceAllow,
            "POLICY_DENY_SENDER" => Role::ForceBlock,
            _ if UNKNOWN_SENDER.contains(&code) => Role::UnknownSender,
            _ => Role::Plain,
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
        let mut by_code: HashMap<&'static str, (f64, Role), _> = crate::features::all_codes()
            .map(|info| (info.code, (info.default_weight, Role::of(info.code))))
            .collect();
        for &(code, w) in fitted {
            by_code.insert(code, (w, Role::of(code)));
        }
        for (code, &w) in &policy.weights {
            if let Some(slot) = by_code.get_mut(code.as_str()) {
                slot.0 = w;
            }
        }
        Weights {
            bias: fitted_bias.unwrap_or(DEFAULT_BIAS),
            by_code,
        }
    }

    pub fn get(&self, code: &str) -> f64 {
        self.entry(code).0
    }

    fn entry(&self, code: &str) -> (f64, Role) {
        self.by_code
            .get(code)
            .copied()
            .unwrap_or((0.0, Role::Plain))
    }
}

/// Turns evidence into a verdict. Takes the hits' details by move so that
/// the reasons do not copy them.
pub(crate) fn verdict(evidence: &mut Evidence, weights: &Weights, policy: &Policy) -> Verdict {
    let mut logit = weights.bias;
    let mut reasons = Vec::with_capacity(evidence.hits.len());
    let mut forced = None;
    let mut unknown_sender = 0.0;
    for mut hit in evidence.hits.drain(..) {
        let (weight, role) = weights.entry(hit.code);
        let mut weight = weight * hit.strength;
        if weight == 0.0 {
            continue;
        }
        if weight > 0.0 && role == Role::UnknownSender {
            let room = (UNKNOWN_SENDER_CAP - unknown_sender).max(0.0);
            if weight > room {
                weight = room;
                let _ = write!(
                    hit.detail.to_mut(),
                    " (capped: evidence that the sender is unknown counts {UNKNOWN_SENDER_CAP} at most)"
                );
            }
            unknown_sender += weight;
        }
        match role {
            Role::ForceAllow => forced = Some(Action::Allow),
            Role::ForceBlock if forced.is_none() => forced = Some(Action::Block),
            _ => {}
        }
        logit += weight;
        reasons.push(Reason {
            code: hit.code,
            weight: round3(weight),
            detail: hit.detail,
        });
    }
    reasons.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let score = sigmoid(logit);
    let action = forced.unwrap_or(if score >= policy.block_threshold {
        Action::Block
    } else if score >= policy.review_threshold {
        Action::Review
    } else {
        Action::Allow
    });
    Verdict {
        score,
        action,
        reasons,
    }
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
    fn an_allowed_sender_is_allowed_whatever_else_fired() {
        let policy = Policy::default();
        let weights = Weights::resolve(&[], None, &policy);
        let mut ev = Evidence::default();
        ev.push("POLICY_DENY_PHRASE", 1.0, "deny phrase");
        ev.push("POLICY_ALLOW_SENDER", 1.0, "allowed sender");
        assert_eq!(verdict(&mut ev, &weights, &policy).action, Action::Allow);
    }
}
