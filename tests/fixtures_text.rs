//! The labelled DMs of `fixtures/dms.jsonl` through `Filter::default()`:
//! every ham is allowed, every spam is flagged with a reason a person can
//! read. Failures name the case.

use dmguard::{Action, Filter, Message, SenderProfile};
use serde_json::Value;

struct Case {
    name: String,
    label: String,
    family: String,
    value: Value,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    let source = std::fs::read_to_string(path).expect("fixtures/dms.jsonl is readable");
    source
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("dms.jsonl line {}: {e}", n + 1));
            let field = |k: &str| value[k].as_str().unwrap_or_default().to_string();
            Case {
                name: field("name"),
                label: field("label"),
                family: field("family"),
                value,
            }
        })
        .collect()
}

fn profile(v: &Value) -> SenderProfile {
    let p = &v["sender_profile"];
    SenderProfile {
        account_age_days: p["account_age_days"].as_u64().map(|d| d as u32),
        followers: p["followers"].as_u64(),
        following: p["following"].as_u64(),
        verified: p["verified"].as_bool().unwrap_or(false),
        recipient_follows_sender: p["recipient_follows_sender"].as_bool().unwrap_or(false),
    }
}

fn message(case: &Case) -> Message<'_> {
    let v = &case.value;
    let mut msg = Message::new(v["text"].as_str().unwrap_or_default())
        .with_id(&case.name)
        .with_profile(profile(v));
    if let Some(ts) = v["ts"].as_i64() {
        msg = msg.with_timestamp_ms(ts);
    }
    if let Some(sender) = v["sender"].as_str() {
        msg = msg.with_sender(sender);
    }
    if let Some(recipient) = v["recipient"].as_str() {
        msg = msg.with_recipient(recipient);
    }
    msg
}

#[test]
fn fixtures_are_labelled_and_named() {
    let cases = cases();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    for case in &cases {
        assert!(
            matches!(case.label.as_str(), "ham" | "spam"),
            "{}: label {:?}",
            case.name,
            case.label
        );
        assert!(
            case.name
                .starts_with(&format!("{}_{}", case.label, case.family)),
            "{}: name does not start with label_family",
            case.name
        );
    }
}

#[test]
fn every_ham_is_allowed() {
    let filter = Filter::default();
    let mut failures = Vec::new();
    for case in cases().iter().filter(|c| c.label == "ham") {
        let verdict = filter.check(&message(case));
        if verdict.action != Action::Allow {
            failures.push(format!(
                "{}: {:?} at {:.3}, reasons {:?}",
                case.name, verdict.action, verdict.score, verdict.reasons
            ));
        }
    }
    assert!(failures.is_empty(), "ham flagged:\n{}", failures.join("\n"));
}

#[test]
fn every_spam_is_flagged_with_a_readable_reason() {
    let filter = Filter::default();
    let mut failures = Vec::new();
    for case in cases().iter().filter(|c| c.label == "spam") {
        let verdict = filter.check(&message(case));
        let readable = verdict
            .reasons
            .iter()
            .any(|r| r.weight > 0.0 && !r.detail.trim().is_empty());
        if !verdict.is_flagged() || !readable {
            failures.push(format!(
                "{}: {:?} at {:.3}, reasons {:?}",
                case.name, verdict.action, verdict.score, verdict.reasons
            ));
        }
    }
    assert!(failures.is_empty(), "spam missed:\n{}", failures.join("\n"));
}

#[test]
fn disguised_spam_names_its_disguise() {
    let filter = Filter::default();
    let disguise_codes = [
        "TEXT_ZERO_WIDTH",
        "TEXT_LOOKALIKE_WORD",
        "TEXT_LEETSPEAK",
        "TEXT_SPACED_OUT",
    ];
    // Full-width and mathematical letters are undone by NFKC, and obfuscated
    // links belong to the link evidence: no text disguise reason for those.
    let text_disguises = [
        "zero_width",
        "cyrillic",
        "greek",
        "leet",
        "spaced",
        "dotted",
    ];
    let mut failures = Vec::new();
    for case in cases().iter().filter(|c| c.name.contains("_disguised_")) {
        if !text_disguises.iter().any(|d| case.name.contains(d)) {
            continue;
        }
        let verdict = filter.check(&message(case));
        if !verdict
            .reasons
            .iter()
            .any(|r| disguise_codes.contains(&r.code))
        {
            failures.push(format!("{}: reasons {:?}", case.name, verdict.reasons));
        }
    }
    assert!(
        failures.is_empty(),
        "disguise not named:\n{}",
        failures.join("\n")
    );
}

/// The DM genres brands get that SMS spam has few words for: each case is
/// flagged with its genre's phrase reason, not only by its profile or link.
#[test]
fn dm_genre_spam_names_its_genre() {
    let filter = Filter::default();
    let expected: &[(&str, &str)] = &[
        ("spam_romance_widow_opener", "TEXT_PHRASE_ROMANCE"),
        ("spam_romance_widowed_general", "TEXT_PHRASE_ROMANCE"),
        (
            "spam_romance_lonely_widower_daughter",
            "TEXT_PHRASE_ROMANCE",
        ),
        ("spam_sugar_weekly_allowance", "TEXT_PHRASE_ROMANCE"),
        ("spam_sugar_daddy_aged_account", "TEXT_PHRASE_ROMANCE"),
        ("spam_sugar_mommy_paypal", "TEXT_PHRASE_ROMANCE"),
        ("spam_collab_ambassador_free_products", "TEXT_PHRASE_COLLAB"),
        ("spam_collab_ambassador_code_fee", "TEXT_PHRASE_COLLAB"),
        ("spam_collab_free_watch", "TEXT_PHRASE_COLLAB"),
        (
            "spam_collab_paid_partnership_telegram",
            "TEXT_PHRASE_COLLAB",
        ),
        ("spam_collab_ambassador_hijacked", "TEXT_PHRASE_COLLAB"),
        ("spam_job_make_1000_a_day_shortener", "TEXT_MONEY"),
        ("spam_job_side_hustle_daily", "TEXT_PHRASE_JOB"),
        ("spam_job_earn_1k_tinyurl", "TEXT_PHRASE_JOB"),
        ("spam_followers_promote_page_users", "TEXT_PHRASE_FOLLOWERS"),
        ("spam_followers_theme_page_feature", "TEXT_PHRASE_FOLLOWERS"),
        ("spam_followers_price_per_thousand", "TEXT_PHRASE_FOLLOWERS"),
        ("spam_crypto_nft_free_mint", "TEXT_PHRASE_CRYPTO"),
        ("spam_crypto_nft_whitelist_wallet", "TEXT_PHRASE_CRYPTO"),
        ("spam_crypto_btc_giveaway_double", "TEXT_PHRASE_CRYPTO"),
        ("spam_crypto_usdt_giveaway_fee", "TEXT_PHRASE_CRYPTO"),
        ("spam_phishing_meta_appeal_page", "TEXT_PHRASE_PHISHING"),
        ("spam_phishing_final_warning_verify", "TEXT_PHRASE_PHISHING"),
        (
            "spam_phishing_copyright_appeal_form",
            "TEXT_PHRASE_PHISHING",
        ),
        ("spam_phishing_verify_ownership", "TEXT_PHRASE_PHISHING"),
    ];
    let cases = cases();
    let mut failures = Vec::new();
    for &(name, code) in expected {
        let Some(case) = cases.iter().find(|c| c.name == name) else {
            failures.push(format!("{name}: no such fixture"));
            continue;
        };
        let verdict = filter.check(&message(case));
        if !verdict.is_flagged() || !verdict.reasons.iter().any(|r| r.code == code) {
            failures.push(format!(
                "{name}: {:?} at {:.3}, want {code}, reasons {:?}",
                verdict.action, verdict.score, verdict.reasons
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Customers who write about the same things as the spam above (a real
/// ambassador program, a fake offer they got, shop links, rants, a
/// complaint pasted twice) are allowed.
#[test]
fn customers_near_the_dm_genres_are_allowed() {
    let filter = Filter::default();
    let names = [
        "ham_support_ambassador_program_question",
        "ham_support_reporting_fake_ambassador",
        "ham_complaint_pasted_twice",
        "ham_complaint_caps_rant_money",
        "ham_complaint_worst_service_rant",
        "ham_complaint_handles_and_phone",
        "ham_own_link_checkout_payment_failed",
        "ham_own_link_size_guide_two_links",
        "ham_emoji_heavy_angry_parcel",
        "ham_emoji_heavy_sneaker_love",
        "ham_multilingual_spanish_caps_rant",
        "ham_multilingual_russian_shop_link",
    ];
    let cases = cases();
    let mut failures = Vec::new();
    for name in names {
        let Some(case) = cases.iter().find(|c| c.name == name) else {
            failures.push(format!("{name}: no such fixture"));
            continue;
        };
        let verdict = filter.check(&message(case));
        if verdict.action != Action::Allow {
            failures.push(format!(
                "{name}: {:?} at {:.3}, reasons {:?}",
                verdict.action, verdict.score, verdict.reasons
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
