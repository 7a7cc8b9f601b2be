//! The input: one direct message, borrowed from the caller.

use serde::{Deserialize, Serialize};

/// One incoming direct message.
///
/// Only `text` is required. The other fields feed the stream and sender
/// evidence: without a timestamp or a sender the filter judges the text and
/// its links alone.
///
/// ```
/// use dmguard::{Message, SenderProfile};
///
/// let profile = SenderProfile { account_age_days: Some(3), ..SenderProfile::default() };
/// let msg = Message::new("where is my order?")
///     .with_id("m1")
///     .with_timestamp_ms(1_750_000_000_000)
///     .with_sender("u1")
///     .with_recipient("brand_01")
///     .with_profile(profile);
/// assert_eq!(msg.sender, Some("u1"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Message<'a> {
    /// The message body as the sender wrote it.
    pub text: &'a str,
    /// The caller's identifier for the message; keys `learn` and `unlearn`.
    pub id: Option<&'a str>,
    /// Event time in milliseconds since the Unix epoch. Rate and campaign
    /// evidence use this, never the wall clock, so a replay gives the same
    /// verdicts.
    pub timestamp_ms: Option<i64>,
    /// Who wrote the message.
    pub sender: Option<&'a str>,
    /// Whose inbox it arrives in.
    pub recipient: Option<&'a str>,
    /// What the platform knows about the sender's account.
    pub profile: Option<SenderProfile>,
}

impl<'a> Message<'a> {
    /// A message with only its text.
    pub fn new(text: &'a str) -> Self {
        Message {
            text,
            ..Message::default()
        }
    }

    /// Sets the message identifier.
    pub fn with_id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the event time in milliseconds since the Unix epoch.
    pub fn with_timestamp_ms(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    /// Sets the sender.
    pub fn with_sender(mut self, sender: &'a str) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Sets the recipient.
    pub fn with_recipient(mut self, recipient: &'a str) -> Self {
        self.recipient = Some(recipient);
        self
    }

    /// Sets the sender's profile.
    pub fn with_profile(mut self, profile: SenderProfile) -> Self {
        self.profile = Some(profile);
        self
    }
}

/// What the platform knows about a sender's account when the DM arrives.
///
/// Unknown numbers stay `None`; they then add no evidence either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SenderProfile {
    /// Days since the account was created.
    pub account_age_days: Option<u32>,
    /// How many accounts follow the sender.
    pub followers: Option<u64>,
    /// How many accounts the sender follows.
    pub following: Option<u64>,
    /// The platform has verified the account.
    pub verified: bool,
    /// The recipient follows the sender back.
    pub recipient_follows_sender: bool,
}

/// A judgement from a person, used to teach the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Unwanted: the filter should flag messages like this.
    Spam,
    /// Wanted: the filter should let messages like this through.
    Ham,
}

impl Label {
    /// `"spam"` or `"ham"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Spam => "spam",
            Label::Ham => "ham",
        }
    }
}

impl std::str::FromStr for Label {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "spam" | "1" => Ok(Label::Spam),
            "ham" | "0" => Ok(Label::Ham),
            other => Err(crate::Error::invalid_input(format!(
                "label {other:?} is neither \"spam\" nor \"ham\""
            ))),
        }
    }
}
