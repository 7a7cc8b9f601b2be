//! The classifier inside a filter: weights that checks read without
//! waiting and that feedback updates in place.

use std::sync::Mutex;
use std::sync::atomic::{
    AtomicU32, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

use super::cache::{self, WordCache};
use super::learner::{self, Fitted};
use super::{
    ACCUSE_LOG_ODDS, ACQUIT_LOG_ODDS, Score, Vector, Words, journal, score_tokens, strength,
    vectorize,
};

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
    /// The generation of the weights, for the word caches (see
    /// [`cache`]): new with every learned or unlearned message, published
    /// after the weights it stands for.
    generation: AtomicU64,
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
            generation: AtomicU64::new(cache::new_generation()),
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
        strength(evidence, offset, ACQUIT_LOG_ODDS / cw, ACCUSE_LOG_ODDS / cw)
    }

    /// The strength that learning aims at: the accusing side uncapped, so
    /// that a taught spam family is learned until its text is clear
    /// evidence, not until a cap it can never pass.
    fn learning_strength(&self, evidence: f32) -> f64 {
        let (cw, _, offset) = self.combination;
        strength(evidence, offset, ACQUIT_LOG_ODDS / cw, f32::MAX)
    }

    /// Scores a canonical text from its words, found by [`Words::fill`],
    /// without allocating (but for the cache's first use on a thread).
    pub fn score_words<'a>(
        &self,
        text: &'a str,
        words: &'a Words,
        cache: &mut WordCache,
    ) -> Score<'a> {
        // Acquire: a generation read here comes with the weights it was
        // published after.
        let generation = self.generation.load(Acquire);
        let bias = f32::from_bits(self.bias.load(Relaxed));
        score_tokens(
            text,
            words.tokens(text),
            self.bits,
            bias,
            |j| f32::from_bits(self.weights[j].load(Relaxed)),
            Some((cache, generation)),
        )
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
            let combined = cw * self.learning_strength(evidence) as f32 + cb;
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
        self.generation.store(cache::new_generation(), Release);
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
        self.generation.store(cache::new_generation(), Release);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::{detail, score_with};

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

    /// A classifier whose weights are all different, so that any feature
    /// summed twice or left out shows in the score.
    fn varied(bits: u32) -> Classifier {
        let size = 1usize << bits;
        let weights = (0..size)
            .map(|j| ((j as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / 1e7 - 0.8)
            .collect();
        Classifier::from_fitted(
            bits,
            Fitted {
                bias: 0.25,
                weights,
                sq_grad: vec![0.0; size],
            },
            0.4,
            1e-5,
            (1.0, -1.0, 0.0),
        )
    }

    /// Scores a canonical text as a check does: from its words, through a
    /// word cache that lives as long as the test's thread.
    fn score<'a>(c: &Classifier, text: &'a str, words: &'a mut Words) -> Score<'a> {
        thread_local! {
            static CACHE: std::cell::RefCell<WordCache> = Default::default();
        }
        words.fill(text);
        CACHE.with(|cache| c.score_words(text, words, &mut cache.borrow_mut()))
    }

    fn logit(c: &Classifier, text: &str) -> f32 {
        score(c, text, &mut Words::default()).logit
    }

    /// The score without any cache, from the weights as they are now.
    fn uncached(c: &Classifier, text: &str) -> f32 {
        let weights: Vec<f32> = c
            .weights
            .iter()
            .map(|w| f32::from_bits(w.load(Relaxed)))
            .collect();
        let bias = f32::from_bits(c.bias.load(Relaxed));
        score_with(text, c.bits, bias, |j| weights[j]).logit
    }

    proptest::proptest! {
        #[test]
        fn the_word_cache_changes_no_score_by_a_bit(
            texts in proptest::collection::vec(
                "((refund|order|you|привет|abcdefghijklmnop|abcdefghijklmnopq|x[a-c]{1,3}|7up|日本)[ ,.!]{1,2}){0,12}",
                1..12,
            ),
        ) {
            let c = varied(14);
            // Twice over, so that the second pass is answered from the cache.
            for text in texts.iter().chain(texts.iter()) {
                proptest::prop_assert_eq!(logit(&c, text).to_bits(), uncached(&c, text).to_bits());
            }
        }
    }

    #[test]
    fn a_cached_word_is_not_answered_with_old_or_another_models_weights() {
        let text = "refund my order please, the order was late";
        let (a, b) = (varied(12), varied(12));
        let first = logit(&a, text);
        assert_eq!(logit(&a, text).to_bits(), first.to_bits());
        // Another classifier with other weights, on the same thread.
        b.learn(text, true, None);
        assert_eq!(logit(&b, text).to_bits(), uncached(&b, text).to_bits());
        assert_ne!(logit(&b, text), first);
        // Learning, then unlearning, each start a new generation.
        a.learn(text, false, Some("m1"));
        assert_eq!(logit(&a, text).to_bits(), uncached(&a, text).to_bits());
        assert!(logit(&a, text) < first);
        assert!(a.unlearn("m1"));
        assert_eq!(logit(&a, text).to_bits(), uncached(&a, text).to_bits());
        assert!((logit(&a, text) - first).abs() < 1e-5);
    }

    #[test]
    fn learning_moves_the_score_and_names_the_words() {
        let c = tiny();
        let text = "claim your prize";
        let before = logit(&c, text);
        for _ in 0..3 {
            c.learn(text, true, None);
        }
        let mut words = Words::default();
        let after = score(&c, text, &mut words);
        assert!(after.logit > before + 2.0, "{before} → {}", after.logit);
        assert!(detail(&after).contains("like spam"), "{}", detail(&after));
        assert!(detail(&after).contains("\"prize\"") || detail(&after).contains("\"claim\""));
    }

    #[test]
    fn unlearning_restores_the_weights() {
        let c = tiny();
        let text = "claim your prize";
        let before = logit(&c, text);
        c.learn(text, true, Some("m1"));
        assert!(logit(&c, text) > before);
        assert!(c.unlearn("m1"));
        assert!((logit(&c, text) - before).abs() < 1e-5);
        assert!(!c.unlearn("m1"), "a message is unlearned once");
        assert!(!c.unlearn("never-learned"));
    }

    #[test]
    fn empty_and_odd_texts_score_finitely() {
        let c = tiny();
        for text in ["", " ", "🙂🙂", &"x".repeat(5000)] {
            assert!(logit(&c, text).is_finite());
        }
    }
}
