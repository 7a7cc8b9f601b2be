//! Scores a JSON-lines stream of DMs: one verdict line per input line, in
//! order, in constant memory.
//!
//! ```text
//! cargo run --release --example score -- [--policy FILE] [--model FILE] [--state DIR] [FILE]
//! ```
//!
//! With `--state DIR`, the filter starts from the state saved in DIR (its
//! model, lessons and stream state; see `Filter::save_state`) when there is
//! one, and saves its state there when the input ends.
//!
//! The built-in model scores the text unless `--model` names a model file
//! (written by the `train` example). Reads FILE, or standard input when
//! FILE is absent or `-`. Each input line is an object with a `text` and
//! optionally `id`, `ts` (event time, ms), `sender`, `recipient`,
//! `sender_profile` and `direction`; other fields are ignored. Each output
//! line is `{"id", "score", "action", "reasons", "families"}`, or
//! `{"line", "error"}` for a line that could not be scored. A line with
//! `"direction": "outgoing"` is the brand's own DM (`sender` is the brand,
//! `recipient` the person): it is recorded, so that the person's answers
//! count as a conversation, not scored, and answered with
//! `{"id", "recorded": "outgoing"}`. `direction` defaults to `"incoming"`;
//! any other value is a line error. Exit status: 0 when every line was
//! scored, 2 when any was rejected, 1 when the run could not start (bad
//! policy, unreadable file).
//!
//! The JSON contract is the library's (`dmguard::wire`). Every line read is
//! answered before `score` waits for more input, so a service can drive it
//! through a pipe one DM at a time; output is written in large blocks only
//! while more input is already at hand.
//!
//! A line must be a JSON object: an array is refused rather than read as
//! fields by position. A UTF-8 byte-order mark before the first line is
//! skipped. A line error's column counts within that line.

use std::io::{self, Read};
use std::process::ExitCode;

use dmguard::{Filter, Model, Policy, wire};

const USAGE: &str = "usage: score [--policy FILE] [--model FILE] [--state DIR] [FILE]

Scores a JSON-lines stream of DMs (FILE, or standard input when FILE is
absent or -): one verdict line per input line, in order.

  --policy FILE   policy (TOML, or JSON for a .json file); default: built-in
  --model FILE    model written by the train example; default: built-in
  --state DIR     start from the state saved in DIR (when there is one) and
                  save the filter's state there when the input ends
  -h, --help      print this help and exit

Exit status: 0 when every line was scored, 2 when any was rejected, 1 when
the run could not start.";

struct Args {
    policy: Option<String>,
    model: Option<String>,
    state: Option<String>,
    input: Option<String>,
}

/// `Ok(None)` when help was asked for.
fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        policy: None,
        model: None,
        state: None,
        input: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--policy" => args.policy = Some(it.next().ok_or("--policy needs a file")?),
            "--model" => args.model = Some(it.next().ok_or("--model needs a file")?),
            "--state" => args.state = Some(it.next().ok_or("--state needs a directory")?),
            "-h" | "--help" => return Ok(None),
            "-" => args.input = None,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            _ if args.input.is_some() => return Err("give at most one input file".into()),
            file => args.input = Some(file.to_string()),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("score: {e}");
            eprintln!("{}", USAGE.lines().next().unwrap_or_default());
            return ExitCode::from(1);
        }
    };
    match run(&args) {
        Ok((scored, rejected)) => {
            eprintln!("score: {scored} scored, {rejected} rejected");
            if rejected == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("score: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let policy = match &args.policy {
        Some(path) => Policy::from_path(path)?,
        None => Policy::default(),
    };
    let mut builder = Filter::builder().policy(policy);
    if let Some(path) = &args.model {
        builder = builder.model(Model::load(path)?);
    }
    if let Some(dir) = &args.state {
        builder = builder.state_dir(dir);
    }
    let filter = builder.build()?;
    let reader: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?),
        None => Box::new(io::stdin().lock()),
    };
    // `score_lines` buffers its output and flushes it before every read
    // that may wait: a pipe gets each answer as soon as it is ready.
    let out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let tally = wire::score_lines(&filter, reader, out)?;
    if let Some(dir) = &args.state {
        filter.save_state(dir)?;
    }
    Ok((tally.scored, tally.rejected))
}
