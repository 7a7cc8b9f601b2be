//! The reason codes of the text family, with their default weights.
//!
//! Weights are log-odds added to the bias (-3.0; review at 0, block at
//! about 2.2). One strong phrase (strength 1.0) of a spam family reaches
//! review; two phrases, or a phrase and a disguise, reach block; a disguise
//! alone on ordinary text stays below review. Customer habits (phone
//! numbers, e-mail addresses, @brand handles) weigh little.

use crate::features::CodeInfo;

pub(crate) const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "TEXT_ZERO_WIDTH",
        default_weight: 1.8,
        summary: "invisible characters hidden inside words",
    },
    CodeInfo {
        code: "TEXT_LOOKALIKE_WORD",
        default_weight: 2.2,
        summary: "a word written with look-alike letters of another script",
    },
    CodeInfo {
        code: "TEXT_LEETSPEAK",
        default_weight: 1.8,
        summary: "letters written as digits or symbols (\"fr33 g1ft\")",
    },
    CodeInfo {
        code: "TEXT_SPACED_OUT",
        default_weight: 2.0,
        summary: "letters spaced or dotted out (\"f r e e\", \"c.l.a.i.m\")",
    },
    CodeInfo {
        code: "TEXT_PHRASE_CRYPTO",
        default_weight: 3.5,
        summary: "a phrase of crypto and investment schemes",
    },
    CodeInfo {
        code: "TEXT_PHRASE_GIVEAWAY",
        default_weight: 3.5,
        summary: "a phrase of fake giveaways and prizes",
    },
    CodeInfo {
        code: "TEXT_PHRASE_PHISHING",
        default_weight: 3.5,
        summary: "a phrase of account-verification phishing",
    },
    CodeInfo {
        code: "TEXT_PHRASE_FOLLOWERS",
        default_weight: 3.5,
        summary: "a phrase of follower, like and view selling",
    },
    CodeInfo {
        code: "TEXT_PHRASE_ADULT",
        default_weight: 3.5,
        summary: "a phrase of adult and dating bait",
    },
    CodeInfo {
        code: "TEXT_PHRASE_SELFPROMO",
        default_weight: 3.2,
        summary: "a phrase of self-promotion (\"check out my channel\")",
    },
    CodeInfo {
        code: "TEXT_PHRASE_LOAN",
        default_weight: 3.5,
        summary: "a phrase of loan, debt and credit offers",
    },
    CodeInfo {
        code: "TEXT_PHRASE_JOB",
        default_weight: 3.5,
        summary: "a phrase of work-from-home and money-mule offers",
    },
    CodeInfo {
        code: "TEXT_PHRASE_ROMANCE",
        default_weight: 3.5,
        summary: "a phrase of romance scams",
    },
    CodeInfo {
        code: "TEXT_PHRASE_COLLAB",
        default_weight: 3.5,
        summary: "a phrase of fake brand deals (\"brand ambassador, free products, pay shipping\")",
    },
    CodeInfo {
        code: "TEXT_PHRASE_URGENCY",
        default_weight: 1.2,
        summary: "pressure to act fast (\"limited time\", \"before midnight\")",
    },
    CodeInfo {
        code: "TEXT_OFF_PLATFORM",
        default_weight: 1.5,
        summary: "asks to move the conversation to WhatsApp, Telegram and the like",
    },
    CodeInfo {
        code: "TEXT_SPAM_PHRASE",
        default_weight: 3.5,
        summary: "a phrase from the policy's extra_phrases",
    },
    CodeInfo {
        code: "TEXT_MONEY",
        default_weight: 1.5,
        summary: "money promised (\"earn $500 a day\", \"send $100 get $1000\")",
    },
    CodeInfo {
        code: "TEXT_CRYPTO_WALLET",
        default_weight: 2.0,
        summary: "a crypto wallet address",
    },
    CodeInfo {
        code: "TEXT_PHONE",
        default_weight: 0.4,
        summary: "a phone number (customers give theirs too: weak alone)",
    },
    CodeInfo {
        code: "TEXT_EMAIL",
        default_weight: 0.3,
        summary: "an e-mail address (customers give theirs too: weak alone)",
    },
    CodeInfo {
        code: "TEXT_HANDLE",
        default_weight: 0.2,
        summary: "an @handle of another account (weak alone)",
    },
];
