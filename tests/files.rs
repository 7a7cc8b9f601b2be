//! Model, policy and state files: every kind of damage (corrupt,
//! truncated, empty, huge, wrong version) is an error naming the file and
//! the problem, never a panic and never a read of a huge file; saves are
//! atomic: a writer killed mid-save leaves the old file whole, two threads
//! saving at once leave one of the two, and a symlink is never written
//! through.

use std::path::{Path, PathBuf};

use dmguard::{Filter, Label, LearnScope, Message, Model, Policy};

/// A fresh directory for one case, removed when it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("dmguard-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    /// A byte in the middle changed.
    Corrupt,
    /// The second half cut off.
    Truncated,
    Empty,
    /// 10 GB on paper (a sparse file): must be refused, not read.
    Huge,
    /// A version this library does not read.
    WrongVersion,
}

const DAMAGES: [Damage; 5] = [
    Damage::Corrupt,
    Damage::Truncated,
    Damage::Empty,
    Damage::Huge,
    Damage::WrongVersion,
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Model,
    PolicyToml,
    PolicyJson,
    /// A file of a state directory saved by `Filter::save_state`.
    State(&'static str),
}

const KINDS: [Kind; 7] = [
    Kind::Model,
    Kind::PolicyToml,
    Kind::PolicyJson,
    Kind::State("MANIFEST"),
    Kind::State("model.dmgm"),
    Kind::State("learned.bin"),
    Kind::State("stream.json"),
];

const POLICY_TOML: &str = "review_threshold = 0.5\nblock_threshold = 0.9\n\n[deny]\nphrases = [\"exclusive investment club\", \"zorblax coins\"]\n";
const POLICY_JSON: &str = "{\n  \"deny\": {\"phrases\": [\"exclusive investment club\", \"zorblax coins\"]},\n  \"review_threshold\": 0.5,\n  \"block_threshold\": 0.9\n}\n";

/// A filter with lessons in both scopes and a stream to save.
fn taught() -> Filter {
    let filter = Filter::default();
    for i in 0..10 {
        filter.check(
            &Message::new("where is my order?")
                .with_sender(&format!("u{i}"))
                .with_timestamp_ms(1_750_000_000_000 + i * 1000),
        );
    }
    filter.learn(
        &Message::new("zorblax coins at coin-drop.example").with_id("m1"),
        Label::Spam,
    );
    filter.learn_scoped(
        &Message::new("zorblax giveaway").with_id("m2"),
        Label::Spam,
        LearnScope::Brand("brand_a"),
    );
    filter
}

/// The saved file `name` of the state in `dir`.
fn state_file(dir: &Path, name: &str) -> PathBuf {
    if name == "MANIFEST" {
        return dir.join(name);
    }
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("state-"))
        .expect("a state directory")
        .path()
        .join(name)
}

/// Writes the intact file of `kind` in `dir`; returns its path.
fn write_intact(kind: Kind, dir: &Path) -> PathBuf {
    match kind {
        Kind::Model => {
            let path = dir.join("spam.dmgm");
            Model::builtin().save(&path).unwrap();
            path
        }
        Kind::PolicyToml => {
            let path = dir.join("policy.toml");
            std::fs::write(&path, POLICY_TOML).unwrap();
            path
        }
        Kind::PolicyJson => {
            let path = dir.join("policy.json");
            std::fs::write(&path, POLICY_JSON).unwrap();
            path
        }
        Kind::State(name) => {
            taught().save_state(dir).unwrap();
            state_file(dir, name)
        }
    }
}

/// The same file in a version this library does not read.
fn wrong_version(kind: Kind, bytes: &mut Vec<u8>) {
    match kind {
        // The format version, after the 8 magic bytes.
        Kind::Model | Kind::State("model.dmgm") => {
            bytes[8..12].copy_from_slice(&7u32.to_le_bytes())
        }
        // Policies carry no version: a key from a later format is unknown.
        Kind::PolicyToml => bytes
            .splice(0..0, b"version = 2\n".iter().copied())
            .for_each(drop),
        Kind::PolicyJson => bytes
            .splice(1..1, b"\"version\": 2,".iter().copied())
            .for_each(drop),
        Kind::State("MANIFEST") => {
            let text = String::from_utf8(bytes.clone()).unwrap();
            *bytes = text
                .replacen("dmguard-state 1", "dmguard-state 2", 1)
                .into_bytes();
        }
        // The version inside a state file is covered by the manifest's
        // checksum of that file: an edit is found there.
        Kind::State(_) => {
            let at = bytes.len() / 3;
            bytes[at] = bytes[at].wrapping_add(1);
        }
    }
}

fn damage(kind: Kind, path: &Path, damage: Damage) {
    let mut bytes = std::fs::read(path).unwrap();
    match damage {
        Damage::Corrupt => {
            let mid = bytes.len() / 2;
            // Not UTF-8 and not the byte that was there: damage any
            // reader must see.
            bytes[mid] = if bytes[mid] == 0xff { 0xfe } else { 0xff };
        }
        Damage::Truncated => bytes.truncate(bytes.len() / 2),
        Damage::Empty => bytes.clear(),
        Damage::Huge => {
            let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            file.set_len(10 << 30).unwrap();
            return;
        }
        Damage::WrongVersion => wrong_version(kind, &mut bytes),
    }
    std::fs::write(path, bytes).unwrap();
}

/// Loads a file of `kind` from `path` (in `dir` for a state).
fn load(kind: Kind, path: &Path, dir: &Path) -> Result<(), dmguard::Error> {
    match kind {
        Kind::Model => Model::load(path).map(drop),
        Kind::PolicyToml | Kind::PolicyJson => Policy::from_path(path).map(drop),
        Kind::State(_) => Filter::builder().state_dir(dir).build().map(drop),
    }
}

/// What the error must say for each damage, beyond the file's name.
fn problem(kind: Kind, damage: Damage) -> &'static [&'static str] {
    match (kind, damage) {
        (Kind::State(name), Damage::Huge) if name != "MANIFEST" => &["longer than", "manifest"],
        (_, Damage::Huge) => &["too large"],
        (Kind::Model, Damage::Corrupt) => &["corrupt"],
        (Kind::Model, Damage::Truncated | Damage::Empty) => &["truncated"],
        (Kind::Model, Damage::WrongVersion) => &["version 7 is newer"],
        (Kind::PolicyToml | Kind::PolicyJson, Damage::Corrupt) => &["not UTF-8"],
        (Kind::PolicyToml | Kind::PolicyJson, Damage::Truncated) => &["line"],
        (Kind::PolicyToml | Kind::PolicyJson, Damage::Empty) => &["empty"],
        (Kind::PolicyToml | Kind::PolicyJson, Damage::WrongVersion) => &["version"],
        (Kind::State("MANIFEST"), Damage::Corrupt) => &["not UTF-8"],
        (Kind::State("MANIFEST"), Damage::Truncated) => &["truncated"],
        (Kind::State("MANIFEST"), Damage::Empty) => &["empty"],
        (Kind::State("MANIFEST"), Damage::WrongVersion) => &["unsupported version"],
        (Kind::State(_), Damage::Corrupt | Damage::WrongVersion) => &["corrupt", "checksum"],
        (Kind::State(_), Damage::Truncated) => &["truncated"],
        (Kind::State(_), Damage::Empty) => &["truncated: 0 bytes"],
    }
}

#[test]
fn every_damage_to_every_file_is_an_error_naming_the_file_and_the_problem() {
    let mut failures = Vec::new();
    for kind in KINDS {
        for d in DAMAGES {
            let name = format!("{kind:?}-{d:?}").replace(['(', ')', '"', '.'], "_");
            let dir = TempDir::new(&name);
            let path = write_intact(kind, &dir.0);
            load(kind, &path, &dir.0).unwrap_or_else(|e| panic!("{name}: intact: {e}"));
            damage(kind, &path, d);
            let started = std::time::Instant::now();
            let message = match load(kind, &path, &dir.0) {
                Ok(()) => {
                    failures.push(format!("{name}: loaded"));
                    continue;
                }
                Err(e) => e.to_string(),
            };
            println!("{name}: {message}");
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let wanted = problem(kind, d);
            let says_problem = wanted.iter().all(|w| message.contains(w));
            if !message.contains(&file) || !says_problem {
                failures.push(format!("{name}: wanted {file} and {wanted:?}: {message}"));
            }
            // A huge file is refused from its size, not read.
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{name}: {message}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("nowhere.dmgm");
    assert!(
        Model::load(&path)
            .unwrap_err()
            .to_string()
            .contains("nowhere.dmgm")
    );
    let path = dir.0.join("nowhere.toml");
    assert!(
        Policy::from_path(&path)
            .unwrap_err()
            .to_string()
            .contains("nowhere.toml")
    );
}

/// Two models that differ, so that a file can be told to be one of them.
fn two_models() -> (Model, Model) {
    let a = Model::builtin();
    let filter = Filter::builder().model(a.clone()).build().unwrap();
    filter.learn(&Message::new("zorblax coins, claim them now"), Label::Spam);
    (a, filter.model().unwrap())
}

/// Run as a child by the killed-writer test: saves the two models in turn
/// until killed, saying when the first save is done.
#[test]
fn save_models_in_a_loop_when_asked() {
    let Ok(path) = std::env::var("DMGUARD_MODEL_LOOP") else {
        return;
    };
    let (a, b) = two_models();
    for i in 0u64.. {
        if i % 2 == 0 { &a } else { &b }.save(&path).unwrap();
        if i == 0 {
            std::fs::write(format!("{path}.ready"), b"").unwrap();
        }
    }
}

#[test]
fn a_model_writer_killed_mid_save_leaves_one_whole_model() {
    let dir = TempDir::new("killed-model");
    let path = dir.0.join("model.dmgm");
    let ready = PathBuf::from(format!("{}.ready", path.display()));
    let (a, b) = two_models();
    let (a, b) = (a.to_bytes(), b.to_bytes());
    for round in 0..6u64 {
        let child = Child::spawn(
            "save_models_in_a_loop_when_asked",
            "DMGUARD_MODEL_LOOP",
            &path,
        );
        let waited = std::time::Instant::now();
        while !ready.exists() {
            assert!(waited.elapsed().as_secs() < 120, "the child never saved");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // Kill at a different moment of a save each round.
        std::thread::sleep(std::time::Duration::from_millis(7 + 11 * round));
        drop(child);
        std::fs::remove_file(&ready).unwrap();
        let on_disk = Model::load(&path)
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .to_bytes();
        assert!(
            on_disk == a || on_disk == b,
            "round {round}: one of the two"
        );
    }
    // What killed writers left behind is only their temporary files.
    for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            name == "model.dmgm" || name.starts_with("model.dmgm.tmp-"),
            "{name}"
        );
    }
}

#[test]
fn two_threads_saving_one_model_file_leave_one_of_the_two() {
    let dir = TempDir::new("two-models");
    let path = dir.0.join("model.dmgm");
    let (a, b) = two_models();
    std::thread::scope(|s| {
        let ha = s.spawn(|| (0..5).try_for_each(|_| a.save(&path)));
        let hb = s.spawn(|| (0..5).try_for_each(|_| b.save(&path)));
        ha.join().unwrap().unwrap();
        hb.join().unwrap().unwrap();
    });
    let on_disk = Model::load(&path).unwrap().to_bytes();
    assert!(on_disk == a.to_bytes() || on_disk == b.to_bytes());
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        1,
        "no temporary left"
    );
}

/// A symlink where the model is saved is replaced, never written through:
/// the file it pointed at is untouched.
#[cfg(unix)]
#[test]
fn saving_over_a_symlink_replaces_the_link_not_its_target() {
    let dir = TempDir::new("symlink");
    let victim = dir.0.join("victim");
    std::fs::write(&victim, b"not yours").unwrap();
    let path = dir.0.join("model.dmgm");
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    Model::builtin().save(&path).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"not yours");
    assert!(
        !std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    Model::load(&path).unwrap();

    // A state directory whose manifest is a planted symlink: the same.
    let state = dir.0.join("state");
    std::fs::create_dir(&state).unwrap();
    std::os::unix::fs::symlink(&victim, state.join("MANIFEST")).unwrap();
    taught().save_state(&state).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"not yours");
    Filter::builder().state_dir(&state).build().unwrap();
}

/// Two filters whose saved states differ in lessons and stream.
fn two_filters() -> (Filter, Filter) {
    let (a, b) = (taught(), taught());
    for i in 0..200 {
        b.check(
            &Message::new("is the store open on sunday?")
                .with_sender(&format!("b{i}"))
                .with_timestamp_ms(1_750_000_100_000 + i * 100),
        );
    }
    b.learn_scoped(
        &Message::new("free gift card, reply with your bank pin").with_id("b1"),
        Label::Spam,
        LearnScope::Brand("brand_b"),
    );
    (a, b)
}

fn state_probes() -> Vec<Message<'static>> {
    [
        "zorblax coins at coin-drop.example/claim",
        "zorblax giveaway ends today",
        "free gift card, reply with your bank pin",
        "where is my order?",
    ]
    .into_iter()
    .flat_map(|t| {
        ["brand_a", "brand_b"]
            .map(|brand| Message::new(t).with_recipient(brand).with_sender("probe"))
    })
    .collect()
}

/// What a filter started from the state in `dir` says of the probes, and
/// how much of the stream it remembers.
fn loaded_verdicts(dir: &Path) -> (Vec<dmguard::Verdict>, usize) {
    let filter = Filter::builder().state_dir(dir).build().unwrap();
    let senders = filter.stats().senders;
    (
        state_probes().iter().map(|m| filter.check(m)).collect(),
        senders,
    )
}

/// Run as a child by the killed-writer test: saves the two filters'
/// states in turn until killed, saying when the first save is done.
#[test]
fn save_states_in_a_loop_when_asked() {
    let Ok(dir) = std::env::var("DMGUARD_STATE_LOOP") else {
        return;
    };
    let (a, b) = two_filters();
    for i in 0u64.. {
        if i % 2 == 0 { &a } else { &b }.save_state(&dir).unwrap();
        if i == 0 {
            std::fs::write(format!("{dir}.ready"), b"").unwrap();
        }
    }
}

/// What filters started from the two states of [`two_filters`] say.
fn expected_states(name: &str) -> Vec<(Vec<dmguard::Verdict>, usize)> {
    let (a, b) = two_filters();
    let expected: Vec<_> = [&a, &b]
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let dir = TempDir::new(&format!("{name}-reference-{i}"));
            f.save_state(&dir.0).unwrap();
            loaded_verdicts(&dir.0)
        })
        .collect();
    assert_ne!(expected[0], expected[1], "the two states can be told apart");
    expected
}

/// A child process that is killed when dropped, so that a failing test
/// leaves no writer behind.
struct Child(std::process::Child);

impl Child {
    /// This test binary running test `name` with `var` set to `value`.
    fn spawn(name: &str, var: &str, value: &Path) -> Child {
        Child(
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", name, "--nocapture"])
                .env(var, value)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn state_saver(dir: &Path) -> Child {
    Child::spawn(
        "save_states_in_a_loop_when_asked",
        "DMGUARD_STATE_LOOP",
        dir,
    )
}

#[test]
fn two_processes_saving_into_one_directory_while_it_is_read() {
    let expected = expected_states("two-processes");
    let dir = TempDir::new("two-processes");
    let children = [state_saver(&dir.0), state_saver(&dir.0)];
    let ready = PathBuf::from(format!("{}.ready", dir.0.display()));
    let waited = std::time::Instant::now();
    while !ready.exists() {
        assert!(waited.elapsed().as_secs() < 120, "no child ever saved");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let reading = std::time::Instant::now();
    let mut loads = 0;
    while reading.elapsed() < std::time::Duration::from_millis(1500) {
        let got = loaded_verdicts(&dir.0);
        assert!(
            got == expected[0] || got == expected[1],
            "load {loads}: one of the two states, whole"
        );
        loads += 1;
    }
    drop(children);
    let _ = std::fs::remove_file(&ready);
    let got = loaded_verdicts(&dir.0);
    assert!(got == expected[0] || got == expected[1]);
    assert!(loads > 0);
}

#[test]
fn a_state_writer_killed_mid_save_leaves_one_whole_state() {
    let expected = expected_states("killed");
    let dir = TempDir::new("killed-state");
    let ready = PathBuf::from(format!("{}.ready", dir.0.display()));
    for round in 0..6u64 {
        let child = state_saver(&dir.0);
        let waited = std::time::Instant::now();
        while !ready.exists() {
            assert!(waited.elapsed().as_secs() < 120, "the child never saved");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // Kill at a different moment of a save each round.
        std::thread::sleep(std::time::Duration::from_millis(5 + 13 * round));
        drop(child);
        std::fs::remove_file(&ready).unwrap();
        let got = loaded_verdicts(&dir.0);
        assert!(
            got == expected[0] || got == expected[1],
            "round {round}: the state is one of the two whole"
        );
    }
}

/// A first save killed before it published anything leaves only its lock
/// and temporary files: that is no state, and a filter starts fresh; a
/// state directory whose manifest is lost is an error, not a fresh start.
#[test]
fn leftovers_of_a_killed_first_save_are_no_state_but_a_lost_manifest_is_an_error() {
    let dir = TempDir::new("leftovers");
    std::fs::write(dir.0.join("LOCK"), b"").unwrap();
    std::fs::create_dir(dir.0.join("tmp-123-0-1-abc")).unwrap();
    std::fs::write(dir.0.join("MANIFEST.tmp-123-1-2-def"), b"dmguard-st").unwrap();
    let filter = Filter::builder().state_dir(&dir.0).build().unwrap();
    assert_eq!(filter.stats().senders, 0);

    taught().save_state(&dir.0).unwrap();
    std::fs::remove_file(dir.0.join("MANIFEST")).unwrap();
    let e = Filter::builder().state_dir(&dir.0).build().unwrap_err();
    assert!(e.to_string().contains("MANIFEST: missing"), "{e}");
}
