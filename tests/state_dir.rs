//! Everything a filter learned and remembers survives a restart through
//! `Filter::save_state` and `FilterBuilder::state_dir`: verdicts are the
//! same, `unlearn` still works, damage is an error naming the file, and a
//! writer killed mid-save leaves the previous state loadable.

use std::path::{Path, PathBuf};

use dmguard::{Filter, Label, LearnScope, Message, SenderProfile};

/// A fresh directory for one test, removed when it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("dmguard-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const T0: i64 = 1_750_000_000_000;

fn probes() -> Vec<Message<'static>> {
    let texts = [
        "grab the zorblax deal today at coin-drop.example/y",
        "hi, my parcel hasn't arrived, order 1182",
        "free zorblax coins, claim at coin-drop.example/claim",
        "can i change the size on my order? it's the blue jacket",
    ];
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        for brand in ["brand_a", "brand_b"] {
            out.push(
                Message::new(text)
                    .with_recipient(brand)
                    .with_sender(["u1", "u2", "u3", "u4"][i])
                    .with_timestamp_ms(T0 + 60_000),
            );
        }
    }
    out
}

/// A filter that learned in both scopes, with ids, and saw a stream.
fn taught() -> Filter {
    let filter = Filter::default();
    let profile = SenderProfile {
        account_age_days: Some(2),
        ..SenderProfile::default()
    };
    for i in 0..20 {
        let sender = format!("s{i}");
        filter.check(
            &Message::new("zorblax giveaway, claim now")
                .with_sender(&sender)
                .with_recipient("brand_a")
                .with_timestamp_ms(T0 + i * 1_000)
                .with_profile(profile),
        );
    }
    filter.learn(
        &Message::new("free coins at coin-drop.example/x").with_id("shared-1"),
        Label::Spam,
    );
    filter.learn_scoped(
        &Message::new("grab the zorblax deal today").with_id("brand-1"),
        Label::Spam,
        LearnScope::Brand("brand_a"),
    );
    filter.learn_scoped(
        &Message::new("my order at partner-shop.example/o/1 is late").with_id("brand-2"),
        Label::Ham,
        LearnScope::Brand("brand_a"),
    );
    filter
}

fn verdicts(filter: &Filter) -> Vec<dmguard::Verdict> {
    probes().iter().map(|m| filter.check(m)).collect()
}

#[test]
fn a_restored_filter_gives_the_same_verdicts_and_can_unlearn() {
    let dir = TempDir::new("round-trip");
    let filter = taught();
    filter.save_state(&dir.0).unwrap();
    let restored = Filter::builder().state_dir(&dir.0).build().unwrap();
    assert_eq!(restored.stats().senders, filter.stats().senders);
    assert_eq!(restored.overlay_stats(), filter.overlay_stats());
    assert_eq!(verdicts(&restored), verdicts(&filter));
    assert_eq!(
        restored.model().unwrap().to_bytes(),
        filter.model().unwrap().to_bytes()
    );

    // Unlearning after the restart takes every lesson back: the scores are
    // those of a filter that never learned (same stream state).
    let unlearned = Filter::default();
    for i in 0..20 {
        let sender = format!("s{i}");
        unlearned.check(
            &Message::new("zorblax giveaway, claim now")
                .with_sender(&sender)
                .with_recipient("brand_a")
                .with_timestamp_ms(T0 + i * 1_000)
                .with_profile(SenderProfile {
                    account_age_days: Some(2),
                    ..SenderProfile::default()
                }),
        );
    }
    // The restored filter has seen the probes once: so must this one.
    verdicts(&unlearned);
    for id in ["brand-2", "brand-1", "shared-1"] {
        assert!(restored.unlearn(id), "{id} is in the restored journal");
    }
    assert_eq!(verdicts(&restored), verdicts(&unlearned));
    assert_eq!(restored.overlay_stats().brands, 0);

    // Saving again over the old state replaces it.
    restored.save_state(&dir.0).unwrap();
    let again = Filter::builder().state_dir(&dir.0).build().unwrap();
    assert_eq!(verdicts(&again), verdicts(&restored));
    let states = std::fs::read_dir(&dir.0).unwrap().count();
    assert_eq!(states, 3, "MANIFEST, LOCK and one state directory");
}

#[test]
fn an_absent_or_empty_directory_starts_fresh() {
    let dir = TempDir::new("absent");
    let filter = Filter::builder().state_dir(&dir.0).build().unwrap();
    assert_eq!(verdicts(&filter), verdicts(&Filter::default()));
    std::fs::create_dir_all(&dir.0).unwrap();
    assert!(Filter::builder().state_dir(&dir.0).build().is_ok());
}

/// The path of one saved file.
fn saved_file(dir: &Path, name: &str) -> PathBuf {
    let state = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("state-"))
        .expect("a state directory")
        .path();
    state.join(name)
}

fn load_error(dir: &Path) -> String {
    Filter::builder()
        .state_dir(dir)
        .build()
        .expect_err("a damaged state must not load")
        .to_string()
}

#[test]
fn damage_is_an_error_naming_the_file() {
    for name in ["model.dmgm", "learned.bin", "stream.json", "MANIFEST"] {
        for damage in ["truncate", "flip", "remove"] {
            let dir = TempDir::new(&format!("damage-{name}-{damage}"));
            taught().save_state(&dir.0).unwrap();
            let path = if name == "MANIFEST" {
                dir.0.join(name)
            } else {
                saved_file(&dir.0, name)
            };
            let mut bytes = std::fs::read(&path).unwrap();
            match damage {
                "truncate" => {
                    bytes.truncate(bytes.len() / 2);
                    std::fs::write(&path, &bytes).unwrap();
                }
                "flip" => {
                    let mid = bytes.len() / 2;
                    bytes[mid] ^= 0x20;
                    std::fs::write(&path, &bytes).unwrap();
                }
                _ => std::fs::remove_file(&path).unwrap(),
            }
            let e = load_error(&dir.0);
            assert!(e.contains(name), "{name} {damage}: {e}");
        }
    }
}

/// Run as a child by the killed-writer test: saves in a loop until killed.
#[test]
fn save_in_a_loop_when_asked() {
    let Ok(dir) = std::env::var("DMGUARD_SAVE_LOOP_DIR") else {
        return;
    };
    let filter = taught();
    for i in 0.. {
        filter.learn_scoped(
            &Message::new(&format!("lesson number {i} about zorblax")),
            Label::Spam,
            LearnScope::Brand("brand_a"),
        );
        filter.save_state(&dir).unwrap();
        if i == 0 {
            std::fs::write(format!("{dir}.ready"), b"").unwrap();
        }
    }
}

#[test]
fn a_writer_killed_mid_save_leaves_a_loadable_state() {
    let dir = TempDir::new("killed");
    let ready = PathBuf::from(format!("{}.ready", dir.0.display()));
    let _ = std::fs::remove_file(&ready);
    let exe = std::env::current_exe().unwrap();
    for round in 0..5u64 {
        let mut child = std::process::Command::new(&exe)
            .args(["--exact", "save_in_a_loop_when_asked", "--nocapture"])
            .env("DMGUARD_SAVE_LOOP_DIR", &dir.0)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        while !ready.exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Kill at a different moment of a save each round.
        std::thread::sleep(std::time::Duration::from_millis(13 + 17 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_file(&ready).unwrap();
        let filter = Filter::builder()
            .state_dir(&dir.0)
            .build()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(filter.unlearn("brand-1"), "round {round}");
        assert_eq!(filter.overlay_stats().brands, 1);
    }
}

#[test]
fn two_threads_saving_at_once_both_succeed_and_the_result_loads() {
    let dir = TempDir::new("threads");
    let (a, b) = (taught(), Filter::default());
    b.learn(&Message::new("zorblax coins").with_id("b-1"), Label::Spam);
    std::thread::scope(|s| {
        let ha = s.spawn(|| (0..10).try_for_each(|_| a.save_state(&dir.0)));
        let hb = s.spawn(|| (0..10).try_for_each(|_| b.save_state(&dir.0)));
        ha.join().unwrap().unwrap();
        hb.join().unwrap().unwrap();
    });
    let restored = Filter::builder().state_dir(&dir.0).build().unwrap();
    let v = verdicts(&restored);
    assert!(
        v == verdicts(&a) || v == verdicts(&b),
        "one of the two states"
    );
}

/// What the state of a filter that saw 1M distinct senders takes on disk:
/// `cargo test --release --test state_dir -- --ignored --nocapture`.
#[test]
#[ignore]
fn sizes_on_disk_for_a_million_senders() {
    let dir = TempDir::new("million");
    let filter = Filter::default();
    let mut sender = String::new();
    for i in 0..1_000_000i64 {
        use std::fmt::Write;
        sender.clear();
        let _ = write!(sender, "user{i}");
        filter.check(
            &Message::new("hi, where is my order?")
                .with_sender(&sender)
                .with_recipient("brand_a")
                .with_timestamp_ms(T0 + i * 10),
        );
    }
    let started = std::time::Instant::now();
    filter.save_state(&dir.0).unwrap();
    let saved = started.elapsed();
    let started = std::time::Instant::now();
    let restored = Filter::builder().state_dir(&dir.0).build().unwrap();
    let loaded = started.elapsed();
    println!("senders tracked: {}", restored.stats().senders);
    for name in ["model.dmgm", "learned.bin", "stream.json"] {
        let len = std::fs::metadata(saved_file(&dir.0, name)).unwrap().len();
        println!("{name}: {len} bytes");
    }
    println!(
        "save {:.2} s, load {:.2} s",
        saved.as_secs_f64(),
        loaded.as_secs_f64()
    );
}
