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
    // counts as untimed instead of setting the clock.
    for (case, future) in [
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
