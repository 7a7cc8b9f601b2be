//! Batch training: the classifier's weights, then the combination weights
//! that turn its log-odds and every other reason into one calibrated score.
//!
//! The combination is fitted by logistic regression (smartcore, kept
//! private) on the dense evidence of each training message: the strength of
//! every reason code the rules found, and the classifier's log-odds from
//! *out-of-fold* predictions, so that the fitted weight reflects how the
//! classifier does on messages it has not seen rather than on its own
//! training set, where it is overconfident.

use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use super::learner::{self, Fitted, SplitMix, TrainOptions};
use super::model::{MAX_BITS, MIN_BITS, Model};
use super::{Vector, vectorize};
use crate::codes::Code;
use crate::normalize::Canonical;
use crate::{Error, Filter, Label, Message};

/// A code must fire on at least this many training messages to get a
/// fitted weight; rarer codes keep their default weight.
const MIN_CODE_HITS: usize = 5;
/// L2 penalty of the combination fit.
const COMBINATION_ALPHA: f64 = 1.0;
/// Range of the classifier's fitted weight.
const CLASSIFIER_WEIGHT: (f64, f64) = (0.2, 3.0);

impl Model {
    /// Trains a model on labelled messages with the built-in policy's
    /// rules. Deterministic: the same examples and options give a
    /// byte-identical model.
    ///
    /// Fails when the examples lack spam or ham, or an option is out of
    /// range.
    ///
    /// ```
    /// use dmguard::{Label, Message, Model, TrainOptions};
    ///
    /// let mut examples = Vec::new();
    /// for i in 0..20 {
    ///     examples.push((Message::new("claim your free prize now"), Label::Spam));
    ///     examples.push((Message::new(if i % 2 == 0 { "where is my order" } else { "thanks a lot" }), Label::Ham));
    /// }
    /// let options = TrainOptions { table_bits: 12, ..TrainOptions::default() };
    /// let model = Model::train(&examples, &options)?;
    /// assert!(model.fitted_weight("CLASSIFIER_TEXT").unwrap() > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn train(
        examples: &[(Message<'_>, Label)],
        options: &TrainOptions,
    ) -> Result<Model, Error> {
        check_options(examples, options)?;
        let rules = Filter::builder().without_model().build()?;
        let max_bytes = rules.policy().limits.max_text_bytes;
        let mut canon = Canonical::default();
        let vectors: Vec<Vector> = examples
            .iter()
            .map(|(msg, _)| {
                canon.canonicalize(crate::filter::truncate(msg.text, max_bytes));
                let mut v = Vector::new();
                vectorize(&canon.text, options.table_bits, &mut v);
                v
            })
            .collect();
        let labels: Vec<bool> = examples.iter().map(|(_, l)| *l == Label::Spam).collect();

        let out_of_fold = out_of_fold_logits(&vectors, &labels, options);
        let all: Vec<(&Vector, bool)> = vectors.iter().zip(labels.iter().copied()).collect();
        let fitted = learner::fit(&all, options);

        let mut evidence = Vec::new();
        let mut rows: Vec<Vec<(Code, f64)>> = Vec::with_capacity(examples.len());
        for (msg, _) in examples {
            rules.rule_evidence(msg, &mut evidence);
            rows.push(evidence.clone());
        }
        let (combination, fitted_bias) = fit_combination(&rows, &out_of_fold, &labels)?;
        let classifier_weight = combination[0].1;
        let (combination_bias, classifier_offset) = match options.spam_prior {
            None => (fitted_bias, 0.0),
            Some(prior) => {
                // Prior shift (Saerens et al., 2002): the fitted bias carries
                // the training set's share of spam; move it to the inbox's.
                let spam = labels.iter().filter(|&&s| s).count() as f64;
                let share = spam / labels.len() as f64;
                let shifted = fitted_bias + logit(prior) - logit(share);
                // Keep the inbox's no-evidence odds as the bias, which the
                // rules' weights were set against, and let the classifier
                // start counting where the shifted fit rises above them:
                // bias + w·(e − offset) = shifted + w·e from there on.
                let bias = logit(prior);
                let offset = ((bias - shifted) / classifier_weight).max(0.0);
                (bias, offset as f32)
            }
        };
        Ok(Model {
            bits: options.table_bits,
            online_rate: options.online_rate,
            l2: learner::ONLINE_L2,
            fitted,
            classifier_offset,
            combination,
            combination_bias: Some(combination_bias),
        })
    }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn check_options(examples: &[(Message<'_>, Label)], o: &TrainOptions) -> Result<(), Error> {
    let bad = |what: String| Err(Error::invalid_input(what));
    if !(MIN_BITS..=MAX_BITS).contains(&o.table_bits) {
        return bad(format!(
            "table_bits = {} is outside {MIN_BITS}..={MAX_BITS}",
            o.table_bits
        ));
    }
    if !(1..=1000).contains(&o.epochs) {
        return bad(format!("epochs = {} is outside 1..=1000", o.epochs));
    }
    if !(2..=20).contains(&o.folds) {
        return bad(format!("folds = {} is outside 2..=20", o.folds));
    }
    if !(o.learning_rate.is_finite() && o.learning_rate > 0.0) {
        return bad(format!("learning_rate = {} must be > 0", o.learning_rate));
    }
    if let Some(p) = o.spam_prior
        && !(p > 0.0 && p < 1.0)
    {
        return bad(format!("spam_prior = {p} is outside (0, 1)"));
    }
    if !(o.online_rate.is_finite() && o.online_rate > 0.0) {
        return bad(format!("online_rate = {} must be > 0", o.online_rate));
    }
    if !(o.l2.is_finite() && o.l2 >= 0.0) {
        return bad(format!("l2 = {} must be >= 0", o.l2));
    }
    let spam = examples.iter().filter(|(_, l)| *l == Label::Spam).count();
    if spam < o.folds as usize || examples.len() - spam < o.folds as usize {
        return bad(format!(
            "training needs at least {} spam and {} ham examples, got {spam} and {}",
            o.folds,
            o.folds,
            examples.len() - spam
        ));
    }
    Ok(())
}

/// The classifier's log-odds for each example from a model that did not
/// see it (k-fold, folds drawn by a seeded shuffle).
fn out_of_fold_logits(vectors: &[Vector], labels: &[bool], o: &TrainOptions) -> Vec<f64> {
    let k = o.folds as usize;
    let mut order: Vec<usize> = (0..vectors.len()).collect();
    learner::shuffle(&mut order, &mut SplitMix(o.seed ^ 0x5eed_f01d));
    let mut fold = vec![0usize; vectors.len()];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % k;
    }
    let mut out = vec![0.0; vectors.len()];
    for f in 0..k {
        let train: Vec<(&Vector, bool)> = (0..vectors.len())
            .filter(|&i| fold[i] != f)
            .map(|i| (&vectors[i], labels[i]))
            .collect();
        let model = learner::fit(&train, o);
        for i in (0..vectors.len()).filter(|&i| fold[i] == f) {
            // Evidence beyond the prior, as the filter's hit carries it.
            // (The classifier's weight is not known yet: bound as if it were 1.)
            out[i] = super::strength(
                dot(&model, &vectors[i]) - model.bias,
                0.0,
                super::ACQUIT_LOG_ODDS,
                super::ACCUSE_LOG_ODDS,
            );
        }
    }
    out
}

pub(crate) fn dot(model: &Fitted, x: &Vector) -> f32 {
    let mask = model.weights.len() - 1;
    model.bias
        + x.iter()
            .map(|&(j, v)| model.weights[j as usize & mask] * v)
            .sum::<f32>()
}

/// Logistic regression of the label on the classifier's out-of-fold
/// log-odds and each rule code's strength. Each rule's weight stays between
/// its default and twice it, so its sign keeps the code's meaning and no
/// rule is weakened by a corpus it was not written for.
fn fit_combination(
    rows: &[Vec<(Code, f64)>],
    classifier: &[f64],
    labels: &[bool],
) -> Result<(Vec<(String, f64)>, f64), Error> {
    let mut columns: Vec<Code> = Vec::new();
    for code in Code::all() {
        if code == Code::CLASSIFIER_TEXT {
            continue;
        }
        let hits = rows
            .iter()
            .filter(|r| r.iter().any(|&(c, s)| c == code && s != 0.0))
            .count();
        if hits >= MIN_CODE_HITS {
            columns.push(code);
        }
    }
    let x: Vec<Vec<f64>> = rows
        .iter()
        .zip(classifier)
        .map(|(row, &logit)| {
            let mut v = vec![logit];
            v.extend(
                columns
                    .iter()
                    .map(|code| row.iter().find(|(c, _)| c == code).map_or(0.0, |&(_, s)| s)),
            );
            v
        })
        .collect();
    let y: Vec<i32> = labels.iter().map(|&s| i32::from(s)).collect();
    let matrix = DenseMatrix::from_2d_vec(&x)
        .map_err(|e| Error::invalid_input(format!("combination fit: {e}")))?;
    let params = LogisticRegressionParameters::default().with_alpha(COMBINATION_ALPHA);
    let lr = LogisticRegression::fit(&matrix, &y, params)
        .map_err(|e| Error::invalid_input(format!("combination fit: {e}")))?;
    let coef: Vec<f64> = (0..=columns.len())
        .map(|j| *smartcore::linalg::basic::arrays::Array::get(lr.coefficients(), (0, j)))
        .collect();
    let bias = *smartcore::linalg::basic::arrays::Array::get(lr.intercept(), (0, 0));

    let mut out = vec![(
        Code::CLASSIFIER_TEXT.as_str().to_string(),
        coef[0].clamp(CLASSIFIER_WEIGHT.0, CLASSIFIER_WEIGHT.1),
    )];
    for (code, &w) in columns.iter().zip(&coef[1..]) {
        let default = code.info().default_weight;
        // Between the rule's default and twice it: the corpus may make a
        // rule count more but not less. On SMS the classifier already
        // carries what most DM rules catch, so their fitted weights
        // collapse toward zero, while in a brand inbox (romance, jobs,
        // off-platform lures) the rules are what flags the spam the
        // classifier never saw.
        let (lo, hi) = (default, 2.0 * default);
        let w = w.clamp(lo.min(hi), lo.max(hi));
        out.push((code.as_str().to_string(), w));
    }
    let bias = if bias.is_finite() {
        bias.clamp(-12.0, 3.0)
    } else {
        crate::codes::DEFAULT_BIAS
    };
    Ok((out, bias))
}
