//! One filter shared by threads that check, learn (shared and per brand),
//! unlearn, snapshot, restore and save at once: no deadlock (a watchdog
//! fails the test instead of letting it hang), and the results stay
//! consistent:
//!
//! - every lesson a thread takes back is found, and once every lesson is
//!   taken back the filter judges the probes as a fresh filter does;
//! - the stream counts every checked message and every sender once;
//! - every snapshot taken mid-run round-trips through its bytes, restores
//!   into a fresh filter with the same senders, and checks;
//! - every state saved mid-run loads, and every lesson it holds can be
//!   taken back from it, bringing it back to a fresh filter's verdicts.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use dmguard::{Filter, Label, LearnScope, Message, StateSnapshot, Verdict};

const THREADS: usize = 6;
const ROUNDS: usize = 24;
const CHECKS_PER_ROUND: usize = 8;
const T0: i64 = 1_750_000_000_000;
/// Far more than the run needs on a loaded 2-core machine; only a
/// deadlock gets near it.
const WATCHDOG: Duration = Duration::from_secs(300);

/// A fresh directory, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("dmguard-concurrency-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The text of lesson `i` of thread `t`: words and a domain of its own,
/// so that lessons move the probes' verdicts.
fn lesson_text(t: usize, i: usize) -> String {
    format!("claim your zorblax{t} bonus {i} now at promo-{t}.example/win")
}

/// Messages whose verdicts the lessons move (their words and domains) and
/// ordinary ones; no sender, so that the stream does not move them.
fn probes() -> Vec<Message<'static>> {
    let mut out = Vec::new();
    for t in 0..THREADS {
        let text: &'static str = Box::leak(
            format!("zorblax{t} bonus waiting at promo-{t}.example/claim").into_boxed_str(),
        );
        out.push(Message::new(text));
        out.push(Message::new(text).with_recipient("brand_a"));
    }
    out.push(Message::new("hi, my parcel hasn't arrived, order 1182"));
    out.push(Message::new("can i change the size on my order?").with_recipient("brand_a"));
    out
}

/// Same action and reasons, and the same score but for the rounding of
/// lessons taken back in another order than they were taken.
fn assert_same(got: &[Verdict], want: &[Verdict], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let codes = |v: &Verdict| v.reasons.iter().map(|r| r.code).collect::<Vec<_>>();
        assert_eq!(g.action, w.action, "{what}: probe {i}");
        assert_eq!(codes(g), codes(w), "{what}: probe {i}");
        assert!(
            (g.score - w.score).abs() < 1e-3,
            "{what}: probe {i}: score {} against {}",
            g.score,
            w.score
        );
    }
}

fn verdicts(filter: &Filter) -> Vec<Verdict> {
    probes().iter().map(|m| filter.check(m)).collect()
}

/// What one thread did.
#[derive(Default)]
struct Done {
    checks: u64,
    senders: Vec<String>,
    snapshots: usize,
    saves: usize,
}

fn work(
    t: usize,
    filter: &Filter,
    own_dir: &std::path::Path,
    shared_dir: &std::path::Path,
    foreign: &StateSnapshot,
    fresh: &[Verdict],
) -> Done {
    let mut done = Done::default();
    let mut learned: Vec<String> = Vec::new();
    for i in 0..ROUNDS {
        for k in 0..CHECKS_PER_ROUND {
            let sender = format!("u{t}-{}", (i * CHECKS_PER_ROUND + k) % 37);
            let text = format!("hello, question {k} about order {i}{t}");
            let v = filter.check(
                &Message::new(&text)
                    .with_sender(&sender)
                    .with_recipient("brand_a")
                    .with_timestamp_ms(T0 + (i * CHECKS_PER_ROUND + k) as i64 * 1000),
            );
            assert!((0.0..=1.0).contains(&v.score));
            done.checks += 1;
            if !done.senders.contains(&sender) {
                done.senders.push(sender);
            }
        }
        let id = format!("t{t}-{i}");
        let text = lesson_text(t, i);
        let msg = Message::new(&text).with_id(&id);
        if i % 2 == 0 {
            filter.learn(&msg, Label::Spam);
        } else {
            filter.learn_scoped(&msg, Label::Spam, LearnScope::Brand("brand_a"));
        }
        learned.push(id);
        if i % 3 == 2 {
            let id = learned.remove(0);
            assert!(filter.unlearn(&id), "thread {t}: {id} was learned");
        }
        if i % 5 == t % 5 {
            let mut bytes = Vec::new();
            let snapshot = filter.snapshot_state();
            snapshot.to_writer(&mut bytes).unwrap();
            let back = StateSnapshot::from_reader(&bytes[..])
                .unwrap_or_else(|e| panic!("thread {t}: a mid-run snapshot reads back: {e}"));
            let restored = Filter::default();
            restored.restore_state(&back).unwrap();
            assert_eq!(restored.stats().senders, snapshot.sender_count());
            verdicts(&restored);
            done.snapshots += 1;
        }
        if t == 0 && i % 4 == 1 {
            // A snapshot of another filter's stream, restored while the
            // others learn and check: it adds senders, no lessons.
            filter.restore_state(foreign).unwrap();
        }
        if i % 8 == t % 8 {
            let dir = if i % 16 < 8 { own_dir } else { shared_dir };
            filter.save_state(dir).unwrap();
            let loaded = Filter::builder()
                .state_dir(dir)
                .build()
                .unwrap_or_else(|e| panic!("thread {t}: a state saved mid-run loads: {e}"));
            // Every lesson of the saved state can be taken back from it,
            // and then it judges as a fresh filter: the journal and what
            // each lesson changed were saved together.
            for t2 in 0..THREADS {
                for i2 in 0..ROUNDS {
                    loaded.unlearn(&format!("t{t2}-{i2}"));
                }
            }
            assert_same(
                &verdicts(&loaded),
                fresh,
                &format!("thread {t}: saved state"),
            );
            done.saves += 1;
        }
    }
    for id in learned {
        assert!(filter.unlearn(&id), "thread {t}: {id} was learned");
    }
    done
}

#[test]
fn threads_checking_learning_snapshotting_and_saving_at_once_stay_consistent() {
    let fresh = verdicts(&Filter::default());
    // The two filters share one stream key, as instances restoring each
    // other's snapshots must (each filter's own key is random otherwise).
    let keyed = || {
        let policy = dmguard::Policy::from_toml_str("[store]\nhash_key = \"5eed5eed5eed5eed\"\n");
        Filter::new(policy.expect("a valid policy")).expect("a filter")
    };
    let filter = keyed();
    let before = verdicts(&filter);
    assert_same(&before, &fresh, "untouched");
    let counted_before = filter.stats().messages;

    let other = keyed();
    for i in 0..50 {
        other.check(
            &Message::new("where is my refund?")
                .with_sender(&format!("foreign-{i}"))
                .with_timestamp_ms(T0 + i * 1000),
        );
    }
    let foreign = other.snapshot_state();

    let dirs: Vec<TempDir> = (0..THREADS)
        .map(|t| TempDir::new(&format!("own-{t}")))
        .collect();
    let shared_dir = TempDir::new("shared");
    let (tx, rx) = mpsc::channel();
    for (t, own) in dirs.iter().enumerate() {
        let (filter, tx, foreign, fresh) =
            (filter.clone(), tx.clone(), foreign.clone(), fresh.clone());
        let (own, shared) = (own.0.clone(), shared_dir.0.clone());
        // Detached, not scoped: a deadlocked thread must not keep the
        // test from reporting.
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                work(t, &filter, &own, &shared, &foreign, &fresh)
            }));
            let _ = tx.send((t, result));
        });
    }
    drop(tx);

    let deadline = std::time::Instant::now() + WATCHDOG;
    let mut checks = 0;
    let mut senders = Vec::new();
    let (mut snapshots, mut saves) = (0, 0);
    for _ in 0..THREADS {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((_, Ok(done))) => {
                checks += done.checks;
                senders.extend(done.senders);
                snapshots += done.snapshots;
                saves += done.saves;
            }
            Ok((t, Err(panic))) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("thread {t} failed: {message}");
            }
            Err(_) => panic!(
                "deadlock: the threads did not finish within {} s",
                WATCHDOG.as_secs()
            ),
        }
    }
    assert!(snapshots >= THREADS && saves >= THREADS);

    let stats = filter.stats();
    assert_eq!(
        stats.messages,
        counted_before + checks,
        "every checked message is counted"
    );
    assert_eq!(
        stats.senders,
        senders.len() + foreign.sender_count(),
        "every sender is remembered once"
    );
    assert_eq!(stats.senders_evicted, 0);
    // Every lesson was taken back: the filter judges as a fresh one.
    assert_same(&verdicts(&filter), &fresh, "after every unlearn");
    assert!(!filter.unlearn("t0-0"), "nothing is left to take back");
    // The state saved from many threads into one directory loads.
    Filter::builder().state_dir(&shared_dir.0).build().unwrap();
}
