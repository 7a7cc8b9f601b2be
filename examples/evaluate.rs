//! Measures a filter on labelled messages.
//!
//! ```text
//! cargo run --release --example evaluate -- [--model FILE] [--policy FILE] [--json] [--plot FILE.svg] DATA
//! cargo run --release --example evaluate -- ../shared/data/sms/test.tsv
//! ```
//!
//! DATA is TSV (`label<TAB>text`) or JSON lines with `label` and `text`
//! (and optionally `id`, `ts`, `sender`, `recipient`, `sender_profile`,
//! `scenario`). Messages run in order through one filter, so stream
//! evidence acts as in production. Prints accuracy, spam caught, ham
//! flagged, MCC, ROC AUC, spam caught at 0.1% / 0.2% / 1% ham flagged, the
//! confusion matrix and each reason's hit rate, overall and per scenario.
//! Data of one label (all ham, such as `inbox_ham/test.tsv`) reports how
//! many were flagged and blocked; its ranking figures are undefined.

#[path = "common/data.rs"]
mod data;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use dmguard::{Evaluation, Filter, Label, Model, Policy, Report};
use plotters::prelude::*;

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
    let (mut model, mut policy, mut json, mut plot, mut input) = (None, None, false, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--model" => model = Some(value("--model")?),
            "--policy" => policy = Some(value("--policy")?),
            "--plot" => plot = Some(value("--plot")?),
            "--json" => json = true,
            "-h" | "--help" => {
                println!(
                    "usage: evaluate [--model FILE] [--policy FILE] [--json] [--plot FILE.svg] DATA"
                );
                return Ok(());
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}").into()),
            _ => input = Some(arg),
        }
    }
    let input = input
        .ok_or("usage: evaluate [--model FILE] [--policy FILE] [--json] [--plot FILE.svg] DATA")?;
    let mut builder = Filter::builder();
    if let Some(path) = policy {
        builder = builder.policy(Policy::from_path(path)?);
    }
    if let Some(path) = model {
        builder = builder.model(Model::load(path)?);
    }
    let filter = builder.build()?;
    let (records, bad) = data::read(&input, |_| {}).map_err(|e| format!("{input}: {e}"))?;
    if bad > 0 {
        eprintln!("{bad} bad lines skipped");
    }

    let mut all = Evaluation::new();
    let mut by_scenario: BTreeMap<String, Evaluation> = BTreeMap::new();
    let started = Instant::now();
    for (record, label) in &records {
        let verdict = filter.check(&record.message());
        all.add(*label, &verdict);
        if let Some(s) = &record.scenario {
            by_scenario
                .entry(s.clone())
                .or_default()
                .add(*label, &verdict);
        }
    }
    let took = started.elapsed();
    let report = all.report();
    if json {
        let scenarios: BTreeMap<&String, serde_json::Value> = by_scenario
            .iter()
            .map(|(k, e)| (k, to_json(&e.report())))
            .collect();
        let out = serde_json::json!({
            "data": input,
            "overall": to_json(&report),
            "scenarios": scenarios,
            "seconds": took.as_secs_f64(),
        });
        println!("{out}");
    } else {
        println!("{input}");
        print_report(&report);
        for (name, eval) in &by_scenario {
            println!("\nscenario {name}");
            print_report(&eval.report());
        }
        println!(
            "\nchecked {} messages in {:.3} s ({:.1} µs each)",
            records.len(),
            took.as_secs_f64(),
            1e6 * took.as_secs_f64() / records.len().max(1) as f64
        );
    }
    if let Some(path) = plot {
        draw(&all, &path)?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

/// A report as JSON; with one label only, the ranking figures (which
/// compare spam with ham) are null, and `blocked` counts that label's
/// blocked messages.
fn to_json(report: &Report) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        if one_label(report) {
            for key in ["roc_auc", "mcc", "caught_at"] {
                map.insert(key.into(), serde_json::Value::Null);
            }
        }
        let c = &report.confusion;
        map.insert("blocked".into(), (c.spam_block + c.ham_block).into());
    }
    value
}

/// True when the data holds only spam or only ham (or nothing).
fn one_label(report: &Report) -> bool {
    report.spam == 0 || report.ham == 0
}

/// The report; for data of one label (a set of genuine customer messages,
/// say) what matters is how many were flagged and blocked, and the ranking
/// figures are undefined rather than zero.
fn print_report(report: &Report) {
    if !one_label(report) {
        print!("{report}");
        return;
    }
    let c = &report.confusion;
    let (label, n, review, block) = if report.spam == 0 {
        ("ham", report.ham, c.ham_review, c.ham_block)
    } else {
        ("spam", report.spam, c.spam_review, c.spam_block)
    };
    let share = |k: u64| 100.0 * k as f64 / n.max(1) as f64;
    println!("messages {n}, all {label}");
    println!(
        "{label} flagged  {} ({:.4}%): review {review}, block {block}",
        review + block,
        share(review + block)
    );
    println!("{label} blocked  {block} ({:.4}%)", share(block));
    println!(
        "ROC AUC, MCC, spam caught at a ceiling of ham flagged: undefined (no {})",
        if report.spam == 0 { "spam" } else { "ham" }
    );
    // The rest of the report (confusion and reason hit rates) as usual.
    let full = report.to_string();
    if let Some(at) = full.find("confusion") {
        print!("{}", &full[at..]);
    }
}

/// The ROC curve (log scale of ham flagged would hide the corner; a linear
/// zoom on the first 5% shows it) and the score histograms of spam and ham.
fn draw(eval: &Evaluation, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);

    let roc = eval.roc_curve();
    let mut chart = ChartBuilder::on(&left)
        .caption("ROC (ham flagged ≤ 5%)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..0.05, 0.8..1.0)?;
    chart
        .configure_mesh()
        .x_desc("ham flagged")
        .y_desc("spam caught")
        .draw()?;
    chart.draw_series(LineSeries::new(
        roc.iter().map(|&(x, y)| (x.min(0.05), y.max(0.8))),
        &BLUE,
    ))?;

    const BINS: u32 = 50;
    let bin = |s: f64| ((s * f64::from(BINS)) as u32).min(BINS - 1);
    let mut counts = [[0u32; BINS as usize]; 2];
    for (row, label) in [Label::Spam, Label::Ham].into_iter().enumerate() {
        for s in eval.scores(label) {
            counts[row][bin(s) as usize] += 1;
        }
    }
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let mut hist = ChartBuilder::on(&right)
        .caption("score histograms (log count)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(
            (0u32..BINS).into_segmented(),
            0.0..(f64::from(top) + 1.0).log10(),
        )?;
    hist.configure_mesh()
        .x_desc("score × 50")
        .y_desc("log10(messages + 1)")
        .draw()?;
    for (row, color, name) in [(1, GREEN.mix(0.5), "ham"), (0, RED.mix(0.5), "spam")] {
        hist.draw_series(
            Histogram::vertical(&hist)
                .style(color.filled())
                .data((0..BINS).map(|b| (b, (f64::from(counts[row][b as usize]) + 1.0).log10()))),
        )?
        .label(name)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    hist.configure_series_labels().border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
