//! Counters for `GET /metrics` (Prometheus text format) and the hourly
//! chart of the review page.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use dmguard::{Action, Filter, Verdict};

/// Upper bounds of the latency histogram's buckets, in seconds: a check
/// takes about a microsecond, a request with its JSON a few more.
const BUCKETS: [f64; 10] = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 1e-3, 1e-2, 1e-1];

/// Hours of verdicts the chart keeps.
pub const CHART_HOURS: i64 = 48;

const HOUR_MS: i64 = 3_600_000;

/// What the service counted since it started.
#[derive(Debug)]
pub struct Metrics {
    actions: [AtomicU64; 3],
    reason_index: HashMap<&'static str, usize>,
    reasons: Vec<AtomicU64>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_nanos: AtomicU64,
    rejected: AtomicU64,
    recorded: AtomicU64,
    feedback: AtomicU64,
    /// Verdicts by hour of event time: `[allow, review, block]`.
    hours: Mutex<BTreeMap<i64, [u64; 3]>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let codes: Vec<&'static str> = dmguard::reason_codes().map(|c| c.code).collect();
        Metrics {
            actions: Default::default(),
            reason_index: codes.iter().enumerate().map(|(i, &c)| (c, i)).collect(),
            reasons: codes.iter().map(|_| AtomicU64::new(0)).collect(),
            buckets: Default::default(),
            latency_count: AtomicU64::new(0),
            latency_nanos: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            recorded: AtomicU64::new(0),
            feedback: AtomicU64::new(0),
            hours: Mutex::new(BTreeMap::new()),
        }
    }
}

fn action_index(action: Action) -> usize {
    match action {
        Action::Allow => 0,
        Action::Review => 1,
        Action::Block => 2,
    }
}

impl Metrics {
    /// Counts a verdict given at `event_ms`, whose check took `took`.
    pub fn verdict(&self, verdict: &Verdict, took: Duration, event_ms: i64) {
        let action = action_index(verdict.action);
        self.actions[action].fetch_add(1, Relaxed);
        for reason in &verdict.reasons {
            if let Some(&i) = self.reason_index.get(reason.code) {
                self.reasons[i].fetch_add(1, Relaxed);
            }
        }
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_nanos
            .fetch_add(took.as_nanos().min(u64::MAX as u128) as u64, Relaxed);

        let hour = event_ms.div_euclid(HOUR_MS);
        let mut hours = self.hours.lock().unwrap_or_else(|e| e.into_inner());
        hours.entry(hour).or_default()[action] += 1;
        // Bounded: only the latest hours are kept.
        while hours.len() as i64 > CHART_HOURS {
            hours.pop_first();
        }
    }

    /// Counts a line or body that could not be read.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    /// Counts a brand's own DM recorded.
    pub fn recorded(&self) {
        self.recorded.fetch_add(1, Relaxed);
    }

    /// Counts a person's decision.
    pub fn feedback(&self) {
        self.feedback.fetch_add(1, Relaxed);
    }

    /// `[hour start (ms), allow, review, block]` for the last `hours` hours
    /// up to the latest hour a verdict was given in, oldest first; hours
    /// without verdicts count zero.
    pub fn chart(&self, hours: i64) -> Vec<(i64, [u64; 3])> {
        let counts = self.hours.lock().unwrap_or_else(|e| e.into_inner());
        let Some((&last, _)) = counts.last_key_value() else {
            return Vec::new();
        };
        let hours = hours.clamp(1, CHART_HOURS);
        (last - hours + 1..=last)
            .map(|h| (h * HOUR_MS, counts.get(&h).copied().unwrap_or_default()))
            .collect()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, filter: &Filter, pending: usize) -> String {
        let mut out = String::with_capacity(8 << 10);
        let _ = self.write(&mut out, filter, pending);
        out
    }

    fn write(&self, out: &mut String, filter: &Filter, pending: usize) -> std::fmt::Result {
        writeln!(out, "# HELP dmguard_verdicts_total DMs scored, by action.")?;
        writeln!(out, "# TYPE dmguard_verdicts_total counter")?;
        for action in [Action::Allow, Action::Review, Action::Block] {
            let n = self.actions[action_index(action)].load(Relaxed);
            writeln!(
                out,
                "dmguard_verdicts_total{{action=\"{}\"}} {n}",
                action.as_str()
            )?;
        }
        writeln!(out, "# HELP dmguard_reasons_total Reasons given, by code.")?;
        writeln!(out, "# TYPE dmguard_reasons_total counter")?;
        let mut codes: Vec<_> = self.reason_index.iter().collect();
        codes.sort();
        for (code, &i) in codes {
            let n = self.reasons[i].load(Relaxed);
            writeln!(out, "dmguard_reasons_total{{code=\"{code}\"}} {n}")?;
        }
        writeln!(out, "# HELP dmguard_check_seconds Time to score one DM.")?;
        writeln!(out, "# TYPE dmguard_check_seconds histogram")?;
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            writeln!(
                out,
                "dmguard_check_seconds_bucket{{le=\"{bound:e}\"}} {cumulative}"
            )?;
        }
        let count = self.latency_count.load(Relaxed);
        writeln!(out, "dmguard_check_seconds_bucket{{le=\"+Inf\"}} {count}")?;
        let sum = self.latency_nanos.load(Relaxed) as f64 / 1e9;
        writeln!(out, "dmguard_check_seconds_sum {sum}")?;
        writeln!(out, "dmguard_check_seconds_count {count}")?;

        let counters = [
            (
                "dmguard_rejected_total",
                "Requests or lines refused as not a DM.",
                &self.rejected,
            ),
            (
                "dmguard_outgoing_total",
                "The brand's own DMs recorded.",
                &self.recorded,
            ),
            (
                "dmguard_feedback_total",
                "Decisions taken on held DMs.",
                &self.feedback,
            ),
        ];
        for (name, help, n) in counters {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} counter")?;
            writeln!(out, "{name} {}", n.load(Relaxed))?;
        }

        let stats = filter.stats();
        let overlays = filter.overlay_stats();
        let gauges = [
            (
                "dmguard_state_senders",
                "Senders the stream state remembers.",
                stats.senders as u64,
            ),
            (
                "dmguard_state_fingerprints",
                "Campaign fingerprints remembered.",
                stats.fingerprints as u64,
            ),
            (
                "dmguard_state_conversations",
                "Conversations remembered.",
                stats.conversations as u64,
            ),
            (
                "dmguard_state_bytes",
                "Bytes the stream state holds.",
                stats.bytes as u64,
            ),
            (
                "dmguard_overlay_brands",
                "Brands with lessons of their own.",
                overlays.brands as u64,
            ),
            (
                "dmguard_queue_pending",
                "Held DMs waiting for a decision.",
                pending as u64,
            ),
            (
                "dmguard_shared_degraded",
                "1 while the shared store (Redis) does not answer.",
                u64::from(stats.shared_degraded),
            ),
            (
                "dmguard_shared_pending",
                "Messages waiting to be published to the shared store.",
                stats.shared_pending,
            ),
        ];
        let shared = [
            (
                "dmguard_shared_degraded_checks_total",
                "Checks made while the shared store was away.",
                stats.degraded_checks,
            ),
            (
                "dmguard_shared_published_total",
                "Messages and conversations published to the shared store.",
                stats.shared_published,
            ),
            (
                "dmguard_shared_applied_total",
                "Other services' messages and conversations counted here.",
                stats.shared_applied,
            ),
            (
                "dmguard_shared_dropped_total",
                "Messages never published: the queue overflowed while the store was away.",
                stats.shared_dropped,
            ),
            (
                "dmguard_shared_rejected_total",
                "Shared entries skipped: another hash key, or unreadable.",
                stats.shared_rejected,
            ),
        ];
        for (name, help, value) in shared {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} counter")?;
            writeln!(out, "{name} {value}")?;
        }
        for (name, help, value) in gauges {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} gauge")?;
            writeln!(out, "{name} {value}")?;
        }
        Ok(())
    }
}
