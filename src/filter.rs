//! The filter: built once from a policy, then shared to check every message.

use std::cell::RefCell;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::Error;
use crate::classifier::{self, Classifier, Model, OverlayStats, WordCache, Words};
use crate::codes::Code;
use crate::combine::{self, Weights};
use crate::features::Evidence;
use crate::features::link::{Link, LinkExpander, LinkRules, LinkScratch};
use crate::features::lists::ListRules;
use crate::features::stream::Stream;
use crate::features::text::TextRules;
use crate::limits;
use crate::message::{Label, Message};
use crate::normalize::Canonical;
use crate::persist::{
    self,
    codec::{Dec, Enc},
};
use crate::policy::Policy;
use crate::state::{StateSnapshot, Stats};
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
    /// Where this filter's lessons go and the others' come from, when the
    /// stream state is shared through Redis.
    #[cfg(feature = "redis")]
    feedback: Option<crate::state::feedback::Feedback>,
    /// The trained text classifier and the combination it was fitted
    /// with; `None` for a rules-only filter.
    model: Option<(Classifier, Model)>,
    /// Held shared by each lesson (learn, unlearn) and exclusively while
    /// [`Filter::save_state`] copies the learned state or
    /// [`Filter::restore_state`] adds to it: a lesson touches the
    /// classifier and the domain reputation under their own locks, one
    /// after the other, and a save must never catch one half of it (the
    /// journal of a lesson without its counts). Checks never take it.
    lessons: RwLock<()>,
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
    /// The part of a text over `max_text_bytes` that is read (see
    /// `limits::examined`); empty until such a text comes.
    long: String,
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

    /// Takes back everything [`Filter::learn`] or [`Filter::learn_scoped`]
    /// did for the message with this id, whatever its scope: the weight
    /// changes (shared or in the brand's overlay) and the counts of the
    /// domains it linked to. Unlearning the last lessons first puts every
    /// changed weight back to its exact value. False when no message with
    /// this id was learned, or it was learned so long ago that it was
    /// forgotten (the last 10,000 learned ids are remembered).
    ///
    /// ```
    /// use dmguard::{Filter, Label, Message};
    ///
    /// let filter = Filter::default();
    /// let msg = Message::new("grab the zorblax deal at coin-drop.example/x").with_id("m7");
    /// let other = Message::new("see coin-drop.example/y");
    /// let (before, other_before) = (filter.check(&msg), filter.check(&other));
    /// filter.learn(&msg, Label::Spam);
    /// assert!(filter.unlearn("m7"));
    /// assert_eq!(filter.check(&msg), before);
    /// assert_eq!(filter.check(&other), other_before);
    /// ```
    pub fn unlearn(&self, id: &str) -> bool {
        #[cfg(feature = "redis")]
        if let Some(feedback) = &self.inner.feedback {
            feedback.publish(&crate::state::feedback::Lesson::Unlearn { id: id.to_string() });
        }
        self.unlearn_here(id)
    }

    /// [`Filter::unlearn`] in this process only.
    fn unlearn_here(&self, id: &str) -> bool {
        let _lesson = self.lesson();
        let links = self.inner.links.unlearn(id);
        let weights = match &self.inner.model {
            Some((classifier, _)) => classifier.unlearn(id),
            None => false,
        };
        links || weights
    }

    /// Saves everything this filter learned and remembers into `dir`: the
    /// model with its learned weights, the per-brand overlays, the unlearn
    /// journals, the learned domain reputation and the stream state
    /// ([`Filter::snapshot_state`]). The directory is replaced atomically
    /// and every file carries a checksum: a reader sees the previous state
    /// or this one, never half of one, even when the saving process is
    /// killed, and saves into one directory take turns, between threads
    /// and between processes. The files agree with each other: no lesson
    /// is half saved. Restore it with [`FilterBuilder::state_dir`].
    ///
    /// ```
    /// use dmguard::{Filter, Label, Message};
    ///
    /// let dir = std::env::temp_dir().join(format!("dmguard-doc-{}", std::process::id()));
    /// let filter = Filter::default();
    /// let msg = Message::new("grab the zorblax deal today").with_id("m1");
    /// let before = filter.check(&msg);
    /// filter.learn(&msg, Label::Spam);
    /// filter.save_state(&dir)?;
    ///
    /// let restarted = Filter::builder().state_dir(&dir).build()?;
    /// assert_eq!(restarted.check(&msg), filter.check(&msg));
    /// assert!(restarted.unlearn("m1"), "the journal is kept");
    /// assert_eq!(restarted.check(&msg), before);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_state(&self, dir: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let files = self.encode_state()?;
        persist::save(dir.as_ref(), &files)
    }

    /// The files of [`Filter::save_state`], copied while no lesson is half
    /// done, so that they agree with each other.
    fn encode_state(&self) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
        let _no_lessons = self.no_lessons();
        let mut learned = Enc::default();
        learned.bytes.extend_from_slice(LEARNED_MAGIC);
        let mut files = Vec::with_capacity(3);
        match &self.inner.model {
            Some((classifier, model)) => {
                learned.u8(1);
                let fitted = classifier.encode_learned(&mut learned);
                let model = Model {
                    fitted,
                    ..model.clone()
                };
                files.push((persist::MODEL, model.to_bytes()));
            }
            None => learned.u8(0),
        }
        self.inner.links.reputation().encode_learned(&mut learned);
        files.push((persist::LEARNED, learned.bytes));
        let mut stream = Vec::new();
        self.snapshot_state().to_writer(&mut stream)?;
        files.push((persist::STREAM, stream));
        Ok(files)
    }

    /// Shared hold of [`Inner::lessons`], for one lesson.
    fn lesson(&self) -> RwLockReadGuard<'_, ()> {
        self.inner.lessons.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive hold of [`Inner::lessons`]: no lesson runs meanwhile.
    fn no_lessons(&self) -> RwLockWriteGuard<'_, ()> {
        self.inner
            .lessons
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Puts back the learned state of [`Filter::save_state`] (all but the
    /// model, which the builder loaded).
    fn restore_saved(&self, dir: &std::path::Path, saved: &persist::Loaded) -> Result<(), Error> {
        let (path, stream) = saved.require(persist::STREAM, dir)?;
        let snapshot = StateSnapshot::from_reader(stream)
            .map_err(|e| Error::invalid_input(format!("{}: {e}", path.display())))?;
        self.restore_state(&snapshot)
            .map_err(|e| Error::invalid_input(format!("{}: {e}", path.display())))?;
        let (path, learned) = saved.require(persist::LEARNED, dir)?;
        let bad = |e: String| Error::invalid_input(format!("{}: {e}", path.display()));
        let rest = learned
            .strip_prefix(LEARNED_MAGIC.as_slice())
            .ok_or_else(|| bad("not a dmguard learned-state file (bad magic bytes)".into()))?;
        let mut d = Dec::new(rest);
        match (d.u8("model flag").map_err(bad)?, &self.inner.model) {
            (0, _) => {}
            (1, Some((classifier, _))) => classifier.decode_learned(&mut d).map_err(bad)?,
            (1, None) => {
                return Err(bad(
                    "holds a model's lessons but the state has no model".into()
                ));
            }
            (other, _) => return Err(bad(format!("corrupt: model flag {other}"))),
        }
        self.inner
            .links
            .reputation()
            .decode_learned(&mut d)
            .map_err(bad)?;
        d.end().map_err(bad)
    }

    /// What the per-brand overlays of [`Filter::learn_scoped`] hold and
    /// have evicted.
    pub fn overlay_stats(&self) -> OverlayStats {
        match &self.inner.model {
            Some((classifier, _)) => classifier.overlay_stats(),
            None => OverlayStats::default(),
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
    pub(crate) fn rule_evidence(&self, msg: &Message<'_>, out: &mut Vec<(Code, f64)>) {
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
            long,
            ..
        } = scratch;
        evidence.clear();
        let max = inner.policy.limits.max_text_bytes;
        let text = limits::examined(msg.text, max, long);
        if msg.text.len() > max {
            evidence.push(
                Code::TEXT_TRUNCATED,
                limits::overshoot(msg.text.len(), max),
                format!(
                    "the text has {} bytes: only its first and last {max} in all were examined",
                    msg.text.len()
                ),
            );
        }

        // Text: canonical forms, disguises, phrase rules, the policy's lists.
        canon.canonicalize(text);
        words.fill(&canon.text);
        let plan = inner.stream.plan(msg, canon, words);
        inner.lists.scan(msg, canon, evidence);
        inner.text.scan(canon, evidence);
        // Links: found in the raw text, where disguises are still visible.
        inner.links.scan(msg, text, expander, evidence, links);

        // Stream: sender rate and fan-out, campaigns, sender profile.
        inner.stream.observe(msg, plan, evidence);
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

    /// Exchanges with the other filters on the same Redis now (with the
    /// `redis` feature, see `FilterBuilder::redis`): publishes what this filter counted since
    /// the last exchange and counts what the others published. A
    /// background thread does this every sync interval on its own; call it
    /// where a step must see the others' latest messages (a replay, a
    /// test, before a shutdown). Waits at most the Redis timeout per round
    /// trip. Returns whether Redis answered; without a shared store there
    /// is nothing to exchange and it returns true.
    pub fn sync_shared(&self) -> bool {
        self.inner.stream.sync()
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
    /// state. The stream tables are keyed with the policy's secret
    /// (`[store] hash_key`; the public seeds without one), which the
    /// snapshot carries: a filter that holds no entries yet and whose
    /// policy sets no key takes the snapshot's. Fails on a snapshot from an unsupported version, and on
    /// one keyed differently from a filter that already holds entries or
    /// whose policy sets another key (its senders and texts would match
    /// nothing here).
    pub fn restore_state(&self, snapshot: &StateSnapshot) -> Result<(), Error> {
        let _no_lessons = self.no_lessons();
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
        let mut long = String::new();
        let text = limits::examined(text, self.inner.policy.limits.max_text_bytes, &mut long);
        self.inner.links.short_links(text)
    }

    /// Teaches the filter a person's judgement of a message, for example
    /// from a moderator's "spam / not spam" click: the text classifier
    /// moves its weights towards the label (unless the filter was built
    /// [`without_model`](FilterBuilder::without_model)), and the domains
    /// the message links to are remembered as seen in spam or in ham
    /// (`LINK_DOMAIN_REPUTATION`). Takes `&self` and is safe while other
    /// threads check: the learned state is shared by every clone of the
    /// filter, and the next check sees it. The same as
    /// [`Filter::learn_scoped`] with [`LearnScope::Shared`].
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
        self.learn_scoped(msg, label, LearnScope::Shared);
    }

    /// Teaches the filter a person's judgement of a message, for every
    /// brand or for one: with [`LearnScope::Brand`], the lesson goes into
    /// that brand's own overlay over the shared model (and its own domain
    /// reputation), and moves only the verdicts of messages whose
    /// `recipient` is that brand; the shared model and every other brand's
    /// verdicts stay exactly as they were. Overlays are bounded (see
    /// [`Filter::overlay_stats`]); [`Filter::unlearn`] takes a lesson back
    /// whatever its scope.
    ///
    /// ```
    /// use dmguard::{Filter, Label, LearnScope, Message};
    ///
    /// let filter = Filter::default();
    /// let text = "grab the zorblax deal today";
    /// let mine = Message::new(text).with_recipient("brand_a");
    /// let theirs = Message::new(text).with_recipient("brand_b");
    /// let (mine_before, theirs_before) = (filter.check(&mine), filter.check(&theirs));
    /// filter.learn_scoped(&mine.with_id("m1"), Label::Spam, LearnScope::Brand("brand_a"));
    /// assert!(filter.check(&mine).score > mine_before.score);
    /// assert_eq!(filter.check(&theirs), theirs_before);
    /// assert_eq!(filter.overlay_stats().brands, 1);
    /// assert!(filter.unlearn("m1"));
    /// assert_eq!(filter.check(&mine), mine_before);
    /// ```
    pub fn learn_scoped(&self, msg: &Message<'_>, label: Label, scope: LearnScope<'_>) {
        let brand = match scope {
            LearnScope::Shared => None,
            LearnScope::Brand(brand) => Some(brand),
        };
        let mut long = String::new();
        let text = limits::examined(msg.text, self.inner.policy.limits.max_text_bytes, &mut long);
        self.learn_here(text, label, msg.id, brand);
        #[cfg(feature = "redis")]
        if let Some(feedback) = &self.inner.feedback {
            feedback.publish(&crate::state::feedback::Lesson::Learn {
                spam: label == Label::Spam,
                text: text.to_string(),
                id: msg.id.map(str::to_string),
                brand: brand.map(str::to_string),
            });
        }
    }

    /// [`Filter::learn_scoped`] in this process only, on the text as examined.
    fn learn_here(&self, text: &str, label: Label, id: Option<&str>, brand: Option<&str>) {
        let _lesson = self.lesson();
        self.inner.links.learn(text, label, id, brand);
        if let Some((classifier, _)) = &self.inner.model {
            with_scratch(|scratch| {
                scratch.canon.canonicalize(text);
                classifier.learn(&scratch.canon.text, label == Label::Spam, id, brand);
            });
        }
    }

    /// Applies a lesson another filter published.
    #[cfg(feature = "redis")]
    fn apply_lesson(&self, lesson: crate::state::feedback::Lesson) {
        use crate::state::feedback::Lesson;
        match lesson {
            Lesson::Learn {
                spam,
                text,
                id,
                brand,
            } => {
                let label = if spam { Label::Spam } else { Label::Ham };
                let text = truncate(&text, self.inner.policy.limits.max_text_bytes);
                self.learn_here(text, label, id.as_deref(), brand.as_deref());
            }
            Lesson::Unlearn { id } => {
                self.unlearn_here(&id);
            }
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
            let score = clf.score_words(
                &scratch.canon.text,
                &scratch.words,
                &mut scratch.word_cache,
                msg.recipient,
            );
            // No word, no evidence: emoji-only or symbol-only messages are
            // judged by the other families. A zero strength adds no reason.
            if score.features > 0 {
                let strength = clf.strength(score.evidence);
                scratch.evidence.push(
                    Code::CLASSIFIER_TEXT,
                    strength,
                    classifier::detail(&score, strength > 0.0),
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

/// The first bytes of a state directory's `learned.bin`, with its version.
const LEARNED_MAGIC: &[u8; 12] = b"DMGUARDL\x01\0\0\0";

/// Whose verdicts a lesson of [`Filter::learn_scoped`] moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnScope<'a> {
    /// Every brand's: the shared model and domain reputation.
    Shared,
    /// Only this brand's: messages whose `recipient` is this name.
    Brand(&'a str),
}

/// Builds a [`Filter`]; every check of the configuration happens in
/// [`FilterBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct FilterBuilder {
    policy: Policy,
    model: ModelChoice,
    state_dir: Option<std::path::PathBuf>,
    #[cfg(feature = "redis")]
    redis: Option<crate::state::RedisConfig>,
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

    /// Starts from the state that [`Filter::save_state`] saved in `dir`:
    /// its model (with everything learned) replaces the model chosen
    /// here, and its overlays, unlearn journals, domain reputation and
    /// stream state are restored, so that `unlearn` works across the
    /// restart. A directory that does not exist or is empty holds no state
    /// and the filter starts fresh (as a service's first run does); a
    /// damaged, truncated or incomplete state is an error naming the file.
    /// The policy is not part of the state: pass it as before.
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Shares the stream state and the feedback with every filter on the
    /// same Redis and `prefix` (one prefix per deployment): a sender's rate,
    /// a text's spread and the brands' conversations count every filter's
    /// messages, and each `learn` / `unlearn` reaches every filter, a new
    /// one included (it reads the lessons and the messages Redis still
    /// holds). With the `redis` feature.
    ///
    /// A check never waits for Redis: it counts the message in this
    /// filter's memory, which holds every filter's messages, and queues it;
    /// a background thread exchanges the queue with the other filters every
    /// [`redis_sync_interval`](Self::redis_sync_interval) (10 ms), so a
    /// count can miss the others' messages of the last two intervals.
    /// Every filter on a prefix must hash alike: give them the same
    /// `[store] hash_key` (or none, and the prefix keys them).
    ///
    /// `url` is a Redis URL (`redis://host:port/db`). A URL the client
    /// cannot use, or an empty prefix, makes [`build`](Self::build) fail. A
    /// server that does not answer does not: the filter starts degraded
    /// (see [`Stats::shared_degraded`]), checks from its own memory, keeps
    /// what it counted for Redis, and connects when Redis answers.
    ///
    /// ```
    /// use dmguard::Filter;
    ///
    /// // Nothing listens on port 1: the filter starts degraded.
    /// let filter = Filter::builder().redis("redis://127.0.0.1:1/", "dmguard-doc").build()?;
    /// let verdict = filter.check(&dmguard::Message::new("hi").with_timestamp_ms(1_750_000_000_000));
    /// assert!((0.0..=1.0).contains(&verdict.score));
    /// assert!(filter.stats().shared_degraded);
    /// assert!(Filter::builder().redis("http://nowhere", "p").build().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>, prefix: impl Into<String>) -> Self {
        self.redis = Some(crate::state::RedisConfig {
            url: url.into(),
            prefix: prefix.into(),
            timeout: std::time::Duration::from_millis(50),
            sync_interval: Some(std::time::Duration::from_millis(10)),
        });
        self
    }

    /// How often the filter exchanges with the others through Redis.
    /// Default 10 ms: a message reaches the other filters within about two
    /// intervals. `None` leaves it to [`Filter::sync_shared`] (a replay
    /// that must give the same verdicts each time). Without
    /// [`redis`](Self::redis) it does nothing.
    #[cfg(feature = "redis")]
    pub fn redis_sync_interval(mut self, interval: Option<std::time::Duration>) -> Self {
        if let Some(config) = &mut self.redis {
            config.sync_interval = interval.map(|i| i.max(std::time::Duration::from_millis(1)));
        }
        self
    }

    /// The longest an exchange with Redis (or a lesson's publication) waits
    /// for it to connect or answer; checks never wait. Default 50 ms.
    /// Without [`redis`](Self::redis) it does nothing.
    #[cfg(feature = "redis")]
    pub fn redis_timeout(mut self, timeout: std::time::Duration) -> Self {
        if let Some(config) = &mut self.redis {
            config.timeout = timeout.max(std::time::Duration::from_millis(1));
        }
        self
    }

    /// Checks the configuration and compiles every rule.
    pub fn build(mut self) -> Result<Filter, Error> {
        let saved = match &self.state_dir {
            Some(dir) => persist::load(dir)?,
            None => None,
        };
        if let Some(saved) = &saved
            && let Some((path, bytes)) = saved.get(persist::MODEL)
        {
            let model = Model::from_bytes(bytes).map_err(|e| e.in_file(path))?;
            self.model = ModelChoice::Given(Box::new(model));
        }
        let state_dir = self.state_dir.take();
        let filter = self.build_fresh()?;
        if let (Some(saved), Some(dir)) = (saved, state_dir) {
            filter.restore_saved(&dir, &saved)?;
        }
        // A shared store catches up only now, after the saved state.
        filter.inner.stream.start()?;
        Ok(filter)
    }

    fn build_fresh(self) -> Result<Filter, Error> {
        let overrides = self.policy.checked_weights()?;
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
                let fitted: Vec<(Code, f64)> = Code::all()
                    .filter_map(|code| m.fitted_weight(code.as_str()).map(|w| (code, w)))
                    .collect();
                Weights::resolve(&fitted, m.fitted_bias(), &overrides)
            }
            None => Weights::resolve(&[], None, &overrides),
        };
        let model = model.map(|mut m| {
            // The live weights sit in the classifier; the kept model holds
            // only the settings and the combination.
            let fitted = std::mem::take(&mut m.fitted);
            let combination = (
                weights.get(Code::CLASSIFIER_TEXT),
                weights.bias,
                m.classifier_offset,
            );
            let clf = Classifier::from_fitted(m.bits, fitted, m.online_rate, m.l2, combination);
            (clf, m)
        });
        #[cfg(feature = "redis")]
        let (stream, feedback) = match &self.redis {
            Some(config) => {
                // Every instance must hash alike: without a key in the
                // policy, the deployment's prefix stands for one (public,
                // so the README asks shared deployments to set one).
                let key = policy.store.key().unwrap_or_else(|| {
                    crate::state::hash::HashKey(crate::state::hash::hash_str(
                        &config.prefix,
                        0x006b_6579,
                    ))
                });
                let store = crate::state::RedisStore::new(
                    config,
                    &policy.store,
                    policy.stream.windows(),
                    key.0,
                )?;
                let feedback = crate::state::feedback::Feedback::new(config)?;
                let stream = Stream::with_store(&policy.stream, Arc::new(store), Some(key));
                (stream, Some(feedback))
            }
            None => (Stream::new(&policy.stream, &policy.store), None),
        };
        #[cfg(not(feature = "redis"))]
        let stream = Stream::new(&policy.stream, &policy.store);
        let filter = Filter {
            inner: Arc::new(Inner {
                lists: ListRules::build(&policy)?,
                text: TextRules::build(&policy)?,
                stream,
                links: LinkRules::build(&policy.links, policy.stream.new_account_days)?,
                #[cfg(feature = "redis")]
                feedback,
                weights,
                policy,
                model,
                lessons: RwLock::new(()),
            }),
        };
        #[cfg(feature = "redis")]
        if let (Some(config), Some(feedback)) = (&self.redis, &filter.inner.feedback) {
            // The reader holds the filter weakly: it ends when the last
            // clone of the filter is dropped.
            let weak = Arc::downgrade(&filter.inner);
            feedback.follow(config, move |lesson| match weak.upgrade() {
                Some(inner) => {
                    if let Some(lesson) = lesson {
                        Filter { inner }.apply_lesson(lesson);
                    }
                    true
                }
                None => false,
            })?;
        }
        Ok(filter)
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
