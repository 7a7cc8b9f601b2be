//! Quality checks on the labelled corpora, when they are present
//! (`DMGUARD_DATA`, else `../shared/data` next to the crate); skipped,
//! saying so, when they are not.
//!
//! * the built-in model on `sms/test.tsv` must not fall below the figures
//!   it reached when it was committed;
//! * retraining on `sms/train.tsv` with the default options reproduces the
//!   committed model byte for byte.

use std::path::PathBuf;

use dmguard::{Evaluation, Filter, Label, Message, Model, TrainOptions};

/// Figures of the committed model on `sms/test.tsv`, less a small margin;
/// a regression below them fails the check. (The targets set for this
/// model were AUC 0.9995, spam caught at ≤0.2% ham flagged 0.97, MCC
/// 0.975; the committed model reaches AUC 0.992, 0.946 and 0.969 with no
/// ham flagged: see `src/classifier/mod.rs` for what was measured and why
/// the learner that ranks better on SMS is not the built-in one.)
const MIN_ROC_AUC: f64 = 0.985;
const MIN_CAUGHT_AT_0_2: f64 = 0.94;
const MIN_MCC: f64 = 0.96;
const MAX_HAM_FLAGGED: f64 = 0.002;

fn data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("DMGUARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    };
    if dir.join("sms/train.tsv").is_file() {
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
fn retraining_reproduces_the_committed_model_byte_for_byte() {
    let Some(dir) = data_dir() else { return };
    let rows = read_tsv(dir.join("sms/train.tsv"));
    let examples: Vec<(Message<'_>, Label)> =
        rows.iter().map(|(t, l)| (Message::new(t), *l)).collect();
    let model = Model::train(&examples, &TrainOptions::default()).expect("training");
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.dmgm"))
        .expect("models/default.dmgm");
    assert!(
        model.to_bytes() == committed,
        "retrained model differs from models/default.dmgm; retrain with \
         `cargo run --release --example train -- --out models/default.dmgm ../shared/data/sms/train.tsv`"
    );
    assert_eq!(Model::builtin(), model);
}
