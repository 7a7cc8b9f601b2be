//! Measures `check` throughput and latency over a stream held in memory.
//!
//! ```text
//! cargo run --release --example throughput -- [--threads N] [--repeat K] [--min-bytes B]
//!     [--without-model] [--without-stream] [--redis URL [--prefix P]] FILE
//! ```
//!
//! FILE is a JSON-lines stream (as for the `score` example) or a labelled
//! TSV (`label<TAB>text`), which is turned into a stream: senders,
//! recipients and timestamps one to three seconds apart. The stream is
//! replayed `K` times (default 1; each pass shifted later in event time) and
//! split across `N` threads (default 1) sharing one filter. Prints one JSON
//! line: `messages`, `seconds`, `msgs_per_sec`, `p50_ns`, `p99_ns`,
//! `p999_ns`, `threads`, `state_bytes` (what the stream state holds after
//! the run).
//!
//! To see what a part of the pipeline costs, compare runs without it:
//! `--without-model` checks with the rules alone (no text classifier),
//! `--without-stream` drops each message's sender, recipient, timestamp and
//! profile (no rate, campaign or sender evidence), and `--min-bytes B`
//! keeps only texts of at least B bytes (the messages behind the tail
//! latency).
//!
//! `--redis URL` (built with `--features redis`) shares the stream state
//! through Redis, under the prefix `P` (default: one of this run's own; give
//! two processes the same one to have them share the state). The run ends
//! when Redis holds every message (a last `sync_shared`), and the line also
//! has `degraded_checks` (checks made while Redis was away),
//! `shared_published`, `shared_pending` and `shared_applied` (the other
//! processes' messages counted here).

use std::time::Instant;

use dmguard::{Filter, Message, SenderProfile};
use serde::Deserialize;

#[path = "common/redis.rs"]
mod redis;

#[derive(Deserialize)]
struct Dm {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    recipient: Option<String>,
    text: String,
    #[serde(default)]
    sender_profile: Option<SenderProfile>,
}

impl Dm {
    /// The DM as a message, `shift` ms later in event time.
    fn message(&self, shift: i64) -> Message<'_> {
        Message {
            text: &self.text,
            id: self.id.as_ref().and_then(|v| v.as_str()),
            timestamp_ms: self.ts.map(|t| t + shift),
            sender: self.sender.as_deref(),
            recipient: self.recipient.as_deref(),
            profile: self.sender_profile,
        }
    }
}

fn load(path: &str) -> Result<Vec<Dm>, String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut dms = Vec::new();
    for (index, line) in source.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.trim_start().starts_with('{') {
            let dm: Dm =
                serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", index + 1))?;
            dms.push(dm);
        } else if let Some((_, text)) = line.split_once('\t') {
            let n = dms.len() as i64;
            dms.push(Dm {
                id: Some(serde_json::Value::from(n)),
                ts: Some(1_750_000_000_000 + n * 2_000),
                sender: Some(format!("u{}", n % 997)),
                recipient: Some(format!("brand_{:02}", n % 20)),
                text: text.to_string(),
                sender_profile: None,
            });
        } else {
            return Err(format!(
                "{path}:{}: neither JSON nor label<TAB>text",
                index + 1
            ));
        }
    }
    Ok(dms)
}

/// Checks `dms` in order, `repeat` times (each pass `span` ms later in event
/// time), and returns each check's time in nanoseconds.
fn run(filter: &Filter, dms: &[&Dm], span: i64, repeat: usize) -> Vec<u64> {
    let mut times = Vec::with_capacity(dms.len() * repeat);
    let mut flagged = 0usize;
    for pass in 0..repeat {
        for dm in dms {
            let msg = dm.message(pass as i64 * span);
            let start = Instant::now();
            let verdict = filter.check(&msg);
            times.push(start.elapsed().as_nanos() as u64);
            flagged += verdict.is_flagged() as usize;
        }
    }
    std::hint::black_box(flagged);
    times
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

const USAGE: &str = "usage: throughput [--threads N] [--repeat K] [--min-bytes B] \
[--without-model] [--without-stream] [--redis URL [--prefix P] [--staleness N]] FILE";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = 1usize;
    let mut repeat = 1usize;
    let mut min_bytes = 0usize;
    let mut with_model = true;
    let mut with_stream = true;
    let mut file = None;
    let mut redis: Option<String> = None;
    let mut prefix: Option<String> = None;
    let mut staleness: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs N")?.parse()?,
            "--repeat" => repeat = args.next().ok_or("--repeat needs K")?.parse()?,
            "--min-bytes" => min_bytes = args.next().ok_or("--min-bytes needs B")?.parse()?,
            "--without-model" => with_model = false,
            "--without-stream" => with_stream = false,
            "--redis" => redis = Some(args.next().ok_or("--redis needs a URL")?),
            "--prefix" => prefix = Some(args.next().ok_or("--prefix needs a name")?),
            "--staleness" => {
                staleness = Some(args.next().ok_or("--staleness needs N")?.parse()?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}").into()),
            path => file = Some(path.to_string()),
        }
    }
    let file = file.ok_or(USAGE)?;
    let mut dms = load(&file)?;
    dms.retain(|dm| dm.text.len() >= min_bytes);
    if !with_stream {
        for dm in &mut dms {
            (dm.ts, dm.sender, dm.recipient, dm.sender_profile) = (None, None, None, None);
        }
    }
    let threads = threads.max(1);
    let mut builder = Filter::builder();
    if !with_model {
        builder = builder.without_model();
    }
    let prefix = prefix.unwrap_or_else(|| redis::run_prefix("throughput"));
    if let Some(url) = &redis {
        builder = redis::on_redis(builder, url, &prefix, false)?;
    }
    let filter = builder.build()?;
    if let Some(n) = staleness {
        let url = redis.as_deref().ok_or("--staleness needs --redis URL")?;
        let peer = redis::on_redis(Filter::builder(), url, &prefix, false)?.build()?;
        println!("{}", stale(&filter, &peer, &dms, n)?);
        return Ok(());
    }

    // Thread t takes messages t, t + N, t + 2N, …: a pool of workers taking
    // turns on one stream, so every thread stays near the stream's event
    // time (slices of the stream would make one thread's messages "late"
    // for the other). All share one filter.
    let span = dms.iter().filter_map(|d| d.ts).max().unwrap_or(0)
        - dms.iter().filter_map(|d| d.ts).min().unwrap_or(0)
        + 1;
    let parts: Vec<Vec<&Dm>> = (0..threads)
        .map(|t| dms.iter().skip(t).step_by(threads).collect())
        .collect();
    let start = Instant::now();
    let mut times: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| {
                let filter = filter.clone();
                scope.spawn(move || run(&filter, part, span, repeat))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    if redis.is_some() {
        // Counted until Redis holds every message: the last batch is
        // published within the run, not left in the queue.
        filter.sync_shared();
    }
    let seconds = start.elapsed().as_secs_f64();
    times.sort_unstable();
    let messages = times.len();
    let mut line = serde_json::json!({
        "messages": messages,
        "seconds": (seconds * 1e6).round() / 1e6,
        "msgs_per_sec": (messages as f64 / seconds).round(),
        "p50_ns": percentile(&times, 0.5),
        "p99_ns": percentile(&times, 0.99),
        "p999_ns": percentile(&times, 0.999),
        "threads": threads,
        "state_bytes": filter.stats().bytes,
    });
    if redis.is_some() {
        let stats = filter.stats();
        line["degraded_checks"] = stats.degraded_checks.into();
        line["shared_published"] = stats.shared_published.into();
        line["shared_pending"] = stats.shared_pending.into();
        line["shared_applied"] = stats.shared_applied.into();
    }
    println!("{line}");
    Ok(())
}

/// Checks `n` DMs on `filter`, each after a pause of 0 to 10 ms, and
/// times how long each takes to be counted by `peer`.
fn stale(
    filter: &Filter,
    peer: &Filter,
    dms: &[Dm],
    n: usize,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut lags = Vec::with_capacity(n);
    for (i, dm) in dms.iter().cycle().take(n).enumerate() {
        let pause = (i as u64).wrapping_mul(7919) % 10_000;
        std::thread::sleep(std::time::Duration::from_micros(pause));
        let seen = peer.stats().shared_applied;
        let start = Instant::now();
        filter.check(&dm.message(0));
        while peer.stats().shared_applied == seen {
            if start.elapsed() > std::time::Duration::from_secs(10) {
                return Err("a DM did not reach the other filter within 10 s".into());
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        lags.push(start.elapsed().as_micros() as u64);
    }
    lags.sort_unstable();
    Ok(serde_json::json!({
        "staleness_dms": lags.len(),
        "p50_us": percentile(&lags, 0.5),
        "p90_us": percentile(&lags, 0.9),
        "p99_us": percentile(&lags, 0.99),
        "max_us": lags.last().copied().unwrap_or(0),
    }))
}
