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
//! Every line read is answered before `score` waits for more input, so a
//! service can drive it through a pipe one DM at a time; output is written
//! in large blocks only while more input is already at hand.
//!
//! A line must be a JSON object: an array is refused rather than read as
//! fields by position. A UTF-8 byte-order mark before the first line is
//! skipped. A line error's column counts within that line.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use dmguard::{Filter, Message, Model, Policy, SenderProfile, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One input line; borrowed where the JSON has no escapes.
#[derive(Deserialize)]
struct Input<'a> {
    /// Copied to the output as written, whatever JSON it is.
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default, borrow)]
    sender: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    recipient: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default)]
    sender_profile: Option<SenderProfile>,
    #[serde(default, borrow)]
    direction: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct Output<'a> {
    id: Option<&'a RawValue>,
    score: f64,
    action: &'static str,
    reasons: &'a [dmguard::Reason],
    families: &'a [dmguard::Family],
}

/// The answer to a brand's own DM.
#[derive(Serialize)]
struct Recorded<'a> {
    id: Option<&'a RawValue>,
    recorded: &'static str,
}

#[derive(Serialize)]
struct Rejected<'a> {
    line: u64,
    error: &'a str,
}

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
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let (mut scored, mut rejected) = (0u64, 0u64);
    let mut line = Vec::with_capacity(1024);
    let mut number = 0u64;
    loop {
        let complete = match read_line_capped(&mut reader, &mut line, &mut out)? {
            None => break,
            Some(complete) => complete,
        };
        number += 1;
        let bytes = trim_line_end(&line);
        // A UTF-8 byte-order mark, as some editors write, opens a file, not
        // a DM.
        let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) if number == 1 => rest,
            _ => bytes,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = if complete {
            score_line(&filter, bytes)
        } else {
            Err(format!("line longer than {MAX_LINE_BYTES} bytes"))
        };
        match result {
            Ok((input, Some(verdict))) => {
                scored += 1;
                write_verdict(&mut out, &input, &verdict)?;
            }
            Ok((input, None)) => {
                let recorded = Recorded {
                    id: input.id,
                    recorded: "outgoing",
                };
                serde_json::to_writer(&mut out, &recorded)?;
            }
            Err(error) => {
                rejected += 1;
                serde_json::to_writer(
                    &mut out,
                    &Rejected {
                        line: number,
                        error: &error,
                    },
                )?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if let Some(dir) = &args.state {
        filter.save_state(dir)?;
    }
    Ok((scored, rejected))
}

/// Scores an incoming DM, or records an outgoing one (then no verdict).
fn score_line<'a>(
    filter: &Filter,
    bytes: &'a [u8],
) -> Result<(Input<'a>, Option<Verdict>), String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8: invalid byte at offset {}", e.valid_up_to()))?;
    // serde would also take an array as a DM, its fields by position: a
    // line whose fields have no names is refused rather than guessed at.
    if !text.trim_start().starts_with('{') {
        return Err("not a DM: a line must be a JSON object".into());
    }
    let input: Input<'a> = serde_json::from_str(text).map_err(json_error)?;
    let outgoing = match input.direction.as_deref() {
        None | Some("incoming") => false,
        Some("outgoing") => true,
        Some(other) => {
            return Err(format!(
                "direction {other:?} is neither \"incoming\" nor \"outgoing\""
            ));
        }
    };
    // A string id is borrowed from the line, or unescaped when it must be;
    // other JSON is no id for the filter (it is still copied to the output).
    let unescaped: Option<String>;
    let id = match input.id.map(|raw| raw.get()) {
        Some(raw) => match serde_json::from_str::<&str>(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                unescaped = serde_json::from_str::<String>(raw).ok();
                unescaped.as_deref()
            }
        },
        None => None,
    };
    let msg = Message {
        text: &input.text,
        id,
        timestamp_ms: input.ts,
        sender: input.sender.as_deref(),
        recipient: input.recipient.as_deref(),
        profile: input.sender_profile,
    };
    if outgoing {
        filter.observe_outgoing(&msg);
        return Ok((input, None));
    }
    let verdict = filter.check(&msg);
    Ok((input, Some(verdict)))
}

/// A parse error without serde's "line 1": each line is parsed alone, so
/// that would be wrong for every line but the first; the output already
/// names the line, and the column is within it.
fn json_error(e: serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(message) => format!("not a DM: {message} at column {}", e.column()),
        None => format!("not a DM: {text}"),
    }
}

fn write_verdict(out: &mut impl Write, input: &Input<'_>, verdict: &Verdict) -> io::Result<()> {
    let output = Output {
        id: input.id,
        score: (verdict.score * 10_000.0).round() / 10_000.0,
        action: verdict.action.as_str(),
        reasons: &verdict.reasons,
        families: &verdict.families,
    };
    serde_json::to_writer(&mut *out, &output).map_err(io::Error::other)
}

/// Longest input line read into memory; the rest of a longer line is skipped
/// so that memory stays bounded whatever the input.
const MAX_LINE_BYTES: usize = 16 << 20;

/// Reads one line into `line` (without keeping more than
/// [`MAX_LINE_BYTES`]). `None` at the end of input; `Some(false)` when the
/// line was too long and was cut.
///
/// Before a read that may wait for input (the reader's buffer is empty),
/// `out` is flushed: every answer to a line already read is then out, so a
/// caller that writes one DM and waits for its verdict gets it, while a
/// file or a busy pipe is still answered in large writes.
fn read_line_capped<R: Read>(
    reader: &mut BufReader<R>,
    line: &mut Vec<u8>,
    out: &mut impl Write,
) -> io::Result<Option<bool>> {
    line.clear();
    let mut seen_any = false;
    let mut complete = true;
    loop {
        if reader.buffer().is_empty() {
            out.flush()?;
        }
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(seen_any.then_some(complete));
        }
        seen_any = true;
        let (chunk, found) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        if chunk.len() > room {
            complete = false;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        if found {
            return Ok(Some(complete));
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}
