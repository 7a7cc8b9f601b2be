//! What the stream evidence (sender rate, fan-out, campaigns, profile)
//! costs on top of the text path, on a realistic synthetic stream: ordinary
//! followers, a support surge, an upset customer, a fan-out bot and a swarm.
//!
//! `text path` checks the messages with no sender, recipient, timestamp or
//! profile, so the stream state is never touched; `text and profile` adds
//! the sender's profile (account age, followers), still without touching
//! the stream state; `with stream` checks the same messages with all of
//! them. `with stream` minus `text and profile` is what the rate and
//! campaign features cost per message; minus `text path`, everything the
//! stream and profile evidence cost. Before the timings, one pass fills a
//! filter with 1M senders and prints the bytes held per sender and the
//! time per check as the table grows past the cache; after them, the three
//! paths take turns on batches of the stream and the median differences
//! per message are printed, figures that a busy neighbour moves far less
//! than criterion's separate timings.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmguard::{Filter, Message, SenderProfile};

const T0: i64 = 1_750_000_000_000;

struct Dm {
    sender: String,
    recipient: String,
    text: String,
    profile: SenderProfile,
    spam: bool,
}

fn profile(age: u32) -> SenderProfile {
    SenderProfile {
        account_age_days: Some(age),
        followers: Some(40 + u64::from(age % 300)),
        following: Some(90),
        ..SenderProfile::default()
    }
}

impl Dm {
    /// The message with its sender's profile but nothing for the stream
    /// state: no sender, recipient or timestamp.
    fn profiled(&self) -> Message<'_> {
        Message::new(&self.text).with_profile(self.profile)
    }

    /// The `i`th message of the stream: event time keeps moving, 20
    /// messages a second.
    fn streamed(&self, i: usize) -> Message<'_> {
        Message::new(&self.text)
            .with_sender(&self.sender)
            .with_recipient(&self.recipient)
            .with_profile(self.profile)
            .with_timestamp_ms(T0 + 50 * i as i64)
    }
}

/// 10 000 messages in the proportions of a busy brand inbox.
fn stream() -> Vec<Dm> {
    const HAM: [&str; 6] = [
        "hi, my order #{n} hasn't arrived yet, can you check please",
        "do you ship to Canada? I'd like to buy the blue jacket",
        "thanks so much, the replacement arrived today and fits perfectly",
        "the app logs me out every time I open my basket, order {n}",
        "can I change the delivery address on order {n}? I moved last week",
        "is the store on Main Street open on Sunday?",
    ];
    let mut out = Vec::with_capacity(10_000);
    for i in 0..10_000u64 {
        let n = (i * 7919) % 1_000_000;
        let dm = match i % 20 {
            // A fan-out bot and a swarm: one in ten messages.
            0 => Dm {
                sender: "bot_fanout".into(),
                recipient: format!("brand_{:02}", i % 40),
                text: format!("hey check this out, you will love it https://bit.ly/{n:x}"),
                profile: profile(400),
                spam: true,
            },
            1 => Dm {
                sender: format!("swarm_{}", i % 500),
                recipient: format!("brand_{:02}", i % 7),
                text: format!("hey che\u{0441}k this out, you will love it {n}"),
                profile: profile(1),
                spam: true,
            },
            2..=5 => Dm {
                sender: format!("customer_{}", i % 3000),
                recipient: "brand_01".into(),
                text: HAM[0].replace("{n}", &n.to_string()),
                profile: profile(900),
                spam: false,
            },
            _ => Dm {
                sender: format!("follower_{i}"),
                recipient: format!("brand_{:02}", i % 40),
                text: HAM[(i % 6) as usize].replace("{n}", &n.to_string()),
                profile: profile(200 + (i % 2000) as u32),
                spam: false,
            },
        };
        out.push(dm);
    }
    out
}

fn bytes_per_sender() {
    let filter = Filter::default();
    let n = 1_000_000u64;
    let mut name = String::new();
    let start = Instant::now();
    for i in 0..n {
        use std::fmt::Write;
        name.clear();
        let _ = write!(name, "sender_{i}");
        let msg = Message::new("hi")
            .with_sender(&name)
            .with_recipient("brand_01")
            .with_timestamp_ms(T0 + i as i64);
        filter.check(&msg);
    }
    let elapsed = start.elapsed();
    let stats = filter.stats();
    eprintln!(
        "stream memory: {} of {n} senders held, {} evicted, {:.1} MB, {:.1} bytes per sender",
        stats.senders,
        stats.senders_evicted,
        stats.bytes as f64 / 1e6,
        stats.bytes as f64 / stats.senders as f64
    );
    // Each sender is new, so every check looks in a table far larger than
    // the cache: what the cache hints in `state::prefetch` are for.
    eprintln!(
        "filling: {:.0} ns per check of a short DM from a new sender",
        elapsed.as_nanos() as f64 / n as f64
    );
    assert!(stats.bytes <= 128 << 20, "{stats:?}");
    assert!(stats.senders as u64 >= n * 99 / 100, "{stats:?}");
}

fn bench(c: &mut Criterion) {
    bytes_per_sender();
    let dms = stream();
    let bytes: usize = dms.iter().map(|d| d.text.len()).sum();
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(1));
    eprintln!("stream: {} messages, {} bytes of text", dms.len(), bytes);

    // One filter per path, so that only `with stream` fills stream state.
    let filters = PATHS.map(|_| Filter::default());
    let mut flagged_ham = [0u64; PATHS.len()];
    for (((name, present), filter), flagged) in PATHS.iter().zip(&filters).zip(&mut flagged_ham) {
        let mut i = 0usize;
        group.bench_function(*name, |b| {
            b.iter(|| {
                let dm = &dms[i % dms.len()];
                i += 1;
                let v = filter.check(black_box(&present(dm, i)));
                assert!((0.0..=1.0).contains(&v.score));
                *flagged += u64::from(!dm.spam && v.is_flagged());
            })
        });
    }
    group.finish();
    assert_eq!(flagged_ham[STREAMED], 0, "ham flagged in the bench stream");
    eprintln!("{:?}", filters[STREAMED].stats());
    interleaved(&dms);
}

/// How a path presents the `i`th message of the stream.
type Present = for<'a> fn(&'a Dm, usize) -> Message<'a>;

/// The three paths, in the order they are timed: the text alone, the text
/// with the sender's profile, and everything the stream state uses.
const PATHS: [(&str, Present); 3] = [
    ("text path", |dm, _| Message::new(&dm.text)),
    ("text and profile", |dm, _| dm.profiled()),
    ("with stream", |dm, i| dm.streamed(i)),
];
const TEXT: usize = 0;
const PROFILED: usize = 1;
const STREAMED: usize = 2;

/// The stream's cost measured a second way: the three paths take turns on
/// batches of 500 messages and the medians of the per-batch differences
/// are printed. Criterion times the paths seconds apart, so on a shared
/// machine their differences move with the neighbours' load (by ±100 ns
/// here); batches a millisecond apart see the same load.
fn interleaved(dms: &[Dm]) {
    const BATCH: usize = 500;
    let filters = PATHS.map(|_| Filter::default());
    let (mut rate_and_campaign, mut all) = (Vec::new(), Vec::new());
    let mut i = 0usize;
    for round in 0..6 {
        for batch in dms.chunks(BATCH) {
            let mut ns = [0.0f64; PATHS.len()];
            for (((_, present), filter), ns) in PATHS.iter().zip(&filters).zip(&mut ns) {
                let start = Instant::now();
                for (j, dm) in batch.iter().enumerate() {
                    black_box(filter.check(black_box(&present(dm, i + j + 1))));
                }
                *ns = start.elapsed().as_nanos() as f64 / BATCH as f64;
            }
            i += batch.len();
            // The first round fills the stream state.
            if round > 0 {
                rate_and_campaign.push(ns[STREAMED] - ns[PROFILED]);
                all.push(ns[STREAMED] - ns[TEXT]);
            }
        }
    }
    for (what, diffs) in [
        ("rate and campaign features", &mut rate_and_campaign),
        ("stream and profile evidence", &mut all),
    ] {
        diffs.sort_by(f64::total_cmp);
        eprintln!(
            "{what}, interleaved batches: median {:.0} ns per message (quartiles {:.0}..{:.0})",
            diffs[diffs.len() / 2],
            diffs[diffs.len() / 4],
            diffs[diffs.len() * 3 / 4]
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
