//! Text evidence: disguises found while canonicalising, and phrase rules.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::Error;
use crate::features::{CodeInfo, Evidence};
use crate::normalize::Canonical;
use crate::policy::Policy;

pub(crate) const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "TEXT_ZERO_WIDTH",
        default_weight: 1.5,
        summary: "invisible characters hidden in the text",
    },
    CodeInfo {
        code: "TEXT_SPAM_PHRASE",
        default_weight: 2.5,
        summary: "a phrase typical of spam",
    },
];

/// Phrases compiled once into one automaton over the canonical text.
#[derive(Debug, Clone)]
pub(crate) struct TextRules {
    phrases: AhoCorasick,
    labels: Vec<String>,
}

impl TextRules {
    pub fn build(policy: &Policy) -> Result<TextRules, Error> {
        let labels: Vec<String> = policy
            .extra_phrases
            .iter()
            .map(|p| phrase_key(p))
            .filter(|p| !p.trim().is_empty())
            .collect();
        let phrases = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&labels)
            .map_err(|e| Error::policy(Some("extra_phrases".into()), e.to_string()))?;
        Ok(TextRules { phrases, labels })
    }

    pub fn scan(&self, canon: &Canonical, evidence: &mut Evidence) {
        if canon.disguises.invisible > 0 {
            evidence.push(
                "TEXT_ZERO_WIDTH",
                1.0,
                format!(
                    "{} invisible character(s) hidden in the text",
                    canon.disguises.invisible
                ),
            );
        }
        if let Some(m) = self.phrases.find(&canon.phrase) {
            let phrase = self.labels[m.pattern().as_usize()].trim();
            evidence.push("TEXT_SPAM_PHRASE", 1.0, format!("spam phrase \"{phrase}\""));
        }
    }
}

/// The canonical phrase form of a list entry, padded so it matches whole
/// words only.
pub(crate) fn phrase_key(phrase: &str) -> String {
    let mut canon = Canonical::default();
    canon.canonicalize(phrase);
    canon.phrase
}
