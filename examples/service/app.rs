//! The service's routes around one shared `Filter`: scoring, the review
//! queue, feedback, metrics and the review page.

#[path = "metrics.rs"]
pub mod metrics;
#[path = "queue.rs"]
pub mod queue;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dmguard::wire::{self, Dm};
use dmguard::{Filter, Label, LearnScope, Message, Verdict};
use serde::Deserialize;

use metrics::Metrics;
use queue::{Held, HeldReason, Queue, Segment};

/// Largest body of `POST /v1/check`, `/v1/outgoing` and `/v1/feedback`.
pub const MAX_BODY_BYTES: usize = 64 << 10;
/// Largest body of `POST /v1/check/batch`.
pub const MAX_BATCH_BYTES: usize = 8 << 20;
/// Largest page of `GET /v1/queue`.
const MAX_PAGE: usize = 200;

const PAGE_HTML: &str = include_str!("page/index.html");
const PAGE_CSS: &str = include_str!("page/style.css");
const PAGE_JS: &str = include_str!("page/review.js");

/// What every route shares.
#[derive(Debug)]
pub struct App {
    /// The filter, built once.
    pub filter: Filter,
    /// The held DMs.
    pub queue: Mutex<Queue>,
    /// What was counted.
    pub metrics: Metrics,
    /// Where the filter's state is saved at shutdown, when anywhere.
    pub state_dir: Option<PathBuf>,
}

impl App {
    /// An app around `filter` whose held DMs go into `queue`.
    pub fn new(filter: Filter, queue: Queue, state_dir: Option<PathBuf>) -> Arc<App> {
        Arc::new(App {
            filter,
            queue: Mutex::new(queue),
            metrics: Metrics::default(),
            state_dir,
        })
    }

    /// Saves the filter's state and compacts the queue's journal: what a
    /// restart starts from.
    pub fn save(&self) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(dir) = &self.state_dir {
            self.filter.save_state(dir)?;
        }
        self.queue().compact()?;
        Ok(())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere while the lock was held leaves a queue that is
        // still whole (every change is one insert or one field set).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scores or records one DM, holds it when flagged, and writes the
    /// answer to `out`.
    fn answer(&self, dm: &Dm<'_>, out: &mut Vec<u8>) -> Result<(), ApiError> {
        let msg = dm.message();
        if dm.is_outgoing() {
            self.filter.observe_outgoing(&msg);
            self.metrics.recorded();
            wire::write_recorded(out, dm.id_json()).map_err(ApiError::internal)?;
            return Ok(());
        }
        let start = Instant::now();
        let verdict = self.filter.check(&msg);
        let took = start.elapsed();
        let event_ms = msg.timestamp_ms.unwrap_or_else(now_ms);
        self.metrics.verdict(&verdict, took, event_ms);
        if verdict.is_flagged() {
            let held = held(&msg, &verdict);
            self.queue().push(held).map_err(ApiError::internal)?;
        }
        wire::write_verdict(out, dm.id_json(), &verdict).map_err(ApiError::internal)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The router of every route, over `app`.
pub fn router(app: Arc<App>) -> Router {
    let small = DefaultBodyLimit::max(MAX_BODY_BYTES);
    Router::new()
        .route("/", get(page))
        .route("/review.js", get(script))
        .route("/style.css", get(style))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/check", post(check).layer(small))
        .route(
            "/v1/check/batch",
            post(check_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/v1/outgoing", post(outgoing).layer(small))
        .route("/v1/queue", get(queue_page))
        .route("/v1/chart", get(chart))
        .route("/v1/feedback", post(feedback).layer(small))
        .fallback(not_found)
        .with_state(app)
}

/// An error answered as `{"error": "..."}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: e.to_string(),
        }
    }

    /// A body that could not be read; `limit` is the route's cap.
    fn body(rejection: BytesRejection, limit: usize) -> ApiError {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body larger than {limit} bytes")
        } else {
            rejection.body_text()
        };
        ApiError { status, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

fn json(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        message: "no such route".into(),
    }
}

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE_HTML,
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_JS,
    )
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        PAGE_CSS,
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let pending = app.queue().pending();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(&app.filter, pending),
    )
}

/// `POST /v1/check`: one DM, in the `score` JSON contract.
async fn check(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::body(e, MAX_BODY_BYTES))?;
    let dm = Dm::parse(&body).map_err(|e| {
        app.metrics.rejected();
        ApiError::bad(e.to_string())
    })?;
    let mut out = Vec::with_capacity(512);
    app.answer(&dm, &mut out)?;
    Ok(json(out))
}

/// `POST /v1/check/batch`: JSON lines in, one answer line per DM line out,
/// in order; a line that is not a DM is answered `{"line", "error"}` and
/// the others are still scored.
async fn check_batch(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::body(e, MAX_BATCH_BYTES))?;
    let mut out = Vec::with_capacity(body.len());
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&body);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match Dm::parse(line) {
            Ok(dm) => app.answer(&dm, &mut out)?,
            Err(e) => {
                app.metrics.rejected();
                wire::write_rejected(&mut out, i as u64 + 1, &e.to_string())
                    .map_err(ApiError::internal)?;
            }
        }
        out.push(b'\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response())
}

/// `POST /v1/outgoing`: the brand's own DM (`sender` the brand,
/// `recipient` the person), recorded so that the person's answers count as
/// a conversation.
async fn outgoing(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::body(e, MAX_BODY_BYTES))?;
    let dm = Dm::parse(&body).map_err(|e| {
        app.metrics.rejected();
        ApiError::bad(e.to_string())
    })?;
    app.filter.observe_outgoing(&dm.message());
    app.metrics.recorded();
    let mut out = Vec::with_capacity(64);
    wire::write_recorded(&mut out, dm.id_json()).map_err(ApiError::internal)?;
    Ok(json(out))
}

#[derive(Deserialize)]
struct PageQuery {
    before: Option<u64>,
    limit: Option<usize>,
}

/// `GET /v1/queue?limit=N&before=SEQ`: held DMs waiting for a decision,
/// newest first; `next` is the `before` of the next page.
async fn queue_page(
    State(app): State<Arc<App>>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad(e.body_text()))?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let queue = app.queue();
    let (items, next) = queue.page(query.before, limit);
    let body = serde_json::json!({
        "pending": queue.pending(),
        "items": items,
        "next": next,
    });
    Ok(axum::Json(body).into_response())
}

#[derive(Deserialize)]
struct ChartQuery {
    hours: Option<i64>,
}

/// `GET /v1/chart?hours=N`: verdicts by hour of event time, oldest first.
async fn chart(
    State(app): State<Arc<App>>,
    query: Result<Query<ChartQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad(e.body_text()))?;
    let hours: Vec<_> = app
        .metrics
        .chart(query.hours.unwrap_or(24))
        .into_iter()
        .map(|(hour, [allow, review, block])| {
            serde_json::json!({"hour": hour, "allow": allow, "review": review, "block": block})
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "hours": hours })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    id: String,
    label: String,
}

/// `POST /v1/feedback` `{"id", "label": "spam" | "ham"}`: a person's
/// decision on a held DM. The filter learns it for the DM's brand only
/// (its `recipient`; every brand when it had none); a decision that
/// reverses an earlier one first takes that lesson back.
async fn feedback(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::body(e, MAX_BODY_BYTES))?;
    let body: FeedbackBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not a feedback object {{\"id\", \"label\"}}: {e}")))?;
    let label = match body.label.as_str() {
        "spam" => Label::Spam,
        "ham" => Label::Ham,
        other => {
            return Err(ApiError::bad(format!(
                "label {other:?} is neither \"spam\" nor \"ham\""
            )));
        }
    };
    let mut queue = app.queue();
    let Some(held) = queue.find(&body.id).cloned() else {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("no held DM with id {:?}", body.id),
        });
    };
    let reversed = match held.decision.as_deref() {
        Some(previous) if previous == label.as_str() => {
            let answer = serde_json::json!({"id": held.id, "label": previous, "learned": false, "reversed": false});
            return Ok(axum::Json(answer).into_response());
        }
        Some(_) => app.filter.unlearn(&held.id),
        None => false,
    };
    let msg = Message {
        text: &held.text,
        id: Some(&held.id),
        timestamp_ms: held.ts,
        sender: held.sender.as_deref(),
        recipient: held.recipient.as_deref(),
        profile: held.sender_profile,
    };
    let scope = match held.recipient.as_deref() {
        Some(brand) => LearnScope::Brand(brand),
        None => LearnScope::Shared,
    };
    app.filter.learn_scoped(&msg, label, scope);
    queue
        .decide(held.seq, label.as_str())
        .map_err(ApiError::internal)?;
    app.metrics.feedback();
    let answer = serde_json::json!({"id": held.id, "label": label.as_str(), "learned": true, "reversed": reversed});
    Ok(axum::Json(answer).into_response())
}

/// A flagged DM as the store keeps it.
fn held(msg: &Message<'_>, verdict: &Verdict) -> Held {
    let reasons: Vec<HeldReason> = verdict
        .reasons
        .iter()
        .map(|r| HeldReason {
            code: r.code.to_string(),
            weight: (r.weight * 100.0).round() / 100.0,
            detail: r.detail.to_string(),
        })
        .collect();
    let campaign = campaign_size(&reasons);
    Held {
        seq: 0,
        id: msg.id.unwrap_or_default().to_string(),
        ts: msg.timestamp_ms,
        sender: msg.sender.map(str::to_string),
        recipient: msg.recipient.map(str::to_string),
        text: msg.text.to_string(),
        segments: segments(msg.text, &reasons),
        sender_profile: msg.profile,
        score: (verdict.score * 10_000.0).round() / 10_000.0,
        action: verdict.action.as_str().to_string(),
        reasons,
        campaign,
        decision: None,
    }
}

/// How far the DM's campaign reached, as its campaign reasons say: the
/// inboxes or senders they count ("reached 40 inboxes from 2 senders", "12
/// of 15 senders of this text"), not the minutes of their window.
pub fn campaign_size(reasons: &[HeldReason]) -> Option<u64> {
    reasons
        .iter()
        .filter(|r| r.code.starts_with("CAMPAIGN_"))
        .flat_map(|r| {
            let counted = r.detail.split(" in the last").next().unwrap_or_default();
            numbers(counted)
        })
        .max()
}

/// The whole numbers written in `text`.
fn numbers(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
}

/// The text cut into pieces with the evidence marked: the links that
/// `dmguard::links` finds, and every quoted string of a reason's detail
/// (the phrase, the look-alike word, the phone number) where it occurs in
/// the text as written.
pub fn segments(text: &str, reasons: &[HeldReason]) -> Vec<Segment> {
    let mut marks: Vec<(usize, usize, &'static str)> = dmguard::links(text)
        .into_iter()
        .map(|l| (l.range.start, l.range.end, "link"))
        .collect();
    let lower = text.to_lowercase();
    // Lower-casing can change a text's length; then positions found in it
    // do not hold in the text, and only exact matches are marked.
    let folded = lower.len() == text.len();
    let haystack = if folded { lower.as_str() } else { text };
    for reason in reasons {
        for quoted in reason.detail.split('"').skip(1).step_by(2) {
            let quoted = quoted.trim_end_matches('…').trim();
            if quoted.chars().count() < 2 {
                continue;
            }
            let needle = if folded {
                quoted.to_lowercase()
            } else {
                quoted.to_string()
            };
            for (start, found) in haystack.match_indices(needle.as_str()) {
                marks.push((start, start + found.len(), "phrase"));
            }
        }
    }
    marks.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end, mark) in marks {
        if start < at || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        if start > at {
            out.push(Segment {
                text: text[at..start].to_string(),
                mark: None,
            });
        }
        out.push(Segment {
            text: text[start..end].to_string(),
            mark: Some(mark.to_string()),
        });
        at = end;
    }
    if at < text.len() || out.is_empty() {
        out.push(Segment {
            text: text[at..].to_string(),
            mark: None,
        });
    }
    out
}
