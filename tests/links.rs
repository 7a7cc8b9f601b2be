//! Link extraction and link evidence, driven by the named cases in
//! `fixtures/urls.jsonl` (see `fixtures/README.md`), and the hand-written
//! DMs in `fixtures/dms.jsonl`.

use dmguard::{Action, Filter, Label, LinkKind, LinkPolicy, Message, Policy, SenderProfile};
use serde_json::Value;

fn fixture(name: &str) -> Vec<Value> {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1))
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The filter a case describes: its own and protected domains plus any
/// extra `[links]` settings.
fn case_filter(case: &Value) -> Filter {
    let mut links = case
        .get("policy")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    links["own_domains"] = case["own_domains"].clone();
    links["protected_domains"] = case["protected_domains"].clone();
    let links: LinkPolicy = serde_json::from_value(links).expect("a valid [links] policy");
    let policy = Policy {
        links,
        ..Policy::default()
    };
    Filter::new(policy).expect("the case's policy builds")
}

fn profile(case: &Value) -> Option<SenderProfile> {
    case.get("sender_profile")
        .map(|p| serde_json::from_value(p.clone()).expect("a valid sender_profile"))
}

/// What is wrong with one case, or nothing.
fn run_case(case: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let text = case["text"].as_str().unwrap_or_default();
    let filter = case_filter(case);
    for lesson in case["learn"].as_array().into_iter().flatten() {
        let label: Label = lesson["label"].as_str().unwrap().parse().unwrap();
        filter.learn(&Message::new(lesson["text"].as_str().unwrap()), label);
    }

    let found = dmguard::links(text);
    let expected = strings(&case["links"]);
    let shown: Vec<&str> = found.iter().map(|l| l.url.as_str()).collect();
    let matches = found.len() == expected.len()
        && found
            .iter()
            .zip(&expected)
            .all(|(l, e)| l.url == *e || l.host == *e || l.domain.as_deref() == Some(e.as_str()));
    if !matches {
        problems.push(format!("links: expected {expected:?}, found {shown:?}"));
    }
    if let Some(raw) = case.get("raw") {
        let got: Vec<&str> = found.iter().map(|l| &text[l.range.clone()]).collect();
        if got != strings(raw) {
            problems.push(format!(
                "raw ranges: expected {:?}, found {got:?}",
                strings(raw)
            ));
        }
    }

    let mut msg = Message::new(text);
    msg.profile = profile(case);
    let verdict = filter.check(&msg);
    let mut codes: Vec<&str> = verdict
        .reasons
        .iter()
        .map(|r| r.code)
        .filter(|c| c.starts_with("LINK_"))
        .collect();
    codes.sort_unstable();
    let mut want = strings(&case["codes"]);
    want.sort_unstable();
    if codes != want {
        let details: Vec<String> = verdict
            .reasons
            .iter()
            .map(|r| format!("{}: {}", r.code, r.detail))
            .collect();
        problems.push(format!(
            "codes: expected {want:?}, got {codes:?} ({details:?})"
        ));
    }
    problems
}

#[test]
fn url_cases_extract_and_judge_as_named() {
    let cases = fixture("urls.jsonl");
    assert!(cases.len() >= 100, "only {} URL cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().expect("every case has a name");
        for problem in run_case(case) {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn url_case_names_are_unique() {
    let cases = fixture("urls.jsonl");
    let mut names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
}

fn dm_message(case: &Value) -> (Message<'_>, &str) {
    let mut msg = Message::new(case["text"].as_str().unwrap());
    msg.profile = profile(case);
    (msg, case["name"].as_str().unwrap())
}

#[test]
fn every_ham_dm_is_allowed_by_default() {
    let filter = Filter::default();
    let mut flagged = Vec::new();
    for case in fixture("dms.jsonl").iter().filter(|c| c["label"] == "ham") {
        let (msg, name) = dm_message(case);
        let verdict = filter.check(&msg);
        if verdict.action != Action::Allow {
            flagged.push(format!(
                "{name}: {:.3} {:?}",
                verdict.score, verdict.reasons
            ));
        }
    }
    assert!(
        flagged.is_empty(),
        "ham not allowed:\n{}",
        flagged.join("\n")
    );
}

#[test]
fn ham_links_to_the_brand_are_never_penalised() {
    let policy = Policy::from_toml_str("[links]\nown_domains = [\"brand.example\"]").unwrap();
    let filter = Filter::new(policy).unwrap();
    for case in fixture("dms.jsonl").iter().filter(|c| c["label"] == "ham") {
        let (msg, name) = dm_message(case);
        let verdict = filter.check(&msg);
        let penalised: Vec<_> = verdict
            .reasons
            .iter()
            .filter(|r| r.code.starts_with("LINK_") && r.weight > 0.0)
            .collect();
        assert!(penalised.is_empty(), "{name}: {penalised:?}");
        assert_eq!(verdict.action, Action::Allow, "{name}");
    }
}

#[test]
fn spam_dms_with_risky_links_carry_a_link_reason() {
    let policy = Policy::from_toml_str("[links]\nown_domains = [\"brand.example\"]").unwrap();
    let filter = Filter::new(policy).unwrap();
    let mut silent = Vec::new();
    for case in fixture("dms.jsonl").iter().filter(|c| c["label"] == "spam") {
        let (msg, name) = dm_message(case);
        // E-mail addresses alone are left to the text rules.
        let has_url = dmguard::links(msg.text)
            .iter()
            .any(|l| l.kind == LinkKind::Url);
        if !has_url {
            continue;
        }
        let verdict = filter.check(&msg);
        let linked = verdict
            .reasons
            .iter()
            .any(|r| r.code.starts_with("LINK_") && r.weight > 0.0);
        if !linked {
            silent.push(name.to_string());
        }
    }
    assert!(silent.is_empty(), "no link reason: {silent:?}");
}

#[test]
fn a_bad_links_section_names_the_key_and_line() {
    let source = "[links]\nown_domains = [\"brand.example\"]\ndeny_domains = [\"http://x.com/\"]\n";
    let e = Policy::from_toml_str(source).unwrap_err().to_string();
    assert!(
        e.contains("links.deny_domains") && e.contains("line 3"),
        "{e}"
    );
    let e = Policy::from_toml_str("[links]\nown_domain = []\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("own_domain"), "{e}");
}

#[test]
fn learning_is_shared_between_clones() {
    let filter = Filter::default();
    let clone = filter.clone();
    clone.learn(
        &Message::new("free coins at coin-drop.example/x"),
        Label::Spam,
    );
    let v = filter.check(&Message::new("coin-drop.example/y"));
    assert!(v.reasons.iter().any(|r| r.code == "LINK_DOMAIN_REPUTATION"));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Text built from the pieces links and disguises are made of, so that
    /// the extractor's edge cases come up often.
    fn linkish() -> impl Strategy<Value = String> {
        const PIECES: &[&str] = &[
            ".",
            " . ",
            "[.]",
            "(dot)",
            "{.}",
            "[:]",
            "hxxps://",
            "h**p://",
            "http://",
            "://",
            "@",
            "[at]",
            "。",
            "．",
            "｡",
            "ｃｏｍ",
            "\u{200b}",
            "\u{feff}",
            "com",
            "top",
            "xn--",
            "[::1]",
            "0x",
            "/",
            ":",
            ")",
            "(",
            "»",
            "а",
            "é",
            "😀",
            " ",
            "bit",
            "ly",
            "9",
            "dot ",
        ];
        let piece = prop_oneof![
            prop::sample::select(PIECES).prop_map(String::from),
            "[a-zA-Z0-9]{1,6}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn links_are_well_formed_for_any_text(text in linkish()) {
            for link in dmguard::links(&text) {
                prop_assert!(link.range.start <= link.range.end && link.range.end <= text.len());
                prop_assert!(text.is_char_boundary(link.range.start));
                prop_assert!(text.is_char_boundary(link.range.end));
                prop_assert!(!link.url.is_empty() && !link.host.is_empty());
            }
        }

        #[test]
        fn checking_any_text_is_total_and_stable(text in linkish(), any in "\\PC{0,64}") {
            let filter = Filter::default();
            for t in [text.as_str(), any.as_str()] {
                let a = filter.check(&Message::new(t));
                prop_assert!((0.0..=1.0).contains(&a.score));
                prop_assert_eq!(a, filter.check(&Message::new(t)));
            }
        }
    }
}

/// Learned domain reputation is part of the saved state: a restart does not
/// forget which domains people marked as spam.
#[test]
fn learned_domain_reputation_survives_a_snapshot_and_restore() {
    use dmguard::{Label, StateSnapshot};
    let filter = Filter::default();
    for i in 0..3 {
        let text = format!("claim your bonus at coin-drop.example/c{i}");
        filter.learn(&Message::new(&text), Label::Spam);
    }
    let probe = Message::new("hey, have a look at coin-drop.example/z");
    let before = filter.check(&probe);
    let learned = before.reason("LINK_DOMAIN_REPUTATION").expect("learned");
    assert!(learned.weight > 0.0);

    let mut bytes = Vec::new();
    filter.snapshot_state().to_writer(&mut bytes).unwrap();
    let restarted = Filter::default();
    assert!(
        restarted
            .check(&probe)
            .reason("LINK_DOMAIN_REPUTATION")
            .is_none()
    );
    restarted
        .restore_state(&StateSnapshot::from_reader(&bytes[..]).unwrap())
        .unwrap();
    let after = restarted.check(&probe);
    assert_eq!(after.reason("LINK_DOMAIN_REPUTATION"), Some(learned));
}

/// What counts as a new account is one setting, `[stream] new_account_days`,
/// unless `[links]` sets its own.
#[test]
fn link_first_contact_follows_the_stream_new_account_age() {
    let dm = |filter: &Filter| {
        let msg = Message::new("hello, have a look at https://offer.example/x").with_profile(
            SenderProfile {
                account_age_days: Some(10),
                ..SenderProfile::default()
            },
        );
        filter.check(&msg).reason("LINK_FIRST_CONTACT").is_some()
    };
    let with = |toml: &str| {
        let policy = Policy::from_toml_str(toml).expect("the policy parses");
        Filter::builder()
            .policy(policy)
            .build()
            .expect("the filter builds")
    };
    assert!(dm(&Filter::default()), "10 days is new by default (30)");
    assert!(!dm(&with("[stream]\nnew_account_days = 5\n")));
    assert!(dm(&with(
        "[stream]\nnew_account_days = 5\n[links]\nnew_account_days = 60\n"
    )));
}
