//! Quality checks on the labelled corpora, when they are present
//! (`DMGUARD_DATA`, else `../shared/data` next to the crate):
//!
//! * the built-in model on `sms/test.tsv` and on `inbox_ham/test.tsv` (all
//!   ham: messages of the kind customers send to companies) must not fall
//!   below the targets set for it;
//! * retraining on `sms/train.tsv` and `inbox_ham/train.tsv` with the
//!   default options reproduces the committed model byte for byte;
//! * `examples/adapt.rs --check` on two splits of SpamAssassin: a brand's
//!   own lessons halve its ham flagged without losing spam, and move
//!   nothing else by a bit.
//!
//! Where the corpora are absent, each check reports as `ignored`, with the
//! reason, in the default `cargo test` output. libtest decides what is
//! ignored when it compiles, so this file brings its own small runner
//! (`harness = false` in Cargo.toml) that prints libtest's lines and takes
//! its usual arguments: name filters, `--exact`, `--list`, `--ignored`,
//! `--include-ignored`, `--nocapture`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use dmguard::{Action, Evaluation, Filter, Label, Message, Model, TrainOptions};

/// Targets for the built-in model on `sms/test.tsv`; a regression below
/// them fails the check.
const MIN_ROC_AUC: f64 = 0.995;
const MIN_CAUGHT_AT_0_2: f64 = 0.96;
const MIN_MCC: f64 = 0.93;
const MAX_HAM_FLAGGED: f64 = 0.002;
/// Targets on `inbox_ham/test.tsv`: genuine customer messages are
/// flagged at most this often, and never blocked.
const MAX_INBOX_FLAGGED: f64 = 0.005;

/// The training sets of the built-in model, in the order the README's
/// command names them.
const TRAINING_SETS: [&str; 2] = ["sms/train.tsv", "inbox_ham/train.tsv"];

/// Every file the checks read.
const CORPORA: [&str; 5] = [
    "sms/train.tsv",
    "inbox_ham/train.tsv",
    "sms/test.tsv",
    "inbox_ham/test.tsv",
    "spamassassin/corpus.tsv",
];

/// The corpora's folder, or why the checks are skipped.
fn data_dir() -> Result<PathBuf, String> {
    let (dir, named) = match std::env::var_os("DMGUARD_DATA") {
        Some(dir) => (
            PathBuf::from(&dir),
            format!("DMGUARD_DATA={}", dir.display()),
        ),
        None => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
            "../shared/data".to_string(),
        ),
    };
    if CORPORA.iter().all(|f| dir.join(f).is_file()) {
        Ok(dir)
    } else {
        Err(format!(
            "skipped: no {} in {named} (set DMGUARD_DATA to the corpora's folder)",
            CORPORA.join(" or ")
        ))
    }
}

fn read_tsv(path: PathBuf) -> Vec<(String, Label)> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|line| {
            let (label, text) = line.split_once('\t')?;
            Some((text.to_string(), label.parse().ok()?))
        })
        .collect()
}

fn builtin_model_holds_its_figures_on_sms_test(dir: PathBuf) {
    let filter = Filter::default();
    let mut eval = Evaluation::new();
    for (text, label) in read_tsv(dir.join("sms/test.tsv")) {
        eval.add(label, &filter.check(&Message::new(&text)));
    }
    let r = eval.report();
    if nocapture() {
        println!("{r}");
    }
    let caught = r.caught_at(0.002).expect("0.2% is a reported ceiling");
    assert!(r.roc_auc >= MIN_ROC_AUC, "ROC AUC {}", r.roc_auc);
    assert!(caught >= MIN_CAUGHT_AT_0_2, "caught at 0.2%: {caught}");
    assert!(r.mcc >= MIN_MCC, "MCC {}", r.mcc);
    assert!(
        r.ham_flagged <= MAX_HAM_FLAGGED,
        "ham flagged {}",
        r.ham_flagged
    );
}

fn builtin_model_flags_few_inbox_customers_and_blocks_none(dir: PathBuf) {
    let filter = Filter::default();
    let rows = read_tsv(dir.join("inbox_ham/test.tsv"));
    assert!(rows.iter().all(|(_, l)| *l == Label::Ham));
    let (mut flagged, mut blocked) = (Vec::new(), Vec::new());
    for (text, _) in &rows {
        let v = filter.check(&Message::new(text));
        if v.is_flagged() {
            flagged.push(format!("{:.3} {text}", v.score));
        }
        if v.action == Action::Block {
            blocked.push(text.as_str());
        }
    }
    let share = flagged.len() as f64 / rows.len() as f64;
    if nocapture() {
        println!(
            "inbox_ham/test.tsv: {} of {} flagged ({:.3}%), {} blocked",
            flagged.len(),
            rows.len(),
            100.0 * share,
            blocked.len()
        );
    }
    assert!(blocked.is_empty(), "blocked: {blocked:?}");
    assert!(
        share <= MAX_INBOX_FLAGGED,
        "flagged {share}:\n{}",
        flagged.join("\n")
    );
}

fn retraining_reproduces_the_committed_model_byte_for_byte(dir: PathBuf) {
    let rows: Vec<(String, Label)> = TRAINING_SETS
        .iter()
        .flat_map(|f| read_tsv(dir.join(f)))
        .collect();
    let examples: Vec<(Message<'_>, Label)> =
        rows.iter().map(|(t, l)| (Message::new(t), *l)).collect();
    let model = Model::train(&examples, &TrainOptions::default()).expect("training");
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.dmgm"))
        .expect("models/default.dmgm");
    assert!(
        model.to_bytes() == committed,
        "retrained model differs from models/default.dmgm; retrain with \
         `cargo run --release --example train -- --out models/default.dmgm \
         ../shared/data/sms/train.tsv ../shared/data/inbox_ham/train.tsv`"
    );
    assert_eq!(Model::builtin(), model);
}

#[allow(dead_code)] // the example prints what this check does not read
#[path = "../examples/common/adapt.rs"]
mod adapt;

fn a_brand_adapts_to_traffic_the_shared_model_does_not_know(dir: PathBuf) {
    let corpus = adapt::read_tsv(&dir.join("spamassassin/corpus.tsv").to_string_lossy())
        .expect("spamassassin/corpus.tsv");
    let shared =
        adapt::read_tsv(&dir.join("sms/test.tsv").to_string_lossy()).expect("sms/test.tsv");
    for seed in [1, 2] {
        let filter = Filter::default();
        let outcome = adapt::run(&filter, &corpus, &shared, seed);
        if let Err(e) = adapt::check(&outcome) {
            panic!("seed {seed}: {e}");
        }
    }
}

/// A check, given the corpora's folder; it fails by panicking.
type Check = fn(PathBuf);

const CHECKS: &[(&str, Check)] = &[
    (
        "builtin_model_holds_its_figures_on_sms_test",
        builtin_model_holds_its_figures_on_sms_test,
    ),
    (
        "builtin_model_flags_few_inbox_customers_and_blocks_none",
        builtin_model_flags_few_inbox_customers_and_blocks_none,
    ),
    (
        "a_brand_adapts_to_traffic_the_shared_model_does_not_know",
        a_brand_adapts_to_traffic_the_shared_model_does_not_know,
    ),
    (
        "retraining_reproduces_the_committed_model_byte_for_byte",
        retraining_reproduces_the_committed_model_byte_for_byte,
    ),
];

fn nocapture() -> bool {
    std::env::args().any(|a| a == "--nocapture" || a == "--no-capture")
        || std::env::var_os("RUST_TEST_NOCAPTURE").is_some_and(|v| v != "0")
}

/// Runs the checks the way libtest would run `#[test]` functions, with
/// one difference: a check whose corpora are absent is reported as
/// `ignored`, with the reason, at run time.
fn main() -> ExitCode {
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let (mut exact, mut list, mut only_ignored) = (false, false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            // No check is ignored before it runs: nothing to run alone.
            "--ignored" => only_ignored = true,
            "--skip" => skips.extend(args.next()),
            // Options that take a value, which is not a filter.
            "--test-threads" | "--format" | "--logfile" | "--color" | "-Z" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter.to_string()),
        }
    }
    let selected: Vec<_> = CHECKS
        .iter()
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        name == f
                    } else {
                        name.contains(f.as_str())
                    }
                })
        })
        .filter(|(name, _)| !skips.iter().any(|s| name.contains(s.as_str())))
        .filter(|_| !only_ignored)
        .collect();
    if list {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let data = data_dir();
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    for (name, check) in &selected {
        match &data {
            Err(why) => {
                println!("test {name} ... ignored, {why}");
                ignored += 1;
            }
            Ok(dir) => {
                let dir = dir.clone();
                if catch_unwind(AssertUnwindSafe(|| check(dir))).is_ok() {
                    println!("test {name} ... ok");
                    passed += 1;
                } else {
                    println!("test {name} ... FAILED");
                    failed += 1;
                }
            }
        }
    }
    let result = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {result}. {passed} passed; {failed} failed; {ignored} ignored; \
         0 measured; {} filtered out; finished in {:.2}s\n",
        CHECKS.len() - selected.len(),
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
