//! Per-brand learning on traffic the shared model does not know.
//!
//! ```text
//! cargo run --release --example adapt -- [--seed N] [--model FILE] [--check] [CORPUS [SHARED]]
//! ```
//!
//! CORPUS (default `../shared/data/spamassassin/corpus.tsv`) is split
//! deterministically by the seed (default 1); one brand learns 500 of its
//! ham and 200 of its spam as its own feedback
//! ([`LearnScope::Brand`](dmguard::LearnScope::Brand)), and its ham flagged
//! and spam caught on the rest are printed before and after, with the
//! shared model's figures on SHARED (default `../shared/data/sms/test.tsv`).
//! `--check` exits 1 unless that brand's ham flagged is at least halved,
//! its spam caught is not lower, and the shared model's and another
//! brand's scores are unchanged to the bit.

#[path = "common/adapt.rs"]
mod adapt;

use std::process::ExitCode;

use dmguard::{Filter, Model};

const USAGE: &str = "usage: adapt [--seed N] [--model FILE] [--check] [CORPUS [SHARED]]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (mut seed, mut model, mut check, mut paths) = (1u64, None, false, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => seed = args.next().ok_or("--seed needs a value")?.parse()?,
            "--model" => model = Some(args.next().ok_or("--model needs a value")?),
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ => paths.push(arg),
        }
    }
    let corpus = paths
        .first()
        .map_or("../shared/data/spamassassin/corpus.tsv", String::as_str);
    let shared = paths
        .get(1)
        .map_or("../shared/data/sms/test.tsv", String::as_str);
    let mut builder = Filter::builder();
    if let Some(path) = model {
        builder = builder.model(Model::load(path)?);
    }
    let filter = builder.build()?;
    let corpus_data = adapt::read_tsv(corpus).map_err(|e| format!("{corpus}: {e}"))?;
    let shared_data = adapt::read_tsv(shared).map_err(|e| format!("{shared}: {e}"))?;
    let started = std::time::Instant::now();
    let o = adapt::run(&filter, &corpus_data, &shared_data, seed);
    let stats = filter.overlay_stats();
    println!(
        "brand {} (seed {seed}; {} ham and {} spam held out):",
        adapt::BRAND,
        o.held_out.0,
        o.held_out.1
    );
    println!(
        "  ham flagged {:.3} → {:.3}   spam caught {:.3} → {:.3}",
        o.before.ham_flagged, o.after.ham_flagged, o.before.spam_caught, o.after.spam_caught
    );
    println!(
        "shared model on {shared}: ham flagged {:.4} → {:.4}, spam caught {:.4} → {:.4}, every score {}",
        o.shared_before.ham_flagged,
        o.shared_after.ham_flagged,
        o.shared_before.spam_caught,
        o.shared_after.spam_caught,
        if o.shared_unchanged {
            "unchanged"
        } else {
            "CHANGED"
        }
    );
    println!(
        "brand {}: every score {}",
        adapt::OTHER,
        if o.other_unchanged {
            "unchanged"
        } else {
            "CHANGED"
        }
    );
    println!(
        "overlay: {} entries ({} evicted); a check of these e-mails takes {:.1} µs with it, {:.1} µs without; run took {:.1} s",
        stats.entries,
        stats.evicted_entries,
        o.check_us.0,
        o.check_us.1,
        started.elapsed().as_secs_f64()
    );
    if check {
        if let Err(e) = adapt::check(&o) {
            eprintln!("check failed: {e}");
            return Ok(ExitCode::FAILURE);
        }
        println!("check passed");
    }
    Ok(ExitCode::SUCCESS)
}
