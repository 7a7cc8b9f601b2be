//! The built-in model on the hand-written brand-inbox fixtures: every ham
//! allowed, and the model never lets through spam that the rules alone
//! flag. Failures name the case.

use dmguard::{Filter, Label, Message, SenderProfile};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    label: Label,
    id: String,
    ts: i64,
    sender: String,
    recipient: String,
    text: String,
    sender_profile: SenderProfile,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    std::fs::read_to_string(path)
        .expect("fixtures/dms.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a valid fixture line"))
        .collect()
}

fn message(c: &Case) -> Message<'_> {
    Message::new(&c.text)
        .with_id(&c.id)
        .with_timestamp_ms(c.ts)
        .with_sender(&c.sender)
        .with_recipient(&c.recipient)
        .with_profile(c.sender_profile)
}

#[test]
fn every_ham_fixture_is_allowed_with_the_builtin_model() {
    let filter = Filter::default();
    let flagged: Vec<String> = cases()
        .iter()
        .filter(|c| c.label == Label::Ham)
        .filter_map(|c| {
            let v = filter.check(&message(c));
            v.is_flagged()
                .then(|| format!("{} (score {:.3}): {:?}", c.name, v.score, v.reasons))
        })
        .collect();
    assert!(flagged.is_empty(), "ham flagged:\n{}", flagged.join("\n"));
}

#[test]
fn the_model_never_unflags_spam_that_the_rules_flag() {
    let with_model = Filter::default();
    let rules_only = Filter::builder().without_model().build().unwrap();
    let cases = cases();
    let lost: Vec<&str> = cases
        .iter()
        .filter(|c| c.label == Label::Spam)
        .filter(|c| {
            rules_only.check(&message(c)).is_flagged()
                && !with_model.check(&message(c)).is_flagged()
        })
        .map(|c| c.name.as_str())
        .collect();
    assert!(lost.is_empty(), "spam the model let through: {lost:?}");
}
