//! Fitting the classifier's weights: batch training over a labelled set and
//! the online step that [`Filter::learn`](crate::Filter::learn) takes.
//!
//! Three learners (compared by `cargo run --release --example train --
//! --cv 5 …`; the figures are in `docs/EXPERIMENTS.md`) all produce a
//! linear model over the same hashed features, so the runtime does not
//! care which one made it:
//!
//! * [`Learner::Logistic`]: logistic regression by AdaGrad over several
//!   shuffled epochs, features scaled to unit length per message.
//! * [`Learner::NaiveBayes`]: naive Bayes in its linear form: each feature
//!   weighs the log-ratio of its Robinson-smoothed spam and ham frequencies.
//! * [`Learner::Both`]: NB-weighted logistic regression
//!   (NBSVM, Wang & Manning 2012): logistic regression on the features
//!   scaled by their naive Bayes log-ratios, so the counts say which
//!   features matter and the regression weighs them jointly.

use super::Vector;

/// Which algorithm fits the classifier's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learner {
    /// Logistic regression, AdaGrad, several shuffled epochs.
    Logistic,
    /// Naive Bayes as a linear model (log-ratios of smoothed frequencies).
    NaiveBayes,
    /// NB-weighted logistic regression: logistic regression on the
    /// features scaled by their naive Bayes log-ratios (NBSVM).
    Both,
}

/// Knobs of batch training; [`Default`] gives the settings that the
/// built-in model was trained with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The algorithm. Default [`Learner::Logistic`].
    pub learner: Learner,
    /// Passes over the training set. Default 6.
    pub epochs: u32,
    /// AdaGrad's step size in batch logistic training. Default 0.3.
    pub learning_rate: f32,
    /// AdaGrad's step size when the filter learns online
    /// ([`Filter::learn`](crate::Filter::learn)). Default 2.0: a handful of
    /// examples must be enough, and well-attested features move little
    /// whatever the rate.
    pub online_rate: f32,
    /// L2 penalty per step on the weights touched in batch logistic
    /// training (for [`Learner::Both`], on the factors that scale the naive
    /// Bayes ratios). Default 5e-3. Online learning uses its own, lighter
    /// penalty (1e-5), so that taught examples are not decayed away.
    pub l2: f32,
    /// log2 of the number of weights in the hashed table. Default 20.
    pub table_bits: u32,
    /// Seed of the shuffles, so training is reproducible. Default 1.
    pub seed: u64,
    /// The probability of spam for a message without any evidence in the
    /// traffic the model will judge, when it differs from the training
    /// corpus's: it replaces the fitted bias. `None` keeps the fitted bias.
    /// Default: the built-in policy's no-evidence odds for a brand inbox
    /// (−3 log-odds, 4.7%), rather than the SMS corpus's (13% spam), so
    /// the rules keep the meaning their weights were set for.
    pub spam_prior: Option<f64>,
    /// Folds used to get out-of-fold classifier scores for fitting the
    /// combination weights. Default 2: each fold costs a fit, and more
    /// folds measured no better in cross-validation.
    pub folds: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            learner: Learner::Logistic,
            epochs: 6,
            learning_rate: 0.3,
            online_rate: 2.0,
            l2: 5e-3,
            table_bits: 20,
            seed: 1,
            spam_prior: Some(1.0 / (1.0 + (-crate::codes::DEFAULT_BIAS).exp())),
            folds: 2,
        }
    }
}

/// Weights of a linear model over the hashed table, and AdaGrad's squared
/// gradient sums so that learning can go on later.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Fitted {
    pub bias: f32,
    pub weights: Vec<f32>,
    pub sq_grad: Vec<f32>,
}

/// Trains on `data` (feature vectors and labels, `true` for spam).
pub(crate) fn fit(data: &[(&Vector, bool)], opts: &TrainOptions) -> Fitted {
    let size = 1usize << opts.table_bits;
    let mut model = Fitted {
        bias: 0.0,
        weights: vec![0.0; size],
        sq_grad: vec![0.0; size],
    };
    if matches!(opts.learner, Learner::NaiveBayes | Learner::Both) {
        naive_bayes(data, &mut model);
    }
    if opts.learner == Learner::NaiveBayes {
        return model;
    }
    if opts.learner == Learner::Both {
        nb_logistic(data, opts, &mut model);
        return model;
    }
    logistic(data, opts, &mut model);
    model
}

/// Batch logistic regression by AdaGrad. Each weight sits beside its
/// squared-gradient sum, so that a feature's update touches one cache line
/// instead of two: the table is far larger than the cache, and the
/// training time is its misses.
fn logistic(data: &[(&Vector, bool)], opts: &TrainOptions, model: &mut Fitted) {
    let mask = model.weights.len() - 1;
    let mut table: Vec<[f32; 2]> = vec![[0.0; 2]; model.weights.len()];
    let (mut bias, mut bias_sq) = (0.0f32, 0.0f32);
    let (rate, l2) = (opts.learning_rate, opts.l2);
    for (x, spam) in shuffled_epochs(data, opts) {
        let logit = bias
            + x.iter()
                .map(|&(j, v)| table[j as usize & mask][0] * v)
                .sum::<f32>();
        let g = sigmoid(logit) - if spam { 1.0 } else { 0.0 };
        for &(j, v) in x {
            let [w, sq] = &mut table[j as usize & mask];
            let gj = g * v + l2 * *w;
            *sq += gj * gj;
            *w -= rate * gj / (sq.sqrt() + 1e-6);
        }
        bias_sq += g * g;
        bias -= rate * 0.1 * g / (bias_sq.sqrt() + 1e-6);
    }
    for (j, [w, _]) in table.into_iter().enumerate() {
        model.weights[j] = w;
    }
    model.bias = bias;
    // Online learning goes on from AdaGrad's accumulator as if each message
    // with the feature had taken a typical step (as for naive Bayes), not
    // from the batch's own sums: with a few passes they are tiny, and every
    // taught message would then move common features (the length buckets,
    // "you", "the") as much as its own words, and customers' scores with
    // them.
    model.sq_grad.fill(0.0);
    for &(x, _) in data {
        for &(j, _) in x.iter() {
            model.sq_grad[j as usize & mask] += NB_STEP_SQ;
        }
    }
}

/// The examples of `data`, `opts.epochs` times, each pass in a new order
/// drawn from `opts.seed`: the same sequence on every run.
fn shuffled_epochs<'d, 'v>(
    data: &'d [(&'v Vector, bool)],
    opts: &TrainOptions,
) -> impl Iterator<Item = (&'v Vector, bool)> + 'd {
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = SplitMix(opts.seed);
    (0..opts.epochs).flat_map(move |_| {
        shuffle(&mut order, &mut rng);
        order.clone().into_iter().map(|i| data[i])
    })
}

/// Naive Bayes in linear form. Each feature's weight is the log-ratio of
/// its smoothed frequency in spam and in ham, with Robinson's smoothing
/// towards "no evidence" for rare features; the result is scaled by the
/// same unit-length factor as logistic regression's inputs, so that both
/// learners share one scoring rule.
fn naive_bayes(data: &[(&Vector, bool)], model: &mut Fitted) {
    let mask = model.weights.len() - 1;
    let mut spam_count = vec![0u32; model.weights.len()];
    let mut ham_count = vec![0u32; model.weights.len()];
    let (mut n_spam, mut n_ham) = (0u32, 0u32);
    for &(x, spam) in data {
        let counts = if spam {
            n_spam += 1;
            &mut spam_count
        } else {
            n_ham += 1;
            &mut ham_count
        };
        for &(j, _) in x.iter() {
            counts[j as usize & mask] += 1;
        }
    }
    let (ns, nh) = (n_spam.max(1) as f32, n_ham.max(1) as f32);
    // Robinson: f(w) = (s·x + n·p(w)) / (s + n), strength s = 1, x = 0.5.
    for j in 0..model.weights.len() {
        let (s, h) = (spam_count[j] as f32, ham_count[j] as f32);
        let n = s + h;
        if n == 0.0 {
            continue;
        }
        let p = (s / ns) / (s / ns + h / nh);
        let f = ((0.5 + n * p) / (1.0 + n)).clamp(0.01, 0.99);
        model.weights[j] = (f / (1.0 - f)).ln();
        // AdaGrad's accumulator as if each message with the feature had
        // taken a typical logistic step (|g·x| ≈ 0.05): online learning
        // then moves well-attested features little and new ones a lot.
        model.sq_grad[j] = NB_STEP_SQ * n;
    }
    model.bias = (ns / nh).ln();
}

/// NB-weighted logistic regression (NBSVM, Wang & Manning 2012): logistic
/// regression on the features scaled by their naive Bayes log-ratios `r`
/// (which `model` holds on entry), by AdaGrad. The factors start at
/// [`NB_PRIOR`] and the L2 penalty pulls them back there, which is Wang and
/// Manning's interpolation between naive Bayes and the regression as a
/// prior. A feature's linear weight is its factor times its ratio, so the
/// runtime scores it like any other linear model. Features the counts call
/// neutral (`r = 0`) stay out.
fn nb_logistic(data: &[(&Vector, bool)], opts: &TrainOptions, model: &mut Fitted) {
    let mask = model.weights.len() - 1;
    // Factor, ratio and squared-gradient sum side by side (see `logistic`).
    let mut table: Vec<[f32; 3]> = model.weights.iter().map(|&r| [NB_PRIOR, r, 0.0]).collect();
    let (mut bias, mut bias_sq) = (NB_PRIOR * model.bias, 0.0f32);
    for (x, spam) in shuffled_epochs(data, opts) {
        let logit = bias
            + x.iter()
                .map(|&(j, v)| {
                    let [w, r, _] = table[j as usize & mask];
                    w * r * v
                })
                .sum::<f32>();
        let g = sigmoid(logit) - if spam { 1.0 } else { 0.0 };
        for &(j, v) in x.iter() {
            let [w, r, sq] = &mut table[j as usize & mask];
            let gj = g * v * *r + opts.l2 * (*w - NB_PRIOR);
            *sq += gj * gj;
            *w -= opts.learning_rate * gj / (sq.sqrt() + 1e-6);
        }
        bias_sq += g * g;
        bias -= opts.learning_rate * g / (bias_sq.sqrt() + 1e-6);
    }
    for (out, [w, r, _]) in model.weights.iter_mut().zip(table) {
        *out = w * r;
    }
    model.bias = bias;
}

/// Where NB-weighted logistic regression starts each feature's factor and
/// pulls it back to: half the naive Bayes weight, the value that
/// cross-validation found flagging no brand-inbox fixture (plain NBSVM
/// weighs SMS words such as "received", "code", "claim" more; see
/// `docs/EXPERIMENTS.md`).
const NB_PRIOR: f32 = 0.5;

/// The L2 penalty per online step (see [`TrainOptions::l2`]).
pub(crate) const ONLINE_L2: f32 = 1e-5;

/// A typical squared gradient of one logistic step on one feature.
const NB_STEP_SQ: f32 = 0.1;

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A tiny, well-mixed generator (SplitMix64) so that shuffles are the same
/// on every platform and every run.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        crate::hash::mix(self.0)
    }
}

/// Fisher-Yates with [`SplitMix`].
pub(crate) fn shuffle<T>(items: &mut [T], rng: &mut SplitMix) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<(Vector, bool)> {
        let mut data = Vec::new();
        for i in 0..40u32 {
            let spam = i % 2 == 0;
            let signal = if spam { 7 } else { 9 };
            data.push((vec![(signal, 0.7), (100 + i, 0.7)], spam));
        }
        data
    }

    #[test]
    fn every_learner_separates_a_toy_problem() {
        let data = toy();
        let refs: Vec<(&Vector, bool)> = data.iter().map(|(x, y)| (x, *y)).collect();
        for learner in [Learner::Logistic, Learner::NaiveBayes, Learner::Both] {
            let opts = TrainOptions {
                learner,
                table_bits: 10,
                ..TrainOptions::default()
            };
            let m = fit(&refs, &opts);
            assert!(m.weights[7] > 0.0 && m.weights[9] < 0.0, "{learner:?}");
        }
    }

    #[test]
    fn training_is_deterministic() {
        let data = toy();
        let refs: Vec<(&Vector, bool)> = data.iter().map(|(x, y)| (x, *y)).collect();
        let opts = TrainOptions {
            table_bits: 10,
            ..TrainOptions::default()
        };
        assert_eq!(fit(&refs, &opts), fit(&refs, &opts));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..100).collect();
        shuffle(&mut v, &mut SplitMix(3));
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
