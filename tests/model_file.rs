//! Model files through the public API: save → load round-trips exactly,
//! and every kind of damaged file is a clear model error naming the file.

use std::path::PathBuf;

use dmguard::{Filter, Message, Model};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("dmguard-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load_error(dir: &TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.0.join(name);
    std::fs::write(&path, bytes).unwrap();
    let e = Model::load(&path).unwrap_err();
    assert!(e.is_model(), "{e}");
    let message = e.to_string();
    assert!(
        message.contains(name),
        "the error names the file: {message}"
    );
    message
}

#[test]
fn builtin_model_saves_and_loads_exactly() {
    let dir = TempDir::new("roundtrip");
    let path = dir.0.join("default.dmgm");
    let model = Model::builtin();
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(std::fs::read(&path).unwrap(), model.to_bytes());
    let a = Filter::builder().model(loaded).build().unwrap();
    let b = Filter::default();
    let msg = Message::new("URGENT! You have won a 1 week FREE membership, claim now");
    assert_eq!(a.check(&msg), b.check(&msg));
}

#[test]
fn saving_over_an_old_model_replaces_it_whole() {
    let dir = TempDir::new("replace");
    let path = dir.0.join("m.dmgm");
    std::fs::write(&path, b"an older file").unwrap();
    Model::builtin().save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap(), Model::builtin());
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
}

#[test]
fn truncated_file_is_a_model_error() {
    let dir = TempDir::new("truncated");
    let bytes = Model::builtin().to_bytes();
    let e = load_error(&dir, "half.dmgm", &bytes[..bytes.len() / 2]);
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn empty_file_is_a_model_error() {
    let dir = TempDir::new("empty");
    let e = load_error(&dir, "empty.dmgm", b"");
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn corrupt_file_is_a_model_error() {
    let dir = TempDir::new("corrupt");
    let mut bytes = Model::builtin().to_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let e = load_error(&dir, "flipped.dmgm", &bytes);
    assert!(e.contains("checksum"), "{e}");
}

#[test]
fn foreign_file_is_a_model_error() {
    let dir = TempDir::new("foreign");
    let e = load_error(&dir, "policy.toml", b"review_threshold = 0.5\n");
    assert!(e.contains("not a dmguard model"), "{e}");
}

#[test]
fn newer_version_is_a_model_error() {
    let dir = TempDir::new("newer");
    let mut bytes = Model::builtin().to_bytes();
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = load_error(&dir, "future.dmgm", &bytes);
    assert!(e.contains("version 7") && e.contains("newer"), "{e}");
}

#[test]
fn missing_file_names_the_path() {
    let e = Model::load("/nonexistent/dmguard/m.dmgm").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/dmguard/m.dmgm"), "{e}");
}
