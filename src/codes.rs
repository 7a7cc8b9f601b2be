//! Every reason code, in one table: its family, its default weight and
//! what it means.
//!
//! The table generates [`Code`], a one-byte handle that evidence is pushed
//! with, so that a misspelt code is a compile error rather than a reason
//! weighted 0, and the combination looks weights up by index. The stable
//! string of each code (what [`Reason::code`](crate::Reason::code), JSON
//! output and a policy's `[weights]` show) is the constant's own name.
//!
//! Default weights are log-odds added to the bias (-3.0; review at 0,
//! block at about 2.2). One strong phrase (strength 1.0) of a spam family
//! reaches review; two phrases, or a phrase and a disguise, reach block; a
//! disguise alone on ordinary text stays below review. Customer habits
//! (phone numbers, e-mail addresses, @brand handles) weigh little. A model
//! replaces the defaults with weights fitted on its training data, and a
//! policy's `[weights]` replace both.
//!
//! The order of the table is the order of [`all_codes`]: a trained model's
//! combination columns follow it, so new codes go at the end of their
//! family's run and existing ones keep their place.

use std::fmt;

use crate::verdict::Family;

/// Log-odds of spam for a message with no evidence at all: most DMs to a
/// brand are from customers.
pub(crate) const DEFAULT_BIAS: f64 = -3.0;

/// The largest weight or bias a model file may hold, in log-odds, either
/// sign: odds of e^64 to one are far beyond anything a fit produces (the
/// trainer keeps combination weights within twice each rule's default and
/// the bias within -12 to 3), yet a crafted file with weights near `f64::MAX`
/// would make every score infinite or undefined and block everything.
pub(crate) const MAX_LOG_ODDS: f64 = 64.0;

/// A reason code with its family, its default weight and a one-line
/// meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeInfo {
    /// The stable code, as in [`Reason::code`](crate::Reason::code).
    pub code: &'static str,
    /// Log-odds added per unit of strength when no model or policy says
    /// otherwise.
    pub default_weight: f64,
    /// What the code means, in one line.
    pub summary: &'static str,
    family: Family,
}

impl CodeInfo {
    /// The family of evidence the code belongs to, as the table of codes
    /// states it. Mostly the kind of thing that found it, but not always:
    /// `LINK_FIRST_CONTACT` is found by the link scan and says what the
    /// profile codes say, that the sender is unknown here, so it is of the
    /// sender's family (and `combine` caps it together with them).
    ///
    /// ```
    /// let info = dmguard::reason_codes().find(|c| c.code == "LINK_FIRST_CONTACT").unwrap();
    /// assert_eq!(info.family(), dmguard::Family::Sender);
    /// ```
    pub fn family(&self) -> Family {
        self.family
    }
}

/// A reason code: one byte, an index into the table of codes.
///
/// Its constants are named exactly as the stable strings they stand for
/// (`Code::TEXT_ZERO_WIDTH` is `"TEXT_ZERO_WIDTH"`), so a reader can grep
/// for a code and find every place that pushes it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Code(u8);

/// Writes the table once: from it come the [`Code`] constants, in order,
/// and the [`CodeInfo`] of each.
macro_rules! codes {
    ($($name:ident: $family:ident, $weight:expr, $summary:expr;)*) => {
        /// The position of each code in the table.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        enum Index {
            $($name,)*
        }

        impl Code {
            $(
                #[doc = concat!("`", stringify!($name), "`: ", $summary)]
                pub(crate) const $name: Code = Code(Index::$name as u8);
            )*
        }

        /// How many codes there are.
        pub(crate) const COUNT: usize = [$(stringify!($name),)*].len();

        static TABLE: [CodeInfo; COUNT] = [$(
            CodeInfo {
                code: stringify!($name),
                default_weight: $weight,
                summary: $summary,
                family: Family::$family,
            },
        )*];
    };
}

codes! {
    // What the text does to hide what it says, and what it says.
    TEXT_ZERO_WIDTH: Text, 1.8,
        "invisible characters hidden inside words";
    TEXT_LOOKALIKE_WORD: Text, 2.2,
        "a word written with look-alike letters of another script";
    TEXT_LEETSPEAK: Text, 1.8,
        "letters written as digits or symbols (\"fr33 g1ft\")";
    TEXT_SPACED_OUT: Text, 2.0,
        "letters spaced or dotted out (\"f r e e\", \"c.l.a.i.m\")";
    TEXT_PHRASE_CRYPTO: Text, 3.5,
        "a phrase of crypto and investment schemes";
    TEXT_PHRASE_GIVEAWAY: Text, 3.5,
        "a phrase of fake giveaways and prizes";
    TEXT_PHRASE_PHISHING: Text, 3.5,
        "a phrase of account-verification phishing";
    TEXT_PHRASE_FOLLOWERS: Text, 3.5,
        "a phrase of follower, like and view selling";
    TEXT_PHRASE_ADULT: Text, 3.5,
        "a phrase of adult and dating bait";
    TEXT_PHRASE_SELFPROMO: Text, 3.2,
        "a phrase of self-promotion (\"check out my channel\")";
    TEXT_PHRASE_LOAN: Text, 3.5,
        "a phrase of loan, debt and credit offers";
    TEXT_PHRASE_JOB: Text, 3.5,
        "a phrase of work-from-home and money-mule offers";
    TEXT_PHRASE_ROMANCE: Text, 3.5,
        "a phrase of romance scams";
    TEXT_PHRASE_COLLAB: Text, 3.5,
        "a phrase of fake brand deals (\"brand ambassador, free products, pay shipping\")";
    TEXT_PHRASE_URGENCY: Text, 1.2,
        "pressure to act fast (\"limited time\", \"before midnight\")";
    TEXT_OFF_PLATFORM: Text, 1.5,
        "asks to move the conversation to WhatsApp, Telegram and the like";
    TEXT_SPAM_PHRASE: Text, 3.5,
        "a phrase from the policy's extra_phrases";
    TEXT_MONEY: Text, 1.5,
        "money promised (\"earn $500 a day\", \"send $100 get $1000\")";
    TEXT_CRYPTO_WALLET: Text, 2.0,
        "a crypto wallet address";
    TEXT_PHONE: Text, 0.4,
        "a phone number (customers give theirs too: weak alone)";
    TEXT_EMAIL: Text, 0.3,
        "an e-mail address (customers give theirs too: weak alone)";
    TEXT_HANDLE: Text, 0.2,
        "an @handle of another account (weak alone)";

    // How the sender and the text move through the stream.
    SENDER_BURST: Stream, 1.0,
        "the sender is sending many messages in a short time";
    SENDER_FANOUT: Stream, 1.0,
        "the sender is writing to many different inboxes";
    CAMPAIGN_FANOUT: Stream, 3.0,
        "the same text is reaching many inboxes from few senders";
    CAMPAIGN_SWARM: Stream, 2.5,
        "the same text is coming from many new accounts";

    // Who the sender is. A new account, a lopsided following and a first
    // contact together stay below review (`combine` caps them at 1.5).
    SENDER_NEW_ACCOUNT: Sender, 1.0,
        "the sender's account is only days old";
    SENDER_FOLLOW_RATIO: Sender, 0.8,
        "the sender follows far more accounts than follow it";
    // Most DMs to a brand are first contacts, so this fires only for a
    // sender without a profile or with a new account: with an established
    // one it says nothing.
    SENDER_FIRST_CONTACT: Sender, 0.25,
        "the sender, new or without a profile, has not written to this inbox before";
    // With the other trust codes this is capped at -2.5 together: the
    // brand-inbox texts an SMS-trained classifier misreads weigh under 5,
    // so -3 + 5 - 2.5 stays below review, while a scam the classifier is
    // sure of (median weight 23) still reaches it, and a link or campaign
    // on top still blocks a hijacked account.
    SENDER_ESTABLISHED: Sender, -2.0,
        "the sender's account is aged and has an ordinary following";
    SENDER_VERIFIED: Sender, -2.0,
        "the platform has verified the sender";
    SENDER_FOLLOWED_BY_RECIPIENT: Sender, -2.0,
        "the recipient follows the sender";
    // The brand wrote to this person lately: the strongest sign of a
    // customer. Not capped with the others. -4 keeps any text the
    // classifier weighs under 7 below review (-3 + 7 - 4 = 0); link,
    // campaign and deny evidence still add up against it.
    SENDER_IN_CONVERSATION: Sender, -4.0,
        "the recipient (the brand) wrote to the sender within the conversation window";

    // Where the links lead and how they are written.
    LINK_SHORTENER: Link, 1.5,
        "a link shortener hides where the link leads";
    LINK_IP_HOST: Link, 2.5,
        "a link to a bare IP address instead of a name";
    LINK_PUNYCODE: Link, 1.5,
        "a link host written in punycode or non-ASCII letters";
    LINK_LOOKALIKE_DOMAIN: Link, 4.0,
        "a link domain that imitates a protected brand's domain";
    LINK_USERINFO: Link, 3.0,
        "a link that shows a trusted name before @ but goes elsewhere";
    LINK_SUSPICIOUS_TLD: Link, 1.5,
        "a link under a cheap, much-abused top-level domain";
    LINK_OBFUSCATED: Link, 3.0,
        "a link written in disguise (hxxp, [.], spaced dots, invisible characters)";
    LINK_MANY: Link, 1.0,
        "more links than a customer message carries (adds to the score; never makes the \
         link family agree on its own)";
    LINK_DENY: Link, 6.0,
        "a link to a domain on the policy's deny list";
    // Found by the link scan, but it says what the profile codes say, that
    // the sender is unknown here: of their family, and capped with them in
    // `combine`, so a fresh customer pasting a link during a surge is not
    // held for it.
    LINK_FIRST_CONTACT: Sender, 1.0,
        "a link from a new account that the recipient does not follow";
    LINK_OWN_DOMAIN: Link, -1.0,
        "every link points to the brand's own domains";
    LINK_DOMAIN_REPUTATION: Link, 1.0,
        "a link domain learned from labelled messages (negative: seen in ham)";

    // The trained text classifier; its strength is its log-odds.
    CLASSIFIER_TEXT: Text, 1.0,
        "the trained text classifier's log-odds of spam";

    // From the pipeline itself: padding a text past the limit is a trick
    // of the text.
    TEXT_TRUNCATED: Text, 0.25,
        "the text is longer than the policy's max_text_bytes; only its start and end were \
         examined (strength 1 at the cap, up to 4 the more it overshoots)";

    // The policy's own allow and deny lists.
    POLICY_ALLOW_SENDER: Policy, -12.0,
        "the sender is on the policy's allow list";
    POLICY_ALLOW_PHRASE: Policy, -4.0,
        "the text contains a phrase from the policy's allow list";
    POLICY_DENY_SENDER: Policy, 12.0,
        "the sender is on the policy's deny list";
    POLICY_DENY_PHRASE: Policy, 6.0,
        "the text contains a phrase or pattern from the policy's deny list";
    // A note of the combination, not evidence: it never changes the score,
    // and a policy may not weigh it.
    VERDICT_SINGLE_FAMILY: Policy, 0.0,
        "the score reached block, but fewer families of evidence than the policy's \
         block_min_families agree, so the message is held for review instead";
}

// `Code` is one byte.
const _: () = assert!(COUNT <= u8::MAX as usize + 1);

impl Code {
    /// Every code, in the order of the table.
    pub(crate) fn all() -> impl Iterator<Item = Code> {
        (0..COUNT).map(|i| Code(i as u8))
    }

    /// The code whose stable string is `code`, if there is one. Searches
    /// the table: for building, not for checking.
    pub(crate) fn parse(code: &str) -> Option<Code> {
        TABLE
            .iter()
            .position(|info| info.code == code)
            .map(|i| Code(i as u8))
    }

    /// The code's position in the table, to index per-code arrays.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The stable string, such as `"TEXT_ZERO_WIDTH"`.
    pub(crate) fn as_str(self) -> &'static str {
        self.info().code
    }

    /// The code's line of the table.
    pub(crate) fn info(self) -> &'static CodeInfo {
        &TABLE[self.index()]
    }

    /// The family the table gives the code.
    pub(crate) fn family(self) -> Family {
        self.info().family
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every reason code the filter can emit, across all families, with its
/// meaning, in a fixed order (a trained model's combination follows it).
///
/// ```
/// assert!(dmguard::reason_codes().any(|c| c.code == "TEXT_ZERO_WIDTH"));
/// ```
pub fn all_codes() -> impl Iterator<Item = &'static CodeInfo> {
    TABLE.iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_found_by_its_string_and_is_unique() {
        for code in Code::all() {
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        assert_eq!(Code::parse("TEXT_NOT_A_CODE"), None);
        assert_eq!(Code::TEXT_ZERO_WIDTH.as_str(), "TEXT_ZERO_WIDTH");
        assert_eq!(format!("{:?}", Code::LINK_DENY), "LINK_DENY");
        assert_eq!(std::mem::size_of::<Code>(), 1);
    }

    #[test]
    fn the_table_keeps_the_order_that_trained_models_follow() {
        // The built-in model's combination columns were written in this
        // order; moving a code would not break loading (columns are named)
        // but would change what a retrain writes.
        let order: Vec<&str> = all_codes().map(|c| c.code).collect();
        assert_eq!(order.first(), Some(&"TEXT_ZERO_WIDTH"));
        assert_eq!(order.last(), Some(&"VERDICT_SINGLE_FAMILY"));
        let at = |code: &str| order.iter().position(|c| *c == code).unwrap();
        assert!(at("TEXT_HANDLE") < at("SENDER_BURST"));
        assert!(at("CAMPAIGN_SWARM") < at("SENDER_NEW_ACCOUNT"));
        assert!(at("SENDER_IN_CONVERSATION") < at("LINK_SHORTENER"));
        assert!(at("LINK_DOMAIN_REPUTATION") < at("CLASSIFIER_TEXT"));
        assert!(at("CLASSIFIER_TEXT") < at("TEXT_TRUNCATED"));
        assert!(at("TEXT_TRUNCATED") < at("POLICY_ALLOW_SENDER"));
    }
}
