//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs`
//! (cargo-fuzz, nightly) and by `tests/fuzz_replay.rs` (stable), so that
//! the replay of the committed corpora runs exactly the fuzzed code.
//!
//! Each entry point takes arbitrary bytes, drives one public entry point of
//! the library with them and asserts what must hold whatever the input: no
//! panic, a score in `[0, 1]`, an action that follows from the score and
//! the policy, finite reason weights, loaders that answer `Ok` or `Err`.
//! The bytes are read by a small cursor rather than by `arbitrary`, so
//! that the stable replay needs no dependency beyond the library's.

#![allow(dead_code)]

use std::borrow::Cow;
use std::sync::OnceLock;

use dmguard::{
    Action, Filter, Label, LearnScope, Message, Model, Policy, SenderProfile, StateSnapshot,
    TrainOptions, Verdict, wire,
};

/// The event time the fixtures start near; most fuzzed timestamps are an
/// offset from it, so that rate and campaign windows are reached.
const BASE_MS: i64 = 1_750_000_000_000;

/// Senders, recipients and ids are drawn from small sets, so that the
/// stream state sees the same sender twice and `unlearn` meets ids that
/// were learned.
const NAMES: [&str; 6] = ["u1", "u2", "brand_01", "brand_02", "", "u\u{301}1"];
const IDS: [&str; 4] = ["m1", "m2", "m3", ""];

/// The fixtures' DMs, some of whose texts the stream target learns from.
const FIXTURES: &str = include_str!("../fixtures/dms.jsonl");

/// Reads fields from the fuzzer's bytes; past the end every read gives
/// zero, so any input is a complete case.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn u8(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        head
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let head = self.take(8);
        b[..head.len()].copy_from_slice(head);
        u64::from_le_bytes(b)
    }

    fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let head = self.take(4);
        b[..head.len()].copy_from_slice(head);
        u32::from_le_bytes(b)
    }

    fn rest(&mut self) -> &'a [u8] {
        self.take(self.bytes.len())
    }

    /// A timestamp: mostly near [`BASE_MS`], sometimes any `i64` (far
    /// future, far past, the extremes), sometimes none.
    fn timestamp(&mut self) -> Option<i64> {
        match self.u8() % 4 {
            0 => None,
            1 => Some(self.u64() as i64),
            _ => Some(BASE_MS + i64::from(self.u32() % 10_000_000)),
        }
    }

    fn name(&mut self) -> Option<&'static str> {
        let b = self.u8();
        (b & 0x80 == 0).then(|| NAMES[usize::from(b) % NAMES.len()])
    }

    fn profile(&mut self) -> Option<SenderProfile> {
        let flags = self.u8();
        if flags & 1 == 0 {
            return None;
        }
        Some(SenderProfile {
            account_age_days: (flags & 2 != 0).then(|| self.u32()),
            followers: (flags & 4 != 0).then(|| self.u64() >> (self.u8() % 64)),
            following: (flags & 8 != 0).then(|| self.u64() >> (self.u8() % 64)),
            verified: flags & 16 != 0,
            recipient_follows_sender: flags & 32 != 0,
        })
    }
}

/// Bytes as text, the way a platform would hand over a DM that was not
/// valid UTF-8.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// What every verdict must satisfy under `policy`.
pub fn assert_verdict(verdict: &Verdict, policy: &Policy) {
    let score = verdict.score;
    assert!(
        score.is_finite() && (0.0..=1.0).contains(&score),
        "score {score} outside [0, 1]"
    );
    for reason in &verdict.reasons {
        assert!(
            reason.weight.is_finite(),
            "reason {} has weight {}",
            reason.code,
            reason.weight
        );
        assert!(!reason.code.is_empty(), "a reason without a code");
    }
    if verdict.reason("POLICY_ALLOW_SENDER").is_some() {
        assert_eq!(
            verdict.action,
            Action::Allow,
            "an allowed sender: {verdict:?}"
        );
        return;
    }
    if verdict.reason("POLICY_DENY_SENDER").is_some() {
        assert_eq!(
            verdict.action,
            Action::Block,
            "a denied sender: {verdict:?}"
        );
        return;
    }
    match verdict.action {
        Action::Allow => assert!(
            score < policy.review_threshold,
            "allowed at {score} (review from {}): {verdict:?}",
            policy.review_threshold
        ),
        Action::Review => assert!(
            score >= policy.review_threshold,
            "review at {score} (review from {}): {verdict:?}",
            policy.review_threshold
        ),
        Action::Block => assert!(
            score >= policy.block_threshold,
            "blocked at {score} (block from {}): {verdict:?}",
            policy.block_threshold
        ),
    }
}

/// The built-in policy with small stream caps, so that the few messages
/// of one input reach the stream tables' eviction.
pub fn small_policy() -> Policy {
    Policy::from_toml_str(
        "[stream]\nmax_senders = 64\nmax_fingerprints = 256\nmax_conversations = 64\n",
    )
    .expect("the small stream caps are valid")
}

/// The built-in filter, shared by the targets that do not change what it
/// learned.
fn builtin_filter() -> &'static Filter {
    static FILTER: OnceLock<Filter> = OnceLock::new();
    FILTER.get_or_init(Filter::default)
}

/// A small model trained on the fixtures: cheap to clone into a fresh
/// filter for every input of the stream target.
pub fn small_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let examples: Vec<(Message<'_>, Label)> = fixture_texts()
            .iter()
            .map(|(text, label)| (Message::new(text), *label))
            .collect();
        let options = TrainOptions {
            table_bits: 8,
            ..TrainOptions::default()
        };
        Model::train(&examples, &options).expect("the fixtures train a model")
    })
}

/// The fixtures' texts and labels.
pub fn fixture_texts() -> &'static [(String, Label)] {
    static TEXTS: OnceLock<Vec<(String, Label)>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        FIXTURES
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("a fixture line");
                let text = v["text"].as_str().expect("a fixture text").to_string();
                let label = v["label"].as_str().expect("a fixture label");
                (text, label.parse().expect("spam or ham"))
            })
            .collect()
    })
}

/// `Filter::check` of the built-in filter on arbitrary bytes as text, with
/// an arbitrary id, timestamp, sender, recipient and profile.
///
/// Layout: one byte of field choices, then the fields, then the text.
pub fn check(data: &[u8]) {
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let timestamp_ms = c.timestamp();
    let sender = c.name();
    let recipient = c.name();
    let profile = c.profile();
    let body = text(c.rest());
    let msg = Message {
        text: &body,
        id: (flags & 1 != 0).then_some("m1"),
        timestamp_ms,
        sender,
        recipient,
        profile,
    };
    let filter = builtin_filter();
    assert_verdict(&filter.check(&msg), filter.policy());
    if flags & 2 != 0 {
        filter.observe_outgoing(&msg);
    }
}

/// A stream of checks, lessons (shared or for a brand), unlearnings,
/// outgoing DMs and snapshot round trips on one fresh filter with a small
/// model.
pub fn stream(data: &[u8]) {
    let filter = Filter::builder()
        .policy(small_policy())
        .model(small_model().clone())
        .build()
        .expect("the default policy and a trained model build");
    let fixtures = fixture_texts();
    let mut c = Cursor::new(data);
    let mut ts = BASE_MS;
    // At most this many operations, so that one input stays fast.
    for _ in 0..64 {
        if c.is_empty() {
            break;
        }
        let op = c.u8();
        let id = IDS[usize::from(op >> 4) % IDS.len()];
        let sender = c.name();
        let recipient = c.name();
        let step = c.u8();
        ts = match step {
            255 => c.u64() as i64,
            254 => ts.saturating_sub(i64::from(c.u32())),
            s => ts.saturating_add(i64::from(s) * 1_000),
        };
        let len = c.u8();
        let owned;
        let body: &str = if len & 0x80 != 0 {
            &fixtures[usize::from(len & 0x7f) % fixtures.len()].0
        } else {
            owned = text(c.take(usize::from(len)));
            &owned
        };
        let msg = Message {
            text: body,
            id: (!id.is_empty()).then_some(id),
            timestamp_ms: Some(ts),
            sender,
            recipient,
            profile: None,
        };
        let label = if op & 8 != 0 { Label::Spam } else { Label::Ham };
        match op % 8 {
            0..=2 => assert_verdict(&filter.check(&msg), filter.policy()),
            3 => filter.learn(&msg, label),
            4 => filter.learn_scoped(&msg, label, LearnScope::Brand(recipient.unwrap_or(""))),
            5 => {
                filter.unlearn(id);
            }
            6 => filter.observe_outgoing(&msg),
            _ => {
                let mut bytes = Vec::new();
                filter
                    .snapshot_state()
                    .to_writer(&mut bytes)
                    .expect("a snapshot writes to memory");
                let snapshot = StateSnapshot::from_reader(&bytes[..])
                    .expect("a filter reads back its own snapshot");
                filter
                    .restore_state(&snapshot)
                    .expect("a filter restores its own snapshot");
            }
        }
    }
    let probe = Message::new("claim your free prize now at bit.ly/x").with_timestamp_ms(ts);
    assert_verdict(&filter.check(&probe), filter.policy());
}

/// `wire::score_lines` (what the `score` example runs) on arbitrary bytes:
/// it must answer every non-blank line with one line of JSON.
pub fn score_lines(data: &[u8]) {
    let filter = builtin_filter();
    let mut out = Vec::new();
    let tally = wire::score_lines(filter, data, &mut out).expect("memory never fails");
    let answers = out.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let mut count = 0u64;
    for answer in answers {
        count += 1;
        let value: serde_json::Value =
            serde_json::from_slice(answer).expect("every answer is one line of JSON");
        if let Some(score) = value.get("score") {
            let score = score.as_f64().expect("a score is a number");
            assert!((0.0..=1.0).contains(&score), "score {score}");
        }
    }
    assert_eq!(count, tally.scored + tally.recorded + tally.rejected);
}

/// The policy loaders, TOML and JSON (chosen by the first byte); a policy
/// that loads must build a filter, whose verdicts follow its thresholds.
pub fn policy(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(source) = std::str::from_utf8(rest) else {
        return;
    };
    let loaded = if kind & 1 == 0 {
        Policy::from_toml_str(source)
    } else {
        Policy::from_json_str(source)
    };
    let Ok(policy) = loaded else {
        return;
    };
    let filter = Filter::builder()
        .policy(policy)
        .without_model()
        .build()
        .expect("a policy that loads builds a filter");
    for text in [
        "claim your free prize now at bit.ly/x",
        "where is my order?",
        "",
    ] {
        let msg = Message::new(text)
            .with_sender("u1")
            .with_timestamp_ms(BASE_MS);
        assert_verdict(&filter.check(&msg), filter.policy());
    }
}

/// The model file's header as this build writes it: magic and version.
fn model_header() -> &'static [u8] {
    static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
    HEADER.get_or_init(|| small_model().to_bytes()[..12].to_vec())
}

/// FNV-1a 64, the checksum of model files and snapshots.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The fuzzed bytes after the first, as a file (first byte even) or as a
/// payload that `wrap` makes a well-formed file of (odd), so that the
/// fuzzer reaches both the checks of the frame and the parser behind them.
fn as_file(data: &[u8], wrap: fn(&[u8]) -> Vec<u8>) -> Option<Cow<'_, [u8]>> {
    let (&kind, rest) = data.split_first()?;
    Some(if kind & 1 == 0 {
        Cow::Borrowed(rest)
    } else {
        Cow::Owned(wrap(rest))
    })
}

/// Wraps a payload in a model file's header and checksum, so that the
/// fuzzer reaches the payload's parser past the checksum.
pub fn model_file(payload: &[u8]) -> Vec<u8> {
    let mut file = model_header().to_vec();
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(payload);
    file.extend_from_slice(&fnv(payload).to_le_bytes());
    file
}

/// `Model::from_bytes`, on the bytes as a file (first byte even) or as a
/// payload given a valid header and checksum (odd); a model that loads
/// must build a filter that checks, learns and saves itself readably.
pub fn model(data: &[u8]) {
    let Some(bytes) = as_file(data, model_file) else {
        return;
    };
    let Ok(model) = Model::from_bytes(&bytes) else {
        return;
    };
    let saved = model.to_bytes();
    Model::from_bytes(&saved).expect("a model reads back what it wrote");
    let filter = Filter::builder()
        .policy(small_policy())
        .model(model)
        .build()
        .expect("a model that loads builds a filter");
    let msg = Message::new("claim your free prize now at bit.ly/x").with_id("m1");
    assert_verdict(&filter.check(&msg), filter.policy());
    filter.learn(&msg, Label::Spam);
    assert_verdict(&filter.check(&msg), filter.policy());
    filter.unlearn("m1");
    assert_verdict(&filter.check(&msg), filter.policy());
}

/// Appends the checksum line a snapshot ends with.
pub fn snapshot_file(body: &[u8]) -> Vec<u8> {
    let mut file = body.to_vec();
    file.extend_from_slice(format!("\nfnv1a64:{:016x}\n", fnv(body)).as_bytes());
    file
}

/// `StateSnapshot::from_reader`, on the bytes as a file (first byte even)
/// or as the JSON given a valid checksum line (odd); a snapshot that loads
/// must restore into a filter that then checks and snapshots itself
/// readably.
pub fn snapshot(data: &[u8]) {
    let Some(bytes) = as_file(data, snapshot_file) else {
        return;
    };
    let Ok(snapshot) = StateSnapshot::from_reader(&bytes[..]) else {
        return;
    };
    let filter = Filter::builder()
        .policy(small_policy())
        .without_model()
        .build()
        .expect("the small policy builds");
    if filter.restore_state(&snapshot).is_err() {
        return;
    }
    for (sender, ts) in [("u1", BASE_MS), ("u2", BASE_MS + 60_000), ("u1", i64::MAX)] {
        let msg = Message::new("hello, see example.com/x")
            .with_sender(sender)
            .with_recipient("brand_01")
            .with_timestamp_ms(ts);
        assert_verdict(&filter.check(&msg), filter.policy());
    }
    let mut again = Vec::new();
    filter
        .snapshot_state()
        .to_writer(&mut again)
        .expect("a snapshot writes to memory");
    StateSnapshot::from_reader(&again[..]).expect("a restored filter's snapshot reads back");
}
