//! Text canonicalisation and the text rules (phrases, patterns, disguise
//! reasons), each on its own, over the texts of `fixtures/dms.jsonl`.
//!
//! `cargo bench --bench text`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmguard::TextBench;

fn texts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    let source = std::fs::read_to_string(path).expect("fixtures/dms.jsonl is readable");
    source
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = texts();
    assert!(!texts.is_empty());
    let bytes: usize = texts.iter().map(String::len).sum();
    let ascii: Vec<&String> = texts.iter().filter(|t| t.is_ascii()).collect();
    let ascii_bytes: usize = ascii.iter().map(|t| t.len()).sum();
    let mut text = TextBench::default();

    let mut group = c.benchmark_group("text");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(format!("canonicalize/{}_dms", texts.len()), |b| {
        b.iter(|| {
            for t in &texts {
                let phrase = text.canonicalize(black_box(t));
                assert!(!phrase.is_empty());
            }
        })
    });
    group.throughput(Throughput::Bytes(ascii_bytes as u64));
    group.bench_function(format!("canonicalize_ascii/{}_dms", ascii.len()), |b| {
        b.iter(|| {
            for t in &ascii {
                let phrase = text.canonicalize(black_box(t));
                assert!(!phrase.is_empty());
            }
        })
    });

    // The scan alone: canonical forms prepared outside the timed loop.
    group.throughput(Throughput::Bytes(bytes as u64));
    let mut prepared: Vec<TextBench> = texts
        .iter()
        .map(|t| {
            let mut p = text.clone();
            p.canonicalize(t);
            p
        })
        .collect();
    group.bench_function(format!("scan/{}_dms", texts.len()), |b| {
        b.iter(|| {
            let mut reasons = 0;
            for p in prepared.iter_mut() {
                reasons += p.scan();
            }
            assert!(reasons >= 63, "{reasons}");
            reasons
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
