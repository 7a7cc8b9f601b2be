//! The public API's promises: shareable filter, total and deterministic
//! checking, errors that name the problem.

use dmguard::{Action, Filter, Label, Message, Policy, SenderProfile};
use std::sync::LazyLock;

use proptest::prelude::*;

#[test]
fn filter_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Filter>();
    assert_traits::<Policy>();
}

#[test]
fn hostile_texts_get_a_verdict() {
    let filter = Filter::default();
    let huge = "spam ".repeat(2_000_000);
    let cases: &[(&str, &str)] = &[
        ("empty", ""),
        ("whitespace", " \t\n\r "),
        ("only_emoji", "😀😀😀🔥🔥💯👍🏽👨‍👩‍👧‍👦"),
        ("only_invisible", "\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}"),
        ("right_to_left", "\u{202e}gnp.exe\u{202c} مرحبا שלום"),
        (
            "combining_pileup",
            "e\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}",
        ),
        ("nul_and_controls", "\u{0}\u{1}\u{7f}\u{9b}"),
        ("ten_megabytes", &huge),
        ("lone_dots", "...........////@@@@[.][.]"),
    ];
    for (name, text) in cases {
        let v = filter.check(&Message::new(text));
        assert!((0.0..=1.0).contains(&v.score), "{name}: score {}", v.score);
    }
    let v = filter.check(&Message::new(&huge));
    assert!(
        v.reason("TEXT_TRUNCATED").is_some(),
        "10 MB text should say it was truncated"
    );
}

#[test]
fn odd_metadata_is_data_too() {
    let filter = Filter::default();
    let profile = SenderProfile {
        account_age_days: Some(u32::MAX),
        followers: Some(u64::MAX),
        following: Some(0),
        verified: true,
        recipient_follows_sender: true,
    };
    for ts in [i64::MIN, -1, 0, i64::MAX] {
        let msg = Message::new("hello")
            .with_timestamp_ms(ts)
            .with_sender("")
            .with_recipient("")
            .with_profile(profile);
        let v = filter.check(&msg);
        assert!((0.0..=1.0).contains(&v.score));
    }
}

#[test]
fn policy_errors_name_the_problem() {
    let cases = [
        ("unknown_key", "review_treshold = 0.5", "review_treshold"),
        (
            "threshold_range",
            "block_threshold = 2.0",
            "block_threshold",
        ),
        (
            "review_above_block",
            "review_threshold = 0.9\nblock_threshold = 0.5",
            "review_threshold",
        ),
        ("bad_regex", "[deny]\npatterns = [\"[a-\"]", "[a-"),
        ("not_toml", "review_threshold = = 1", "line 1"),
        (
            "wrong_type",
            "review_threshold = \"high\"",
            "review_threshold",
        ),
    ];
    for (name, source, expected) in cases {
        let error = Policy::from_toml_str(source).expect_err(name).to_string();
        assert!(
            error.contains(expected),
            "{name}: {error:?} should mention {expected:?}"
        );
    }
}

#[test]
fn missing_policy_file_is_an_error_naming_the_file() {
    let error = Policy::from_path("no/such/policy.toml")
        .unwrap_err()
        .to_string();
    assert!(error.contains("no/such/policy.toml"), "{error}");
}

#[test]
fn policy_lists_decide() {
    let policy = Policy::from_toml_str(
        r#"
        [allow]
        senders = ["u_partner"]
        [deny]
        senders = ["u_known_bot"]
        patterns = ['\bpromo code [a-z0-9]{6}\b']
        "#,
    )
    .unwrap();
    let filter = Filter::new(policy).unwrap();
    let bot = filter.check(&Message::new("hello there").with_sender("u_known_bot"));
    assert_eq!(bot.action, Action::Block);
    assert_eq!(bot.reasons[0].code, "POLICY_DENY_SENDER");
    let partner = filter.check(&Message::new("promo code abc123").with_sender("u_partner"));
    assert_eq!(partner.action, Action::Allow);
    let pattern = filter.check(&Message::new("use PROMO CODE xy12ab now"));
    assert!(pattern.is_flagged(), "{pattern:?}");
}

#[test]
fn every_reason_code_is_documented_and_unique() {
    let mut seen = std::collections::HashSet::new();
    for info in dmguard::reason_codes() {
        assert!(seen.insert(info.code), "duplicate code {}", info.code);
        assert!(!info.summary.is_empty(), "{} has no summary", info.code);
        assert!(
            info.code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{} is not SCREAMING_SNAKE",
            info.code
        );
    }
}

/// Two filters built the same way: a replay through a fresh filter must give
/// the same verdict, whatever state the first one has gathered.
static FIRST: LazyLock<Filter> = LazyLock::new(Filter::default);
static SECOND: LazyLock<Filter> = LazyLock::new(Filter::default);
/// A filter of its own for streamed messages, so that its stream state
/// does not reach the two compared above.
static STREAMED: LazyLock<Filter> = LazyLock::new(Filter::default);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_gets_a_deterministic_verdict_in_range(text in any::<String>()) {
        let msg = Message::new(&text);
        let first = FIRST.check(&msg);
        prop_assert!((0.0..=1.0).contains(&first.score));
        prop_assert!(first.reasons.iter().all(|r| r.weight.is_finite() && !r.detail.is_empty()));
        prop_assert_eq!(first, SECOND.check(&msg));
    }

    #[test]
    fn disguise_heavy_text_never_panics(
        text in "[a-zA-Z0-9 .:/@\\[\\]\u{200b}\u{0430}\u{043e}\u{ff0e}\u{3002}hxtps]{0,200}",
    ) {
        let v = FIRST.check(&Message::new(&text));
        prop_assert!((0.0..=1.0).contains(&v.score));
    }

    /// Fonts, overlays, look-alike scripts and link fragments together, as
    /// a stream from a few senders, with learning in between.
    #[test]
    fn styled_and_streamed_text_never_panics(
        pieces in proptest::collection::vec(
            "(a|Z|0|\\.|/|:|@|\\?|#| |é|ß|ᴄ|ʀ|🅵|🅐|Ꮯ|ꮯ|ꓝ|ⲣ|\u{336}|\u{301}|\u{200b}|\u{202e}|с|α|😀|—|http://|www\\.|bit\\.ly/|xn--|0x7f|1\\.2\\.3\\.4|£|\\$|т\\.е\\.|\\.рф|%41|\\\\)",
            0..40,
        ),
        sender in 0u8..4,
        late_ms in 0i64..300_000,
    ) {
        let text = pieces.concat();
        let sender = format!("u{sender}");
        let msg = Message::new(&text)
            .with_sender(&sender)
            .with_recipient("brand")
            .with_timestamp_ms(1_750_000_000_000 - late_ms);
        let v = STREAMED.check(&msg);
        prop_assert!((0.0..=1.0).contains(&v.score));
        prop_assert!(v.reasons.iter().all(|r| r.weight.is_finite() && !r.detail.is_empty()));
        let label = if v.is_flagged() { Label::Ham } else { Label::Spam };
        STREAMED.learn(&msg, label);
    }
}

#[test]
fn the_readme_policy_example_is_a_valid_policy() {
    let readme = include_str!("../README.md");
    let start = readme.find("```toml\n").expect("README has a TOML example") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let policy = Policy::from_toml_str(&readme[start..end]).unwrap();
    assert_eq!(policy.links.own_domains, ["brand.example"]);
    Filter::new(policy).unwrap();
}

/// Customers' DMs that the text classifier alone once blocked: the text is
/// one family of evidence, so none is blocked, whatever the profile, and an
/// established profile lowers the score.
#[test]
fn the_text_alone_never_blocks_a_customer() {
    use dmguard::{Family, SenderProfile};
    let texts = [
        "somebody from @VerizonSupport please help meeeeee 😩😩😩😩 I'm having the worst luck with your customer service",
        "can I change me sons Xbox live account to his Hotmail account, currently linked to my Hotmail account",
        "since when you stop giving 20% off videogame pre-orders (amazon prime members) im confused? why?",
        "Amsterdam to London on 28/11/17 London to Athens on 30/11/17 - have received confirmation for this  Contact: +44 7700 900123",
    ];
    let fresh = SenderProfile {
        account_age_days: Some(0),
        followers: Some(0),
        following: Some(5),
        ..SenderProfile::default()
    };
    let aged = SenderProfile {
        account_age_days: Some(900),
        followers: Some(150),
        following: Some(300),
        ..SenderProfile::default()
    };
    let filter = Filter::default();
    for (i, text) in texts.iter().enumerate() {
        let sender = format!("customer_{i}");
        let msg = Message::new(text)
            .with_sender(&sender)
            .with_recipient("brand_01")
            .with_timestamp_ms(1_750_000_000_000 + i as i64 * 1000);
        let bare = filter.check(&msg);
        let new = filter.check(&msg.with_profile(fresh));
        let old = filter.check(&msg.with_profile(aged));
        for v in [&bare, &new, &old] {
            assert_ne!(v.action, Action::Block, "{text}: {v:?}");
            assert!(!v.families.contains(&Family::Link), "{text}: {v:?}");
        }
        assert!(
            old.score < bare.score,
            "{text}: {} !< {}",
            old.score,
            bare.score
        );
        assert!(old.reason("SENDER_ESTABLISHED").is_some(), "{text}");
        if bare.score >= filter.policy().block_threshold {
            assert!(bare.reason("VERDICT_SINGLE_FAMILY").is_some(), "{text}");
        }
    }
}
