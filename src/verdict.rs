//! The output: a score, an action and the reasons behind them.

use std::borrow::Cow;

use serde::Serialize;

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Deliver it.
    Allow,
    /// Hold it for a person to look at.
    Review,
    /// Do not deliver it.
    Block,
}

impl Action {
    /// `"allow"`, `"review"` or `"block"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Review => "review",
            Action::Block => "block",
        }
    }

    /// True for [`Action::Review`] and [`Action::Block`].
    pub fn is_flagged(self) -> bool {
        self != Action::Allow
    }
}

/// A family of evidence: the kind of thing a reason looked at.
///
/// Families matter because evidence of one kind can be wrong in one way:
/// a text classifier trained elsewhere misreads a whole genre of customer
/// messages, however many of its words it counts. So a message is blocked
/// only when at least [`Policy::block_min_families`] families point at spam
/// (or a deny list of the policy names it); one family alone can send it to
/// review at most. [`CodeInfo::family`] gives each code's family.
///
/// ```
/// use dmguard::{Family, reason_codes};
///
/// let family = |code: &str| reason_codes().find(|c| c.code == code).unwrap().family();
/// assert_eq!(family("CLASSIFIER_TEXT"), Family::Text);
/// assert_eq!(family("LINK_SHORTENER"), Family::Link);
/// assert_eq!(family("CAMPAIGN_SWARM"), Family::Stream);
/// assert_eq!(family("SENDER_NEW_ACCOUNT"), Family::Sender);
/// assert_eq!(family("POLICY_DENY_PHRASE"), Family::Policy);
/// assert_eq!(Family::Stream.as_str(), "stream");
/// ```
///
/// [`Policy::block_min_families`]: crate::Policy::block_min_families
/// [`CodeInfo::family`]: crate::CodeInfo::family
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// What the words say: the trained classifier, phrase rules, patterns
    /// such as phone numbers and wallets, and disguises of the text.
    Text,
    /// Where the links lead and how they are written.
    Link,
    /// How the sender and the text move through the stream: bursts,
    /// fan-out, campaigns.
    Stream,
    /// Who the sender is: the profile (age, following, verification),
    /// whether the recipient knows them, whether they are in a conversation.
    Sender,
    /// The policy's own allow and deny lists.
    Policy,
}

impl Family {
    /// Every family, in the order of [`Verdict::families`].
    pub const ALL: [Family; 5] = [
        Family::Text,
        Family::Link,
        Family::Stream,
        Family::Sender,
        Family::Policy,
    ];

    /// `"text"`, `"link"`, `"stream"`, `"sender"` or `"policy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Text => "text",
            Family::Link => "link",
            Family::Stream => "stream",
            Family::Sender => "sender",
            Family::Policy => "policy",
        }
    }
}

/// One piece of evidence behind a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// A stable code, such as `TEXT_ZERO_WIDTH`; safe to match on and to
    /// name in a policy's `[weights]`. Always one of
    /// [`reason_codes`](crate::reason_codes): inside the filter every code
    /// is a typed handle into that one table, and this is its string.
    ///
    /// ```
    /// use dmguard::{Filter, Message, reason_codes};
    ///
    /// let v = Filter::default().check(&Message::new("fr33 g1ft, claim at bit.ly/x"));
    /// assert!(!v.reasons.is_empty());
    /// for reason in &v.reasons {
    ///     assert!(reason_codes().any(|c| c.code == reason.code), "{}", reason.code);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub code: &'static str,
    /// What this reason added to the score's log-odds (negative: it spoke
    /// for the message).
    pub weight: f64,
    /// What was found, for a person to read. Borrowed when the reason's
    /// wording is fixed ("first message from this sender to this inbox"),
    /// so that the most common reasons cost no allocation.
    pub detail: Cow<'static, str>,
}

/// The filter's judgement of one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The probability that the message is spam, in `[0, 1]`.
    pub score: f64,
    /// What to do with it, from the policy's thresholds.
    pub action: Action,
    /// The evidence, strongest first.
    pub reasons: Vec<Reason>,
    /// The families whose evidence points at spam (their reasons add up to
    /// at least 1.0 log-odds, not counting `LINK_MANY`: many links are not
    /// a sign that any of them is bad), in the order of [`Family::ALL`].
    /// Fewer than
    /// the policy's `block_min_families` of them, not counting
    /// [`Family::Sender`] (an unknown sender is not evidence enough to
    /// block with the text), and no deny list named the message: it is not
    /// blocked, however high the score (then the reason
    /// `VERDICT_SINGLE_FAMILY` says so).
    pub families: Vec<Family>,
}

impl Verdict {
    /// True when the message should not be delivered unseen.
    pub fn is_flagged(&self) -> bool {
        self.action.is_flagged()
    }

    /// The reason with this code, if it fired.
    pub fn reason(&self, code: &str) -> Option<&Reason> {
        self.reasons.iter().find(|r| r.code == code)
    }
}
