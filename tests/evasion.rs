//! The evasion suite of `fixtures/evasion.jsonl`: for each spam family, a
//! plain message and the same message in every disguise a spammer uses to
//! get past a filter, and honest messages in many scripts that must stay
//! allowed. Failures name every failing case.
//!
//! The setting is the one where disguises matter most, because nothing
//! else speaks: a default `Filter` (the built-in policy and model, nothing
//! learned) and a message with its text only (no sender, profile, recipient
//! or time). Without an event time the stream records nothing, so every
//! message is checked as by a fresh filter, with no stream history; each
//! test asserts that this stayed so. A disguised
//! variant must be flagged and score no lower than its plain form minus
//! 0.1; the plain form must be flagged too, or the comparison says nothing.

use std::collections::{BTreeMap, BTreeSet};

use dmguard::{Action, Filter, Message, Verdict};
use serde_json::Value;

/// How much lower than its plain form a disguised variant may score.
const TOLERANCE: f64 = 0.1;

/// Every disguise that each spam family must be tried with.
const DISGUISES: &[&str] = &[
    "lookalike_cyrillic",
    "lookalike_greek",
    "lookalike_cherokee",
    "lookalike_math",
    "lookalike_fullwidth",
    "lookalike_small_caps",
    "zero_width",
    "bidi_controls",
    "bidi_reversed",
    "combining_flood",
    "spaced_letters",
    "dotted_letters",
    "leetspeak",
    "emoji_between_letters",
    "html_entities",
    "line_breaks",
    "link_hxxp",
    "link_brackets",
    "link_dot_word",
    "link_spaced_dots",
];

/// The scripts the honest messages must cover, besides emoji-heavy ones.
const SCRIPTS: &[&str] = &[
    "cyrillic",
    "greek",
    "arabic",
    "hebrew",
    "devanagari",
    "thai",
    "cjk",
    "latin_diacritics",
];

struct Case {
    name: String,
    kind: String,
    family: String,
    disguise: String,
    text: String,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/evasion.jsonl");
    let source = std::fs::read_to_string(path).expect("fixtures/evasion.jsonl is readable");
    source
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("evasion.jsonl line {}: {e}", n + 1));
            let field = |k: &str| {
                value[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("evasion.jsonl line {}: no {k:?}", n + 1))
                    .to_string()
            };
            Case {
                name: field("name"),
                kind: field("kind"),
                family: field("family"),
                disguise: field("disguise"),
                text: field("text"),
            }
        })
        .collect()
}

/// A message with its text only.
fn check(filter: &Filter, text: &str) -> Verdict {
    filter.check(&Message::new(text))
}

/// The filter has kept no stream history: every check saw a fresh one.
fn assert_no_history(filter: &Filter) {
    let stats = filter.stats();
    assert_eq!(
        (stats.senders, stats.fingerprints, stats.conversations),
        (0, 0, 0),
        "the checks left stream history: {stats:?}"
    );
}

fn explain(v: &Verdict) -> String {
    let reasons: Vec<String> = v
        .reasons
        .iter()
        .map(|r| format!("{} {:+.2}", r.code, r.weight))
        .collect();
    format!("{:?} {:.3} [{}]", v.action, v.score, reasons.join(", "))
}

/// The spam families of `fixtures/dms.jsonl`.
fn dm_spam_families() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    let source = std::fs::read_to_string(path).expect("fixtures/dms.jsonl is readable");
    source
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["label"] == "spam")
        .filter_map(|v| v["family"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_suite_covers_every_family_and_disguise() {
    let cases = cases();
    let mut names = BTreeSet::new();
    for case in &cases {
        assert!(names.insert(&case.name), "{}: name repeated", case.name);
        assert!(
            case.name.starts_with(&format!(
                "{}_",
                if case.kind == "spam" {
                    "spam"
                } else {
                    "honest"
                }
            )),
            "{}: name does not start with its kind",
            case.name
        );
        match case.kind.as_str() {
            "spam" => assert!(
                case.disguise == "plain" || DISGUISES.contains(&case.disguise.as_str()),
                "{}: unknown disguise {:?}",
                case.name,
                case.disguise
            ),
            "honest" => assert!(
                SCRIPTS.contains(&case.family.as_str()) || case.family == "emoji",
                "{}: unknown script {:?}",
                case.name,
                case.family
            ),
            other => panic!("{}: kind {other:?}", case.name),
        }
    }
    for family in dm_spam_families() {
        for disguise in std::iter::once("plain").chain(DISGUISES.iter().copied()) {
            let n = cases
                .iter()
                .filter(|c| c.kind == "spam" && c.family == family && c.disguise == disguise)
                .count();
            assert_eq!(n, 1, "spam family {family}: {n} cases of {disguise}");
        }
    }
    let honest: Vec<&Case> = cases.iter().filter(|c| c.kind == "honest").collect();
    assert!(honest.len() >= 40, "{} honest cases", honest.len());
    for script in SCRIPTS.iter().chain(&["emoji"]) {
        let n = honest.iter().filter(|c| c.family == *script).count();
        assert!(n >= 4, "{n} honest cases in {script}");
    }
}

#[test]
fn every_disguise_is_flagged_and_scores_as_high_as_the_plain_form() {
    let cases = cases();
    let filter = Filter::default();
    let mut plain: BTreeMap<&str, Verdict> = BTreeMap::new();
    for case in cases
        .iter()
        .filter(|c| c.kind == "spam" && c.disguise == "plain")
    {
        plain.insert(&case.family, check(&filter, &case.text));
    }
    let mut failures = Vec::new();
    for (family, v) in &plain {
        if !v.is_flagged() {
            failures.push(format!("spam_{family}_plain: not flagged: {}", explain(v)));
        }
    }
    for case in cases
        .iter()
        .filter(|c| c.kind == "spam" && c.disguise != "plain")
    {
        let Some(base) = plain.get(case.family.as_str()) else {
            failures.push(format!("{}: no plain form of {}", case.name, case.family));
            continue;
        };
        let v = check(&filter, &case.text);
        if !v.is_flagged() {
            failures.push(format!("{}: not flagged: {}", case.name, explain(&v)));
        } else if v.score < base.score - TOLERANCE {
            failures.push(format!(
                "{}: scores {:.3}, plain form {:.3}: {}",
                case.name,
                v.score,
                base.score,
                explain(&v)
            ));
        }
    }
    assert_no_history(&filter);
    assert!(
        failures.is_empty(),
        "{} of the disguised cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn honest_messages_in_every_script_are_allowed() {
    let filter = Filter::default();
    let failures: Vec<String> = cases()
        .iter()
        .filter(|c| c.kind == "honest")
        .filter_map(|c| {
            let v = check(&filter, &c.text);
            (v.action != Action::Allow).then(|| format!("{}: {}", c.name, explain(&v)))
        })
        .collect();
    assert_no_history(&filter);
    assert!(
        failures.is_empty(),
        "{} honest messages are not allowed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
