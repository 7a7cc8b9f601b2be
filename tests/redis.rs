//! The Redis store, with a real server: two filters on one Redis see one
//! stream (a swarm spread across them, a sender's rate, a conversation) and
//! one another's feedback; a new filter catches up; a Redis killed
//! mid-stream and restarted leaves the checks going, and what was counted
//! meanwhile reaches the others when it is back.
//!
//! Most tests exchange by hand (`sync_shared`, no background thread), so
//! that each step sees the others' latest messages whatever the machine's
//! load; one lets the background exchange do it.
//!
//! Needs `DMGUARD_REDIS_URL` (`.ci/run` starts a server and sets it); the
//! restart test also starts a `redis-server` of its own on another port.
//! Without the variable every test passes, saying "skipped".

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dmguard::{Filter, Label, Message, Verdict};

#[allow(dead_code)]
#[path = "stream/streams.rs"]
mod streams;

use streams::*;

fn url() -> Option<String> {
    match std::env::var("DMGUARD_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("skipped: no Redis (DMGUARD_REDIS_URL unset)");
            None
        }
    }
}

/// A prefix of the test's own, so that runs and tests do not see each
/// other's keys.
fn prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("dmguard-test:{test}:{}:{nanos}", std::process::id())
}

fn on_redis(url: &str, prefix: &str) -> Filter {
    Filter::builder()
        .redis(url, prefix)
        .redis_timeout(Duration::from_millis(500))
        .redis_sync_interval(None)
        .build()
        .unwrap()
}

/// A check that sees every message the other filters published, and
/// publishes its own at once: a load balancer's messages a few ms apart.
fn shared_check(filter: &Filter, msg: &Message<'_>) -> Verdict {
    assert!(filter.sync_shared(), "Redis did not answer");
    let v = filter.check(msg);
    assert!(filter.sync_shared(), "Redis did not answer");
    v
}

fn pair(test: &str) -> Option<(Filter, Filter)> {
    let url = url()?;
    let prefix = prefix(test);
    Some((on_redis(&url, &prefix), on_redis(&url, &prefix)))
}

fn msg<'a>(text: &'a str, sender: &'a str, recipient: &'a str, ts: i64) -> Message<'a> {
    Message::new(text)
        .with_sender(sender)
        .with_recipient(recipient)
        .with_timestamp_ms(ts)
}

#[test]
fn a_swarm_alternating_between_two_filters_is_flagged_from_its_fourth_message() {
    let Some((a, b)) = pair("swarm") else { return };
    let mut rng = Rng(3);
    let mut dms = surge(&mut rng, T0, "brand_03", "s");
    dms.extend(swarm(&mut rng, 40, 20));
    let mut nth = 0;
    for (i, dm) in by_time(dms).into_iter().enumerate() {
        let filter = if i % 2 == 0 { &a } else { &b };
        filter.sync_shared();
        let v = dm.check(filter);
        filter.sync_shared();
        if dm.sender.starts_with("swarm_") {
            nth += 1;
            if nth >= 4 {
                assert!(flagged(&v), "swarm message {nth} allowed: {:?}", v.reasons);
                assert!(v.reason("CAMPAIGN_SWARM").is_some(), "{:?}", v.reasons);
            }
        } else {
            assert!(!flagged(&v), "{} flagged: {:?}", dm.text, v.reasons);
        }
    }
    assert_eq!(nth, 40);
    assert!(a.sync_shared() && b.sync_shared());
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.degraded_checks + sb.degraded_checks, 0);
    // Each filter counted the other's half of the stream.
    assert_eq!(sa.shared_applied, sb.shared_published, "{sa:?} {sb:?}");
    assert_eq!(sb.shared_applied, sa.shared_published, "{sa:?} {sb:?}");
    assert_eq!(sa.messages, sb.messages, "one stream, counted alike");
}

/// Twelve messages of one sender within a minute, alternating between the
/// filters: each saw six, under the burst threshold of ten, but the rate
/// counts all twelve.
fn burst(a: &Filter, b: &Filter, sender: &str, start: i64) -> Verdict {
    let mut last = None;
    for i in 0..12 {
        let filter = if i % 2 == 0 { a } else { b };
        let ts = start + i * SEC;
        last = Some(shared_check(
            filter,
            &msg("where is my refund??", sender, "brand_01", ts),
        ));
    }
    last.unwrap()
}

/// The start of the minute after `T0`, so that twelve seconds stay in it.
const MINUTE: i64 = (T0 / MIN + 1) * MIN;

#[test]
fn a_senders_rate_counts_both_filters() {
    let Some((a, b)) = pair("rate") else { return };
    let v = burst(&a, &b, "u_loud", MINUTE);
    let hit = v.reason("SENDER_BURST").expect("a burst");
    assert!(hit.detail.contains("12 messages"), "{}", hit.detail);
}

/// Checks `f` every 50 ms for up to `secs` seconds.
fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

#[test]
fn one_filters_feedback_reaches_the_other() {
    let Some((a, b)) = pair("feedback") else {
        return;
    };
    let spam = Message::new("grab the zorblax deal today at the usual place").with_id("m1");
    let before = b.check(&spam);
    a.learn(&spam, Label::Spam);
    assert!(a.check(&spam).score > before.score);
    assert!(
        eventually(10, || b.check(&spam).score > before.score),
        "the lesson did not reach the other filter"
    );
    assert_eq!(a.check(&spam), b.check(&spam), "same lessons, same verdict");
    assert!(a.unlearn("m1"));
    assert!(
        eventually(10, || b.check(&spam) == before),
        "the unlearn did not reach the other filter"
    );
}

#[test]
fn a_new_filter_catches_up_with_the_lessons_so_far() {
    let Some(url) = url() else { return };
    let prefix = prefix("catch-up");
    let a = on_redis(&url, &prefix);
    let spam = Message::new("the qwibble offer ends tonight, reply now").with_id("q1");
    let fresh = Filter::default().check(&spam);
    a.learn(&spam, Label::Spam);
    let late = on_redis(&url, &prefix);
    assert!(
        eventually(10, || late.check(&spam) == a.check(&spam)),
        "the new filter did not catch up"
    );
    assert!(late.check(&spam).score > fresh.score);
}

#[test]
fn a_conversation_recorded_on_one_filter_trusts_the_customer_on_the_other() {
    let Some((a, b)) = pair("conversation") else {
        return;
    };
    let reply = Message::new("Sorry to hear that, could you send us your order number?")
        .with_sender("brand_01")
        .with_recipient("u_dani")
        .with_timestamp_ms(T0);
    a.observe_outgoing(&reply);
    assert!(a.sync_shared() && b.sync_shared());
    let answer = msg(
        "still nothing, order 482913",
        "u_dani",
        "brand_01",
        T0 + MIN,
    );
    let v = b.check(&answer);
    assert!(
        v.reason("SENDER_IN_CONVERSATION").is_some(),
        "{:?}",
        v.reasons
    );
    let v = b.check(&msg("still nothing", "u_other", "brand_01", T0 + MIN));
    assert!(v.reason("SENDER_IN_CONVERSATION").is_none());
}

/// A `redis-server` of the test's own, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(port: u16) -> Option<Server> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server { child, port };
        let up = eventually(10, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        up.then_some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

#[test]
fn a_redis_killed_and_restarted_leaves_the_checks_going() {
    if url().is_none() {
        return;
    }
    let port = free_port();
    let Some(server) = Server::start(port) else {
        panic!("DMGUARD_REDIS_URL is set but redis-server could not be started");
    };
    let prefix = prefix("restart");
    let a = on_redis(&server.url(), &prefix);
    let b = on_redis(&server.url(), &prefix);
    let mut ts = MINUTE;
    let mut check = |filter: &Filter, sender: &str| {
        ts += 10;
        let started = Instant::now();
        let v = filter.check(&msg("is my parcel coming today?", sender, "brand_01", ts));
        assert!(started.elapsed() < Duration::from_secs(2), "a check hung");
        assert!((0.0..=1.0).contains(&v.score));
    };
    for i in 0..5 {
        check(&a, &format!("u_{i}"));
    }
    assert!(a.sync_shared() && b.sync_shared());
    assert_eq!(b.stats().shared_applied, 5);
    assert!(!a.stats().shared_degraded);
    assert_eq!(a.stats().degraded_checks, 0);

    drop(server);
    let started = Instant::now();
    assert!(!a.sync_shared(), "Redis is down");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "an exchange hung"
    );
    for i in 0..50 {
        check(&a, &format!("u_{i}"));
    }
    let stats = a.stats();
    assert!(stats.shared_degraded, "{stats:?}");
    assert_eq!(stats.degraded_checks, 50, "{stats:?}");
    assert_eq!(stats.shared_pending, 50, "{stats:?}");

    let server = Server::start(port).expect("redis-server restarted");
    let back = eventually(15, || a.sync_shared() && b.sync_shared());
    assert!(back, "the shared view did not come back: {:?}", a.stats());
    // What `a` counted while Redis was away reached `b` once it was back.
    let (sa, sb) = (a.stats(), b.stats());
    assert!(!sa.shared_degraded && !sb.shared_degraded);
    assert_eq!(sa.shared_pending, 0, "{sa:?}");
    assert_eq!(sb.shared_applied, 55, "{sb:?}");
    assert_eq!(sa.shared_dropped, 0, "{sa:?}");
    // The shared view is back: a sender's rate counts both filters again.
    let v = burst(&a, &b, "u_after", MINUTE + 10 * MIN);
    assert!(v.reason("SENDER_BURST").is_some(), "{:?}", v.reasons);
    assert_eq!(a.stats().degraded_checks, 50);
    assert_eq!(b.stats().degraded_checks, 0);
    drop(server);
}

#[test]
fn the_background_exchange_shares_without_being_asked() {
    let Some(url) = url() else { return };
    let prefix = prefix("background");
    let auto = |_| {
        Filter::builder()
            .redis(&url, &prefix)
            .redis_timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    };
    let (a, b) = (auto(()), auto(()));
    // Twelve messages of one sender within a minute, alternating; each
    // check waits until the other filter has counted the one before.
    let mut last = None;
    for i in 0..12 {
        let (filter, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let seen = other.stats().shared_applied;
        let ts = MINUTE + i * SEC;
        last = Some(filter.check(&msg("where is my refund??", "u_auto", "brand_01", ts)));
        assert!(
            eventually(10, || other.stats().shared_applied > seen),
            "message {i} did not reach the other filter: {:?}",
            other.stats()
        );
    }
    let v = last.unwrap();
    let hit = v.reason("SENDER_BURST").expect("a burst");
    assert!(hit.detail.contains("12 messages"), "{}", hit.detail);
}

#[test]
fn a_new_filter_catches_up_with_the_stream_so_far() {
    let Some(url) = url() else { return };
    let prefix = prefix("stream-catch-up");
    let a = on_redis(&url, &prefix);
    for i in 0..30 {
        let ts = MINUTE + i * SEC;
        a.check(&msg(
            "hello, is the store open on sunday?",
            &format!("u_{i}"),
            "brand_01",
            ts,
        ));
    }
    let reply = Message::new("Yes, from ten to four!")
        .with_sender("brand_01")
        .with_recipient("u_7")
        .with_timestamp_ms(MINUTE + MIN);
    a.observe_outgoing(&reply);
    assert!(a.sync_shared());
    let late = on_redis(&url, &prefix);
    let stats = late.stats();
    assert_eq!(stats.shared_applied, 31, "{stats:?}");
    assert_eq!(
        (stats.senders, stats.conversations),
        (a.stats().senders, 1),
        "{stats:?}"
    );
    let v = late.check(&msg("thanks!", "u_7", "brand_01", MINUTE + 2 * MIN));
    assert!(
        v.reason("SENDER_IN_CONVERSATION").is_some(),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_filter_under_another_hash_key_is_skipped_and_counted() {
    let Some(url) = url() else { return };
    let prefix = prefix("hash-key");
    let keyed = |key: &str| {
        let policy =
            dmguard::Policy::from_toml_str(&format!("[store]\nhash_key = \"{key}\"\n")).unwrap();
        Filter::builder()
            .policy(policy)
            .redis(&url, &prefix)
            .redis_sync_interval(None)
            .build()
            .unwrap()
    };
    let (a, b) = (keyed("00112233445566aa"), keyed("00112233445566bb"));
    shared_check(&a, &msg("where is my refund??", "u_1", "brand_01", MINUTE));
    assert!(b.sync_shared());
    let stats = b.stats();
    assert_eq!(
        (stats.shared_applied, stats.shared_rejected),
        (0, 1),
        "{stats:?}"
    );
    assert_eq!(stats.senders, 0);
}

#[test]
fn every_message_of_a_busy_filter_reaches_the_other_once() {
    let Some(url) = url() else { return };
    let prefix = prefix("busy");
    let auto = || {
        Filter::builder()
            .redis(&url, &prefix)
            .redis_timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    };
    let (a, b) = (auto(), auto());
    // Four threads check on `a` while its background exchange runs (and
    // more than one batch fills), one on `b`.
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let a = &a;
            s.spawn(move || {
                for i in 0..700i64 {
                    let sender = format!("u_{t}_{}", i % 50);
                    let ts = MINUTE + (i * 4 + t) * 100;
                    a.check(&msg("is the order shipped yet?", &sender, "brand_01", ts));
                }
            });
        }
        let b = &b;
        s.spawn(move || {
            for i in 0..300i64 {
                b.check(&msg(
                    "hello there",
                    &format!("v_{i}"),
                    "brand_02",
                    MINUTE + i * 100,
                ));
            }
        });
    });
    assert!(a.sync_shared() && b.sync_shared() && a.sync_shared());
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(
        (sa.shared_published, sb.shared_published),
        (2800, 300),
        "{sa:?} {sb:?}"
    );
    assert_eq!(
        (sa.shared_applied, sb.shared_applied),
        (300, 2800),
        "{sa:?} {sb:?}"
    );
    assert_eq!(sa.shared_pending + sb.shared_pending, 0);
    assert_eq!(sa.shared_dropped + sb.shared_dropped, 0);
    assert_eq!((sa.messages, sa.senders), (sb.messages, sb.senders));
    assert_eq!(sa.senders, 4 * 50 + 300);
}

#[test]
fn a_restart_from_saved_state_does_not_count_the_shared_messages_twice() {
    let Some(url) = url() else { return };
    let prefix = prefix("restart-saved");
    let dir = std::env::temp_dir().join(format!("dmguard-redis-saved-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let on = |dir: Option<&std::path::Path>| {
        let mut builder = Filter::builder()
            .redis(&url, &prefix)
            .redis_sync_interval(None);
        if let Some(dir) = dir {
            builder = builder.state_dir(dir);
        }
        builder.build().unwrap()
    };
    let (a, b) = (on(None), on(None));
    // Seven messages within a minute, four counted here and three by the
    // other filter: under the burst threshold of ten.
    for i in 0..7 {
        let filter = if i % 2 == 0 { &a } else { &b };
        shared_check(
            filter,
            &msg(
                "where is my refund??",
                "u_again",
                "brand_01",
                MINUTE + i * SEC,
            ),
        );
    }
    assert!(a.sync_shared());
    a.save_state(&dir).unwrap();
    drop(a);
    // The restarted filter holds the seven from its saved state; the
    // streams hold them too, and are not counted again.
    let restarted = on(Some(&dir));
    assert!(restarted.sync_shared());
    assert_eq!(
        restarted.stats().shared_applied,
        0,
        "{:?}",
        restarted.stats()
    );
    let v = restarted.check(&msg("hello??", "u_again", "brand_01", MINUTE + 8 * SEC));
    assert!(v.reason("SENDER_BURST").is_none(), "{:?}", v.reasons);
    // What the other filter counts after the restart still arrives.
    shared_check(
        &b,
        &msg("still waiting", "u_other", "brand_01", MINUTE + 9 * SEC),
    );
    assert!(restarted.sync_shared());
    assert_eq!(restarted.stats().shared_applied, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
