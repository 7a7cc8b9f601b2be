//! Cost of link evidence per DM, on the hand-written fixture DMs: those
//! without a link (the common case, which the byte prefilter should make
//! nearly free) and those with one (extraction, normalisation, judging).
//!
//! `cargo bench --bench links -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmguard::{Filter, Message, Policy, Verdict};

/// The texts of `fixtures/dms.jsonl`, split into those with and without
/// links.
fn fixture_texts() -> (Vec<String>, Vec<String>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    let source = std::fs::read_to_string(path).expect("fixtures/dms.jsonl");
    let texts = source.lines().map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        v["text"].as_str().expect("a text").to_string()
    });
    texts.partition(|t| dmguard::links(t).is_empty())
}

fn bytes(texts: &[String]) -> u64 {
    texts.iter().map(|t| t.len() as u64).sum()
}

fn bench_links(c: &mut Criterion) {
    let (plain, linked) = fixture_texts();
    assert!(!plain.is_empty() && !linked.is_empty());
    let policy = Policy::from_toml_str("[links]\nown_domains = [\"brand.example\"]").unwrap();
    let filter = Filter::new(policy).unwrap();
    let expected: Vec<Verdict> = linked
        .iter()
        .map(|t| filter.check(&Message::new(t)))
        .collect();

    for (name, texts) in [("without_links", &plain), ("with_links", &linked)] {
        let mut group = c.benchmark_group(format!("links/{name}"));
        group.throughput(Throughput::Elements(texts.len() as u64));
        group.bench_function("extract", |b| {
            b.iter(|| {
                for t in texts.iter() {
                    let found = dmguard::links(black_box(t));
                    assert_eq!(found.is_empty(), name == "without_links");
                }
            })
        });
        group.bench_function("check", |b| {
            b.iter(|| {
                for (i, t) in texts.iter().enumerate() {
                    let v = filter.check(&Message::new(black_box(t)));
                    if name == "with_links" {
                        assert_eq!(v, expected[i]);
                    } else {
                        assert!((0.0..=1.0).contains(&v.score));
                    }
                }
            })
        });
        group.finish();
        let mut group = c.benchmark_group(format!("links/{name}_bytes"));
        group.throughput(Throughput::Bytes(bytes(texts)));
        group.bench_function("extract", |b| {
            b.iter(|| {
                texts
                    .iter()
                    .map(|t| dmguard::links(black_box(t)).len())
                    .sum::<usize>()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_links);
criterion_main!(benches);
