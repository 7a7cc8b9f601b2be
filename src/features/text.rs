//! Text evidence: the disguises found while canonicalising, phrase rules
//! over the canonical phrase form, and fixed patterns over the canonical
//! text.
//!
//! Weights are log-odds added to the bias (-3.0) and are tuned so that one
//! clear spam phrase reaches review (0.5), a phrase with a disguise or two
//! families reach block (0.9), and a disguise alone on ordinary text does
//! not block.

mod patterns;
mod phrases;

use std::fmt::Write;

use crate::Error;
use crate::codes::Code;
use crate::features::Evidence;
use crate::normalize::{Canonical, invisible_name};
use crate::policy::Policy;

pub(crate) use phrases::phrase_key;
use phrases::{FAMILIES, MAX_STRENGTH, PhraseRules, family};

/// What the "hi, is this Jessica?" opener adds to the romance family: a
/// customer may open the same way, so it needs a second romance hit.
const OPENER_STRENGTH: f64 = 0.5;

/// Phrase rules and patterns, compiled once.
#[derive(Debug, Clone)]
pub(crate) struct TextRules {
    phrases: PhraseRules,
}

impl TextRules {
    pub fn build(policy: &Policy) -> Result<TextRules, Error> {
        crate::normalize::warm_up();
        patterns::warm_up();
        Ok(TextRules {
            phrases: PhraseRules::build(&policy.extra_phrases)?,
        })
    }

    pub fn scan(&self, canon: &Canonical, evidence: &mut Evidence) {
        disguises(canon, evidence);

        let mut tally = self.phrases.scan(canon);
        let found = patterns::scan(&canon.text);
        let romance = family("romance");
        if found.opener.is_some() {
            tally.strength[romance] = (tally.strength[romance] + OPENER_STRENGTH).min(MAX_STRENGTH);
        }
        for (f, &(_, code, label)) in FAMILIES.iter().enumerate() {
            let mut detail = String::new();
            if tally.count[f] > 0 {
                let phrase = self.phrases.text(tally.first[f]);
                let _ = write!(detail, "{label}: \"{phrase}\"");
                if tally.count[f] > 1 {
                    let _ = write!(detail, " and {} more", tally.count[f] - 1);
                }
            }
            if f == romance
                && let Some(opener) = found.opener
            {
                if !detail.is_empty() {
                    detail.push_str(", ");
                }
                let _ = write!(detail, "wrong-number opener \"{}\"", opener.trim());
            }
            if !detail.is_empty() {
                evidence.push(code, tally.strength[f], detail);
            }
        }

        if let Some(m) = found.money {
            evidence.push(
                Code::TEXT_MONEY,
                1.0,
                format!("promises money: \"{}\"", m.trim()),
            );
        }
        if let Some(w) = found.wallet {
            evidence.push(
                Code::TEXT_CRYPTO_WALLET,
                1.0,
                format!("crypto wallet address {}", abbreviate(w)),
            );
        }
        if let Some(p) = found.phone {
            evidence.push(
                Code::TEXT_PHONE,
                1.0,
                format!("phone number \"{}\"", p.trim()),
            );
        }
        if let Some(e) = found.email {
            evidence.push(Code::TEXT_EMAIL, 1.0, format!("e-mail address \"{e}\""));
        }
        if let Some(h) = found.handle {
            evidence.push(
                Code::TEXT_HANDLE,
                1.0,
                format!("mentions the account \"{h}\""),
            );
        }
    }
}

/// The text steps on their own, for `benches/text.rs`: not part of the
/// API.
#[doc(hidden)]
#[derive(Debug)]
pub struct TextBench {
    rules: TextRules,
    canon: Canonical,
    evidence: Evidence,
}

impl Default for TextBench {
    fn default() -> Self {
        TextBench {
            rules: TextRules::build(&Policy::default()).expect("the built-in rules compile"),
            canon: Canonical::default(),
            evidence: Evidence::default(),
        }
    }
}

impl Clone for TextBench {
    fn clone(&self) -> Self {
        TextBench {
            rules: self.rules.clone(),
            canon: self.canon.clone(),
            evidence: Evidence::default(),
        }
    }
}

impl TextBench {
    /// Canonicalises `raw` and returns its phrase form.
    pub fn canonicalize(&mut self, raw: &str) -> &str {
        self.canon.canonicalize(raw);
        &self.canon.phrase
    }

    /// Runs the text rules over the last canonicalised text and returns
    /// how many reasons they gave.
    pub fn scan(&mut self) -> usize {
        self.evidence.clear();
        self.rules.scan(&self.canon, &mut self.evidence);
        self.evidence.hits.len()
    }
}

/// Evidence for each disguise the canonical form undid.
fn disguises(canon: &Canonical, evidence: &mut Evidence) {
    let d = &canon.disguises;
    if d.invisible > 0 {
        let name = d
            .invisible_char
            .map_or("invisible character", invisible_name);
        let mut detail = match d.invisible {
            1 => format!("a {name} hidden"),
            n => format!("{n} invisible characters hidden, the first a {name},"),
        };
        if d.invisible_word.is_empty() {
            detail.push_str(" in the text");
        } else {
            let _ = write!(detail, " in \"{}\"", d.invisible_word);
        }
        evidence.push(Code::TEXT_ZERO_WIDTH, 1.0, detail);
    }
    if d.lookalike > 0 {
        let first = &d.lookalike_first;
        let script = d.lookalike_script;
        let mut detail = if first.raw.bytes().any(|b| b.is_ascii_alphabetic()) {
            format!(
                "\"{}\" mixes {script} into a Latin word (reads as \"{}\")",
                first.raw, first.reads
            )
        } else {
            format!(
                "\"{}\" is written in {script} look-alikes amid Latin text (reads as \"{}\")",
                first.raw, first.reads
            )
        };
        if d.lookalike > 1 {
            let _ = write!(detail, ", and {} more such words", d.lookalike - 1);
        }
        let strength = (1.0 + 0.2 * f64::from(d.lookalike - 1)).min(1.4);
        evidence.push(Code::TEXT_LOOKALIKE_WORD, strength, detail);
    }
    if d.leet > 0 {
        let first = &d.leet_first;
        let mut detail = format!("\"{}\" reads as \"{}\"", first.raw, first.reads);
        if d.leet > 1 {
            let _ = write!(detail, ", and {} more leetspeak words", d.leet - 1);
        }
        // One token may be a code; several make a message written in leet.
        let strength = 0.25 + 0.25 * f64::from(d.leet.min(4));
        evidence.push(Code::TEXT_LEETSPEAK, strength, detail);
    }
    if d.spaced > 0 {
        let first = &d.spaced_first;
        let detail = format!("\"{}\" reads as \"{}\"", first.raw, first.reads);
        evidence.push(Code::TEXT_SPACED_OUT, 1.0, detail);
    }
}

/// A long address shortened for a reason's detail.
fn abbreviate(s: &str) -> String {
    match s.char_indices().nth(12) {
        Some((i, _)) => format!("\"{}…\"", &s[..i]),
        None => format!("\"{s}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Filter, Message};

    fn hits(raw: &str) -> Vec<(&'static str, String)> {
        let rules = TextRules::build(&Policy::default()).unwrap();
        let mut canon = Canonical::default();
        canon.canonicalize(raw);
        let mut evidence = Evidence::default();
        rules.scan(&canon, &mut evidence);
        evidence
            .hits
            .into_iter()
            .map(|h| (h.code.as_str(), h.detail.into_owned()))
            .collect()
    }

    fn has(raw: &str, code: &str) -> bool {
        hits(raw).iter().any(|(c, _)| *c == code)
    }

    #[test]
    fn honest_scripts_carry_no_lookalike_penalty() {
        let cases: &[(&str, &str)] = &[
            (
                "russian",
                "Здравствуйте! Заказ пришёл без чека, а он мне нужен для возврата.",
            ),
            (
                "greek",
                "Γεια σας, η παραγγελία μου δεν έχει φτάσει ακόμα. Μπορείτε να ελέγξετε;",
            ),
            (
                "japanese",
                "こんにちは。注文した商品のサイズを交換したいのですが、どうすればいいですか？",
            ),
            (
                "arabic",
                "مرحبا، طلبي رقم 448120 لم يصل بعد. هل يمكنكم التحقق من حالة الشحن؟",
            ),
            (
                "mixed_languages",
                "hi! quería saber si el código works on sale items? Спасибо",
            ),
        ];
        for &(name, raw) in cases {
            assert!(!has(raw, "TEXT_LOOKALIKE_WORD"), "{name}: {:?}", hits(raw));
            assert!(hits(raw).is_empty(), "{name}: {:?}", hits(raw));
        }
    }

    #[test]
    fn disguises_are_named() {
        let found = hits("log in to pаypal");
        let detail = &found
            .iter()
            .find(|(c, _)| *c == "TEXT_LOOKALIKE_WORD")
            .unwrap()
            .1;
        assert_eq!(
            detail,
            "\"pаypal\" mixes Cyrillic into a Latin word (reads as \"paypal\")"
        );

        // (name, raw, code, substring of the detail)
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "leet_phrase",
                "fr33 g1ft for you",
                "TEXT_PHRASE_GIVEAWAY",
                "\"free gift\"",
            ),
            (
                "leet",
                "fr33 g1ft for you",
                "TEXT_LEETSPEAK",
                "\"fr33\" reads as \"free\"",
            ),
            (
                "spaced_phrase",
                "f r e e  c r y p t o",
                "TEXT_PHRASE_CRYPTO",
                "\"free crypto\"",
            ),
            (
                "spaced",
                "f r e e  c r y p t o",
                "TEXT_SPACED_OUT",
                "reads as \"free crypto\"",
            ),
            (
                "zero_width",
                "bit\u{200b}coin",
                "TEXT_ZERO_WIDTH",
                "zero-width space hidden in \"bitcoin\"",
            ),
            (
                "greek",
                "Grοw yοur page",
                "TEXT_LOOKALIKE_WORD",
                "mixes Greek",
            ),
            (
                "wallet",
                "to 0x7a1c9e2b4f0d83e5a6c1b9f2d04e7a8c3b5d6e91",
                "TEXT_CRYPTO_WALLET",
                "0x7a1c",
            ),
            ("money", "earn $500 a day", "TEXT_MONEY", "earn $500"),
        ];
        for &(name, raw, code, detail) in cases {
            let found = hits(raw);
            let hit = found.iter().find(|(c, _)| *c == code);
            assert!(
                hit.is_some_and(|(_, d)| d.contains(detail)),
                "{name}: {found:?}"
            );
        }
    }

    #[test]
    fn numbers_prices_and_codes_are_not_leet() {
        for raw in [
            "order 123456",
            "$49.99",
            "code SUMMER20",
            "at 10am",
            "the mp3 file",
            "1Z999AA10123456784",
        ] {
            assert!(!has(raw, "TEXT_LEETSPEAK"), "{raw}: {:?}", hits(raw));
        }
    }

    #[test]
    fn weights_give_the_intended_actions() {
        // The rules' own weights; the trained classifier adds to them. One
        // family may block here: these cases are about the text's weights
        // against the thresholds.
        let policy = crate::Policy {
            block_min_families: 1,
            ..crate::Policy::default()
        };
        let filter = Filter::builder()
            .policy(policy)
            .without_model()
            .build()
            .unwrap();
        // (name, text, expected action)
        let cases: &[(&str, &str, Action)] = &[
            (
                "one_strong_phrase",
                "Claim your reward at the link",
                Action::Review,
            ),
            (
                "phrase_and_disguise",
                "Cl@im y0ur r3ward at the link",
                Action::Block,
            ),
            (
                "two_families",
                "hello dear, you are beautiful. invest in cloud mining with me",
                Action::Block,
            ),
            (
                "lookalike_alone",
                "hеllо, where is my order?",
                Action::Allow,
            ),
            (
                "zero_width_alone",
                "where is my or\u{200b}der?",
                Action::Allow,
            ),
            (
                "leet_alone",
                "my n00b question: where is the 0rder?",
                Action::Allow,
            ),
            (
                "one_medium_phrase",
                "does the free gift come with every order?",
                Action::Allow,
            ),
            (
                "customer_phone",
                "call me on +44 7700 900123 about order 771204",
                Action::Allow,
            ),
            (
                "customer_email",
                "reach me at lina.k@mailbox.example pls",
                Action::Allow,
            ),
            (
                "customer_price",
                "I was charged $49.99 twice",
                Action::Allow,
            ),
            (
                "customer_handles",
                "@brand_help @brand_01 no reply yet",
                Action::Allow,
            ),
            (
                "my_account_locked",
                "my account has been locked, please help",
                Action::Allow,
            ),
        ];
        for &(name, text, action) in cases {
            let v = filter.check(&Message::new(text));
            assert_eq!(v.action, action, "{name}: {:.3} {:?}", v.score, v.reasons);
        }
    }
}
