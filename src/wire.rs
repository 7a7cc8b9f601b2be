//! The JSON form of a DM and of its verdict: what the `score` example
//! reads and writes line by line, and what a service takes over HTTP.
//!
//! A DM is a JSON object with a `text` and optionally `id` (any JSON
//! nested at most [`MAX_ID_DEPTH`] deep; a string is also the message's id
//! for [`Filter::learn`] and [`Filter::unlearn`]), `ts` (event time, ms), `sender`, `recipient`,
//! `sender_profile` (a [`SenderProfile`]) and `direction` (`"incoming"`,
//! the default, or `"outgoing"` for the brand's own DM); other fields are
//! ignored. An array is refused rather than read as fields by position.
//!
//! The answers are one JSON object each: `{"id", "score", "action",
//! "reasons", "families"}` for a DM scored, `{"id", "recorded":
//! "outgoing"}` for the brand's own DM, and `{"line", "error"}` for a line
//! that could not be read, whose column counts within that line.
//!
//! ```
//! use dmguard::{Filter, wire};
//!
//! let filter = Filter::new(Default::default())?;
//! let input = br#"{"id": "m1", "ts": 1750000000000, "sender": "u1", "text": "Hi, where is my order?"}
//! {"id": "m2", "text": 42}
//! "#;
//! let mut output = Vec::new();
//! let tally = wire::score_lines(&filter, &input[..], &mut output)?;
//! assert_eq!((tally.scored, tally.rejected), (1, 1));
//! let output = String::from_utf8(output)?;
//! let mut lines = output.lines();
//! assert!(lines.next().unwrap().starts_with(r#"{"id":"m1","score":"#));
//! assert!(lines.next().unwrap().starts_with(r#"{"line":2,"error":"not a DM: "#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Filter::learn`]: crate::Filter::learn
//! [`Filter::unlearn`]: crate::Filter::unlearn

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{Family, Filter, Message, Reason, SenderProfile, Verdict};

/// Longest line [`score_lines`] reads into memory; the rest of a longer
/// line is skipped (and the line answered with an error), so that memory
/// stays bounded whatever the input.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Deepest nesting of arrays and objects in a DM's `id`: the id is copied
/// into the answer, which a reader with a recursion limit (serde_json's is
/// 128) must still be able to read.
///
/// ```
/// use dmguard::wire::{Dm, MAX_ID_DEPTH};
///
/// let nested = |depth: usize| {
///     format!(r#"{{"text": "hi", "id": {}0{}}}"#, "[".repeat(depth), "]".repeat(depth))
/// };
/// assert!(Dm::parse(nested(MAX_ID_DEPTH).as_bytes()).is_ok());
/// let e = Dm::parse(nested(MAX_ID_DEPTH + 1).as_bytes()).unwrap_err();
/// assert!(e.to_string().contains("id nested deeper"));
/// ```
pub const MAX_ID_DEPTH: usize = 64;

/// One DM read from JSON, borrowing from the input where the JSON has no
/// escapes.
#[derive(Debug)]
pub struct Dm<'a> {
    fields: Fields<'a>,
    /// The id as the filter knows it: a JSON string's value.
    id: Option<Cow<'a, str>>,
    outgoing: bool,
}

#[derive(Debug, Deserialize)]
struct Fields<'a> {
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

/// Why a DM's JSON could not be read; its text says what was wrong, for
/// the person who wrote the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

impl<'a> Dm<'a> {
    /// Reads one DM from JSON bytes (one line of a JSON-lines stream, or a
    /// request body).
    ///
    /// ```
    /// let dm = dmguard::wire::Dm::parse(br#"{"id": 7, "text": "hello", "direction": "outgoing"}"#)?;
    /// assert!(dm.is_outgoing());
    /// assert_eq!(dm.id_json(), Some("7"));
    /// assert_eq!(dm.message().id, None, "only a string is an id for the filter");
    /// assert!(dmguard::wire::Dm::parse(br#"["m1", 1750000000000]"#).is_err());
    /// # Ok::<(), dmguard::wire::WireError>(())
    /// ```
    pub fn parse(json: &'a [u8]) -> Result<Dm<'a>, WireError> {
        let text = std::str::from_utf8(json).map_err(|e| {
            WireError(format!(
                "not UTF-8: invalid byte at offset {}",
                e.valid_up_to()
            ))
        })?;
        // serde would also take an array as a DM, its fields by position: a
        // line whose fields have no names is refused rather than guessed at.
        if !text.trim_start().starts_with('{') {
            return Err(WireError("not a DM: a line must be a JSON object".into()));
        }
        let fields: Fields<'a> = serde_json::from_str(text).map_err(json_error)?;
        let outgoing = match fields.direction.as_deref() {
            None | Some("incoming") => false,
            Some("outgoing") => true,
            Some(other) => {
                return Err(WireError(format!(
                    "direction {other:?} is neither \"incoming\" nor \"outgoing\""
                )));
            }
        };
        if let Some(raw) = fields.id
            && nesting(raw.get()) > MAX_ID_DEPTH
        {
            return Err(WireError(format!(
                "id nested deeper than {MAX_ID_DEPTH} levels"
            )));
        }
        // A string id is borrowed from the line, or unescaped when it must
        // be; other JSON is no id for the filter (it is still copied to the
        // output).
        let id = fields.id.and_then(|raw| {
            let raw = raw.get();
            match serde_json::from_str::<&str>(raw) {
                Ok(id) => Some(Cow::Borrowed(id)),
                Err(_) => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
            }
        });
        Ok(Dm {
            fields,
            id,
            outgoing,
        })
    }

    /// Whether this is the brand's own DM (`"direction": "outgoing"`), to
    /// be recorded with [`Filter::observe_outgoing`] rather than scored.
    pub fn is_outgoing(&self) -> bool {
        self.outgoing
    }

    /// The `id` as written in the JSON (a string keeps its quotes), to be
    /// copied to the answer; `None` when absent.
    pub fn id_json(&self) -> Option<&'a str> {
        self.fields.id.map(RawValue::get)
    }

    /// The DM as the filter takes it.
    pub fn message(&self) -> Message<'_> {
        Message {
            text: &self.fields.text,
            id: self.id.as_deref(),
            timestamp_ms: self.fields.ts,
            sender: self.fields.sender.as_deref(),
            recipient: self.fields.recipient.as_deref(),
            profile: self.fields.sender_profile,
        }
    }

    /// Scores the DM, or records it when it is the brand's own, and writes
    /// the answer (without a line end).
    pub fn answer(&self, filter: &Filter, out: &mut impl Write) -> io::Result<Answered> {
        let msg = self.message();
        if self.outgoing {
            filter.observe_outgoing(&msg);
            write_recorded(out, self.id_json())?;
            return Ok(Answered::Recorded);
        }
        let verdict = filter.check(&msg);
        write_verdict(out, self.id_json(), &verdict)?;
        Ok(Answered::Scored(verdict))
    }
}

/// What [`Dm::answer`] did.
#[derive(Debug, Clone)]
pub enum Answered {
    /// The DM was scored; its verdict.
    Scored(Verdict),
    /// The brand's own DM was recorded.
    Recorded,
}

/// How deeply arrays and objects nest in a well-formed JSON value: a scan
/// that skips strings, without recursion or allocation.
fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A parse error without serde's "line 1": each line is parsed alone, so
/// that would be wrong for every line but the first; the answer already
/// names the line, and the column is within it.
fn json_error(e: serde_json::Error) -> WireError {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    WireError(match text.strip_suffix(&position) {
        Some(message) => format!("not a DM: {message} at column {}", e.column()),
        None => format!("not a DM: {text}"),
    })
}

#[derive(Serialize)]
struct VerdictOut<'a> {
    id: Option<&'a RawValue>,
    score: f64,
    action: &'static str,
    reasons: &'a [Reason],
    families: &'a [Family],
}

#[derive(Serialize)]
struct RecordedOut<'a> {
    id: Option<&'a RawValue>,
    recorded: &'static str,
}

#[derive(Serialize)]
struct RejectedOut<'a> {
    line: u64,
    error: &'a str,
}

/// `id_json` as a raw JSON value; text that is not one JSON value (which
/// [`Dm::id_json`] never returns) is written as `null`.
fn raw_id(id_json: Option<&str>) -> Option<&RawValue> {
    id_json.and_then(|id| serde_json::from_str::<&RawValue>(id).ok())
}

/// Writes a verdict's answer, `{"id", "score", "action", "reasons",
/// "families"}`, with the score rounded to four decimals.
pub fn write_verdict(
    out: &mut impl Write,
    id_json: Option<&str>,
    verdict: &Verdict,
) -> io::Result<()> {
    let answer = VerdictOut {
        id: raw_id(id_json),
        score: (verdict.score * 10_000.0).round() / 10_000.0,
        action: verdict.action.as_str(),
        reasons: &verdict.reasons,
        families: &verdict.families,
    };
    serde_json::to_writer(out, &answer).map_err(io::Error::other)
}

/// Writes the answer to a brand's own DM, `{"id", "recorded": "outgoing"}`.
pub fn write_recorded(out: &mut impl Write, id_json: Option<&str>) -> io::Result<()> {
    let answer = RecordedOut {
        id: raw_id(id_json),
        recorded: "outgoing",
    };
    serde_json::to_writer(out, &answer).map_err(io::Error::other)
}

/// Writes the answer to a line that could not be read, `{"line", "error"}`.
pub fn write_rejected(out: &mut impl Write, line: u64, error: &str) -> io::Result<()> {
    serde_json::to_writer(out, &RejectedOut { line, error }).map_err(io::Error::other)
}

/// How many lines [`score_lines`] answered, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// DMs scored.
    pub scored: u64,
    /// The brand's own DMs recorded.
    pub recorded: u64,
    /// Lines answered with an error.
    pub rejected: u64,
}

/// Answers a JSON-lines stream of DMs: one answer line per input line, in
/// order; blank lines are skipped, a UTF-8 byte-order mark before the first
/// line is skipped, and a line longer than [`MAX_LINE_BYTES`] is answered
/// with an error (the rest of it is skipped unread into memory). Fails only
/// when reading or writing fails.
///
/// Every line read is answered before the next read that may wait for
/// input, so a caller can drive it through a pipe one DM at a time; output
/// is written in large blocks only while more input is already at hand.
pub fn score_lines(filter: &Filter, input: impl Read, mut output: impl Write) -> io::Result<Tally> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut tally = Tally::default();
    let mut line = Vec::with_capacity(1024);
    let mut number = 0u64;
    while let Some(complete) = read_line_capped(&mut reader, &mut line, &mut output)? {
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
        let parsed = if complete {
            Dm::parse(bytes)
        } else {
            Err(WireError(format!(
                "line longer than {MAX_LINE_BYTES} bytes"
            )))
        };
        match parsed {
            Ok(dm) => match dm.answer(filter, &mut output)? {
                Answered::Scored(_) => tally.scored += 1,
                Answered::Recorded => tally.recorded += 1,
            },
            Err(error) => {
                tally.rejected += 1;
                write_rejected(&mut output, number, &error.0)?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(tally)
}

/// Reads one line into `line` (without keeping more than
/// [`MAX_LINE_BYTES`]). `None` at the end of input; `Some(false)` when the
/// line was too long and was cut.
///
/// Before a read that may wait for input (the reader's buffer is empty),
/// `out` is flushed: every answer to a line already read is then out.
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
