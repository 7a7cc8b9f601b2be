//! What an attacker or a careless operator can feed the filter from outside:
//! timestamps from a broken clock, and state snapshots that were tampered
//! with or damaged. Each case is a regression test for a bug once found.

use dmguard::{Filter, Message, StateSnapshot};

const T0: i64 = 1_750_000_000_000;
const MINUTE: i64 = 60_000;

/// An ordinary customer writing to a brand every few minutes: none of it
/// is late, none of it a burst, whatever came before.
fn customer_is_unharmed(filter: &Filter, start: i64, case: &str) {
    let late_before = filter.stats().late;
    for i in 0..12 {
        let text = format!("hi, any news on my order {}? thanks", 4410 + i);
        let msg = Message::new(&text)
            .with_timestamp_ms(start + i * 4 * MINUTE)
            .with_sender("customer_7")
            .with_recipient("brand");
        let verdict = filter.check(&msg);
        assert!(
            verdict.reasons.iter().all(|r| r.code != "SENDER_BURST"),
            "{case}: message {i} {verdict:?}"
        );
    }
    assert_eq!(filter.stats().late, late_before, "{case}: counted late");
}

#[test]
fn a_far_future_timestamp_does_not_make_later_customers_late() {
    let year = 365 * 86_400_000;
    for (case, future) in [
        ("a year ahead", T0 + year),
        ("9e18 ms", 9_000_000_000_000_000_000),
        ("i64::MAX", i64::MAX),
    ] {
        // In the middle of a stream, where the per-message step bound holds.
        let filter = Filter::default();
        filter.check(&Message::new("hello").with_timestamp_ms(T0).with_sender("a"));
        let hostile = Message::new("win a prize now")
            .with_timestamp_ms(future)
            .with_sender("attacker");
        filter.check(&hostile);
        customer_is_unharmed(&filter, T0 + 1000, case);
    }
    // As the very first message: a timestamp beyond what the tables can hold
    // counts as untimed instead of setting the clock, and a clock that only
    // the first message vouches for gives way to the next one.
    for (case, future) in [
        ("a year ahead first", T0 + year),
        ("9e18 ms first", 9_000_000_000_000_000_000),
        ("i64::MAX first", i64::MAX),
    ] {
        let filter = Filter::default();
        let hostile = Message::new("win a prize now")
            .with_timestamp_ms(future)
            .with_sender("attacker");
        filter.check(&hostile);
        customer_is_unharmed(&filter, T0, case);
    }
}

#[test]
fn a_snapshot_whose_clock_is_beyond_the_tables_is_refused() {
    let filter = Filter::default();
    filter.check(&Message::new("hello").with_timestamp_ms(T0).with_sender("a"));
    let snapshot = filter.snapshot_state();
    let json = serde_json::to_value(&snapshot).unwrap();
    for bad in [serde_json::json!(i64::MAX), serde_json::json!(-1)] {
        let mut tampered = json.clone();
        tampered["latest_ms"] = bad;
        let tampered: StateSnapshot = serde_json::from_value(tampered).unwrap();
        let fresh = Filter::default();
        let e = fresh.restore_state(&tampered).unwrap_err().to_string();
        assert!(e.contains("latest_ms"), "{e}");
        customer_is_unharmed(&fresh, T0, "after a refused restore");
    }
}

/// A snapshot of a filter that has seen the fixture stream, the brand's
/// replies and a few lessons: senders, bands, conversations and domains.
fn real_snapshot() -> Vec<u8> {
    use dmguard::Label;
    let filter = Filter::default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    let fixtures = std::fs::read_to_string(path).expect("fixtures/dms.jsonl");
    for line in fixtures.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let mut msg = Message::new(v["text"].as_str().expect("text"));
        if let Some(ts) = v["ts"].as_i64() {
            msg = msg.with_timestamp_ms(ts);
        }
        if let Some(sender) = v["sender"].as_str() {
            msg = msg.with_sender(sender);
        }
        if let Some(recipient) = v["recipient"].as_str() {
            msg = msg.with_recipient(recipient);
        }
        filter.check(&msg);
        if let (Some(person), Some(brand)) = (msg.sender, msg.recipient) {
            let reply = Message {
                sender: Some(brand),
                recipient: Some(person),
                ..msg
            };
            filter.observe_outgoing(&reply);
        }
    }
    for i in 0..3 {
        let text = format!("claim your bonus at coin-drop.example/c{i}");
        filter.learn(&Message::new(&text), Label::Spam);
    }
    let mut bytes = Vec::new();
    filter.snapshot_state().to_writer(&mut bytes).unwrap();
    bytes
}

/// How many of `flips` single-bit flips of `bytes`, spread over the file,
/// still read as a snapshot.
fn flips_accepted(bytes: &[u8], flips: usize) -> usize {
    let bits = bytes.len() * 8;
    let mut accepted = 0;
    let mut copy = bytes.to_vec();
    for i in 0..flips {
        // A stride prime to the bit count visits distinct bits across
        // the whole file.
        let bit = (i * 7_919 + 13) % bits;
        copy[bit / 8] ^= 1 << (bit % 8);
        if StateSnapshot::from_reader(&copy[..]).is_ok() {
            accepted += 1;
        }
        copy[bit / 8] ^= 1 << (bit % 8);
    }
    accepted
}

#[test]
fn no_single_bit_flip_of_a_snapshot_is_accepted() {
    let bytes = real_snapshot();
    let snapshot = StateSnapshot::from_reader(&bytes[..]).unwrap();
    assert!(snapshot.sender_count() > 50 && snapshot.conversation_count() > 0);
    assert!(bytes.len() * 8 > 3000 * 4, "{} bytes", bytes.len());
    let accepted = flips_accepted(&bytes, 3000);
    // For comparison: the same JSON without a checksum line, as a version 4
    // snapshot (which predates it) is still read.
    let json = &bytes[..bytes.iter().position(|&b| b == b'\n').unwrap()];
    let legacy =
        String::from_utf8(json.to_vec())
            .unwrap()
            .replacen("\"version\":5", "\"version\":4", 1);
    let legacy_accepted = flips_accepted(legacy.as_bytes(), 3000);
    println!(
        "single-bit flips accepted of 3000 ({} bytes): {accepted} with the checksum, \
         {legacy_accepted} without (version 4)",
        bytes.len()
    );
    assert_eq!(accepted, 0);
}
