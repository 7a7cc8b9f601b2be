//! Quality checks on the labelled corpora, when they are present
//! (`DMGUARD_DATA`, else `../shared/data` next to the crate); skipped,
//! saying so, when they are not.
//!
//! * the built-in model on `sms/test.tsv` and on `inbox_ham/test.tsv` (all
//!   ham: messages of the kind customers send to companies) must not fall
//!   below the targets set for it;
//! * retraining on `sms/train.tsv` and `inbox_ham/train.tsv` with the
//!   default options reproduces the committed model byte for byte.

use std::path::PathBuf;

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

fn data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("DMGUARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    };
    if TRAINING_SETS.iter().all(|f| dir.join(f).is_file()) {
        Some(dir)
    } else {
        println!("skipped: ../shared/data not found (set DMGUARD_DATA)");
        None
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

#[test]
fn builtin_model_holds_its_figures_on_sms_test() {
    let Some(dir) = data_dir() else { return };
    let filter = Filter::default();
    let mut eval = Evaluation::new();
    for (text, label) in read_tsv(dir.join("sms/test.tsv")) {
        eval.add(label, &filter.check(&Message::new(&text)));
    }
    let r = eval.report();
    println!("{r}");
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

#[test]
fn builtin_model_flags_few_inbox_customers_and_blocks_none() {
    let Some(dir) = data_dir() else { return };
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
    println!(
        "inbox_ham/test.tsv: {} of {} flagged ({:.3}%), {} blocked",
        flagged.len(),
        rows.len(),
        100.0 * share,
        blocked.len()
    );
    assert!(blocked.is_empty(), "blocked: {blocked:?}");
    assert!(
        share <= MAX_INBOX_FLAGGED,
        "flagged {share}:\n{}",
        flagged.join("\n")
    );
}

#[test]
fn retraining_reproduces_the_committed_model_byte_for_byte() {
    let Some(dir) = data_dir() else { return };
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
