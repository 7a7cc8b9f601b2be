//! The `score` example end to end: bad lines are reported and skipped, the
//! rest of the stream is still scored, in order.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Builds the example once (a plain `cargo test` builds it already; a
/// filtered run may not have) and returns its path.
fn score_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut args = vec!["build", "--quiet", "--example", "score"];
        if !cfg!(debug_assertions) {
            args.push("--release");
        }
        let status = Command::new(env!("CARGO"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the score example failed");
        let deps = std::env::current_exe().unwrap();
        let profile_dir = deps.parent().unwrap().parent().unwrap();
        profile_dir
            .join("examples")
            .join(format!("score{}", std::env::consts::EXE_SUFFIX))
    })
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(score_bin())
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
