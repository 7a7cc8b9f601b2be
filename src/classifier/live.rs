//! The classifier inside a filter: weights that checks read without
//! waiting and that feedback updates in place.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use super::learner::{self, Fitted};
use super::{ACQUIT_LOG_ODDS, Score, Vector, Words, journal, score_tokens, strength, vectorize};

/// Online steps taken per learned message at most: a message keeps being
/// learned until its combined score agrees with its label by
/// [`LEARN_MARGIN`] log-odds (spam above 0.98, ham below 0.05). Spam gets
/// the wider margin because the family's later messages start from the
/// bounded ham side (see [`strength`]) and must be carried across it by
/// what they share with the taught ones.
const LEARN_MAX_STEPS: usize = 32;
const LEARN_MARGIN: (f32, f32) = (4.0, 3.0);

/// The live classifier inside a filter.
pub(crate) struct Classifier {
    bits: u32,
    bias: AtomicU32,
    weights: Box<[AtomicU32]>,
    learning: Mutex<Learning>,
    rate: f32,
    l2: f32,
    /// The weight and bias the filter applies to the classifier's
    /// log-odds: learning aims at the combined score, not the raw one.
    combination: (f32, f32, f32),
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("table_bits", &self.bits)
            .field("combination", &self.combination)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Learning {
    sq_grad: Vec<f32>,
    scratch: Vector,
    before: Vec<f32>,
    journal: journal::Journal,
}

impl Classifier {
    /// `combination` is the weight and bias that the filter applies to the
    /// classifier's log-odds, so that learning aims at the final score.
    pub fn from_fitted(
        bits: u32,
        fitted: Fitted,
        rate: f32,
        l2: f32,
        combination: (f64, f64, f32),
    ) -> Classifier {
        let combination = (
            combination.0.max(0.05) as f32,
            combination.1 as f32,
            combination.2,
        );
        let weights = fitted
            .weights
            .iter()
            .map(|w| AtomicU32::new(w.to_bits()))
            .collect();
        Classifier {
            bits,
            bias: AtomicU32::new(fitted.bias.to_bits()),
            weights,
            learning: Mutex::new(Learning {
                sq_grad: fitted.sq_grad,
                ..Learning::default()
            }),
            rate,
            l2,
            combination,
        }
    }

    /// A copy of the current weights.
    pub fn snapshot(&self) -> Fitted {
        let learning = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        Fitted {
            bias: f32::from_bits(self.bias.load(Relaxed)),
            weights: self
                .weights
                .iter()
                .map(|w| f32::from_bits(w.load(Relaxed)))
                .collect(),
            sq_grad: learning.sq_grad.clone(),
        }
    }

    /// The strength of the classifier's hit for this much evidence (see
    /// [`strength`]), with the acquittal bounded in the final score's
    /// log-odds whatever the classifier's weight.
    pub fn strength(&self, evidence: f32) -> f64 {
        let (cw, _, offset) = self.combination;
        strength(evidence, offset, ACQUIT_LOG_ODDS / cw)
    }

    /// Scores a canonical text from its words, found by [`Words::fill`],
    /// without allocating.
    pub fn score_words<'a>(&self, text: &'a str, words: &'a Words) -> Score<'a> {
        let bias = f32::from_bits(self.bias.load(Relaxed));
        score_tokens(text.len(), words.tokens(text), self.bits, bias, |j| {
            f32::from_bits(self.weights[j].load(Relaxed))
        })
    }

    /// Moves the weights towards `spam` for this canonical text: AdaGrad
    /// steps until the model agrees by a margin (train on error), so a
    /// handful of examples teaches a new family. With an `id`, the change
    /// is remembered so that [`Classifier::unlearn`] can take it back.
    pub fn learn(&self, text: &str, spam: bool, id: Option<&str>) {
        let mut guard = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        let Learning {
            sq_grad,
            scratch,
            before,
            journal,
        } = &mut *guard;
        vectorize(text, self.bits, scratch);
        before.clear();
        before.extend(
            scratch
                .iter()
                .map(|&(j, _)| f32::from_bits(self.weights[j as usize].load(Relaxed))),
        );
        let target = if spam { 1.0 } else { 0.0 };
        for _ in 0..LEARN_MAX_STEPS {
            let mut evidence = 0.0;
            for &(j, v) in scratch.iter() {
                evidence += f32::from_bits(self.weights[j as usize].load(Relaxed)) * v;
            }
            // The combined log-odds (as if the classifier were the only
            // evidence) and the gradient of its log-loss.
            let (cw, cb, _) = self.combination;
            let combined = cw * self.strength(evidence) as f32 + cb;
            let learned = if spam {
                combined >= LEARN_MARGIN.0
            } else {
                combined <= -LEARN_MARGIN.1
            };
            if learned {
                break;
            }
            let g = (learner::sigmoid(combined) - target) * cw;
            for &(j, v) in scratch.iter() {
                let slot = &self.weights[j as usize];
                let w = f32::from_bits(slot.load(Relaxed));
                let gj = g * v + self.l2 * w;
                sq_grad[j as usize] += gj * gj;
                let w = w - self.rate * gj / (sq_grad[j as usize].sqrt() + 1e-6);
                slot.store(w.to_bits(), Relaxed);
            }
            // The bias stays: feedback is a biased sample of the traffic
            // (mostly mistakes), so it says nothing about the base rate.
        }
        if let Some(id) = id {
            let deltas = scratch
                .iter()
                .zip(before.iter())
                .filter_map(|(&(j, _), &was)| {
                    let now = f32::from_bits(self.weights[j as usize].load(Relaxed));
                    (now != was).then_some((j, now - was))
                });
            journal.record(id, deltas.collect());
        }
    }

    /// Takes back what [`Classifier::learn`] did for the message with this
    /// id; false when no such message was learned (or it was forgotten).
    pub fn unlearn(&self, id: &str) -> bool {
        let mut guard = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        let Some(deltas) = guard.journal.take(id) else {
            return false;
        };
        for (j, d) in deltas {
            let slot = &self.weights[j as usize];
            let w = f32::from_bits(slot.load(Relaxed)) - d;
            slot.store(w.to_bits(), Relaxed);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::detail;

    fn tiny() -> Classifier {
        let bits = 12;
        let size = 1 << bits;
        Classifier::from_fitted(
            bits,
            Fitted {
                bias: -1.0,
                weights: vec![0.0; size],
                sq_grad: vec![0.0; size],
            },
            0.4,
            1e-5,
            (1.0, -1.0, 0.0),
        )
    }

    /// A canonical text and its words, as a check finds them.
    fn words(text: &str) -> Words {
        let mut words = Words::default();
        words.fill(text);
        words
    }

    #[test]
    fn learning_moves_the_score_and_names_the_words() {
        let c = tiny();
        let text = "claim your prize";
        let w = words(text);
        let before = c.score_words(text, &w).logit;
        for _ in 0..3 {
            c.learn(text, true, None);
        }
        let after = c.score_words(text, &w);
        assert!(after.logit > before + 2.0, "{before} → {}", after.logit);
        assert!(detail(&after).contains("like spam"), "{}", detail(&after));
        assert!(detail(&after).contains("\"prize\"") || detail(&after).contains("\"claim\""));
    }

    #[test]
    fn unlearning_restores_the_weights() {
        let c = tiny();
        let before = c
            .score_words("claim your prize", &words("claim your prize"))
            .logit;
        c.learn("claim your prize", true, Some("m1"));
        assert!(
            c.score_words("claim your prize", &words("claim your prize"))
                .logit
                > before
        );
        assert!(c.unlearn("m1"));
        assert!(
            (c.score_words("claim your prize", &words("claim your prize"))
                .logit
                - before)
                .abs()
                < 1e-5
        );
        assert!(!c.unlearn("m1"), "a message is unlearned once");
        assert!(!c.unlearn("never-learned"));
    }

    #[test]
    fn empty_and_odd_texts_score_finitely() {
        let c = tiny();
        for text in ["", " ", "🙂🙂", &"x".repeat(5000)] {
            assert!(c.score_words(text, &words(text)).logit.is_finite());
        }
    }
}
