//! Resource bounds: every pathological input gets a verdict, every cap
//! holds, and a policy beyond its bounds is refused with the key and line.
//! No test here is timed: caps are counted, and the paths that must stay
//! linear read inputs of a megabyte, where a quadratic one would take
//! minutes and hang the suite visibly.

use dmguard::{Action, Filter, Message, Policy, StateSnapshot};

const T0: i64 = 1_750_000_000_000;

fn policy(toml: &str) -> Policy {
    Policy::from_toml_str(toml).unwrap()
}

fn refusal(toml: &str) -> String {
    Policy::from_toml_str(toml)
        .and_then(Filter::new)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

fn reasons_are_bounded(v: &dmguard::Verdict) {
    assert!((0.0..=1.0).contains(&v.score), "{v:?}");
    assert!(v.reasons.len() <= dmguard::reason_codes().count(), "{v:?}");
    let mut codes: Vec<&str> = v.reasons.iter().map(|r| r.code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), v.reasons.len(), "one reason per code");
}

#[test]
fn a_ten_megabyte_dm_is_read_within_the_cap_and_says_so() {
    let filter = Filter::default();
    let text = "my order has not arrived and nobody answers my emails. ".repeat(200_000);
    let v = filter.check(&Message::new(&text));
    reasons_are_bounded(&v);
    let truncated = v.reason("TEXT_TRUNCATED").expect("the cap is a reason");
    assert!(
        truncated.detail.contains(&text.len().to_string()),
        "{truncated:?}"
    );
    for r in &v.reasons {
        assert!(r.detail.len() < 1000, "a detail grows with the text: {r:?}");
    }
}

#[test]
fn a_long_honest_complaint_is_allowed() {
    let filter = Filter::default();
    let complaint = [
        "Hello, I am writing again about order 55102 which I placed three weeks ago. ",
        "The tracking page has said 'in transit' since the 4th and nothing has moved. ",
        "I called your support line twice and was told to wait another five days. ",
        "It was a birthday present for my daughter and the party is this weekend. ",
        "Could you please check with the courier, or send a replacement, or refund me? ",
        "I have been a customer for years and this is the first time anything went wrong. ",
    ]
    .concat()
    .repeat(14);
    assert!(complaint.len() > 6000, "{}", complaint.len());
    let v = filter.check(&Message::new(&complaint));
    assert!(v.reason("TEXT_TRUNCATED").is_some());
    assert_eq!(v.action, Action::Allow, "{v:?}");
}

#[test]
fn spam_after_an_honest_prefix_is_still_read() {
    let filter = Filter::default();
    let padding = "thanks for the quick reply, the parcel came this morning. ".repeat(200);
    let text = format!("{padding} claim your free prize now at bit.ly/fr33 before it expires");
    let v = filter.check(&Message::new(&text));
    assert!(v.reason("LINK_SHORTENER").is_some(), "{v:?}");
    assert!(v.is_flagged(), "{v:?}");
}

#[test]
fn a_million_combining_marks_get_a_verdict() {
    let filter = Filter::default();
    let text = format!("free{}", "\u{301}".repeat(1_000_000));
    let v = filter.check(&Message::new(&text));
    reasons_are_bounded(&v);
    assert!(v.reason("TEXT_TRUNCATED").is_some());
}

#[test]
fn ten_thousand_links_are_judged_up_to_the_cap() {
    // Read the whole text, so that only the links cap bounds the work.
    let filter = Filter::new(policy(
        "[limits]\nmax_text_bytes = 1048576\n[links]\nmax_links = 16\n",
    ))
    .unwrap();
    let text: String = (0..10_000)
        .map(|i| format!("see https://site{i}.example/p{i} "))
        .collect();
    let v = filter.check(&Message::new(&text));
    reasons_are_bounded(&v);
    assert!(v.reason("TEXT_TRUNCATED").is_none());
    let many = v.reason("LINK_MANY").expect("many links");
    let judged: usize = many.detail.split(' ').next().unwrap().parse().unwrap();
    assert_eq!(judged, 16, "{many:?}");
}

#[test]
fn a_flood_of_a_million_senders_stays_within_the_cap() {
    let filter = Filter::new(policy("[stream]\nmax_senders = 4096\n")).unwrap();
    let mut id = String::new();
    for i in 0..1_000_000i64 {
        id.clear();
        id.push_str("flood_");
        id.push_str(&i.to_string());
        let msg = Message::new("hello?")
            .with_sender(&id)
            .with_recipient("brand")
            .with_timestamp_ms(T0 + i);
        filter.check(&msg);
    }
    let stats = filter.stats();
    assert!(stats.senders <= 4096, "{stats:?}");
    assert!(stats.senders > 3000, "the table is used: {stats:?}");
    assert_eq!(stats.messages, 1_000_000);
}

/// A word of letters only (the fingerprint masks words with digits).
fn word(mut i: i64) -> String {
    let mut w = String::new();
    loop {
        w.push(char::from(b'a' + (i % 26) as u8));
        i /= 26;
        if i == 0 {
            return w;
        }
    }
}

#[test]
fn a_flood_of_a_million_texts_stays_within_the_cap() {
    let filter = Filter::new(policy("[stream]\nmax_fingerprints = 4096\n")).unwrap();
    for i in 0..1_000_000i64 {
        let text = format!(
            "offer {} for {} and {} today",
            word(i),
            word(i * 7),
            word(i * 13)
        );
        let msg = Message::new(&text)
            .with_sender("s")
            .with_timestamp_ms(T0 + i);
        filter.check(&msg);
    }
    let stats = filter.stats();
    assert!(stats.fingerprints <= 4096, "{stats:?}");
    assert!(stats.fingerprints > 3000, "the table is used: {stats:?}");
}

/// Text kinds that exercise each stage: plain words, combining marks,
/// links plain and disguised, look-alike letters, zero-width and emoji,
/// CJK.
const KINDS: [&str; 7] = [
    "my parcel is late again, please help ",
    "a\u{301}\u{302}\u{303}\u{304}",
    "see https://a1.example/x and bit.ly/abc ",
    "go to hxxp://win[.]top/a or prize dot example ",
    "frее gіft сard wіnnеr ",
    "f\u{200b}r\u{200b}e\u{200b}e 🎁🎉 ",
    "我的包裹还没有到，请帮忙查一下。",
];

#[test]
fn a_megabyte_of_each_kind_of_text_is_read_whole_without_a_quadratic_path() {
    let mut p = Policy::default();
    p.limits.max_text_bytes = 1 << 20;
    p.links.max_links = 1024;
    let filter = Filter::new(p).unwrap();
    for unit in KINDS {
        let text = unit.repeat((1 << 20) / unit.len());
        let v = filter.check(&Message::new(&text));
        reasons_are_bounded(&v);
        assert!(v.reason("TEXT_TRUNCATED").is_none(), "{unit}");
    }
}

#[test]
fn finding_links_is_linear_in_their_number() {
    // 8 MiB of links, found whole: the quadratic matching of two lists of
    // candidates that this replaces took minutes here.
    let unit = "https://a.example/x b.com ";
    let text = unit.repeat((8 << 20) / unit.len());
    assert_eq!(dmguard::links(&text).len(), 2 * ((8 << 20) / unit.len()));
}

#[test]
fn a_nested_quantifier_pattern_builds_and_matches_linearly() {
    let filter = Filter::new(policy(
        "[limits]\nmax_text_bytes = 1048576\n[deny]\npatterns = ['(a+)+$', '(a|aa)*b']\n",
    ))
    .unwrap();
    let text = format!("{}!", "a".repeat(1 << 20));
    let v = filter.check(&Message::new(&text));
    assert!(v.reason("POLICY_DENY_PHRASE").is_none(), "{v:?}");
    let v = filter.check(&Message::new("aaaab"));
    assert!(v.reason("POLICY_DENY_PHRASE").is_some(), "{v:?}");
}

#[test]
fn a_pattern_too_large_to_compile_is_refused_with_its_line() {
    let e = refusal("review_threshold = 0.5\n[deny]\npatterns = ['\\w{1000}{1000}']\n");
    assert!(e.contains("line 3") && e.contains("deny.patterns"), "{e}");
    // Each fits on its own, not all together in the one set.
    let many: Vec<String> = (0..40).map(|i| format!("'\\w{{{}}}x'", 400 + i)).collect();
    let e = refusal(&format!(
        "[allow]\nsenders = []\npatterns = [{}]\n",
        many.join(", ")
    ));
    assert!(e.contains("line 3") && e.contains("allow.patterns"), "{e}");
}

#[test]
fn lists_beyond_their_caps_are_refused_with_the_key_and_line() {
    let phrases: Vec<String> = (0..100_001).map(|i| format!("\"p{i} q\"")).collect();
    let source = format!(
        "[allow]\nphrases = []\n[deny]\nphrases = [{}]\n",
        phrases.join(",")
    );
    let e = refusal(&source);
    assert!(
        e.contains("deny.phrases") && e.contains("line 4") && e.contains("100001"),
        "{e}"
    );
    let e = refusal(&format!(
        "extra_phrases = [{}]\n",
        phrases[..10_001].join(",")
    ));
    assert!(
        e.contains("extra_phrases") && e.contains("line 1") && e.contains("10001"),
        "{e}"
    );
    // At the cap it builds.
    let at_cap = format!("[deny]\nphrases = [{}]\n", phrases[1..].join(","));
    assert!(Policy::from_toml_str(&at_cap).and_then(Filter::new).is_ok());

    let mut p = Policy::default();
    p.links.deny_domains = vec!["scam.example".to_string(); 1_000_001];
    let e = p.validate().unwrap_err().to_string();
    assert!(
        e.contains("links.deny_domains") && e.contains("1000001"),
        "{e}"
    );
    let mut p = Policy::default();
    p.deny.senders = vec!["u".to_string(); 1_000_001];
    let e = p.validate().unwrap_err().to_string();
    assert!(e.contains("deny.senders"), "{e}");
}

#[test]
fn per_message_caps_have_ceilings() {
    let e = refusal("[limits]\nmax_text_bytes = 1048577\n");
    assert!(e.contains("max_text_bytes") && e.contains("line 2"), "{e}");
    let e = refusal("[links]\nmax_links = 100000\n");
    assert!(e.contains("max_links") && e.contains("line 2"), "{e}");
    assert!(Policy::from_toml_str("[limits]\nmax_text_bytes = 1048576\n").is_ok());
}

#[test]
fn a_policy_file_over_the_size_cap_is_refused_unread() {
    let path = std::env::temp_dir().join(format!("dmguard-limits-{}.toml", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: the size is what is checked, before any byte is read.
    file.set_len(65 << 20).unwrap();
    let e = Policy::from_path(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        e.contains(&path.display().to_string()) && e.contains("bytes"),
        "{e}"
    );
    let big = " ".repeat((64 << 20) + 1);
    assert!(Policy::from_toml_str(&big).is_err());
    assert!(Policy::from_json_str(&big).is_err());
}

fn snapshot_text(filter: &Filter) -> String {
    let mut bytes = Vec::new();
    filter.snapshot_state().to_writer(&mut bytes).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn one_sender(filter: &Filter, sender: &str) {
    filter.check(&Message::new("hi").with_sender(sender).with_timestamp_ms(T0));
}

#[test]
fn table_keys_are_the_policys_secret_and_alike_without_one() {
    // Without a key two runs key alike, so a replay gives the same verdicts.
    let (a, b) = (Filter::default(), Filter::default());
    one_sender(&a, "u1");
    one_sender(&b, "u1");
    assert_eq!(snapshot_text(&a), snapshot_text(&b), "public seeds alike");

    let keyed = policy("[store]\nhash_key = \"00112233445566ff\"\n");
    let (c, d) = (
        Filter::new(keyed.clone()).unwrap(),
        Filter::new(keyed).unwrap(),
    );
    one_sender(&c, "u1");
    one_sender(&d, "u1");
    let text = snapshot_text(&c);
    assert_eq!(text, snapshot_text(&d), "one key, one keying");
    assert!(text.contains("\"hash_key\":\"00112233445566ff\""), "{text}");
    assert_ne!(text, snapshot_text(&a), "a secret keys the tables apart");
}

#[test]
fn a_snapshot_keyed_differently_is_refused_by_a_filter_with_entries() {
    let a = Filter::new(policy("[store]\nhash_key = \"00112233445566ff\"\n")).unwrap();
    one_sender(&a, "u1");
    let snapshot = StateSnapshot::from_reader(snapshot_text(&a).as_bytes()).unwrap();

    let fresh = Filter::default();
    fresh.restore_state(&snapshot).unwrap();
    one_sender(&fresh, "u1");
    assert_eq!(fresh.stats().senders, 1, "the fresh filter took the key");

    let busy = Filter::default();
    one_sender(&busy, "u2");
    let e = busy.restore_state(&snapshot).unwrap_err().to_string();
    assert!(e.contains("hash_key"), "{e}");
    assert_eq!(busy.stats().senders, 1);
}
