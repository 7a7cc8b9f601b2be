//! The HTTP service of `examples/service/`, run in-process on a loopback
//! port: the JSON contract of its routes, the review queue and feedback,
//! restarts, and the review page in a real browser (skipped, saying so,
//! where Chromium or the page test's node_modules are absent).

#[allow(dead_code)]
#[path = "../examples/service/app.rs"]
mod app;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use app::App;
use app::queue::{Held, HeldReason, Queue};
use dmguard::Filter;
use serde_json::Value;

/// A service on a loopback port; stops when dropped.
struct Server {
    addr: SocketAddr,
    app: Arc<App>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start(app: Arc<App>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app::router(app.clone());
        runtime.spawn(async move { axum::serve(listener, router).await });
        Server {
            addr,
            app,
            runtime: Some(runtime),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving and saves, as the service does on SIGTERM.
    fn stop(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        self.app.save().unwrap();
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, b"")
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        self.request("POST", path, body.as_bytes())
    }

    fn post_json(&self, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = self.post(path, body);
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {text:?}: {e}"));
        (status, value)
    }

    /// One HTTP/1.1 request on its own connection.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        // A server that refuses a body as too large may answer and close
        // before reading all of it: the answer is still read.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        (status, body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn in_memory() -> Server {
    Server::start(App::new(Filter::default(), Queue::in_memory(1000), None))
}

/// A service keeping its state and queue in `dir`, as `--data DIR` does.
fn with_data(dir: &Path) -> Server {
    let state = dir.join("state");
    let filter = Filter::builder().state_dir(&state).build().unwrap();
    let queue = Queue::open(&dir.join("queue.jsonl"), 1000).unwrap();
    Server::start(App::new(filter, queue, Some(state)))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dmguard-service-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const PRIZE: &str = r#"{"id": "p1", "ts": 1750000000000, "sender": "u_new", "recipient": "brand_a", "text": "Congratulations! You won a FREE iPhone, claim now at http://bit.ly/x1z"}"#;

fn fixtures() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl")).unwrap()
}

/// The first held DM of the fixtures' batch whose action is review: a
/// judgement a person may well reverse.
fn held_for_review(server: &Server) -> Value {
    let (status, _) = server.post("/v1/check/batch", &fixtures());
    assert_eq!(status, 200);
    let (_, queue) = server.get("/v1/queue?limit=200");
    let queue: Value = serde_json::from_str(&queue).unwrap();
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["action"] == "review" && h["recipient"].is_string())
        .expect("a fixture held for review")
        .clone()
}

fn score_of(server: &Server, held: &Value, recipient: &str) -> f64 {
    let dm = serde_json::json!({"text": held["text"], "recipient": recipient});
    let (status, verdict) = server.post_json("/v1/check", &dm.to_string());
    assert_eq!(status, 200, "{verdict}");
    verdict["score"].as_f64().unwrap()
}

#[test]
fn check_answers_in_the_wire_contract_and_holds_what_is_flagged() {
    let server = in_memory();
    let (status, verdict) = server.post_json("/v1/check", PRIZE);
    assert_eq!(status, 200);
    assert_eq!(verdict["id"], "p1");
    assert_eq!(verdict["action"], "block", "{verdict}");
    assert!(verdict["reasons"][0]["code"].is_string());

    let (status, queue) = server.get("/v1/queue");
    assert_eq!(status, 200);
    let queue: Value = serde_json::from_str(&queue).unwrap();
    assert_eq!(queue["pending"], 1);
    let held = &queue["items"][0];
    assert_eq!(held["id"], "p1");
    assert_eq!(held["recipient"], "brand_a");
    let marked: Vec<(&str, &str)> = held["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| Some((s["mark"].as_str()?, s["text"].as_str()?)))
        .collect();
    assert!(
        marked.contains(&("link", "http://bit.ly/x1z")),
        "{marked:?}"
    );
    assert!(marked.iter().any(|&(m, _)| m == "phrase"), "{marked:?}");

    let (status, recorded) = server.post_json(
        "/v1/outgoing",
        r#"{"id": "o1", "sender": "brand_a", "recipient": "u1", "text": "How can we help?"}"#,
    );
    assert_eq!(
        (status, &recorded["recorded"]),
        (200, &Value::from("outgoing"))
    );
}

#[test]
fn bad_requests_get_a_json_error_naming_the_problem() {
    let server = in_memory();
    let cases = [
        (
            "/v1/check",
            r#"{"text": 42}"#.to_string(),
            400,
            "expected a string",
        ),
        (
            "/v1/check",
            r#"["p1", "hi"]"#.to_string(),
            400,
            "must be a JSON object",
        ),
        ("/v1/check", "\u{1}".to_string(), 400, "not a DM"),
        (
            "/v1/check",
            r#"{"text": "hi", "direction": "sideways"}"#.to_string(),
            400,
            "sideways",
        ),
        (
            "/v1/check",
            format!(r#"{{"text": "{}"}}"#, "a".repeat(app::MAX_BODY_BYTES)),
            413,
            "larger than",
        ),
        (
            "/v1/feedback",
            r#"{"id": "nope", "label": "spam"}"#.to_string(),
            404,
            "no held DM",
        ),
        (
            "/v1/feedback",
            r#"{"id": "p1", "label": "maybe"}"#.to_string(),
            400,
            "maybe",
        ),
        ("/v1/feedback", r#"{"id": "p1"}"#.to_string(), 400, "label"),
        ("/v1/nothing", "{}".to_string(), 404, "no such route"),
    ];
    for (path, body, want_status, want_error) in cases {
        let (status, answer) = server.post_json(path, &body);
        let error = answer["error"].as_str().unwrap_or_default();
        assert_eq!(status, want_status, "{path} {body:.60}: {answer}");
        assert!(error.contains(want_error), "{path} {body:.60}: {error}");
    }
    let (status, answer) = server.get("/v1/queue?limit=many");
    assert_eq!(status, 400, "{answer}");
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200, "the service still answers");
}

#[test]
fn hostile_bodies_get_an_answer_and_the_service_goes_on() {
    let server = in_memory();
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\xff\xfe{\"text\": \"hi\"}".to_vec(),
        b"{\"text\": \"a\0b\"}".to_vec(),
        format!(r#"{{"text": "x", "id": {deep}}}"#).into_bytes(),
        deep.clone().into_bytes(),
        format!(r#"{{"text": "{}"}}"#, "🙂\u{202e}".repeat(5_000)).into_bytes(),
        br#"{"text": "\ud800"}"#.to_vec(),
        br#"{"text": "hi", "ts": 1e400}"#.to_vec(),
        br#"{"text": "hi", "sender_profile": {"followers": -1}}"#.to_vec(),
    ];
    for body in &bodies {
        for path in [
            "/v1/check",
            "/v1/check/batch",
            "/v1/outgoing",
            "/v1/feedback",
        ] {
            let (status, answer) = server.request("POST", path, body);
            let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
            assert!(
                status == 200 || (400..500).contains(&status),
                "{path} {shown:?}: {status} {answer:.200}"
            );
            if status != 200 {
                let error: Value = serde_json::from_str(&answer).unwrap();
                assert!(
                    error["error"].is_string(),
                    "{path} {shown:?}: {answer:.200}"
                );
            }
        }
    }
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn batch_answers_every_line_in_order() {
    let server = in_memory();
    let body = format!(
        "{PRIZE}\n\n{{\"id\": 2, \"text\": 3}}\r\n{{\"id\": 3, \"text\": \"where is my order?\"}}\n"
    );
    let (status, answer) = server.post("/v1/check/batch", &body);
    assert_eq!(status, 200);
    let lines: Vec<Value> = answer
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{answer}");
    assert_eq!(lines[0]["id"], "p1");
    assert_eq!(lines[1]["line"], 3);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("expected a string")
    );
    assert_eq!(
        (&lines[2]["id"], &lines[2]["action"]),
        (&Value::from(3), &Value::from("allow"))
    );
}

#[test]
fn not_spam_leaves_the_queue_and_moves_only_that_brands_verdict() {
    let server = in_memory();
    let held = held_for_review(&server);
    let id = held["id"].as_str().unwrap();
    let brand = held["recipient"].as_str().unwrap();
    let before = score_of(&server, &held, brand);
    let other_before = score_of(&server, &held, "some_other_brand");

    let feedback = serde_json::json!({"id": id, "label": "ham"}).to_string();
    let (status, answer) = server.post_json("/v1/feedback", &feedback);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["learned"].as_bool(), answer["reversed"].as_bool()),
        (Some(true), Some(false))
    );
    let (_, queue) = server.get("/v1/queue?limit=200");
    assert!(
        !queue.contains(&format!("\"id\":\"{id}\"")),
        "{id} left the queue"
    );

    let after = score_of(&server, &held, brand);
    assert!(after < before, "{id}: {before} -> {after}");
    assert_eq!(score_of(&server, &held, "some_other_brand"), other_before);

    // The same decision again changes nothing; the opposite one takes the
    // lesson back before learning the new one.
    let (_, again) = server.post_json("/v1/feedback", &feedback);
    assert_eq!(again["learned"], false);
    let spam = serde_json::json!({"id": id, "label": "spam"}).to_string();
    let (_, reversed) = server.post_json("/v1/feedback", &spam);
    assert_eq!(reversed["reversed"], true);
    assert!(score_of(&server, &held, brand) > before);

    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("dmguard_feedback_total 2"), "{metrics}");
    assert!(metrics.contains("dmguard_check_seconds_count "));
    assert!(metrics.contains("dmguard_verdicts_total{action=\"review\"} "));
    assert!(metrics.contains("dmguard_state_senders "));
}

#[test]
fn a_restart_keeps_the_queue_and_what_was_learned() {
    let dir = temp_dir("restart");
    let server = with_data(&dir);
    let held = held_for_review(&server);
    let id = held["id"].as_str().unwrap().to_string();
    let brand = held["recipient"].as_str().unwrap().to_string();
    let feedback = serde_json::json!({"id": id, "label": "ham"}).to_string();
    assert_eq!(server.post_json("/v1/feedback", &feedback).0, 200);
    // Asking for a score holds the DM again when it is still flagged: the
    // queue is read after.
    let learned = score_of(&server, &held, &brand);
    let (_, queue_before) = server.get("/v1/queue?limit=200");
    server.stop();

    let server = with_data(&dir);
    let (_, queue_after) = server.get("/v1/queue?limit=200");
    assert!(queue_after == queue_before, "the queue came back whole");
    assert_eq!(score_of(&server, &held, &brand), learned);
    // The lesson's journal came back too: reversing it still unlearns.
    let spam = serde_json::json!({"id": id, "label": "spam"}).to_string();
    assert_eq!(server.post_json("/v1/feedback", &spam).1["reversed"], true);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn held_entry(id: &str) -> Held {
    Held {
        seq: 0,
        id: id.to_string(),
        ts: None,
        sender: None,
        recipient: None,
        text: "text".into(),
        segments: Vec::new(),
        sender_profile: None,
        score: 0.7,
        action: "review".into(),
        reasons: Vec::new(),
        campaign: None,
        decision: None,
    }
}

#[test]
fn the_store_is_bounded_and_drops_decided_entries_first() {
    let dir = temp_dir("bound");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("queue.jsonl");
    let mut queue = Queue::open(&path, 3).unwrap();
    for id in ["a", "b", "c"] {
        queue.push(held_entry(id)).unwrap();
    }
    queue.decide(queue.find("b").unwrap().seq, "spam").unwrap();
    queue.push(held_entry("d")).unwrap();
    assert!(queue.find("b").is_none(), "the decided entry went first");
    queue.push(held_entry("e")).unwrap();
    assert!(queue.find("a").is_none(), "then the oldest");
    for _ in 0..20 {
        queue.push(held_entry("")).unwrap();
    }
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert!(lines <= 6, "the journal is compacted: {lines} lines");

    // A retried DM waiting for a decision is held once; once decided, the
    // same id may be held again.
    let f = queue.push(held_entry("f")).unwrap();
    let pending = queue.pending();
    assert_eq!(queue.push(held_entry("f")).unwrap(), f);
    assert_eq!(queue.pending(), pending);
    queue.decide(f, "ham").unwrap();
    assert_ne!(queue.push(held_entry("f")).unwrap(), f);

    // A torn last line (a crash mid-write) is skipped.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"seq\": 99, \"id\": \"tor")
        .unwrap();
    drop(queue);
    let queue = Queue::open(&path, 3).unwrap();
    assert_eq!(queue.pending(), 3);
    let (items, next) = queue.page(None, 2);
    assert_eq!(items.len(), 2);
    assert!(items[0].seq > items[1].seq, "newest first");
    let (rest, none) = queue.page(next, 2);
    assert_eq!((rest.len(), none), (1, None));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn evidence_is_marked_where_it_stands_in_the_text() {
    let reasons = [HeldReason {
        code: "TEXT_LOOKALIKE_WORD".into(),
        weight: 1.0,
        detail: "\"Pаypal\" reads as \"paypal\"".into(),
    }];
    let text = "Your Pаypal is locked: see https://evil.example/x now";
    let segments = app::segments(text, &reasons);
    let joined: String = segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(joined, text, "the pieces make up the text");
    let marked: Vec<_> = segments
        .iter()
        .filter_map(|s| Some((s.mark.as_deref()?, s.text.as_str())))
        .collect();
    assert_eq!(
        marked,
        [("phrase", "Pаypal"), ("link", "https://evil.example/x")]
    );
}

#[test]
fn campaign_size_counts_inboxes_or_senders_not_minutes() {
    let reason = |code: &str, detail: &str| HeldReason {
        code: code.into(),
        weight: 1.0,
        detail: detail.into(),
    };
    let cases = [
        (
            "CAMPAIGN_FANOUT",
            "the same text reached 7 inboxes from 2 sender(s) in the last 30 min",
            Some(7),
        ),
        (
            "CAMPAIGN_SWARM",
            "3 of 4 senders of this text in the last 60 min are new accounts",
            Some(4),
        ),
        ("TEXT_PHONE", "phone number \"0906 170 1461\"", None),
    ];
    for (code, detail, want) in cases {
        assert_eq!(
            app::campaign_size(&[reason(code, detail)]),
            want,
            "{detail}"
        );
    }
}

/// The review page in headless Chromium: a held DM with its reasons, "Not
/// spam" clicked, the DM gone from the queue, the brand's verdict moved.
#[test]
fn review_page_in_a_browser() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        println!("skipped: no chromium at {chromium} (apt-get install chromium)");
        return;
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        println!("skipped: no node_modules in tests/browser (npm ci there)");
        return;
    }
    let server = in_memory();
    let held = held_for_review(&server);
    let id = held["id"].as_str().unwrap();
    let brand = held["recipient"].as_str().unwrap();
    let before = score_of(&server, &held, brand);

    let mut node = Command::new("node");
    node.arg(browser_dir.join("review.mjs"))
        .arg(server.url())
        .arg(id)
        .env("CHROMIUM", &chromium);
    if let Ok(png) = std::env::var("REVIEW_SCREENSHOT") {
        node.arg(png);
    }
    let out = match node.output() {
        Ok(out) => out,
        Err(e) => {
            println!("skipped: cannot run node: {e}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(!seen["reasons"].as_array().unwrap().is_empty(), "{seen}");

    let (_, queue) = server.get("/v1/queue?limit=200");
    assert!(
        !queue.contains(&format!("\"id\":\"{id}\"")),
        "{id} left the queue"
    );
    let after = score_of(&server, &held, brand);
    assert!(
        after < before,
        "the brand's verdict moved: {before} -> {after}"
    );
}
