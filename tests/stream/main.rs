//! Stream evidence on synthetic streams built here: a support surge and an
//! upset customer stay allowed; fan-out bots and swarms are flagged from
//! their fourth message; the state is shared by threads, bounded, and
//! survives a restart.
//!
//! The bots send a spam-neutral text ("hey check this out ...") so that
//! what flags them is the stream, not the text rules.

use dmguard::{Filter, Message, Policy, SenderProfile, StateSnapshot};

mod streams;

use streams::*;

#[test]
fn a_support_surge_is_never_flagged() {
    let filter = Filter::default();
    let mut rng = Rng(1);
    let mut dms = surge(&mut rng, T0, "brand_01", "a");
    dms.extend(background(&mut rng, T0, 300));
    for dm in by_time(dms) {
        let v = dm.check(&filter);
        assert!(!flagged(&v), "{} flagged: {:?}", dm.text, v.reasons);
        assert!(v.reason("CAMPAIGN_FANOUT").is_none() && v.reason("CAMPAIGN_SWARM").is_none());
    }
}

#[test]
fn a_support_surge_without_profiles_is_never_flagged() {
    // Every customer is new to the stream and nothing else is known about
    // them: first-seen alone must not make a surge look like a swarm.
    let filter = Filter::default();
    let mut rng = Rng(6);
    for dm in by_time(surge(&mut rng, T0, "brand_02", "np")) {
        let msg = Message::new(&dm.text)
            .with_sender(&dm.sender)
            .with_recipient(&dm.recipient)
            .with_timestamp_ms(dm.ts.unwrap_or(T0));
        let v = filter.check(&msg);
        assert!(!v.is_flagged(), "{} flagged: {:?}", dm.text, v.reasons);
    }
}

#[test]
fn a_swarm_without_profiles_is_flagged_when_it_spreads() {
    let filter = Filter::default();
    let mut rng = Rng(7);
    for i in 0..40i64 {
        let text = bot_text(&mut rng);
        let (sender, brand) = (format!("anon_{i}"), format!("brand_{}", i % 15));
        let msg = Message::new(&text)
            .with_sender(&sender)
            .with_recipient(&brand)
            .with_timestamp_ms(T0 + i * 10 * SEC);
        let v = filter.check(&msg);
        if i >= 3 {
            assert!(v.is_flagged(), "message {i} allowed: {:?}", v.reasons);
        }
    }
}

#[test]
fn an_upset_customer_is_never_flagged() {
    let filter = Filter::default();
    let texts = [
        "where is my refund",
        "I have been waiting for three weeks for my refund",
        "hello??",
        "this is ridiculous, I want my money back",
        "I have been waiting for three weeks for my refund",
        "answer me please",
        "I will report this to my bank if you don't reply",
        "I have been waiting for three weeks for my refund!!!",
    ];
    for (i, text) in texts.iter().enumerate() {
        let dm = Dm::new(
            T0 + i as i64 * 20 * SEC,
            "angry_customer".into(),
            "brand_07",
            text.to_string(),
            fresh(1),
        );
        let v = dm.check(&filter);
        assert!(!flagged(&v), "message {i} flagged: {:?}", v.reasons);
    }
}

#[test]
fn a_fresh_account_complaining_is_not_flagged_for_its_profile() {
    let filter = Filter::default();
    let profile = SenderProfile {
        account_age_days: Some(0),
        followers: Some(0),
        following: Some(5000),
        ..SenderProfile::default()
    };
    let dm = Dm::new(
        T0,
        "new_here".into(),
        "brand_02",
        "made this account just to tell you my parcel never came".into(),
        profile,
    );
    let v = dm.check(&filter);
    assert!(v.reason("SENDER_NEW_ACCOUNT").is_some());
    assert!(!flagged(&v), "{:?}", v.reasons);
}

/// Regression: a one-day-old account with a lopsided following pasted the
/// brand's shop link during a surge, and the link's first-contact evidence
/// stacked on the profile evidence up to review (the built-in policy does
/// not know the brand's domain).
#[test]
fn a_fresh_account_pasting_a_shop_link_is_not_flagged_for_its_profile() {
    let filter = Filter::default();
    let profile = SenderProfile {
        account_age_days: Some(1),
        followers: Some(0),
        following: Some(649),
        ..SenderProfile::default()
    };
    let dm = Dm::new(
        T0,
        "new_customer".into(),
        "brand_01",
        "good morning my order #989613 hasn't arrived yet, can you check what is going on \
         https://shop.brand.example/orders/989613"
            .into(),
        profile,
    );
    let v = dm.check(&filter);
    assert!(v.reason("LINK_FIRST_CONTACT").is_some(), "{:?}", v.reasons);
    assert!(!flagged(&v), "{:?}", v.reasons);
}

#[test]
fn a_fanout_bot_is_flagged_from_its_fourth_message() {
    let filter = Filter::default();
    let mut rng = Rng(2);
    let mut dms = background(&mut rng, T0, 200);
    // An old, established account (hijacked): only the stream gives it away.
    for i in 0..25u64 {
        let text = bot_text(&mut rng);
        let brand = format!("brand_{i:02}");
        let ts = T0 + 5 * MIN + i as i64 * 20 * SEC;
        dms.push(Dm::new(
            ts,
            "bot_fanout".into(),
            &brand,
            text,
            established(7),
        ));
    }
    let mut nth = 0;
    for dm in by_time(dms) {
        let v = dm.check(&filter);
        if dm.sender == "bot_fanout" {
            nth += 1;
            if nth >= 4 {
                assert!(flagged(&v), "bot message {nth} allowed: {:?}", v.reasons);
                let fanout = v.reason("CAMPAIGN_FANOUT").expect("campaign fan-out");
                assert!(fanout.detail.contains("inboxes"), "{}", fanout.detail);
            }
        } else {
            assert!(!flagged(&v), "{} flagged: {:?}", dm.text, v.reasons);
        }
    }
    assert_eq!(nth, 25);
}

#[test]
fn a_bot_swarm_is_flagged_from_its_fourth_message() {
    for (name, brands) in [("to one brand", 1), ("to many brands", 20)] {
        let filter = Filter::default();
        let mut rng = Rng(3);
        let mut dms = surge(&mut rng, T0, "brand_03", "s");
        dms.extend(swarm(&mut rng, 60, brands));
        let mut nth = 0;
        for dm in by_time(dms) {
            let v = dm.check(&filter);
            if dm.sender.starts_with("swarm_") {
                nth += 1;
                if nth >= 4 {
                    assert!(
                        flagged(&v),
                        "{name}: swarm message {nth} allowed: {:?}",
                        v.reasons
                    );
                    assert!(v.reason("CAMPAIGN_SWARM").is_some(), "{:?}", v.reasons);
                }
            } else {
                assert!(!flagged(&v), "{name}: {} flagged: {:?}", dm.text, v.reasons);
            }
        }
    }
}

#[test]
fn four_threads_share_one_filter() {
    let filter = Filter::default();
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let filter = filter.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(100 + t);
                let mut dms = surge(&mut rng, T0, &format!("brand_{t}"), &format!("t{t}"));
                for i in 0..20u64 {
                    let ts = T0 + MIN + i as i64 * 15 * SEC;
                    let brand = format!("brand_x{i}");
                    let text = bot_text(&mut rng);
                    dms.push(Dm::new(
                        ts,
                        format!("bot_{t}"),
                        &brand,
                        text,
                        established(t),
                    ));
                }
                let mut flagged_bot = 0;
                let mut flagged_ham = 0;
                for dm in by_time(dms) {
                    let v = dm.check(&filter);
                    match (dm.sender.starts_with("bot_"), v.is_flagged()) {
                        (true, true) => flagged_bot += 1,
                        (false, true) => flagged_ham += 1,
                        _ => {}
                    }
                }
                (flagged_bot, flagged_ham)
            })
        })
        .collect();
    for h in handles {
        let (bot, ham) = h.join().expect("no thread panics");
        assert!(bot >= 17, "bot flagged {bot} of 20");
        assert_eq!(ham, 0);
    }
    let stats = filter.stats();
    assert_eq!(stats.messages, 4 * 220);
    assert_eq!(stats.senders, 4 * 201);
}

#[test]
fn a_restart_does_not_forget_a_running_campaign() {
    let mut rng = Rng(4);
    let bot: Vec<Dm> = (0..4u64)
        .map(|i| {
            let ts = T0 + i as i64 * 30 * SEC;
            let brand = format!("brand_{i}");
            Dm::new(ts, "bot".into(), &brand, bot_text(&mut rng), established(3))
        })
        .collect();
    let before = Filter::default();
    for dm in &bot[..3] {
        dm.check(&before);
    }
    let mut bytes = Vec::new();
    before.snapshot_state().to_writer(&mut bytes).unwrap();
    let snapshot = StateSnapshot::from_reader(&bytes[..]).unwrap();
    assert_eq!(snapshot.sender_count(), 1);
    assert!(snapshot.fingerprint_count() >= 1);

    let restarted = Filter::default();
    restarted.restore_state(&snapshot).unwrap();
    assert_eq!(restarted.stats().senders, 1);
    let v = bot[3].check(&restarted);
    assert!(v.is_flagged(), "{:?}", v.reasons);

    // Without the snapshot the fourth message is a first message.
    let forgetful = Filter::default();
    assert!(!bot[3].check(&forgetful).is_flagged());

    assert!(StateSnapshot::from_reader(&b"{\"version\": 99}"[..]).is_err());
}

#[test]
fn eviction_keeps_memory_bounded() {
    let policy = Policy::from_toml_str(
        "[stream]\nshards = 4\nmax_senders = 1000\nmax_fingerprints = 1000\n",
    )
    .unwrap();
    let filter = Filter::new(policy).unwrap();
    for i in 0..20_000i64 {
        let sender = format!("user_{i}");
        let text = format!(
            "a different message number {} from a distinct person",
            i * 7919
        );
        let text = text.replace(char::is_numeric, "") + &"x".repeat((i % 17) as usize);
        let msg = Message::new(&text)
            .with_sender(&sender)
            .with_recipient("brand_01")
            .with_timestamp_ms(T0 + i * SEC);
        filter.check(&msg);
    }
    let stats = filter.stats();
    assert!(stats.senders <= 1000 && stats.senders >= 900, "{stats:?}");
    assert!(stats.fingerprints <= 1000, "{stats:?}");
    assert!(stats.senders_evicted + stats.expired >= 19_000, "{stats:?}");
    assert!(stats.bytes <= 2000 * 64, "{stats:?}");
}

#[test]
fn bytes_per_sender_stay_under_100() {
    let policy = Policy::from_toml_str("[stream]\nmax_senders = 65536\n").unwrap();
    let filter = Filter::new(policy).unwrap();
    let empty = filter.stats().bytes;
    let n = 55_000i64;
    for i in 0..n {
        let sender = format!("u{i}");
        let msg = Message::new("hi")
            .with_sender(&sender)
            .with_recipient("brand_01")
            .with_timestamp_ms(T0 + i);
        filter.check(&msg);
    }
    let stats = filter.stats();
    let per_sender = (stats.bytes - empty) as f64 / stats.senders as f64;
    println!(
        "{} senders, {per_sender:.1} bytes per sender",
        stats.senders
    );
    assert!(stats.senders as i64 >= n * 995 / 1000, "{stats:?}");
    assert!(per_sender <= 100.0, "{per_sender}");
}

#[test]
fn late_and_untimed_messages_have_defined_behaviour() {
    let filter = Filter::default();
    // Before any timestamp, an untimed message adds no stream evidence.
    let v = filter.check(&Message::new("hey check this out, you will love it").with_sender("b"));
    // (The text classifier may still speak, for or against.)
    assert!(
        v.reasons.iter().all(|r| r.code == "CLASSIFIER_TEXT"),
        "{:?}",
        v.reasons
    );
    assert_eq!(filter.stats().messages, 0);
    assert_eq!(filter.stats().untimed, 1);

    // A fan-out bot whose messages arrive out of order (within the slack)
    // or without a timestamp is still counted.
    let mut rng = Rng(5);
    let order = [2i64, 0, 3, 1, 5, 4, 7, 6, 9, 8];
    for (nth, &slot) in order.iter().enumerate() {
        let text = bot_text(&mut rng);
        let brand = format!("brand_{slot}");
        let mut msg = Message::new(&text)
            .with_sender("bot")
            .with_recipient(&brand);
        if slot % 3 != 2 {
            msg = msg.with_timestamp_ms(T0 + slot * 10 * SEC);
        }
        let v = filter.check(&msg);
        if nth >= 3 {
            assert!(v.is_flagged(), "message {nth} allowed: {:?}", v.reasons);
        }
    }
    // One clock far in the future does not make the others late.
    let late = filter.stats().late;
    filter.check(
        &Message::new("from the year 2200")
            .with_sender("d")
            .with_timestamp_ms(7_258_118_400_000),
    );
    for i in 0..5 {
        filter.check(
            &Message::new("on time")
                .with_sender("e")
                .with_timestamp_ms(T0 + 100 * SEC + i * SEC),
        );
    }
    assert_eq!(filter.stats().late, late);

    // A message hours late counts at the latest time minus the slack.
    let before = filter.stats().late;
    filter.check(
        &Message::new("old news")
            .with_sender("c")
            .with_timestamp_ms(T0 - 5 * 60 * MIN),
    );
    assert_eq!(filter.stats().late, before + 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any text, sender, recipient and timestamp (far past, far future,
    /// out of order, missing): checking never panics and scores stay in
    /// [0, 1].
    #[test]
    fn arbitrary_streams_never_panic(
        msgs in proptest::collection::vec(
            (".{0,80}", proptest::option::of("[a-c]{1,2}"), proptest::option::of("[x-z]"),
             proptest::option::of(proptest::num::i64::ANY), proptest::option::of(0u32..100)),
            1..40,
        )
    ) {
        let policy = Policy::from_toml_str("[stream]\nshards = 2\nmax_senders = 16\nmax_fingerprints = 16\n").unwrap();
        let filter = Filter::new(policy).unwrap();
        for (text, sender, recipient, ts, age) in &msgs {
            let mut msg = Message::new(text);
            msg.sender = sender.as_deref();
            msg.recipient = recipient.as_deref();
            msg.timestamp_ms = *ts;
            msg.profile = age.map(|a| SenderProfile { account_age_days: Some(a), ..SenderProfile::default() });
            let v = filter.check(&msg);
            proptest::prop_assert!((0.0..=1.0).contains(&v.score));
        }
        let stats = filter.stats();
        proptest::prop_assert!(stats.senders <= 16 && stats.fingerprints <= 16);
        let snapshot = filter.snapshot_state();
        let restored = Filter::default();
        restored.restore_state(&snapshot).unwrap();
        proptest::prop_assert_eq!(restored.stats().senders, stats.senders);
    }
}

/// A brand's reply, as `Filter::observe_outgoing` takes it.
fn reply<'a>(brand: &'a str, person: &'a str, ts: i64) -> Message<'a> {
    Message::new("Sorry to hear that, could you send us your order number?")
        .with_sender(brand)
        .with_recipient(person)
        .with_timestamp_ms(ts)
}

#[test]
fn a_person_the_brand_wrote_to_is_in_a_conversation_for_the_window() {
    let filter = Filter::default();
    let day = 86_400 * SEC;
    let text = "still nothing, order 482913, call me on 07700 900123";
    let answer = |sender: &'static str, brand: &'static str, ts: i64| {
        Message::new(text)
            .with_sender(sender)
            .with_recipient(brand)
            .with_timestamp_ms(ts)
    };
    filter.observe_outgoing(&reply("brand_01", "u_dani", T0));
    assert_eq!(filter.stats().conversations, 1);

    let v = filter.check(&answer("u_dani", "brand_01", T0 + 60 * SEC));
    let trust = v.reason("SENDER_IN_CONVERSATION").expect("in conversation");
    assert!(trust.weight <= -3.0, "{trust:?}");
    assert!(
        v.reason("SENDER_FIRST_CONTACT").is_none(),
        "{:?}",
        v.reasons
    );
    // Another brand, or another person, is not in that conversation.
    let v = filter.check(&answer("u_dani", "brand_02", T0 + 61 * SEC));
    assert!(v.reason("SENDER_IN_CONVERSATION").is_none());
    let v = filter.check(&answer("u_other", "brand_01", T0 + 62 * SEC));
    assert!(v.reason("SENDER_IN_CONVERSATION").is_none());
    // The brand is not in a conversation with itself the other way round.
    let v = filter.check(&answer("brand_01", "u_dani", T0 + 63 * SEC));
    assert!(v.reason("SENDER_IN_CONVERSATION").is_none());

    // 29 days on the conversation holds; after 30 days it has expired, by
    // event time.
    let v = filter.check(&answer("u_dani", "brand_01", T0 + 29 * day));
    assert!(v.reason("SENDER_IN_CONVERSATION").is_some());
    let v = filter.check(&answer("u_dani", "brand_01", T0 + 31 * day));
    assert!(v.reason("SENDER_IN_CONVERSATION").is_none());
}

#[test]
fn a_conversation_does_not_hide_a_link_or_a_campaign() {
    let filter = Filter::default();
    let mut rng = Rng(11);
    let text = bot_text(&mut rng);
    // The account was in a conversation with one brand, then got taken
    // over and spreads one text with a shortener to eight brands, that one
    // last.
    filter.observe_outgoing(&reply("brand_7", "taken_over", T0));
    for i in 0..8i64 {
        let brand = format!("brand_{i}");
        let body = format!("{text} https://bit.ly/x{i}");
        let msg = Message::new(&body)
            .with_sender("taken_over")
            .with_recipient(&brand)
            .with_timestamp_ms(T0 + 600 * SEC + i * 20 * SEC)
            .with_profile(established(1));
        let v = filter.check(&msg);
        assert_eq!(v.reason("SENDER_IN_CONVERSATION").is_some(), i == 7);
        assert!(i < 3 || v.is_flagged(), "message {i}: {:?}", v.reasons);
    }
}

#[test]
fn conversations_are_bounded_counted_and_survive_a_restart() {
    let policy = Policy::from_toml_str("[stream]\nshards = 2\nmax_conversations = 256\n").unwrap();
    let filter = Filter::new(policy.clone()).unwrap();
    for i in 0..5_000i64 {
        let person = format!("p{i}");
        filter.observe_outgoing(&reply("brand_01", &person, T0 + i * SEC));
    }
    let stats = filter.stats();
    assert!(stats.conversations <= 256, "{stats:?}");
    assert!(stats.conversations_evicted >= 4_000, "{stats:?}");
    // The least recent went: the latest people are still remembered.
    let latest = Message::new("thanks!")
        .with_sender("p4999")
        .with_recipient("brand_01")
        .with_timestamp_ms(T0 + 5_000 * SEC);
    assert!(
        filter
            .check(&latest)
            .reason("SENDER_IN_CONVERSATION")
            .is_some()
    );

    let mut bytes = Vec::new();
    filter.snapshot_state().to_writer(&mut bytes).unwrap();
    let snapshot = StateSnapshot::from_reader(&bytes[..]).unwrap();
    assert_eq!(snapshot.conversation_count(), stats.conversations);
    let restarted = Filter::new(policy).unwrap();
    restarted.restore_state(&snapshot).unwrap();
    // A table holds about 90% of its cap before it starts forgetting.
    let restored = restarted.stats().conversations;
    assert!(restored * 10 >= stats.conversations * 9, "{restored}");
    assert!(
        restarted
            .check(&latest)
            .reason("SENDER_IN_CONVERSATION")
            .is_some()
    );
}
