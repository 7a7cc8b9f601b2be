//! Labelled data files for the example tools: TSV (`label<TAB>text`) or
//! JSON lines with `label` and `text` (and optionally `id`, `ts`, `sender`,
//! `recipient`, `sender_profile`, `scenario`, `direction`).

use std::io::BufRead;

use dmguard::{Label, Message, SenderProfile};
use serde::Deserialize;

/// One labelled message, owned.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub label: String,
    pub text: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub ts: Option<i64>,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub sender_profile: Option<SenderProfile>,
    /// Read by `evaluate`, not by `train`.
    #[serde(default)]
    #[allow(dead_code)]
    pub scenario: Option<String>,
    /// `outgoing` for a brand's own DM (`sender` the brand, `recipient` the
    /// person), as `simulate` writes them: to be recorded with
    /// `Filter::observe_outgoing`, not scored or counted as ham or spam.
    #[serde(default)]
    #[allow(dead_code)]
    pub direction: Option<String>,
}

impl Record {
    pub fn message(&self) -> Message<'_> {
        Message {
            text: &self.text,
            id: self.id.as_deref(),
            timestamp_ms: self.ts,
            sender: self.sender.as_deref(),
            recipient: self.recipient.as_deref(),
            profile: self.sender_profile,
        }
    }
}

/// Reads a file of labelled messages. Bad lines are reported on stderr
/// with their number and skipped; `progress` is called every 1000 lines.
pub fn read(
    path: &str,
    mut progress: impl FnMut(usize),
) -> std::io::Result<(Vec<(Record, Label)>, usize)> {
    let file = std::fs::File::open(path)?;
    let reader = std::io::BufReader::new(file);
    let mut out = Vec::new();
    let mut bad = 0;
    for (n, line) in reader.split(b'\n').enumerate() {
        let number = n + 1;
        if number % 1000 == 0 {
            progress(number);
        }
        let line = line?;
        let Ok(line) = std::str::from_utf8(&line) else {
            eprintln!("{path}:{number}: skipped: not UTF-8");
            bad += 1;
            continue;
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match parse(line) {
            Ok(pair) => out.push(pair),
            Err(e) => {
                eprintln!("{path}:{number}: skipped: {e}");
                bad += 1;
            }
        }
    }
    Ok((out, bad))
}

fn parse(line: &str) -> Result<(Record, Label), String> {
    let record: Record = if line.trim_start().starts_with('{') {
        serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?
    } else {
        let (label, text) = line
            .split_once('\t')
            .ok_or("expected label<TAB>text or a JSON object")?;
        Record {
            label: label.to_string(),
            text: text.to_string(),
            id: None,
            ts: None,
            sender: None,
            recipient: None,
            sender_profile: None,
            scenario: None,
            direction: None,
        }
    };
    let label: Label = record
        .label
        .parse()
        .map_err(|e: dmguard::Error| e.to_string())?;
    Ok((record, label))
}
