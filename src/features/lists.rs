//! The policy's own allow and deny lists.

use std::collections::HashSet;

use aho_corasick::AhoCorasick;
use regex::RegexSet;

use crate::Error;
use crate::codes::Code;
use crate::features::Evidence;
use crate::features::text::phrase_key;
use crate::message::Message;
use crate::normalize::Canonical;
use crate::policy::{Lists, Policy};

/// One compiled list: senders in a set, phrases in one automaton, patterns
/// in one regex set.
#[derive(Debug, Clone)]
struct CompiledList {
    senders: HashSet<String>,
    phrases: Option<(AhoCorasick, Vec<String>)>,
    patterns: Option<RegexSet>,
}

impl CompiledList {
    fn build(list: &Lists, name: &str) -> Result<CompiledList, Error> {
        let keys: Vec<String> = list
            .phrases
            .iter()
            .map(|p| phrase_key(p))
            .filter(|k| !k.trim().is_empty())
            .collect();
        let phrases = if keys.is_empty() {
            None
        } else {
            let ac = AhoCorasick::new(&keys)
                .map_err(|e| Error::policy(Some(format!("{name}.phrases")), e.to_string()))?;
            Some((ac, keys))
        };
        let patterns = if list.patterns.is_empty() {
            None
        } else {
            // The canonical text is lower-cased: a pattern written with
            // capitals (`\bPROMO CODE\b`) would otherwise never match, and
            // nothing would say so.
            Some(
                crate::policy::pattern_set(&list.patterns)
                    .map_err(|e| Error::policy(Some(format!("{name}.patterns")), e.to_string()))?,
            )
        };
        Ok(CompiledList {
            senders: list.senders.iter().cloned().collect(),
            phrases,
            patterns,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ListRules {
    allow: CompiledList,
    deny: CompiledList,
}

impl ListRules {
    pub fn build(policy: &Policy) -> Result<ListRules, Error> {
        Ok(ListRules {
            allow: CompiledList::build(&policy.allow, "allow")?,
            deny: CompiledList::build(&policy.deny, "deny")?,
        })
    }

    pub fn scan(&self, msg: &Message<'_>, canon: &Canonical, evidence: &mut Evidence) {
        if let Some(sender) = msg.sender {
            if self.allow.senders.contains(sender) {
                evidence.push(
                    Code::POLICY_ALLOW_SENDER,
                    1.0,
                    format!("sender {sender} is on the allow list"),
                );
            }
            if self.deny.senders.contains(sender) {
                evidence.push(
                    Code::POLICY_DENY_SENDER,
                    1.0,
                    format!("sender {sender} is on the deny list"),
                );
            }
        }
        if let Some((ac, keys)) = &self.allow.phrases
            && let Some(m) = ac.find(&canon.phrase)
        {
            let phrase = keys[m.pattern().as_usize()].trim();
            evidence.push(
                Code::POLICY_ALLOW_PHRASE,
                1.0,
                format!("allow-listed phrase \"{phrase}\""),
            );
        }
        if let Some((ac, keys)) = &self.deny.phrases
            && let Some(m) = ac.find(&canon.phrase)
        {
            let phrase = keys[m.pattern().as_usize()].trim();
            evidence.push(
                Code::POLICY_DENY_PHRASE,
                1.0,
                format!("deny-listed phrase \"{phrase}\""),
            );
        }
        if let Some(set) = &self.deny.patterns
            && let Some(index) = set.matches(&canon.text).iter().next()
        {
            let pattern = &set.patterns()[index];
            evidence.push(
                Code::POLICY_DENY_PHRASE,
                1.0,
                format!("text matches deny pattern /{pattern}/"),
            );
        }
        if let Some(set) = &self.allow.patterns
            && let Some(index) = set.matches(&canon.text).iter().next()
        {
            let pattern = &set.patterns()[index];
            evidence.push(
                Code::POLICY_ALLOW_PHRASE,
                1.0,
                format!("text matches allow pattern /{pattern}/"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Canonical;

    fn codes(rules: &ListRules, text: &str) -> Vec<&'static str> {
        let msg = Message::new(text);
        let mut canon = Canonical::default();
        canon.canonicalize(text);
        let mut evidence = Evidence::default();
        rules.scan(&msg, &canon, &mut evidence);
        evidence.hits.iter().map(|h| h.code.as_str()).collect()
    }

    #[test]
    fn patterns_with_capitals_match_the_lower_cased_text() {
        let mut policy = Policy::default();
        policy.deny.patterns = vec![r"\bPROMO CODE\b".into()];
        policy.allow.patterns = vec![r"\bOrder [A-Z]{2}\d{4}\b".into()];
        policy.validate().unwrap();
        let rules = ListRules::build(&policy).unwrap();
        assert_eq!(
            codes(&rules, "Use PROMO CODE win50 today"),
            ["POLICY_DENY_PHRASE"]
        );
        assert_eq!(
            codes(&rules, "where is order ab1234?"),
            ["POLICY_ALLOW_PHRASE"]
        );
        assert!(codes(&rules, "promotional coding class").is_empty());
    }
}
