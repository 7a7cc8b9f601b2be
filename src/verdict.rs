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

/// One piece of evidence behind a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// A stable code, such as `TEXT_ZERO_WIDTH`; safe to match on and to
    /// name in a policy's `[weights]`.
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
