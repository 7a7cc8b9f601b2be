//! Quality figures of a filter on labelled messages: what `examples/evaluate.rs`
//! prints and what the quality checks assert.
//!
//! "Flagged" means review or block; "spam caught" is the share of spam
//! flagged and "ham flagged" the share of ham flagged, both at the policy's
//! thresholds. The ranking figures (ROC AUC, spam caught at a ceiling of
//! ham flagged) use the score alone, whatever the thresholds.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::codes::Code;
use crate::{Action, Label, Verdict};

/// Ceilings of ham flagged at which [`Report::caught_at`] reports spam
/// caught: 0.1%, 0.2% and 1%.
pub const HAM_FLAGGED_CEILINGS: [f64; 3] = [0.001, 0.002, 0.01];

/// Collects verdicts of labelled messages and computes their figures.
///
/// ```
/// use dmguard::{Evaluation, Filter, Label, Message};
///
/// let filter = Filter::default();
/// let mut eval = Evaluation::new();
/// for (text, label) in [
///     ("where is my order 5512?", Label::Ham),
///     ("WINNER!! claim your £1000 prize, call 09061701461 now", Label::Spam),
/// ] {
///     eval.add(label, &filter.check(&Message::new(text)));
/// }
/// let report = eval.report();
/// assert_eq!(report.messages, 2);
/// assert_eq!(report.roc_auc, 1.0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// (score, is spam) per message, in order.
    scores: Vec<(f64, bool)>,
    /// Counts by label (spam, ham) and action (allow, review, block).
    actions: [[u64; 3]; 2],
    /// Per code: messages it fired on, among spam and among ham.
    reasons: BTreeMap<&'static str, [u64; 2]>,
}

/// The figures of an [`Evaluation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Messages evaluated.
    pub messages: usize,
    /// Of which spam.
    pub spam: usize,
    /// Of which ham.
    pub ham: usize,
    /// Share of messages whose flagged / allowed matches the label.
    pub accuracy: f64,
    /// Share of spam flagged (review or block).
    pub spam_caught: f64,
    /// Share of ham flagged (review or block).
    pub ham_flagged: f64,
    /// Matthews correlation coefficient of flagged against spam.
    pub mcc: f64,
    /// Area under the ROC curve of the score (ties count half).
    pub roc_auc: f64,
    /// Spam caught at the best score threshold whose ham flagged stays at
    /// or below each ceiling of [`HAM_FLAGGED_CEILINGS`].
    pub caught_at: Vec<CaughtAt>,
    /// Messages by label and action.
    pub confusion: Confusion,
    /// Each reason's hit rate on spam and on ham, most frequent first.
    pub reasons: Vec<ReasonRate>,
}

/// Spam caught when ham flagged may not exceed a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CaughtAt {
    /// The ceiling of ham flagged, e.g. 0.002 for 0.2%.
    pub max_ham_flagged: f64,
    /// The share of spam caught under it.
    pub spam_caught: f64,
}

/// Messages by label and action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Spam allowed (missed).
    pub spam_allow: u64,
    /// Spam held for review.
    pub spam_review: u64,
    /// Spam blocked.
    pub spam_block: u64,
    /// Ham allowed.
    pub ham_allow: u64,
    /// Ham held for review (a false positive).
    pub ham_review: u64,
    /// Ham blocked (a false positive).
    pub ham_block: u64,
}

/// How often a reason fired on spam and on ham.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonRate {
    /// The reason code.
    pub code: &'static str,
    /// Share of spam messages it fired on.
    pub spam: f64,
    /// Share of ham messages it fired on.
    pub ham: f64,
}

impl Evaluation {
    /// An empty evaluation.
    pub fn new() -> Self {
        Evaluation::default()
    }

    /// Records the verdict of a message with a known label. A reason counts
    /// as fired when it moved the score; the classifier's reason, present
    /// on every message, counts when it spoke for spam.
    pub fn add(&mut self, label: Label, verdict: &Verdict) {
        let spam = label == Label::Spam;
        let row = usize::from(!spam);
        self.scores.push((verdict.score, spam));
        let col = match verdict.action {
            Action::Allow => 0,
            Action::Review => 1,
            Action::Block => 2,
        };
        self.actions[row][col] += 1;
        for reason in &verdict.reasons {
            let fired = if reason.code == Code::CLASSIFIER_TEXT.as_str() {
                reason.weight > 0.0
            } else {
                reason.weight != 0.0
            };
            if fired {
                self.reasons.entry(reason.code).or_default()[row] += 1;
            }
        }
    }

    /// Messages recorded so far.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The scores recorded for one label, in order.
    pub fn scores(&self, label: Label) -> impl Iterator<Item = f64> + '_ {
        let spam = label == Label::Spam;
        self.scores
            .iter()
            .filter(move |(_, s)| *s == spam)
            .map(|(x, _)| *x)
    }

    /// The ROC curve: (ham flagged, spam caught) at every distinct score
    /// threshold, from (0, 0) to (1, 1).
    pub fn roc_curve(&self) -> Vec<(f64, f64)> {
        let mut sorted = self.scores.clone();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let spam = sorted.iter().filter(|(_, s)| *s).count().max(1) as f64;
        let ham = sorted.iter().filter(|(_, s)| !*s).count().max(1) as f64;
        let mut points = vec![(0.0, 0.0)];
        let (mut tp, mut fp) = (0.0, 0.0);
        let mut i = 0;
        while i < sorted.len() {
            let score = sorted[i].0;
            while i < sorted.len() && sorted[i].0 == score {
                if sorted[i].1 {
                    tp += 1.0;
                } else {
                    fp += 1.0;
                }
                i += 1;
            }
            points.push((fp / ham, tp / spam));
        }
        points
    }

    /// Computes the figures.
    pub fn report(&self) -> Report {
        let [s, h] = self.actions;
        let (spam, ham) = (s.iter().sum::<u64>(), h.iter().sum::<u64>());
        let tp = (s[1] + s[2]) as f64;
        let fn_ = s[0] as f64;
        let fp = (h[1] + h[2]) as f64;
        let tn = h[0] as f64;
        let ratio = |a: f64, b: u64| if b == 0 { 0.0 } else { a / b as f64 };
        let denom = ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt();
        let mcc = if denom == 0.0 {
            0.0
        } else {
            (tp * tn - fp * fn_) / denom
        };
        let roc = self.roc_curve();
        let roc_auc = if spam == 0 || ham == 0 {
            0.0
        } else {
            roc.windows(2)
                .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
                .sum()
        };
        let caught_at = HAM_FLAGGED_CEILINGS
            .iter()
            .map(|&ceiling| CaughtAt {
                max_ham_flagged: ceiling,
                spam_caught: roc
                    .iter()
                    .filter(|(fpr, _)| *fpr <= ceiling + 1e-12)
                    .map(|&(_, tpr)| tpr)
                    .fold(0.0, f64::max),
            })
            .collect();
        let mut reasons: Vec<ReasonRate> = self
            .reasons
            .iter()
            .map(|(&code, &[on_spam, on_ham])| ReasonRate {
                code,
                spam: ratio(on_spam as f64, spam),
                ham: ratio(on_ham as f64, ham),
            })
            .collect();
        reasons.sort_by(|a, b| (b.spam + b.ham).total_cmp(&(a.spam + a.ham)));
        Report {
            messages: self.scores.len(),
            spam: spam as usize,
            ham: ham as usize,
            accuracy: ratio(tp + tn, spam + ham),
            spam_caught: ratio(tp, spam),
            ham_flagged: ratio(fp, ham),
            mcc,
            roc_auc,
            caught_at,
            confusion: Confusion {
                spam_allow: s[0],
                spam_review: s[1],
                spam_block: s[2],
                ham_allow: h[0],
                ham_review: h[1],
                ham_block: h[2],
            },
            reasons,
        }
    }
}

impl Report {
    /// Spam caught at the given ceiling of ham flagged, if it is one of
    /// [`HAM_FLAGGED_CEILINGS`].
    pub fn caught_at(&self, max_ham_flagged: f64) -> Option<f64> {
        self.caught_at
            .iter()
            .find(|c| (c.max_ham_flagged - max_ham_flagged).abs() < 1e-12)
            .map(|c| c.spam_caught)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "messages {} (spam {}, ham {})",
            self.messages, self.spam, self.ham
        )?;
        writeln!(f, "accuracy      {:.4}", self.accuracy)?;
        writeln!(f, "spam caught   {:.4}", self.spam_caught)?;
        writeln!(f, "ham flagged   {:.4}%", 100.0 * self.ham_flagged)?;
        writeln!(f, "MCC           {:.4}", self.mcc)?;
        writeln!(f, "ROC AUC       {:.5}", self.roc_auc)?;
        for c in &self.caught_at {
            writeln!(
                f,
                "spam caught at <= {}% ham flagged: {:.4}",
                100.0 * c.max_ham_flagged,
                c.spam_caught
            )?;
        }
        let c = &self.confusion;
        writeln!(f, "confusion      allow  review   block")?;
        writeln!(
            f,
            "  spam      {:>8} {:>7} {:>7}",
            c.spam_allow, c.spam_review, c.spam_block
        )?;
        writeln!(
            f,
            "  ham       {:>8} {:>7} {:>7}",
            c.ham_allow, c.ham_review, c.ham_block
        )?;
        writeln!(f, "reason hit rates (spam / ham):")?;
        for r in &self.reasons {
            writeln!(
                f,
                "  {:<28} {:>7.2}% {:>7.2}%",
                r.code,
                100.0 * r.spam,
                100.0 * r.ham
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reason;

    fn verdict(score: f64, action: Action) -> Verdict {
        Verdict {
            score,
            action,
            reasons: vec![Reason {
                code: "TEXT_ZERO_WIDTH",
                weight: 1.0,
                detail: "".into(),
            }],
            families: Vec::new(),
        }
    }

    #[test]
    fn perfect_ranking_has_auc_one_and_mcc_one() {
        let mut e = Evaluation::new();
        e.add(Label::Spam, &verdict(0.99, Action::Block));
        e.add(Label::Spam, &verdict(0.7, Action::Review));
        e.add(Label::Ham, &verdict(0.1, Action::Allow));
        let r = e.report();
        assert_eq!(r.roc_auc, 1.0);
        assert_eq!(r.mcc, 1.0);
        assert_eq!(r.spam_caught, 1.0);
        assert_eq!(r.confusion.spam_review, 1);
        assert_eq!(r.reasons[0].spam, 1.0);
    }

    #[test]
    fn ties_count_half_and_caught_at_respects_the_ceiling() {
        let mut e = Evaluation::new();
        e.add(Label::Spam, &verdict(0.5, Action::Review));
        e.add(Label::Ham, &verdict(0.5, Action::Review));
        e.add(Label::Spam, &verdict(0.9, Action::Block));
        e.add(Label::Ham, &verdict(0.1, Action::Allow));
        let r = e.report();
        // Pairs: (0.9 > both hams), (0.5 tie 0.5, 0.5 > 0.1) → 3.5 / 4.
        assert!((r.roc_auc - 0.875).abs() < 1e-12, "{}", r.roc_auc);
        assert_eq!(r.caught_at(0.002), Some(0.5));
        assert_eq!(r.ham_flagged, 0.5);
    }

    #[test]
    fn empty_evaluation_reports_zeros() {
        let r = Evaluation::new().report();
        assert_eq!(r.messages, 0);
        assert_eq!(r.roc_auc, 0.0);
        assert_eq!(r.mcc, 0.0);
    }
}
