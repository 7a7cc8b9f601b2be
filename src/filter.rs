//! The filter: built once from a policy, then shared to check every message.

use std::cell::RefCell;
use std::sync::Arc;

use crate::Error;
use crate::classifier::{self, Classifier, Model, WordCache, Words};
use crate::combine::{self, Weights};
use crate::features::Evidence;
use crate::features::link::{Link, LinkExpander, LinkRules, LinkScratch};
use crate::features::lists::ListRules;
use crate::features::text::TextRules;
use crate::message::{Label, Message};
use crate::normalize::Canonical;
use crate::policy::Policy;
use crate::state::{StateSnapshot, Stats, Stream};
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
    stream: Stream,
    links: LinkRules,
    /// The trained text classifier and the combination it was fitted
    /// with; `None` for a rules-only filter.
    model: Option<(Classifier, Model)>,
}

/// Per-thread buffers reused between messages, so that checking a message
/// does not allocate for its canonical forms.
#[derive(Default)]
struct Scratch {
    canon: Canonical,
    /// The words of the canonical text, for the classifier and the
    /// campaign fingerprint.
    words: Words,
    /// The classifier's sums for the words this thread scored lately.
    word_cache: WordCache,
    evidence: Evidence,
    links: LinkScratch,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers, or with fresh ones when they
/// are already in use on this thread (re-entry cannot happen today, but a
/// check must never panic).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
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
        with_scratch(|scratch| {
            self.scan_rules(msg, scratch, None);
            out.clear();
            out.extend(scratch.evidence.hits.iter().map(|h| (h.code, h.strength)));
        });
    }

    /// Every family of evidence except the classifier, into a cleared
    /// scratch; leaves the canonical text in `scratch.canon`.
    fn scan_rules(
        &self,
        msg: &Message<'_>,
        scratch: &mut Scratch,
        expander: Option<&dyn LinkExpander>,
    ) {
        let inner = &*self.inner;
        let Scratch {
            canon,
            words,
            evidence,
            links,
            ..
        } = scratch;
        evidence.clear();
        let text = truncate(msg.text, inner.policy.limits.max_text_bytes);
        if text.len() < msg.text.len() {
            evidence.push(
                "TEXT_TRUNCATED",
                1.0,
                format!(
                    "only the first {} of {} bytes were examined",
                    text.len(),
                    msg.text.len()
                ),
            );
        }

        // Text: canonical forms, disguises, phrase rules, the policy's lists.
        canon.canonicalize(text);
        words.fill(&canon.text);
        let ahead = inner.stream.look_ahead(msg, canon, words);
        inner.lists.scan(msg, canon, evidence);
        inner.text.scan(canon, evidence);
        // Links: found in the raw text, where disguises are still visible.
        inner.links.scan(msg, text, expander, evidence, links);

        // Stream: sender rate and fan-out, campaigns, sender profile.
        inner.stream.observe(msg, ahead, evidence);
    }

    /// Judges one message.
    pub fn check(&self, msg: &Message<'_>) -> Verdict {
        with_scratch(|scratch| self.check_with(msg, scratch, None))
    }

    /// Records a brand's own outgoing DM: `msg.sender` is the brand's
    /// account, `msg.recipient` the person it wrote to, `msg.timestamp_ms`
    /// the event time. For the stream policy's `conversation_window_ms`
    /// (default 30 days) after it, DMs from that person to that brand carry
    /// `SENDER_IN_CONVERSATION`, which speaks for them (link, campaign and
    /// deny evidence still count against them). The message is not scored
    /// and its text is not read. Without a sender and a recipient, or
    /// before any event time is known, nothing is recorded.
    ///
    /// ```
    /// use dmguard::{Filter, Message};
    ///
    /// let filter = Filter::default();
    /// let t = 1_750_000_000_000;
    /// let reply = Message::new("Sorry to hear that! Could you DM us your order number?")
    ///     .with_sender("brand_01")
    ///     .with_recipient("u_dani")
    ///     .with_timestamp_ms(t);
    /// filter.observe_outgoing(&reply);
    ///
    /// let answer = Message::new("sure, it's 482913. still nothing!!")
    ///     .with_sender("u_dani")
    ///     .with_recipient("brand_01")
    ///     .with_timestamp_ms(t + 60_000);
    /// let v = filter.check(&answer);
    /// assert!(v.reason("SENDER_IN_CONVERSATION").unwrap().weight < 0.0);
    /// assert_eq!(filter.stats().conversations, 1);
    /// ```
    pub fn observe_outgoing(&self, msg: &Message<'_>) {
        self.inner.stream.observe_outgoing(msg);
    }

    /// What the stream state holds and has evicted.
    pub fn stats(&self) -> Stats {
        self.inner.stream.stats()
    }

    /// A copy of the stream state (senders' windows, running campaigns)
    /// and of the learned domain reputation,
    /// for [`Filter::restore_state`] after a restart.
    ///
    /// ```
    /// use dmguard::{Filter, Message};
    ///
    /// let filter = Filter::default();
    /// filter.check(&Message::new("hi").with_sender("u1").with_timestamp_ms(1_750_000_000_000));
    /// let mut bytes = Vec::new();
    /// filter.snapshot_state().to_writer(&mut bytes)?;
    ///
    /// let restarted = Filter::default();
    /// restarted.restore_state(&dmguard::StateSnapshot::from_reader(&bytes[..])?)?;
    /// assert_eq!(restarted.stats().senders, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot_state(&self) -> StateSnapshot {
        let domains = self.inner.links.reputation_entries();
        self.inner.stream.snapshot().with_domains(domains)
    }

    /// Adds a snapshot's senders and campaigns to this filter's stream
    /// state. Fails only on a snapshot from an unsupported version.
    pub fn restore_state(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        self.inner.stream.restore(snapshot)?;
        self.inner.links.restore_reputation(snapshot.domains());
        Ok(())
    }

    /// Judges one message, judging each shortened link also by where the
    /// caller's `expander` says it leads. Nothing is fetched here: see
    /// [`LinkExpander`] for the pattern.
    pub fn check_with_expander(&self, msg: &Message<'_>, expander: &dyn LinkExpander) -> Verdict {
        with_scratch(|scratch| self.check_with(msg, scratch, Some(expander)))
    }

    /// The links in `text` that go through a link shortener (built-in list
    /// and the policy's), as [`Filter::check_with_expander`] will ask about
    /// them: what a caller's resolver should expand ahead of time.
    ///
    /// ```
    /// let filter = dmguard::Filter::default();
    /// let short = filter.short_links("win at bit.ly/3xWin or see example.com");
    /// assert_eq!(short.len(), 1);
    /// assert_eq!(short[0].url, "http://bit.ly/3xWin");
    /// ```
    pub fn short_links(&self, text: &str) -> Vec<Link> {
        let text = truncate(text, self.inner.policy.limits.max_text_bytes);
        self.inner.links.short_links(text)
    }

    /// Teaches the filter a person's judgement of a message, for example
    /// from a moderator's "spam / not spam" click: the text classifier
    /// moves its weights towards the label (unless the filter was built
    /// [`without_model`](FilterBuilder::without_model)), and the domains
    /// the message links to are remembered as seen in spam or in ham
    /// (`LINK_DOMAIN_REPUTATION`). Takes `&self` and is safe while other
    /// threads check: the learned state is shared by every clone of the
    /// filter, and the next check sees it.
    ///
    /// ```
    /// use dmguard::{Filter, Label, Message};
    ///
    /// let filter = Filter::default();
    /// filter.learn(&Message::new("free coins at coin-drop.example/x"), Label::Spam);
    /// let v = filter.check(&Message::new("hi, see coin-drop.example/y"));
    /// assert!(v.reasons.iter().any(|r| r.code == "LINK_DOMAIN_REPUTATION" && r.weight > 0.0));
    ///
    /// let msg = Message::new("grab the zorblax deal today");
    /// let before = filter.check(&msg).score;
    /// filter.learn(&msg, Label::Spam);
    /// assert!(filter.check(&msg).score > before);
    /// ```
    pub fn learn(&self, msg: &Message<'_>, label: Label) {
        let text = truncate(msg.text, self.inner.policy.limits.max_text_bytes);
        self.inner.links.learn(text, label);
        if let Some((classifier, _)) = &self.inner.model {
            with_scratch(|scratch| {
                scratch.canon.canonicalize(text);
                classifier.learn(&scratch.canon.text, label == Label::Spam, msg.id);
            });
        }
    }

    fn check_with(
        &self,
        msg: &Message<'_>,
        scratch: &mut Scratch,
        expander: Option<&dyn LinkExpander>,
    ) -> Verdict {
        let inner = &*self.inner;
        self.scan_rules(msg, scratch, expander);

        // The trained classifier, on the canonical text.
        if let Some((clf, _)) = &inner.model {
            let score =
                clf.score_words(&scratch.canon.text, &scratch.words, &mut scratch.word_cache);
            // No word, no evidence: emoji-only or symbol-only messages are
            // judged by the other families. A zero strength adds no reason.
            if score.features > 0 {
                scratch.evidence.push(
                    classifier::CODE,
                    clf.strength(score.evidence),
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
            let combination = (
                weights.get(classifier::CODE),
                weights.bias,
                m.classifier_offset,
            );
            let clf = Classifier::from_fitted(m.bits, fitted, m.online_rate, m.l2, combination);
            (clf, m)
        });
        Ok(Filter {
            inner: Arc::new(Inner {
                lists: ListRules::build(&policy)?,
                text: TextRules::build(&policy)?,
                stream: Stream::new(&policy.stream),
                links: LinkRules::build(&policy.links, policy.stream.new_account_days)?,
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
