//! Trains a model from labelled messages.
//!
//! ```text
//! cargo run --release --example train -- --out models/default.dmgm \
//!     ../shared/data/sms/train.tsv ../shared/data/inbox_ham/train.tsv
//! ```
//!
//! That command makes the built-in model, byte for byte. Inputs are TSV
//! (`label<TAB>text`) or JSON lines with `label` (`spam`/`ham`) and `text`;
//! bad lines are reported with their number and skipped.
//!
//! `--cv K` measures instead of saving: K-fold cross-validation of the
//! whole filter on the inputs (default thresholds), to compare options
//! such as `--learner logistic|nb|both`, `--epochs N`, `--bits N`,
//! `--rate X`, `--l2 X`, `--online-rate X`, `--spam-prior P|train`,
//! `--folds K` (the out-of-fold fits behind the combination weights).

#[path = "common/data.rs"]
mod data;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use dmguard::{Evaluation, Filter, Label, Learner, Message, Model, TrainOptions};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = None;
    let mut cv = None;
    let mut inputs = Vec::new();
    let mut options = TrainOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(value("--out")?),
            "--cv" => cv = Some(value("--cv")?.parse::<usize>()?),
            "--epochs" => options.epochs = value("--epochs")?.parse()?,
            "--bits" => options.table_bits = value("--bits")?.parse()?,
            "--rate" => options.learning_rate = value("--rate")?.parse()?,
            "--online-rate" => options.online_rate = value("--online-rate")?.parse()?,
            "--spam-prior" => {
                options.spam_prior = match value("--spam-prior")?.as_str() {
                    "train" => None,
                    p => Some(p.parse()?),
                }
            }
            "--l2" => options.l2 = value("--l2")?.parse()?,
            "--folds" => options.folds = value("--folds")?.parse()?,
            "--learner" => {
                options.learner = match value("--learner")?.as_str() {
                    "logistic" => Learner::Logistic,
                    "nb" => Learner::NaiveBayes,
                    "both" => Learner::Both,
                    other => return Err(format!("unknown learner {other:?}").into()),
                }
            }
            "-h" | "--help" => {
                println!(
                    "usage: train --out FILE [--learner logistic|nb|both] [--epochs N] [--bits N] \
                     [--rate X] [--l2 X] [--online-rate X] [--spam-prior P|train] [--folds K] DATA...\n       train --cv K [options] DATA..."
                );
                return Ok(());
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}").into()),
            _ => inputs.push(arg),
        }
    }
    if inputs.is_empty() || (out.is_none() && cv.is_none()) {
        return Err("usage: train --out FILE DATA... (or --cv K DATA...); see --help".into());
    }

    let mut records = Vec::new();
    let mut bad = 0;
    for path in &inputs {
        let (mut more, skipped) = data::read(path, |n| {
            eprint!("\r{path}: {n} lines read");
            let _ = std::io::stderr().flush();
        })
        .map_err(|e| format!("{path}: {e}"))?;
        eprint!("\r\x1b[K");
        records.append(&mut more);
        bad += skipped;
    }
    let spam = records.iter().filter(|(_, l)| *l == Label::Spam).count();
    eprintln!(
        "read {} messages ({spam} spam, {} ham), {bad} bad lines skipped",
        records.len(),
        records.len() - spam
    );

    if let Some(k) = cv {
        return cross_validate(&records, k, &options);
    }
    let examples: Vec<(Message<'_>, Label)> =
        records.iter().map(|(r, l)| (r.message(), *l)).collect();
    let started = Instant::now();
    let model = Model::train(&examples, &options)?;
    let took = started.elapsed();
    let out = out.expect("checked above");
    model.save(&out)?;
    let size = std::fs::metadata(&out)?.len();
    eprintln!(
        "trained on {} messages in {:.3} s: {} non-zero weights, classifier weight {:.3}, bias {:.3}",
        examples.len(),
        took.as_secs_f64(),
        model.nonzero_weights(),
        model.fitted_weight("CLASSIFIER_TEXT").unwrap_or(f64::NAN),
        model.fitted_bias().unwrap_or(f64::NAN),
    );
    for info in dmguard::reason_codes() {
        if let Some(w) = model.fitted_weight(info.code) {
            eprintln!("  fitted weight {:<24} {w:.3}", info.code);
        }
    }
    eprintln!("wrote {out} ({size} bytes)");
    Ok(())
}

/// K-fold cross-validation of the whole filter, pooled over the folds.
fn cross_validate(
    records: &[(data::Record, Label)],
    k: usize,
    options: &TrainOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    if k < 2 {
        return Err("--cv needs at least 2 folds".into());
    }
    // Folds by a fixed stride over a fixed permutation, so runs compare.
    let mut order: Vec<usize> = (0..records.len()).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut eval = Evaluation::new();
    let mut train_time = 0.0;
    for fold in 0..k {
        let (test, train): (Vec<_>, Vec<_>) = order
            .iter()
            .enumerate()
            .partition(|(pos, _)| pos % k == fold);
        let examples: Vec<(Message<'_>, Label)> = train
            .iter()
            .map(|&(_, &i)| (records[i].0.message(), records[i].1))
            .collect();
        let started = Instant::now();
        let model = Model::train(&examples, options)?;
        train_time += started.elapsed().as_secs_f64();
        let filter = Filter::builder().model(model).build()?;
        for &(_, &i) in &test {
            eval.add(records[i].1, &filter.check(&records[i].0.message()));
        }
        eprint!("\rfold {}/{k}", fold + 1);
    }
    eprintln!("\r\x1b[K{k}-fold cross-validation, {options:?}");
    eprintln!(
        "mean training time per fold: {:.3} s",
        train_time / k as f64
    );
    print!("{}", eval.report());
    Ok(())
}
