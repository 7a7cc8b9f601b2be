//! The classifier inside a filter: weights that checks read without
//! waiting and that feedback updates in place.

use std::sync::Mutex;
use std::sync::atomic::{
    AtomicU32, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

use super::cache::{self, WordCache};
use super::learner::{self, Fitted};
use super::lessons::{self, Lesson, changed};
use super::overlay::{Brand, OverlayStats, Overlays};
use super::{
    ACCUSE_LOG_ODDS, ACQUIT_LOG_ODDS, Score, Vector, Words, score_tokens, strength, vectorize,
};
use crate::journal::Journal;
use crate::persist::codec::{Dec, Enc};

/// Online steps taken per learned message at most: a message keeps being
/// learned until its combined score agrees with its label by
/// [`LEARN_MARGIN`] log-odds (spam above 0.98, ham below 0.05). Spam gets
/// the wider margin because the family's later messages start from the
/// bounded ham side (see [`strength`]) and must be carried across it by
/// what they share with the taught ones.
const LEARN_MAX_STEPS: usize = 32;
const LEARN_MARGIN: (f32, f32) = (4.0, 3.0);

/// A brand's lessons take AdaGrad steps from the shared squared-gradient
/// sums plus the brand's own, at most this many per message: more steps
/// changed little in `examples/adapt.rs`, and fewer keep one lesson from
/// being learned by heart.
const BRAND_MAX_STEPS: usize = 4;
/// A brand's steps are this many times the shared learning's: its
/// AdaGrad sums start from the shared model's, which years of training
/// made large, so at the shared rate a brand's few hundred lessons
/// barely move its overlay (see `examples/adapt.rs` for the figures).
const BRAND_RATE_FACTOR: f32 = 3.0;

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
    overlays: Overlays,
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
    before: Vec<(f32, f32)>,
    journal: Journal<Lesson>,
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
            overlays: Overlays::default(),
            rate,
            l2,
            combination,
        }
    }

    /// A copy of the current weights.
    pub fn snapshot(&self) -> Fitted {
        let learning = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        self.fitted(&learning)
    }

    /// The shared weights as they are, with the AdaGrad sums of
    /// `learning`, whose lock the caller holds so that no lesson lands
    /// half-way through the copy.
    fn fitted(&self, learning: &Learning) -> Fitted {
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
    /// without allocating (but for the cache's first use on a thread);
    /// for a `brand` with an overlay, through that overlay and without the
    /// word cache.
    pub fn score_words<'a>(
        &self,
        text: &'a str,
        words: &'a Words,
        cache: &mut WordCache,
        brand: Option<&str>,
    ) -> Score<'a> {
        // Acquire: a generation read here comes with the weights it was
        // published after.
        let generation = self.generation.load(Acquire);
        let bias = f32::from_bits(self.bias.load(Relaxed));
        let shared = |j: usize| f32::from_bits(self.weights[j].load(Relaxed));
        if let Some(brand) = brand
            && self.overlays.any()
        {
            let table = self.overlays.read();
            if let Some(o) = table.brands.get(brand) {
                // The kept word sums are of the shared weights alone.
                return score_tokens(
                    text,
                    words.tokens(text),
                    self.bits,
                    bias,
                    |j| shared(j) + o.delta(j as u32),
                    &mut cache.seen,
                    None,
                );
            }
        }
        score_tokens(
            text,
            words.tokens(text),
            self.bits,
            bias,
            shared,
            &mut cache.seen,
            Some((&mut cache.sums, generation)),
        )
    }

    /// What the per-brand overlays hold and have evicted.
    pub fn overlay_stats(&self) -> OverlayStats {
        self.overlays.stats()
    }

    /// Moves the weights towards `spam` for this canonical text: AdaGrad
    /// steps until the model agrees by a margin (train on error), so a
    /// handful of examples teaches a new family. With a `brand`, the steps
    /// go into that brand's overlay and the shared weights stay as they
    /// are. With an `id`, the change is remembered so that
    /// [`Classifier::unlearn`] can take it back.
    pub fn learn(&self, text: &str, spam: bool, id: Option<&str>, brand: Option<&str>) {
        let mut guard = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        let Learning {
            sq_grad,
            scratch,
            before,
            journal,
        } = &mut *guard;
        vectorize(text, self.bits, scratch);
        let weight = |j: u32| f32::from_bits(self.weights[j as usize].load(Relaxed));
        let changes = match brand {
            None => {
                before.clear();
                before.extend(
                    scratch
                        .iter()
                        .map(|&(j, _)| (weight(j), sq_grad[j as usize])),
                );
                self.steps(scratch, spam, LEARN_MAX_STEPS, weight, |j, g| {
                    let slot = &self.weights[j as usize];
                    let w = f32::from_bits(slot.load(Relaxed));
                    let gj = g + self.l2 * w;
                    sq_grad[j as usize] += gj * gj;
                    let w = w - self.rate * gj / (sq_grad[j as usize].sqrt() + 1e-6);
                    slot.store(w.to_bits(), Relaxed);
                });
                self.generation.store(cache::new_generation(), Release);
                changed(scratch, before, |j| (weight(j), sq_grad[j as usize]))
            }
            Some(name) => {
                let mut table = self.overlays.write();
                let o = table.brand_mut(name, &self.overlays.evicted_brands);
                o.lessons = o.lessons.wrapping_add(1);
                let lessons = o.lessons;
                before.clear();
                before.extend(scratch.iter().map(|&(j, _)| {
                    let e = o.entries.get(&j).copied().unwrap_or_default();
                    (e.delta, e.sq_grad)
                }));
                let o: &mut Brand = o;
                let cell = std::cell::RefCell::new(o);
                self.steps(
                    scratch,
                    spam,
                    BRAND_MAX_STEPS,
                    |j| weight(j) + cell.borrow().delta(j),
                    |j, g| {
                        let mut o = cell.borrow_mut();
                        let e = o.entries.entry(j).or_default();
                        let gj = g + self.l2 * e.delta;
                        e.sq_grad += gj * gj;
                        let rate = (sq_grad[j as usize] + e.sq_grad).sqrt() + 1e-6;
                        e.delta -= BRAND_RATE_FACTOR * self.rate * gj / rate;
                        e.touched = lessons;
                    },
                );
                let o = cell.into_inner();
                let changes = changed(scratch, before, |j| {
                    let e = o.entries.get(&j).copied().unwrap_or_default();
                    (e.delta, e.sq_grad)
                });
                let evicted = o.trim();
                self.overlays
                    .evicted_entries
                    .fetch_add(evicted as u64, Relaxed);
                self.overlays.publish(&table);
                changes
            }
        };
        if let Some(id) = id {
            journal.record(
                id,
                [Lesson {
                    brand: brand.map(str::to_string),
                    changes,
                }],
            );
        }
    }

    /// Takes AdaGrad steps on `x` towards `spam` until the combined score
    /// agrees by the margin, reading weights through `weight` and moving
    /// them through `step` (index, gradient of the loss at that feature).
    fn steps(
        &self,
        x: &Vector,
        spam: bool,
        max_steps: usize,
        weight: impl Fn(u32) -> f32,
        mut step: impl FnMut(u32, f32),
    ) {
        let target = if spam { 1.0 } else { 0.0 };
        for _ in 0..max_steps {
            let evidence: f32 = x.iter().map(|&(j, v)| weight(j) * v).sum();
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
            for &(j, v) in x.iter() {
                step(j, g * v);
            }
            // The bias stays: feedback is a biased sample of the traffic
            // (mostly mistakes), so it says nothing about the base rate.
        }
    }

    /// Takes back what [`Classifier::learn`] did for the message with this
    /// id, whatever its scope; false when no such message was learned (or
    /// it was forgotten). A brand overlay evicted since has nothing left
    /// to take back.
    pub fn unlearn(&self, id: &str) -> bool {
        let mut guard = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        let Learning {
            sq_grad, journal, ..
        } = &mut *guard;
        let Some(lessons) = journal.take(id) else {
            return false;
        };
        for lesson in lessons.iter().rev() {
            match &lesson.brand {
                None => {
                    for c in lesson.changes.iter().rev() {
                        let slot = &self.weights[c.j as usize];
                        let g = &mut sq_grad[c.j as usize];
                        let (w, g2) = c.undo(f32::from_bits(slot.load(Relaxed)), *g);
                        slot.store(w.to_bits(), Relaxed);
                        *g = g2;
                    }
                    self.generation.store(cache::new_generation(), Release);
                }
                Some(name) => {
                    let mut table = self.overlays.write();
                    if let Some(o) = table.brands.get_mut(name) {
                        for c in lesson.changes.iter().rev() {
                            let Some(e) = o.entries.get_mut(&c.j) else {
                                continue;
                            };
                            (e.delta, e.sq_grad) = c.undo(e.delta, e.sq_grad);
                            if e.delta == 0.0 && e.sq_grad == 0.0 {
                                o.entries.remove(&c.j);
                            }
                        }
                        if o.entries.is_empty() {
                            table.brands.remove(name);
                        }
                    }
                    self.overlays.publish(&table);
                }
            }
        }
        true
    }

    /// Writes the overlays and the unlearn journal, and returns the shared
    /// weights of the same moment (saved as a [`Model`](super::Model)).
    pub fn encode_learned(&self, e: &mut Enc) -> Fitted {
        let guard = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        let fitted = self.fitted(&guard);
        self.overlays.encode(e);
        lessons::encode(&guard.journal, e);
        fitted
    }

    /// Replaces the overlays and the journal with those written by
    /// [`Classifier::encode_learned`].
    pub fn decode_learned(&self, d: &mut Dec<'_>) -> Result<(), String> {
        let size = self.weights.len();
        let mut guard = self.learning.lock().unwrap_or_else(|e| e.into_inner());
        self.overlays.decode(d, size)?;
        let journal = lessons::decode(d, size)?;
        guard.journal = journal;
        self.generation.store(cache::new_generation(), Release);
        Ok(())
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
        CACHE.with(|cache| c.score_words(text, words, &mut cache.borrow_mut(), None))
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
        b.learn(text, true, None, None);
        assert_eq!(logit(&b, text).to_bits(), uncached(&b, text).to_bits());
        assert_ne!(logit(&b, text), first);
        // Learning, then unlearning, each start a new generation.
        a.learn(text, false, Some("m1"), None);
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
            c.learn(text, true, None, None);
        }
        let mut words = Words::default();
        let after = score(&c, text, &mut words);
        assert!(after.logit > before + 2.0, "{before} → {}", after.logit);
        let accuses = c.strength(after.evidence) > 0.0;
        let said = detail(&after, accuses);
        assert!(said.contains("like spam"), "{said}");
        assert!(
            said.contains("\"prize\"") || said.contains("\"claim\""),
            "{said}"
        );
    }

    #[test]
    fn unlearning_restores_the_weights() {
        let c = tiny();
        let text = "claim your prize";
        let before = logit(&c, text);
        c.learn(text, true, Some("m1"), None);
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
