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

/// A genuine order complaint of about 150 characters, the kind a customer
/// pastes again when no one answers.
const COMPLAINT: &str = "I ordered a winter coat on the 3rd, order 55120, paid £89 and it still \
                         hasn't arrived. Nobody answers my emails. Please sort this out or refund me!";

#[test]
fn a_complaint_repeated_in_one_dm_is_judged_as_once_and_allowed() {
    let filter = Filter::default();
    let once = filter.check(&Message::new(COMPLAINT));
    for copies in [1, 3, 8] {
        let text = vec![COMPLAINT; copies].join(" ");
        let v = filter.check(&Message::new(&text));
        assert!(!v.is_flagged(), "×{copies}: {:.3} {:?}", v.score, v.reasons);
        // The same words, word pairs and n-grams: only the length differs.
        assert!(
            (v.score - once.score).abs() < 0.05,
            "×{copies}: {:.3} against {:.3} once",
            v.score,
            once.score
        );
    }
}

#[test]
fn the_classifier_alone_can_neither_block_nor_acquit_without_bound() {
    let filter = Filter::default();
    let spam = "WINNER!! As a valued network customer you have been selected to receive a \
                £900 prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.";
    let ham = "hey, are we still on for dinner tonight? I can pick you up at 7, just text me";
    for (text, copies) in [(spam, 1), (spam, 8), (ham, 1), (ham, 8)] {
        let text = vec![text; copies].join(" ");
        let v = filter.check(&Message::new(&text));
        let w = v
            .reasons
            .iter()
            .find(|r| r.code == "CLASSIFIER_TEXT")
            .map_or(0.0, |r| r.weight);
        assert!((-0.8..=4.5).contains(&w), "{w} for {text:?}");
    }
}
