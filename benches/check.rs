//! The whole `check`, on the hand-written fixture DMs and, when present, the
//! SMS test set: messages per second and bytes per second. The `stream`
//! groups give each DM a sender, a recipient and a time two seconds after
//! the one before, as a brand inbox sees them, so that the stream state
//! (rate windows, campaign fingerprints) is part of the figure; the plain
//! groups check text alone.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmguard::{Filter, Message};

/// Texts of `fixtures/dms.jsonl`.
fn fixture_texts() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dms.jsonl");
    std::fs::read_to_string(path)
        .expect("fixtures/dms.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

/// Texts of `sms/test.tsv` from the shared corpora, when they are there.
fn corpus_texts() -> Option<Vec<String>> {
    let dir = std::env::var_os("DMGUARD_DATA")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let text = std::fs::read_to_string(dir.join("sms/test.tsv")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('\t').map(|(_, t)| t.to_string()))
            .collect(),
    )
}

fn bench_set(c: &mut Criterion, name: &str, texts: &[String]) {
    let filter = Filter::default();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut group = c.benchmark_group(format!("check/{name}"));
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("messages", |b| {
        b.iter(|| {
            for text in texts {
                let v = filter.check(black_box(&Message::new(text)));
                assert!((0.0..=1.0).contains(&v.score));
            }
        })
    });
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("bytes", |b| {
        b.iter(|| {
            for text in texts {
                let v = filter.check(black_box(&Message::new(text)));
                assert!((0.0..=1.0).contains(&v.score));
            }
        })
    });
    group.finish();
}

/// The same texts as a stream: senders `u0`…`u996`, recipients
/// `brand_00`…`brand_19`, event time advancing across iterations.
fn bench_stream(c: &mut Criterion, name: &str, texts: &[String]) {
    let filter = Filter::default();
    let senders: Vec<String> = (0..texts.len()).map(|n| format!("u{}", n % 997)).collect();
    let recipients: Vec<String> = (0..texts.len())
        .map(|n| format!("brand_{:02}", n % 20))
        .collect();
    let mut group = c.benchmark_group(format!("check_stream/{name}"));
    group.throughput(Throughput::Elements(texts.len() as u64));
    let mut ts = 1_750_000_000_000i64;
    group.bench_function("messages", |b| {
        b.iter(|| {
            for (n, text) in texts.iter().enumerate() {
                ts += 2_000;
                let msg = Message::new(text)
                    .with_sender(&senders[n])
                    .with_recipient(&recipients[n])
                    .with_timestamp_ms(ts);
                let v = filter.check(black_box(&msg));
                assert!((0.0..=1.0).contains(&v.score));
            }
        })
    });
    group.finish();
}

fn check(c: &mut Criterion) {
    let fixtures = fixture_texts();
    bench_set(c, "fixtures", &fixtures);
    bench_stream(c, "fixtures", &fixtures);
    match corpus_texts() {
        Some(texts) => {
            bench_set(c, "sms_test", &texts);
            bench_stream(c, "sms_test", &texts);
        }
        None => eprintln!("skipped check/sms_test: ../shared/data not found"),
    }
}

criterion_group!(benches, check);
criterion_main!(benches);
