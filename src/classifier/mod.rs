//! The trained text classifier: a sparse linear model over hashed features
//! of the canonical text (see [`features`]), learned in batch by
//! `examples/train.rs` and online by [`Filter::learn`](crate::Filter::learn).
//!
//! ## The learner
//!
//! The built-in model is trained on SMS (spam and personal ham) and on
//! brand-inbox ham, messages of the kind customers send to companies, by
//! logistic regression (AdaGrad, a few shuffled passes) over binary
//! features: each distinct word, word pair and character n-gram of a text
//! counts once, scaled to unit length per text. Naive Bayes, the earlier
//! built-in learner, reads the inbox ham badly: every feature absent from
//! it (links, handles, emoji, the vocabulary of anger) gets a smaller ham
//! frequency the more inbox ham there is, and so leans to spam, although
//! nothing in the inbox ham said so. Logistic regression moves only the
//! weights of the features a message has, so inbox ham teaches what
//! customers write without teaching that anything else is spam; and it
//! weighs features jointly, which lets number n-grams back in (see
//! [`features`]) without flagging customers' order and account numbers.
//! It was chosen by 5-fold cross-validation on the training sets
//! (`cargo run --release --example train -- --cv 5 …`) and checked on the
//! brand-inbox fixtures; naive Bayes and NB-weighted logistic regression
//! stay available (`--learner nb|both`).
//!
//! ## Bounded on both sides
//!
//! With the phrase, link and stream rules in the pipeline, the classifier
//! accuses and acquits only so far: its hit counts the evidence above an
//! offset, saturating softly on both sides (see [`strength`]), so that a
//! chatty romance DM that the SMS-trained model reads as ham cannot cancel
//! the rule that catches it, nor a campaign its swarm, and no text on its
//! own, however often a customer repeats it, can block. The bias stays at
//! the inbox's no-evidence odds that the rules' weights were set against
//! (see [`TrainOptions::spam_prior`]); texts under ten words get
//! proportionally less say, and a text without words gives no evidence.
//!
//! ## Cost
//!
//! Scoring allocates nothing (but each thread's word cache, once). Its time
//! goes to hashing and summing a couple of hundred features per DM, not to
//! reading the weight table, so a smaller table would not be faster.
//! Character n-grams are more than half of the features, and most words
//! recur, so each thread keeps the n-gram sums of the words it scored last
//! (see `cache.rs`). What the classifier costs of a check is measured by
//! `examples/throughput.rs` with and without `--without-model`: see
//! `docs/PERFORMANCE.md`.
//!
//! ## Concurrency
//!
//! Weights are `f32` bit patterns in relaxed atomics: a check reads them
//! with plain loads and never waits. Learning takes a mutex that only other
//! learners contend for; a check running during an update may see some
//! weights before and some after it, which is harmless for a sum of
//! evidence.

mod cache;
pub(crate) mod features;
pub(crate) mod learner;
mod lessons;
mod live;
pub(crate) mod model;
mod overlay;
pub(crate) mod train;

pub(crate) use cache::WordCache;
use cache::WordSums;
pub(crate) use features::Words;
pub use learner::{Learner, TrainOptions};
pub(crate) use live::Classifier;
pub use model::Model;
pub use overlay::OverlayStats;

/// A message's features: table index and value, sorted by index, merged.
pub(crate) type Vector = Vec<(u32, f32)>;

/// Texts with fewer features are scaled as if they had this many, so that
/// a three-word message is not judged on a few heavily amplified weights
/// (cross-validation: AUC unchanged, fewer short ham flagged).
const SCALE_FLOOR: u32 = 50;

/// Texts shorter than this many words get proportionally less say: a few
/// words are thin evidence, and an SMS-trained model is most often wrong
/// about short brand-inbox messages ("love the new collection"). Chosen by
/// cross-validation and the fixtures (see `docs/EXPERIMENTS.md`).
const SHORT_TEXT_WORDS: u32 = 10;

/// The value of each feature of a text with `n` features and `words`
/// words: unit length with a floor, shrunk for short texts.
fn scale(n: u32, words: u32) -> f32 {
    let short = words.min(SHORT_TEXT_WORDS) as f32 / SHORT_TEXT_WORDS as f32;
    short / (n.max(SCALE_FLOOR) as f32).sqrt()
}

/// The features of a canonical text as a sparse vector of unit length.
pub(crate) fn vectorize(text: &str, bits: u32, out: &mut Vector) {
    out.clear();
    let mask = (1u32 << bits) - 1;
    let (n, words) = features::for_each(text, |h, _, _| out.push((h & mask, 1.0)));
    out.sort_unstable_by_key(|&(j, _)| j);
    let scale = scale(n, words);
    let mut merged = 0;
    for i in 0..out.len() {
        if merged > 0 && out[merged - 1].0 == out[i].0 {
            out[merged - 1].1 += scale;
        } else {
            out[merged] = (out[i].0, scale);
            merged += 1;
        }
    }
    out.truncate(merged);
}

/// The classifier's judgement of one text.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Score<'a> {
    pub logit: f32,
    /// What the text adds to the classifier's prior: `logit` less the
    /// bias. This is the strength of the classifier's hit, so that a text
    /// of unknown words (another language, say) is no evidence either way
    /// and the prior lives in the combination's bias alone.
    pub evidence: f32,
    /// The two words that spoke most for spam, with their weights.
    pub top: [(&'a str, f32); 2],
    /// Features seen; 0 when the text has no word, and then the score is
    /// no evidence.
    pub features: u32,
}

/// Scores a canonical text against weights read through `weight`, without
/// allocating.
pub(crate) fn score_with<'a>(
    text: &'a str,
    bits: u32,
    bias: f32,
    weight: impl Fn(usize) -> f32,
) -> Score<'a> {
    features::with_seen(|seen| {
        score_tokens(text, features::tokens(text), bits, bias, weight, seen, None)
    })
}

/// [`score_with`] over words already found in `text`, with the set of
/// words met in it (`seen`, reused between texts) and, when the weights
/// allow one, a cache of word sums with the generation of the weights. The
/// score is the same to the bit with and without the sums: a word's
/// n-grams are summed on their own and then added, whether the sum is kept
/// or not.
pub(crate) fn score_tokens<'a>(
    text: &'a str,
    tokens: impl Iterator<Item = features::Token<'a>>,
    bits: u32,
    bias: f32,
    weight: impl Fn(usize) -> f32,
    seen: &mut features::Seen,
    sums: Option<(&mut WordSums, u64)>,
) -> Score<'a> {
    let mut scorer = Scorer {
        text,
        mask: (1u32 << bits) - 1,
        weight,
        sum: 0.0,
        top: [("", 0.0); 2],
        cache: sums,
    };
    let (n, words) = features::for_each_token(text.len(), tokens, seen, &mut scorer);
    let evidence = scorer.sum * scale(n, words);
    let evidence = if evidence.is_finite() { evidence } else { 0.0 };
    let logit = bias + evidence;
    Score {
        logit: if logit.is_finite() { logit } else { 0.0 },
        evidence,
        top: scorer.top,
        features: n,
    }
}

/// Sums the weights of a text's features and keeps the two words that
/// spoke most for spam.
struct Scorer<'a, 'c, W> {
    text: &'a str,
    mask: u32,
    weight: W,
    sum: f32,
    top: [(&'a str, f32); 2],
    cache: Option<(&'c mut WordSums, u64)>,
}

impl<W: Fn(usize) -> f32> Scorer<'_, '_, W> {
    #[inline]
    fn weight(&self, hash: u32) -> f32 {
        (self.weight)((hash & self.mask) as usize)
    }
}

impl<'a, W: Fn(usize) -> f32> features::Sink<'a> for Scorer<'a, '_, W> {
    #[inline]
    fn feature(&mut self, hash: u32, kind: features::Kind, word: &'a str) {
        let w = self.weight(hash);
        self.sum += w;
        let top = &mut self.top;
        if kind == features::Kind::Word && w > top[1].1 && word != top[0].0 {
            if w > top[0].1 {
                top[1] = top[0];
                top[0] = (word, w);
            } else {
                top[1] = (word, w);
            }
        }
    }

    #[inline]
    fn ngrams(&mut self, token: &features::Token<'a>) -> u32 {
        let (weight, mask) = (&self.weight, self.mask);
        let sum_ngrams = || {
            let mut sum = 0.0f32;
            let count = features::each_ngram(token.text, |h| sum += weight((h & mask) as usize));
            (sum, count)
        };
        let (sum, count) = match &mut self.cache {
            Some((cache, generation)) => cache.sum(self.text, token, *generation, sum_ngrams),
            None => sum_ngrams(),
        };
        self.sum += sum;
        count
    }
}

/// How far the classifier may acquit, in log-odds of the final score: its
/// weighted negative side saturates softly at minus this. Less than any
/// campaign or phrase rule's weight, so that no single such rule is
/// cancelled by chatty text (measured: at 1.8 the stream tests' bot swarms
/// got through, at 2.5 a fixture's self-promotion spam too; at 0.8 none).
pub(crate) const ACQUIT_LOG_ODDS: f32 = 0.8;

/// How far the classifier may accuse, in log-odds of the final score: its
/// weighted positive side saturates softly at this, the same way as the
/// negative side. From the no-evidence odds of a brand inbox (−3) text
/// alone then reaches at most +1.5 (a score of 0.82): review, never block,
/// however long, repeated or SMS-like a customer's message, while any
/// other family's evidence still adds on top. The two sides cannot share
/// one cap: at 0.8 the classifier could never hold a message on its own
/// (SMS spam caught falls to a sixth), and at 2.5 or more its acquittal
/// cancels the phrase rules that catch chatty romance and self-promotion
/// spam (fixture spam let through).
pub(crate) const ACCUSE_LOG_ODDS: f32 = 4.5;

/// The strength of the classifier's hit for this much evidence, given the
/// model's offset and the most its strength may acquit and accuse
/// (`acquit`, `accuse`, in the units of evidence: the log-odds caps over
/// the classifier's weight). Both sides saturate as `c·tanh(x/c)`, which is
/// monotonic, so the order of every text is kept while a strong rule still
/// outweighs the classifier. Trained on SMS, the classifier reads chatty,
/// personal text as ham, and romance or self-promotion DMs are exactly
/// that; an unbounded negative strength would cancel the rules that catch
/// them (measured: four fixture spam let through). An unbounded positive
/// strength let text alone block a customer.
pub(crate) fn strength(evidence: f32, offset: f32, acquit: f32, accuse: f32) -> f64 {
    // In f64, so that both sides keep their order further out.
    let x = f64::from(evidence - offset);
    let c = f64::from(if x >= 0.0 { accuse } else { acquit }.max(1e-6));
    c * (x / c).tanh()
}

/// The readable detail of a classifier hit; `accuses` is whether the hit
/// counts against the message (its strength is positive).
///
/// The classifier's own odds and the hit's sign can disagree: the hit
/// counts the evidence above the inbox's no-evidence point, so a text the
/// classifier still gives 1:33 may count against the message when ordinary
/// messages here get 1:1000. The wording follows the hit, so that a support
/// lead never reads "ordinary" beside a positive weight.
pub(crate) fn detail(score: &Score<'_>, accuses: bool) -> String {
    use std::fmt::Write;

    // One string per message, written in place: this reason is on nearly
    // every verdict, so the odds are not formatted into a string of their own.
    // Said as what the text reads like, which a support lead can weigh
    // against the other reasons: "ham odds 4211:1" on a romance DM that a
    // phrase rule blocks read as a contradiction.
    let odds = f64::from(score.logit).exp();
    let (side, odds) = match (accuses, odds >= 1.0) {
        (true, true) => ("the text reads like spam to the classifier (odds ", odds),
        (true, false) => (
            "the text reads more like spam than ordinary messages here do (the classifier's \
             odds against spam ",
            1.0 / odds,
        ),
        (false, false) => (
            "the text reads like ordinary messages to the classifier (odds against spam ",
            1.0 / odds,
        ),
        (false, true) => (
            "the text reads less like spam than the classifier needs to count it (odds ",
            odds,
        ),
    };
    let mut s = String::with_capacity(128);
    s.push_str(side);
    // Whole numbers, or tenths below ten, written as integers: formatting
    // a float cost more than the rest of the detail.
    let _ = if odds >= 1e6 {
        write!(s, "1000000+:1")
    } else if odds >= 9.95 {
        write!(s, "{}:1", odds.round() as u32)
    } else {
        let tenths = (odds * 10.0).round() as u32;
        write!(s, "{}.{}:1", tenths / 10, tenths % 10)
    };
    if accuses && score.top[0].1 > 0.0 {
        s.push_str("; strongest words: \"");
        s.push_str(score.top[0].0);
        s.push('"');
        if score.top[1].1 > 0.0 {
            s.push_str(", \"");
            s.push_str(score.top[1].0);
            s.push('"');
        }
    }
    s.push(')');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_have_unit_scale_and_sorted_merged_indices() {
        let mut v = Vector::new();
        vectorize("win win win a prize", 16, &mut v);
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
        let (n, words) = features::for_each("win win win a prize", |_, _, _| {});
        let total: f32 = v.iter().map(|&(_, x)| x).sum();
        assert!((total - n as f32 * scale(n, words)).abs() < 1e-3);
    }

    #[test]
    fn strength_is_bounded_on_both_sides_and_keeps_the_order() {
        assert_eq!(strength(1.0, 1.0, 0.5, 4.0), 0.0);
        // Near zero both sides are about linear.
        assert!((strength(1.1, 1.0, 0.5, 4.0) - 0.1).abs() < 1e-3);
        assert!((strength(0.9, 1.0, 0.5, 4.0) + 0.1).abs() < 1e-2);
        let xs = [-8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 4.0, 8.0, 16.0];
        let s: Vec<f64> = xs.iter().map(|&x| strength(x, 0.0, 0.5, 4.0)).collect();
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        assert!(strength(-1e9, 0.0, 0.5, 4.0) >= -0.5);
        assert!(strength(1e9, 0.0, 0.5, 4.0) <= 4.0);
        // Without a cap on a side, that side is linear.
        assert_eq!(strength(3.0, 1.0, 0.5, f32::MAX), 2.0);
    }

    #[test]
    fn odds_read_well() {
        let s = Score {
            logit: (40.0f32).ln(),
            evidence: 1.0,
            top: [("claim", 1.0), ("prize", 0.5)],
            features: 20,
        };
        assert_eq!(
            detail(&s, true),
            "the text reads like spam to the classifier (odds 40:1; strongest words: \"claim\", \"prize\")"
        );
        assert_eq!(
            detail(&s, false),
            "the text reads less like spam than the classifier needs to count it (odds 40:1)"
        );
        let s = Score {
            logit: -(250.0f32).ln(),
            evidence: -1.0,
            top: [("", 0.0); 2],
            features: 20,
        };
        assert_eq!(
            detail(&s, false),
            "the text reads like ordinary messages to the classifier (odds against spam 250:1)"
        );
        // Above the inbox's no-evidence point, though the classifier's own
        // odds are against spam: the wording follows the weight's sign.
        assert!(
            detail(&s, true).starts_with("the text reads more like spam than ordinary"),
            "{}",
            detail(&s, true)
        );
        let odds = |o: f32| {
            let s = Score {
                logit: o.ln(),
                evidence: 1.0,
                top: [("", 0.0); 2],
                features: 20,
            };
            detail(&s, true)
        };
        assert!(odds(1.0).ends_with("(odds 1.0:1)"), "{}", odds(1.0));
        assert!(odds(9.84).ends_with("(odds 9.8:1)"), "{}", odds(9.84));
        assert!(odds(9.96).ends_with("(odds 10:1)"), "{}", odds(9.96));
        assert!(odds(2e6).ends_with("(odds 1000000+:1)"), "{}", odds(2e6));
    }
}
