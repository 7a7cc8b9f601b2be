//! Learning from feedback: a handful of examples of a spam family the
//! built-in model does not know is enough to flag its later messages, while
//! customers' messages stay allowed; learning is safe while other threads
//! check.

use dmguard::{Filter, Label, LearnScope, Message};

/// A fake charity appeal: neither the phrase rules nor the SMS-trained
/// classifier know it.
const TEACH: &[&str] = &[
    "please donate to our stray cat shelter, every pound feeds a kitten, send to our paypal pool",
    "our stray cat shelter needs your help, donate any amount to the paypal pool today",
    "the stray cat shelter fundraiser needs donors, paypal pool open now",
    "kittens at our shelter are starving, donate to the paypal pool and share",
    "urgent appeal from the stray cat shelter: donations to our paypal pool save lives",
];

const LATER: &[&str] = &[
    "donate to the stray cat shelter paypal pool, the kittens need you",
    "our cat shelter appeal: every donation to the paypal pool feeds a stray",
    "stray kittens need food, please send a donation to our shelter paypal pool",
];

const HAM: &[&str] = &[
    "hi, is the group order discount still available for our running club?",
    "my order 55120 arrived today, thanks a lot!",
    "can i change the size on my order? it's the blue jacket",
    "the app keeps logging me out, can you help?",
    "do you ship to portugal? and how long does it take",
    "hi, do you still sell the cat food bowls? my kitten broke one",
];

fn fixture_ham() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    std::fs::read_to_string(path)
        .expect("fixtures/dms.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .filter(|v| v["label"] == "ham")
        .map(|v| v["text"].as_str().expect("text").to_string())
        .collect()
}

#[test]
fn a_new_spam_family_is_learned_from_a_handful_of_examples() {
    let filter = Filter::default();
    for text in LATER {
        let v = filter.check(&Message::new(text));
        assert!(!v.is_flagged(), "already flagged before learning: {text}");
    }
    let hams: Vec<String> = HAM
        .iter()
        .map(|s| s.to_string())
        .chain(fixture_ham())
        .collect();
    let before: Vec<f64> = hams
        .iter()
        .map(|t| filter.check(&Message::new(t)).score)
        .collect();

    for text in TEACH {
        filter.learn(&Message::new(text), Label::Spam);
    }

    for text in LATER {
        let v = filter.check(&Message::new(text));
        assert!(
            v.is_flagged(),
            "not flagged after learning ({:.3}): {text}",
            v.score
        );
    }
    // Customers' messages stay allowed (those the model already allowed
    // with a margin, below 0.4) and no ham moves by more than 0.2.
    let mut problems = Vec::new();
    for (text, &was) in hams.iter().zip(&before) {
        let v = filter.check(&Message::new(text));
        if (v.score - was).abs() > 0.2 || (was < 0.4 && v.is_flagged()) {
            problems.push(format!("{was:.3} → {:.3} {text}", v.score));
        }
    }
    assert!(
        problems.is_empty(),
        "ham moved by learning:\n{}",
        problems.join("\n")
    );
}

#[test]
fn learning_ham_unflags_a_false_positive_family() {
    let filter = Filter::default();
    let teach = [
        "WINNER of our staff raffle: collect your prize at reception, call ext 4411",
        "staff raffle winner! collect your prize from reception today",
        "you are a staff raffle winner, please collect the prize at reception",
    ];
    let later = "WINNER of the staff raffle! your prize awaits, call ext 4411 to collect it at reception today";
    assert!(
        filter.check(&Message::new(later)).is_flagged(),
        "the built-in model should flag this before learning"
    );
    filter.learn(&Message::new(teach[0]), Label::Ham);
    filter.learn(&Message::new(teach[1]), Label::Ham);
    filter.learn(&Message::new(teach[2]), Label::Ham);
    assert!(!filter.check(&Message::new(later)).is_flagged());
}

#[test]
fn learning_is_seen_by_clones_and_safe_while_other_threads_check() {
    let filter = Filter::default();
    let checker = filter.clone();
    let handle = std::thread::spawn(move || {
        let mut flagged = 0;
        for i in 0..2000 {
            let text = LATER[i % LATER.len()];
            let v = checker.check(&Message::new(text));
            assert!((0.0..=1.0).contains(&v.score));
            flagged += usize::from(v.is_flagged());
        }
        flagged
    });
    for text in TEACH {
        filter.learn(&Message::new(text), Label::Spam);
    }
    handle.join().expect("the checking thread does not panic");
    let clone = filter.clone();
    assert!(clone.check(&Message::new(LATER[0])).is_flagged());
}

#[test]
fn the_learned_model_saves_and_reloads() {
    let filter = Filter::default();
    for text in TEACH {
        filter.learn(&Message::new(text), Label::Spam);
    }
    let model = filter.model().expect("the default filter has a model");
    let bytes = model.to_bytes();
    let reloaded = Filter::builder()
        .model(dmguard::Model::from_bytes(&bytes).unwrap())
        .build()
        .unwrap();
    let msg = Message::new(LATER[1]);
    assert_eq!(reloaded.check(&msg), filter.check(&msg));
    assert!(reloaded.check(&msg).is_flagged());
}

#[test]
fn unlearning_by_id_takes_a_family_back() {
    let filter = Filter::default();
    let before: Vec<f64> = LATER
        .iter()
        .map(|t| filter.check(&Message::new(t)).score)
        .collect();
    let ids: Vec<String> = (0..TEACH.len()).map(|i| format!("m{i}")).collect();
    for (text, id) in TEACH.iter().zip(&ids) {
        filter.learn(&Message::new(text).with_id(id), Label::Spam);
    }
    assert!(filter.check(&Message::new(LATER[0])).is_flagged());
    for id in ids.iter().rev() {
        assert!(filter.unlearn(id), "{id} was learned");
    }
    for (text, was) in LATER.iter().zip(before) {
        let now = filter.check(&Message::new(text)).score;
        assert!((now - was).abs() < 1e-3, "{text}: {was} → {now}");
    }
    assert!(!filter.unlearn("m0"));
}

#[test]
fn a_filter_debug_prints_a_summary_not_the_weights() {
    let with_model = format!("{:?}", Filter::default()).len();
    let without = format!("{:?}", Filter::builder().without_model().build().unwrap()).len();
    assert!(
        with_model < without + 2_000,
        "{with_model} vs {without} bytes"
    );
}

#[test]
fn unlearning_takes_back_the_learned_domain_reputation() {
    // Regression: unlearn used to leave the domain counts behind, so a
    // later DM linking the same domain still got LINK_DOMAIN_REPUTATION.
    let filter = Filter::default();
    let later = Message::new("hi, is coin-drop.example/y legit?");
    let before = filter.check(&later);
    filter.learn(
        &Message::new("free coins at coin-drop.example/x").with_id("s1"),
        Label::Spam,
    );
    assert!(
        filter
            .check(&later)
            .reasons
            .iter()
            .any(|r| r.code == "LINK_DOMAIN_REPUTATION")
    );
    assert!(filter.unlearn("s1"));
    let after = filter.check(&later);
    assert!(
        !after
            .reasons
            .iter()
            .any(|r| r.code == "LINK_DOMAIN_REPUTATION"),
        "{after:?}"
    );
    assert_eq!(after, before);
}

#[test]
fn unlearning_in_reverse_order_restores_every_verdict_exactly() {
    let filter = Filter::default();
    let probes: Vec<Message> = LATER
        .iter()
        .chain(HAM)
        .map(|t| Message::new(t).with_recipient("brand_a"))
        .collect();
    let before: Vec<_> = probes.iter().map(|m| filter.check(m)).collect();
    let ids: Vec<String> = (0..TEACH.len() * 2).map(|i| format!("m{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let text = TEACH[i % TEACH.len()];
        let msg = Message::new(text).with_id(id);
        let scope = if i % 2 == 0 {
            LearnScope::Shared
        } else {
            LearnScope::Brand("brand_a")
        };
        filter.learn_scoped(&msg, Label::Spam, scope);
    }
    assert!(filter.check(&probes[0]).is_flagged());
    for id in ids.iter().rev() {
        assert!(filter.unlearn(id));
    }
    let after: Vec<_> = probes.iter().map(|m| filter.check(m)).collect();
    assert_eq!(after, before);
    assert_eq!(filter.overlay_stats().brands, 0, "an emptied overlay goes");
}

#[test]
fn a_brands_lessons_move_only_that_brands_verdicts() {
    let filter = Filter::default();
    let texts: Vec<&str> = LATER.iter().chain(HAM).copied().collect();
    let for_brand = |brand: &'static str| -> Vec<Message<'static>> {
        texts
            .iter()
            .map(|t| {
                Message::new(t)
                    .with_recipient(brand)
                    .with_id("x")
                    .with_sender("u")
            })
            .collect()
    };
    let (a, b) = (for_brand("brand_a"), for_brand("brand_b"));
    let anon: Vec<Message> = texts.iter().map(|t| Message::new(t)).collect();
    let b_before: Vec<_> = b.iter().map(|m| filter.check(m).score.to_bits()).collect();
    let anon_before: Vec<_> = anon
        .iter()
        .map(|m| filter.check(m).score.to_bits())
        .collect();
    let shared_before = filter.model().expect("model").to_bytes();
    for text in TEACH {
        filter.learn_scoped(
            &Message::new(text).with_recipient("brand_a"),
            Label::Spam,
            LearnScope::Brand("brand_a"),
        );
    }
    for m in &a[..LATER.len()] {
        assert!(filter.check(m).is_flagged(), "{}", m.text);
    }
    let b_after: Vec<_> = b.iter().map(|m| filter.check(m).score.to_bits()).collect();
    let anon_after: Vec<_> = anon
        .iter()
        .map(|m| filter.check(m).score.to_bits())
        .collect();
    assert_eq!(b_after, b_before, "another brand's verdicts moved");
    assert_eq!(anon_after, anon_before, "a message for no brand moved");
    assert_eq!(filter.model().expect("model").to_bytes(), shared_before);
    let stats = filter.overlay_stats();
    assert_eq!((stats.brands, stats.evicted_brands), (1, 0));
    assert!(stats.entries > 0);
}
