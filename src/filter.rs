//! The filter: built once from a policy, then shared to check every message.

use std::cell::RefCell;
use std::sync::Arc;

use crate::Error;
use crate::classifier::{self, Classifier, Model};
use crate::combine::{self, Weights};
use crate::features::Evidence;
use crate::features::lists::ListRules;
use crate::features::text::TextRules;
use crate::message::{Label, Message};
use crate::normalize::Canonical;
use crate::policy::Policy;
use crate::verdict::Verdict;

/// Scores direct messages: allow, review or block, and why.
///
/// Build it once and share it: it is `Clone` (a reference count), `Send` and
/// `Sync`. [`Filter::check`] never fails and never panics, whatever the text.
///
/// ```
/// use dmguard::{Action, Filter, Message};
///
/// let filter = Filter::default();
/// let verdict = filter.check(&Message::new("hi, my parcel hasn't arrived, order 1182"));
/// assert_eq!(verdict.action, Action::Allow);
/// assert!((0.0..=1.0).contains(&verdict.score));
/// ```
#[derive(Debug, Clone)]
pub struct Filter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: Policy,
    weights: Weights,
    lists: ListRules,
    text: TextRules,
    /// The trained text classifier and the combination it was fitted
    /// with; `None` for a rules-only filter.
    model: Option<(Classifier, Model)>,
}

/// Per-thread buffers reused between messages, so that checking a message
/// does not allocate for its canonical forms.
#[derive(Default)]
struct Scratch {
    canon: Canonical,
    evidence: Evidence,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Default for Filter {
    /// The built-in policy and the built-in model ([`Model::builtin`]).
    fn default() -> Self {
        Filter::new(Policy::default()).expect("the built-in policy is valid")
    }
}

impl Filter {
    /// A filter with this policy.
    pub fn new(policy: Policy) -> Result<Filter, Error> {
        Filter::builder().policy(policy).build()
    }

    /// A builder, starting from the built-in policy.
    pub fn builder() -> FilterBuilder {
        FilterBuilder::default()
    }

    /// The policy this filter was built with.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Teaches the text classifier that this message is spam or ham, for
    /// example from a moderator's "spam / not spam" click. The change is
    /// immediate and safe while other threads check: the next check sees
    /// it. Does nothing on a filter built
    /// [`without_model`](FilterBuilder::without_model).
    ///
    /// ```
    /// use dmguard::{Filter, Label, Message};
    ///
    /// let filter = Filter::default();
    /// let msg = Message::new("grab the zorblax deal at zorblax dot shop");
    /// let before = filter.check(&msg).score;
    /// filter.learn(&msg, Label::Spam);
    /// assert!(filter.check(&msg).score > before);
    /// ```
    pub fn learn(&self, msg: &Message<'_>, label: Label) {
        let Some((classifier, _)) = &self.inner.model else {
            return;
        };
        let text = truncate(msg.text, self.inner.policy.limits.max_text_bytes);
        let mut canon = Canonical::default();
        canon.canonicalize(text);
        classifier.learn(&canon.text, label == Label::Spam, msg.id);
    }

    /// Takes back what [`Filter::learn`] did for the message with this id
    /// (a moderator's mistaken click); false when no message with this id
    /// was learned, or it was learned so long ago that it was forgotten
    /// (the last 10,000 learned ids are remembered).
    ///
    /// ```
    /// use dmguard::{Filter, Label, Message};
    ///
    /// let filter = Filter::default();
    /// let msg = Message::new("grab the zorblax deal at zorblax dot shop").with_id("m7");
    /// let before = filter.check(&msg).score;
    /// filter.learn(&msg, Label::Spam);
    /// assert!(filter.unlearn("m7"));
    /// assert!((filter.check(&msg).score - before).abs() < 1e-6);
    /// ```
    pub fn unlearn(&self, id: &str) -> bool {
        match &self.inner.model {
            Some((classifier, _)) => classifier.unlearn(id),
            None => false,
        }
    }

    /// The model as it is now, including everything learned since the
    /// filter was built; save it with [`Model::save`]. `None` for a filter
    /// built [`without_model`](FilterBuilder::without_model).
    pub fn model(&self) -> Option<Model> {
        let (classifier, model) = self.inner.model.as_ref()?;
        Some(Model {
            fitted: classifier.snapshot(),
            ..model.clone()
        })
    }

    /// The rule evidence of a message (every family except the
    /// classifier), as (code, strength) pairs: the inputs of the
    /// combination fit.
    pub(crate) fn rule_evidence(&self, msg: &Message<'_>, out: &mut Vec<(&'static str, f64)>) {
        let mut scratch = Scratch::default();
        let text = truncate(msg.text, self.inner.policy.limits.max_text_bytes);
        scratch.canon.canonicalize(text);
        self.scan_rules(msg, &mut scratch);
        out.clear();
        out.extend(scratch.evidence.hits.iter().map(|h| (h.code, h.strength)));
    }

    fn scan_rules(&self, msg: &Message<'_>, scratch: &mut Scratch) {
        let Scratch { canon, evidence } = scratch;
        self.inner.lists.scan(msg, canon, evidence);
        self.inner.text.scan(canon, evidence);
    }

    /// Judges one message.
    pub fn check(&self, msg: &Message<'_>) -> Verdict {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.check_with(msg, &mut scratch),
            // Re-entered from the same thread (a caller checking inside a
            // callback of ours cannot happen today, but never panic).
            Err(_) => self.check_with(msg, &mut Scratch::default()),
        })
    }

    fn check_with(&self, msg: &Message<'_>, scratch: &mut Scratch) -> Verdict {
        let inner = &*self.inner;
        scratch.evidence.clear();
        let text = truncate(msg.text, inner.policy.limits.max_text_bytes);

        // Text: canonical forms, disguises, phrase rules, the policy's lists.
        scratch.canon.canonicalize(text);
        self.scan_rules(msg, scratch);

        // The trained classifier, on the canonical text.
        if let Some((clf, _)) = &inner.model {
            let score = clf.score(&scratch.canon.text);
            // No word, no evidence: emoji-only or symbol-only messages are
            // judged by the other families.
            if score.features > 0 {
                scratch.evidence.push(
                    classifier::CODE,
                    f64::from(score.logit),
                    classifier::detail(&score),
                );
            }
        }

        combine::verdict(&mut scratch.evidence, &inner.weights, &inner.policy)
    }
}

/// The longest prefix of `text` within `max` bytes that ends on a character
/// boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Builds a [`Filter`]; every check of the configuration happens in
/// [`FilterBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct FilterBuilder {
    policy: Policy,
    model: ModelChoice,
}

#[derive(Debug, Clone, Default)]
enum ModelChoice {
    #[default]
    Builtin,
    Given(Box<Model>),
    Without,
}

impl FilterBuilder {
    /// Uses this policy. Default: [`Policy::default`].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses this trained model (classifier and fitted weights). Default:
    /// [`Model::builtin`].
    pub fn model(mut self, model: Model) -> Self {
        self.model = ModelChoice::Given(Box::new(model));
        self
    }

    /// Uses no trained model: the rules alone, with their default weights.
    pub fn without_model(mut self) -> Self {
        self.model = ModelChoice::Without;
        self
    }

    /// Checks the configuration and compiles every rule.
    pub fn build(self) -> Result<Filter, Error> {
        self.policy.validate()?;
        let policy = self.policy;
        let model = match self.model {
            ModelChoice::Builtin => Some(Model::builtin()),
            ModelChoice::Given(model) => Some(*model),
            ModelChoice::Without => None,
        };
        let weights = match &model {
            Some(m) => {
                // Fitted weights of codes this build knows; a model from an
                // older build may name codes that no longer exist.
                let fitted: Vec<(&'static str, f64)> = crate::features::all_codes()
                    .filter_map(|info| m.fitted_weight(info.code).map(|w| (info.code, w)))
                    .collect();
                Weights::resolve(&fitted, m.fitted_bias(), &policy)
            }
            None => Weights::resolve(&[], None, &policy),
        };
        let model = model.map(|mut m| {
            // The live weights sit in the classifier; the kept model holds
            // only the settings and the combination.
            let fitted = std::mem::take(&mut m.fitted);
            let combination = (weights.get(classifier::CODE), weights.bias);
            let clf = Classifier::from_fitted(m.bits, fitted, m.online_rate, m.l2, combination);
            (clf, m)
        });
        Ok(Filter {
            inner: Arc::new(Inner {
                lists: ListRules::build(&policy)?,
                text: TextRules::build(&policy)?,
                weights,
                policy,
                model,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<Filter>();
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
