//! The fuzzers' committed corpora and regressions, replayed on the stable
//! toolchain through the very entry points the fuzz targets run
//! (`fuzz/entry.rs`), so that a crash once fixed stays fixed without
//! nightly; and the score stream's bounds on pathological lines.
//!
//! `fuzz/corpus/<target>/` holds each target's minimised corpus (seeded
//! from the fixtures, see [`write_seeds`]); `fuzz/regressions/<target>/`
//! the inputs that once failed, each also replayed by a named test below.

#[path = "../fuzz/entry.rs"]
mod entry;

use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dmguard::{Filter, Label, Message, wire};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files under `fuzz/<kind>/<target>/`, sorted.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `entry` on every corpus and regression file of `target`, and fails
/// naming every file that panicked.
fn replay(target: &str, entry: fn(&[u8])) {
    let files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .flat_map(|kind| inputs(kind, target))
        .collect();
    assert!(
        !files.is_empty(),
        "no corpus for {target} under fuzz/corpus"
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).expect("a readable corpus file");
            panic::catch_unwind(AssertUnwindSafe(|| entry(&bytes))).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: failing inputs {failed:#?}");
}

/// Runs `entry` on one regression file, which must exist.
fn regression(target: &str, name: &str, entry: fn(&[u8])) {
    let path = fuzz_dir().join("regressions").join(target).join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    entry(&bytes);
}

#[test]
fn replay_check() {
    replay("check", entry::check);
}

#[test]
fn replay_stream() {
    replay("stream", entry::stream);
}

#[test]
fn replay_score_lines() {
    replay("score_lines", entry::score_lines);
}

#[test]
fn replay_policy() {
    replay("policy", entry::policy);
}

#[test]
fn replay_model() {
    replay("model", entry::model);
}

#[test]
fn replay_snapshot() {
    replay("snapshot", entry::snapshot);
}

/// The answers of `score_lines` to `input`, as JSON values.
fn answers(input: impl Read) -> (wire::Tally, Vec<serde_json::Value>) {
    static FILTER: OnceLock<Filter> = OnceLock::new();
    let filter = FILTER.get_or_init(Filter::default);
    let mut out = Vec::new();
    let tally = wire::score_lines(filter, input, &mut out).expect("reading memory never fails");
    let values = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("an answer is JSON"))
        .collect();
    (tally, values)
}

const NEXT_LINE: &[u8] = br#"{"id": "next", "text": "where is my order?"}
"#;

#[test]
fn a_50_mb_json_line_is_answered_with_a_line_error_and_the_stream_goes_on() {
    // Generated as it is read: the test itself holds no 50 MB.
    let line = io::Cursor::new(&br#"{"id": "big", "text": ""#[..])
        .chain(io::repeat(b'a').take(50 << 20))
        .chain(&b"\"}\n"[..])
        .chain(NEXT_LINE);
    let (tally, answers) = answers(line);
    assert_eq!((tally.scored, tally.rejected), (1, 1));
    assert_eq!(answers[0]["line"], 1);
    let error = answers[0]["error"].as_str().unwrap();
    assert!(error.contains("longer than"), "{error}");
    assert_eq!(answers[1]["id"], "next");
}

/// serde_json skips an unknown field without recursing (its memory is
/// bounded by the line's), so a DM with a deep one is scored; a field the
/// DM reads stops at serde_json's recursion limit, and an id (copied into
/// the answer) at `wire::MAX_ID_DEPTH`: a line error.
#[test]
fn json_nested_100k_deep_is_answered_in_bounded_depth_and_the_stream_goes_on() {
    let depth = 100_000;
    let nested = |field: &str, open: &str, close: &str| {
        let mut line = format!(r#"{{"text": "hi", "{field}": "#);
        line.push_str(&open.repeat(depth));
        line.push('0');
        line.push_str(&close.repeat(depth));
        line.push_str("}\n");
        line
    };
    let scored = |line: String| (line, true);
    let refused = |line: String| (line, false);
    for (line, is_scored) in [
        scored(nested("extra", "[", "]")),
        scored(nested("extra", r#"{"a":"#, "}")),
        scored(nested("extra", r#"[{"a":"#, "}]")),
        refused(nested("id", "[", "]")),
        refused(nested("sender_profile", "[", "]")),
        scored(nested("sender_profile", r#"{"a":"#, "}")),
        refused(format!("{}0{}\n", "[".repeat(depth), "]".repeat(depth))),
    ] {
        let input = [line.as_bytes(), NEXT_LINE].concat();
        let (tally, answers) = answers(&input[..]);
        let case = &line[..40];
        if is_scored {
            assert_eq!(
                (tally.scored, tally.rejected),
                (2, 0),
                "{case:?}: {answers:?}"
            );
            assert!(answers[0]["score"].is_number(), "{case:?}");
        } else {
            assert_eq!(
                (tally.scored, tally.rejected),
                (1, 1),
                "{case:?}: {answers:?}"
            );
            assert_eq!(answers[0]["line"], 1, "{case:?}");
        }
        assert_eq!(answers[1]["id"], "next");
    }
}

/// Writes the seed corpora from the fixtures into `fuzz/corpus/`:
/// `cargo test --release --test fuzz_replay -- --ignored write_seeds`.
#[test]
#[ignore = "writes the seed corpora; run by hand before a fuzzing campaign"]
fn write_seeds() {
    let root = fuzz_dir().join("corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed_{name}")), bytes).unwrap();
    };
    let fixtures =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dms.jsonl"))
            .unwrap();

    // check: field choices, timestamp near the base, sender, recipient,
    // a profile, then a fixture's text.
    for (i, (text, _)) in entry::fixture_texts().iter().enumerate().step_by(6) {
        let mut bytes = vec![1, 2];
        bytes.extend_from_slice(&(i as u32 * 7_000).to_le_bytes());
        bytes.extend_from_slice(&[(i % 6) as u8, 2, 0b11_1111]);
        bytes.extend_from_slice(&(i as u32).to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.push(0);
        bytes.extend_from_slice(&[0; 8]);
        bytes.push(0);
        bytes.extend_from_slice(text.as_bytes());
        write("check", &i.to_string(), &bytes);
    }

    // stream: checks, lessons and unlearnings of fixture texts, and a
    // snapshot round trip.
    for seed in 0..8u8 {
        let mut bytes = Vec::new();
        for k in 0..24u8 {
            let op = (k.wrapping_mul(5).wrapping_add(seed) % 8) | ((k % 4) << 4) | (seed & 8);
            bytes.extend_from_slice(&[op, k % 4, 2 + k % 2, 30, 0x80 | (k * 7 + seed * 13)]);
        }
        write("stream", &seed.to_string(), &bytes);
    }

    // score_lines: the fixtures in slices, and the error cases.
    for (i, chunk) in fixtures.lines().collect::<Vec<_>>().chunks(40).enumerate() {
        write(
            "score_lines",
            &format!("fixtures_{i}"),
            chunk.join("\n").as_bytes(),
        );
    }
    write(
        "score_lines",
        "errors",
        b"\xEF\xBB\xBF{\"text\": \"hi\", \"direction\": \"outgoing\", \"sender\": \"b\", \"recipient\": \"u\", \"ts\": 1}\n[1,2]\n{\"text\": 42}\n\xff\n\n{\"id\": {\"a\": [1]}, \"text\": \"x\", \"direction\": \"sideways\"}\r\n",
    );

    // policy: TOML and JSON.
    let toml = r#"review_threshold = 0.4
block_threshold = 0.9
block_min_families = 1
extra_phrases = ["free gift card"]

[weights]
LINK_SHORTENER = 1.5

[allow]
senders = ["brand_ops"]

[deny]
senders = ["spammer"]
phrases = ["exclusive investment club"]
patterns = ['\bcode\s+\d{4}\b']

[limits]
max_text_bytes = 2000
"#;
    write(
        "policy",
        "toml",
        &[b"\0".as_slice(), toml.as_bytes()].concat(),
    );
    write("policy", "toml_empty", b"\0");
    let json = r#"{"review_threshold": 0.5, "deny": {"phrases": ["win big"], "patterns": ["wa\\.me/\\d+"]}, "allow": {"senders": ["u1"]}, "weights": {"CLASSIFIER_TEXT": 2.0}}"#;
    write(
        "policy",
        "json",
        &[b"\x01".as_slice(), json.as_bytes()].concat(),
    );

    // model: a small trained model as a file, and as a payload.
    let model = entry::small_model().to_bytes();
    write("model", "file", &[&[0u8][..], &model].concat());
    write(
        "model",
        "payload",
        &[&[1u8][..], &model[20..model.len() - 8]].concat(),
    );

    // snapshot: the state after the fixture stream, as a file and as JSON.
    let filter = Filter::default();
    // A slice of the stream: a small file is mutated faster.
    let lines: Vec<&str> = fixtures.lines().step_by(8).collect();
    let mut out = Vec::new();
    wire::score_lines(&filter, lines.join("\n").as_bytes(), &mut out).unwrap();
    filter.learn(
        &Message::new("free coins at coin-drop.example/x").with_id("m1"),
        Label::Spam,
    );
    let mut snap = Vec::new();
    filter.snapshot_state().to_writer(&mut snap).unwrap();
    let body = &snap[..snap.iter().position(|&b| b == b'\n').unwrap()];
    write("snapshot", "file", &[&[0u8][..], &snap].concat());
    write("snapshot", "json", &[&[1u8][..], body].concat());
}

/// An id nested 200 deep was copied into an answer that serde_json (and so
/// the fuzzer's check of every answer) could not read back; 64 deep is
/// still an id.
#[test]
fn regression_score_lines_id_nested_200_deep() {
    regression("score_lines", "id_nested_200_deep", entry::score_lines);
    let input =
        std::fs::read(fuzz_dir().join("regressions/score_lines/id_nested_200_deep")).unwrap();
    let (tally, answers) = answers(&input[..]);
    assert_eq!((tally.scored, tally.rejected), (1, 1));
    assert!(
        answers[0]["error"]
            .as_str()
            .unwrap()
            .contains("id nested deeper")
    );
    assert!(answers[1]["id"]["a"].is_object());
}
