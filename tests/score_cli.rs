//! The example CLIs end to end: `score` reports and skips bad lines and
//! scores the rest of the stream, in order; it answers a pipe line by line;
//! every example answers `--help`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// Every example with a command line.
const EXAMPLES: &[&str] = &[
    "score",
    "train",
    "evaluate",
    "simulate",
    "throughput",
    "expand_links",
    "adapt",
];

/// Builds the examples once (a plain `cargo test` builds them already; a
/// filtered run may not have) and returns the path of `name`.
fn example_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let mut args = vec!["build", "--quiet", "--examples"];
        if !cfg!(debug_assertions) {
            args.push("--release");
        }
        let status = Command::new(env!("CARGO"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the examples failed");
        let deps = std::env::current_exe().unwrap();
        let profile_dir = deps.parent().unwrap().parent().unwrap();
        profile_dir.join("examples")
    });
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(example_bin("score"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("score starts");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().unwrap();
    // A run that stops early (a bad policy) closes its input unread.
    match writer.join().unwrap() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing input: {e}"),
        _ => output,
    }
}

fn lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every output line is JSON"))
        .collect()
}

#[test]
fn bad_lines_are_reported_and_the_stream_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\":\"ok1\",\"text\":\"where is my parcel?\"}\n");
    input.extend_from_slice(b"this is not json\n");
    input.extend_from_slice(b"{\"id\":\"no_text\",\"sender\":\"u1\"}\n");
    input.extend_from_slice(b"{\"id\":\"bad_utf8\",\"text\":\"\xff\xfe\"}\n");
    input.extend_from_slice(b"{\"id\":\"empty\",\"text\":\"\"}\n");
    input.extend_from_slice("{\"id\":\"emoji\",\"text\":\"😀🔥💯\"}\n".as_bytes());
    let big = format!("{{\"id\":\"big\",\"text\":\"{}\"}}\n", "x".repeat(10 << 20));
    input.extend_from_slice(big.as_bytes());
    input.extend_from_slice(b"{\"id\":\"last\",\"text\":\"thanks!\",\"unknown\":[1,2]}");

    let output = run(&[], &input);
    assert_eq!(output.status.code(), Some(2), "some lines were rejected");
    let out = lines(&output);
    let ids: Vec<String> = out
        .iter()
        .map(|v| match (v.get("id"), v.get("line")) {
            (Some(id), _) => id.as_str().unwrap().to_string(),
            (None, Some(n)) => format!("error@{n}"),
            _ => panic!("neither a verdict nor an error: {v}"),
        })
        .collect();
    assert_eq!(
        ids,
        [
            "ok1", "error@2", "error@3", "error@4", "empty", "emoji", "big", "last"
        ]
    );
    assert!(
        out[2]["error"].as_str().unwrap().contains("text"),
        "{}",
        out[2]
    );
    assert!(
        out[3]["error"].as_str().unwrap().contains("UTF-8"),
        "{}",
        out[3]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("5 scored, 3 rejected"), "{stderr}");
}

#[test]
fn ids_of_any_json_type_come_back_as_written() {
    let input = concat!(
        "{\"id\":\"m1\",\"text\":\"hi\"}\n",
        "{\"id\":42,\"text\":\"hi\"}\n",
        "{\"id\":\"quote \\\" inside\",\"text\":\"hi\"}\n",
        "{\"id\":{\"shard\":3,\"seq\":[1,2]},\"text\":\"hi\"}\n",
        "{\"id\":null,\"text\":\"hi\"}\n",
        "{\"text\":\"hi\"}\n",
    );
    let output = run(&[], input.as_bytes());
    assert_eq!(output.status.code(), Some(0));
    let ids: Vec<serde_json::Value> = lines(&output).iter().map(|v| v["id"].clone()).collect();
    assert_eq!(
        ids,
        [
            serde_json::json!("m1"),
            serde_json::json!(42),
            serde_json::json!("quote \" inside"),
            serde_json::json!({"shard": 3, "seq": [1, 2]}),
            serde_json::Value::Null,
            serde_json::Value::Null,
        ]
    );
}

#[test]
fn the_fixture_stream_scores_cleanly() {
    let output = run(&["fixtures/dms.jsonl"], b"");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = lines(&output);
    assert!(out.len() >= 80);
    for v in &out {
        let score = v["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert!(["allow", "review", "block"].contains(&v["action"].as_str().unwrap()));
    }
}

#[test]
fn a_malformed_policy_stops_the_run_before_any_line() {
    let dir = std::env::temp_dir().join(format!("dmguard-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "review_threshold = 0.5\nblock_threshhold = 0.9\n").unwrap();
    let output = run(
        &["--policy", path.to_str().unwrap()],
        b"{\"text\":\"hi\"}\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("block_threshhold") && stderr.contains("line 2"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_model_file_stops_the_run_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("dmguard-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.dmgm");
    std::fs::write(&path, b"not a model at all").unwrap();
    let output = run(&["--model", path.to_str().unwrap()], b"{\"text\":\"hi\"}\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("model"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A service drives `score` through a pipe: each DM written is answered
/// while the pipe stays open, before the next one is written.
#[test]
fn a_pipe_is_answered_line_by_line() {
    let mut child = Command::new(example_bin("score"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("score starts");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (answers, answered) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if answers.send(line.expect("stdout is UTF-8")).is_err() {
                break;
            }
        }
    });
    let mut next_answer = |sent: &str| match answered.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => serde_json::from_str::<serde_json::Value>(&line).unwrap(),
        Err(e) => {
            let _ = child.kill();
            panic!("no answer to {sent} while the pipe is open: {e}");
        }
    };
    for (id, text) in [("p1", "where is my parcel?"), ("p2", "hi again")] {
        let line = format!("{{\"id\":\"{id}\",\"text\":\"{text}\"}}\n");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let answer = next_answer(&line);
        assert_eq!(answer["id"], id, "{answer}");
        assert!(answer["score"].as_f64().is_some(), "{answer}");
    }
    // A line that is not a DM is answered at once too.
    stdin.write_all(b"not json\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(next_answer("not json")["line"], 3);
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(2));
    reader.join().unwrap();
}

#[test]
fn every_example_answers_help_on_stdout() {
    for name in EXAMPLES {
        for flag in ["--help", "-h"] {
            let output = Command::new(example_bin(name))
                .arg(flag)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdin(Stdio::null())
                .output()
                .expect("the example starts");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{name} {flag}: {:?}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(
                stdout.starts_with(&format!("usage: {name}")),
                "{name} {flag}: {stdout}"
            );
        }
    }
}

#[test]
fn score_help_names_every_flag_it_accepts() {
    let output = Command::new(example_bin("score"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in ["--policy FILE", "--model FILE", "--state DIR", "-h, --help"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let output = Command::new(example_bin("score"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--no-such-flag") && stderr.contains("usage: score"));
}

#[test]
fn state_is_loaded_at_start_and_saved_at_the_end() {
    let dir = std::env::temp_dir().join(format!("dmguard-score-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().unwrap();
    let line = br#"{"id": 1, "ts": 1750000000000, "sender": "u1", "recipient": "brand_a", "text": "hi, where is my order?"}
"#;
    let first_contact = |output: &Output| {
        assert!(output.status.success(), "{output:?}");
        lines(output)[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "SENDER_FIRST_CONTACT")
    };
    assert!(first_contact(&run(&["--state", dir_arg], line)));
    assert!(dir.join("MANIFEST").exists());
    // The second run remembers that u1 wrote to brand_a before.
    assert!(!first_contact(&run(&["--state", dir_arg], line)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_outgoing_line_is_recorded_and_the_answer_is_in_a_conversation() {
    let input = concat!(
        r#"{"id": "r1", "direction": "outgoing", "ts": 1750000000000, "sender": "brand_01", "recipient": "u_dani", "text": "Sorry! What is your order number?"}"#,
        "\n",
        r#"{"id": "a1", "direction": "incoming", "ts": 1750000060000, "sender": "u_dani", "recipient": "brand_01", "text": "it's 482913, still nothing"}"#,
        "\n",
        r#"{"id": "a2", "ts": 1750000061000, "sender": "u_sam", "recipient": "brand_01", "text": "it's 771204, still nothing"}"#,
        "\n",
        r#"{"id": "x1", "direction": "sideways", "text": "hi"}"#,
        "\n",
    );
    let output = run(&[], input.as_bytes());
    let out = lines(&output);
    assert_eq!(out.len(), 4, "one output line per input line");
    assert_eq!(
        out[0],
        serde_json::json!({"id": "r1", "recorded": "outgoing"})
    );
    let codes = |v: &serde_json::Value| -> Vec<String> {
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        codes(&out[1]).contains(&"SENDER_IN_CONVERSATION".to_string()),
        "{}",
        out[1]
    );
    assert!(
        !codes(&out[2]).contains(&"SENDER_IN_CONVERSATION".to_string()),
        "{}",
        out[2]
    );
    assert!(out[1]["families"].is_array() && out[2]["families"].is_array());
    assert_eq!(out[3]["line"], 4);
    assert!(
        out[3]["error"].as_str().unwrap().contains("sideways"),
        "{}",
        out[3]
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "the bad direction is a rejected line"
    );
}

#[test]
fn families_are_named_in_lowercase() {
    let input = concat!(
        r#"{"id": 1, "ts": 1750000000000, "sender": "fresh", "recipient": "brand_01", "sender_profile": {"account_age_days": 0, "followers": 0, "following": 900}, "text": "CONGRATULATIONS you won a free iPhone, claim your prize now at bit.ly/fr33"}"#,
        "\n",
    );
    let out = lines(&run(&[], input.as_bytes()));
    let families: Vec<&str> = out[0]["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        families.contains(&"text") && families.contains(&"link"),
        "{}",
        out[0]
    );
    assert_eq!(out[0]["action"], "block", "{}", out[0]);
}

#[test]
fn an_array_is_refused_not_read_by_position() {
    let input = concat!(
        "[\"m1\", 1750000000000, \"u1\", \"brand\", \"hello there\"]\n",
        "{\"id\":\"m2\",\"text\":\"hello there\"}\n",
    );
    let output = run(&[], input.as_bytes());
    assert_eq!(output.status.code(), Some(2));
    let out = lines(&output);
    assert_eq!(out[0]["line"], 1, "{}", out[0]);
    let error = out[0]["error"].as_str().unwrap();
    assert!(error.contains("JSON object"), "{error}");
    assert_eq!(out[1]["id"], "m2");
}

#[test]
fn a_byte_order_mark_before_the_first_line_is_skipped() {
    let mut input = b"\xEF\xBB\xBF{\"id\":\"m1\",\"text\":\"hi\"}\n".to_vec();
    // Anywhere else it is no part of JSON.
    input.extend_from_slice(b"\xEF\xBB\xBF{\"id\":\"m2\",\"text\":\"hi\"}\n");
    let output = run(&[], &input);
    let out = lines(&output);
    assert_eq!(out[0]["id"], "m1", "{}", out[0]);
    assert_eq!(out[1]["line"], 2, "{}", out[1]);
    // A file that is only a mark and a line break holds no DM.
    let output = run(&[], b"\xEF\xBB\xBF\n");
    assert_eq!(output.status.code(), Some(0));
    assert!(lines(&output).is_empty());
}

#[test]
fn a_line_error_names_its_column_not_line_1() {
    let input = concat!(
        "{\"id\":\"m1\",\"text\":\"hi\"}\n",
        "{\"id\":\"m2\",\"text\":\"hi\",}\n",
        "{\"id\":\"m3\",\"ts\":\"soon\",\"text\":\"hi\"}\n",
    );
    let output = run(&[], input.as_bytes());
    let out = lines(&output);
    let (second, third) = (
        out[1]["error"].as_str().unwrap(),
        out[2]["error"].as_str().unwrap(),
    );
    assert_eq!(out[1]["line"], 2);
    assert!(second.ends_with("at column 24"), "{second}");
    assert_eq!(out[2]["line"], 3);
    assert!(third.contains("at column"), "{third}");
    for error in [second, third] {
        assert!(!error.contains("line 1"), "{error}");
    }
}

#[test]
fn a_far_future_timestamp_line_does_not_make_a_customer_late() {
    let mut input = String::new();
    let customer = |i: i64| {
        format!(
            "{{\"id\":\"c{i}\",\"ts\":{},\"sender\":\"u7\",\"recipient\":\"brand\",\
             \"text\":\"hi, any news on my order {i}?\"}}\n",
            1_750_000_000_000 + i * 240_000
        )
    };
    input.push_str(&customer(0));
    // A float is no timestamp in ms; a huge integer is one the filter
    // cannot hold and counts as untimed.
    input.push_str("{\"id\":\"f\",\"ts\":9e18,\"sender\":\"x\",\"text\":\"win now\"}\n");
    input.push_str("{\"id\":\"i\",\"ts\":9000000000000000000,\"sender\":\"x\",\"text\":\"win\"}\n");
    input.push_str(
        "{\"id\":\"y\",\"ts\":1781536000000,\"sender\":\"x\",\"text\":\"a year ahead\"}\n",
    );
    for i in 1..10 {
        input.push_str(&customer(i));
    }
    let output = run(&[], input.as_bytes());
    let out = lines(&output);
    assert_eq!(out[1]["line"], 2, "the float is refused: {}", out[1]);
    for v in out
        .iter()
        .filter(|v| v["id"].as_str().is_some_and(|id| id.starts_with('c')))
    {
        let codes: Vec<&str> = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert!(!codes.contains(&"SENDER_BURST"), "{v}");
    }
}
