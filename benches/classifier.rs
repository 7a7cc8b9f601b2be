//! The text classifier alone on the fixture texts (lowercased, as the
//! filter's canonical form would be), and the whole check for comparison.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmguard::{Filter, Message, Model};
use std::hint::black_box;

fn fixture_texts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
    std::fs::read_to_string(path)
        .expect("fixtures/dms.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            v["text"].as_str().expect("text").to_lowercase()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let model = Model::builtin();
    let texts = fixture_texts();
    let bytes: usize = texts.iter().map(String::len).sum();
    let expected: Vec<f64> = texts.iter().map(|t| model.classifier_log_odds(t)).collect();

    let mut group = c.benchmark_group("classifier");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("log_odds_all_fixtures", |b| {
        b.iter(|| {
            for (text, want) in texts.iter().zip(&expected) {
                let got = model.classifier_log_odds(black_box(text));
                assert_eq!(got, *want);
            }
        })
    });
    group.throughput(Throughput::Elements(texts.len() as u64));
    let filter = Filter::default();
    let flagged: Vec<bool> = texts
        .iter()
        .map(|t| filter.check(&Message::new(t)).is_flagged())
        .collect();
    group.bench_function("check_all_fixtures", |b| {
        b.iter(|| {
            for (text, want) in texts.iter().zip(&flagged) {
                let v = filter.check(&Message::new(black_box(text)));
                assert_eq!(v.is_flagged(), *want);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
