//! The trained model and its file format.
//!
//! ```text
//! "DMGUARDM"          8 bytes, magic
//! version             u32 little-endian (this library writes and reads 1)
//! payload length      u64
//! payload             see below
//! checksum            u64, FNV-1a of the payload
//! ```
//!
//! The payload holds the table size, the learning settings, the bias, the
//! non-zero weights as (index, weight, squared-gradient sum) sorted by
//! index, and the fitted combination weights by reason code. Only non-zero
//! weights are stored, so the file stays small; every field is checked on
//! load, so a damaged file is an error and never a panic.

mod reader;

use std::path::Path;

use super::learner::Fitted;
use crate::Error;
use reader::{Reader, parse_payload};

const MAGIC: &[u8; 8] = b"DMGUARDM";
const VERSION: u32 = 1;
/// Smallest and largest hashed table accepted.
pub(crate) const MIN_BITS: u32 = 8;
pub(crate) const MAX_BITS: u32 = 24;
/// The largest model file read: every weight of the largest table (index,
/// weight and gradient sum, 12 bytes each) and room to spare for the
/// header and the combination weights.
const MAX_FILE_BYTES: u64 = (12 << MAX_BITS) + (16 << 20);

/// A trained model: the text classifier's weights and the fitted weights
/// that combine its log-odds with every other reason into a calibrated
/// score.
///
/// Get one from [`Model::train`], [`Model::load`], [`Model::builtin`] or
/// [`Filter::model`](crate::Filter::model); give it to a filter with
/// [`FilterBuilder::model`](crate::FilterBuilder::model).
///
/// ```
/// use dmguard::Model;
///
/// let model = Model::builtin();
/// let bytes = model.to_bytes();
/// assert_eq!(Model::from_bytes(&bytes)?, model);
/// assert!(Model::from_bytes(&bytes[..bytes.len() / 2]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Model {
    pub(crate) bits: u32,
    pub(crate) online_rate: f32,
    pub(crate) l2: f32,
    pub(crate) fitted: Fitted,
    /// Classifier evidence below which the classifier's hit has no
    /// strength (see `classifier::strength`).
    pub(crate) classifier_offset: f32,
    /// Fitted weight per reason code, and the fitted bias.
    pub(crate) combination: Vec<(String, f64)>,
    pub(crate) combination_bias: Option<f64>,
}

/// A summary: the weights themselves are a million numbers.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("table_bits", &self.bits)
            .field("nonzero_weights", &self.nonzero_weights())
            .field("bias", &self.fitted.bias)
            .field("combination", &self.combination)
            .field("combination_bias", &self.combination_bias)
            .finish_non_exhaustive()
    }
}

/// The model `examples/train.rs` made from `sms/train.tsv` and
/// `inbox_ham/train.tsv`; see
/// [`Model::builtin`].
static BUILTIN: &[u8] = include_bytes!("../../models/default.dmgm");

impl Model {
    /// The built-in model, trained on the SMS Spam Collection's training
    /// split and on brand-inbox ham (`inbox_ham/train.tsv`) by
    /// `cargo run --release --example train -- --out models/default.dmgm
    /// ../shared/data/sms/train.tsv ../shared/data/inbox_ham/train.tsv`.
    pub fn builtin() -> Model {
        Model::from_bytes(BUILTIN).expect("the built-in model is valid")
    }

    /// The fitted combination weight of a reason code, if training fitted
    /// one (codes that never fired in training keep their defaults).
    pub fn fitted_weight(&self, code: &str) -> Option<f64> {
        self.combination
            .iter()
            .find(|(c, _)| c == code)
            .map(|&(_, w)| w)
    }

    /// The fitted bias of the combined score (log-odds with no evidence).
    pub fn fitted_bias(&self) -> Option<f64> {
        self.combination_bias
    }

    /// The text classifier's log-odds of spam for a text already in the
    /// filter's canonical form (NFKC, lowercase), before the combination
    /// weights; 0 for a text without words. [`Filter::check`](crate::Filter::check)
    /// canonicalises and scores on its own: this is for tools and
    /// benchmarks of the classifier alone.
    ///
    /// ```
    /// let model = dmguard::Model::builtin();
    /// let spammy = model.classifier_log_odds("urgent! you have won a guaranteed cash prize, call now");
    /// let hammy = model.classifier_log_odds("ok see you at home later");
    /// assert!(spammy > hammy);
    /// ```
    pub fn classifier_log_odds(&self, canonical_text: &str) -> f64 {
        if self.fitted.weights.len() != 1 << self.bits {
            return 0.0;
        }
        let score = super::score_with(canonical_text, self.bits, self.fitted.bias, |j| {
            self.fitted.weights[j]
        });
        if score.features == 0 {
            0.0
        } else {
            f64::from(score.logit)
        }
    }

    /// How many of the classifier's weights are not zero.
    pub fn nonzero_weights(&self) -> usize {
        self.fitted.weights.iter().filter(|w| **w != 0.0).count()
    }

    /// The model in its file format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&self.bits.to_le_bytes());
        p.extend_from_slice(&self.online_rate.to_le_bytes());
        p.extend_from_slice(&self.l2.to_le_bytes());
        p.extend_from_slice(&self.fitted.bias.to_le_bytes());
        p.extend_from_slice(&self.classifier_offset.to_le_bytes());
        let entries: Vec<usize> = (0..self.fitted.weights.len())
            .filter(|&j| self.fitted.weights[j] != 0.0 || self.fitted.sq_grad[j] != 0.0)
            .collect();
        p.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for j in entries {
            p.extend_from_slice(&(j as u32).to_le_bytes());
            p.extend_from_slice(&self.fitted.weights[j].to_le_bytes());
            p.extend_from_slice(&self.fitted.sq_grad[j].to_le_bytes());
        }
        match self.combination_bias {
            Some(b) => {
                p.push(1);
                p.extend_from_slice(&b.to_le_bytes());
            }
            None => p.push(0),
        }
        p.extend_from_slice(&(self.combination.len() as u32).to_le_bytes());
        for (code, w) in &self.combination {
            p.extend_from_slice(&(code.len() as u16).to_le_bytes());
            p.extend_from_slice(code.as_bytes());
            p.extend_from_slice(&w.to_le_bytes());
        }
        let mut out = Vec::with_capacity(p.len() + 28);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(&p);
        out.extend_from_slice(&crate::hash::fnv(&p).to_le_bytes());
        out
    }

    /// Reads a model from its file format. A foreign, truncated, corrupt
    /// or newer-version input is an error that says which.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, Error> {
        let mut r = Reader { bytes, at: 0 };
        let magic = r.take(8, "magic")?;
        if magic != MAGIC {
            return Err(Error::model("not a dmguard model (bad magic bytes)"));
        }
        let version = r.u32("version")?;
        if version > VERSION {
            return Err(Error::model(format!(
                "model format version {version} is newer than this library reads ({VERSION})"
            )));
        }
        if version == 0 {
            return Err(Error::model("model format version 0 does not exist"));
        }
        let len = r.u64("payload length")?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= r.remaining())
            .ok_or_else(|| {
                Error::model(format!(
                    "truncated: the payload should be {len} bytes, {} are left",
                    r.remaining()
                ))
            })?;
        let payload = r.take(len, "payload")?;
        let sum = r.u64("checksum")?;
        if r.remaining() != 0 {
            return Err(Error::model(format!(
                "{} unexpected bytes after the checksum",
                r.remaining()
            )));
        }
        if sum != crate::hash::fnv(payload) {
            return Err(Error::model("corrupt: the checksum does not match"));
        }
        parse_payload(payload)
    }

    /// Reads a model file. A file larger than the largest model this
    /// library can write (a table of 2^24 weights) is refused before it is
    /// read; every error names the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model, Error> {
        let path = path.as_ref();
        let bytes =
            crate::persist::read_capped(path, MAX_FILE_BYTES, |m| Error::model(m).in_file(path))?;
        Model::from_bytes(&bytes).map_err(|e| e.in_file(path))
    }

    /// Writes the model to `path`, through a temporary file unique to this
    /// save in the same directory, synced and renamed, so that a crash
    /// mid-save leaves the old file intact.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        crate::persist::write_atomic(path.as_ref(), &self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Model {
        let size = 1 << MIN_BITS;
        let mut weights = vec![0.0; size];
        let mut sq_grad = vec![0.0; size];
        weights[3] = 0.5;
        sq_grad[3] = 2.0;
        weights[200] = -1.25;
        sq_grad[200] = 1.0;
        Model {
            bits: MIN_BITS,
            online_rate: 0.4,
            l2: 1e-5,
            fitted: Fitted {
                bias: -2.0,
                weights,
                sq_grad,
            },
            classifier_offset: 0.5,
            combination: vec![
                ("CLASSIFIER_TEXT".into(), 0.9),
                ("TEXT_ZERO_WIDTH".into(), 1.2),
            ],
            combination_bias: Some(-1.5),
        }
    }

    fn err(bytes: &[u8]) -> String {
        Model::from_bytes(bytes).unwrap_err().to_string()
    }

    #[test]
    fn debug_is_a_summary() {
        let text = format!("{:?}", Model::builtin());
        assert!(text.len() < 500, "{}", text.len());
        assert!(text.contains("CLASSIFIER_TEXT"));
    }

    #[test]
    fn round_trip_is_exact() {
        let m = small();
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn empty_input_is_truncated() {
        assert!(err(&[]).contains("truncated"));
    }

    #[test]
    fn foreign_file_is_rejected_by_magic() {
        assert!(err(b"{\"weights\": []}\n and more text").contains("bad magic"));
    }

    #[test]
    fn newer_version_is_named() {
        let mut bytes = small().to_bytes();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        let e = err(&bytes);
        assert!(e.contains("version 2") && e.contains("newer"), "{e}");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = small().to_bytes();
        for cut in 0..bytes.len() {
            let e = err(&bytes[..cut]);
            assert!(e.contains("truncated"), "cut at {cut}: {e}");
        }
    }

    #[test]
    fn flipped_payload_byte_fails_the_checksum() {
        let mut bytes = small().to_bytes();
        let mid = 20 + (bytes.len() - 28) / 2;
        bytes[mid] ^= 0x40;
        assert!(err(&bytes).contains("checksum"));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = small().to_bytes();
        bytes.push(0);
        assert!(err(&bytes).contains("unexpected bytes"));
    }

    #[test]
    fn bad_fields_with_a_valid_checksum_are_rejected() {
        // Re-seal a tampered payload so that the field checks themselves
        // are exercised, not the checksum.
        let reseal = |edit: &dyn Fn(&mut Vec<u8>)| {
            let bytes = small().to_bytes();
            let mut payload = bytes[20..bytes.len() - 8].to_vec();
            edit(&mut payload);
            let mut out = bytes[..12].to_vec();
            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            out.extend_from_slice(&payload);
            out.extend_from_slice(&crate::hash::fnv(&payload).to_le_bytes());
            out
        };
        let huge_table = reseal(&|p| p[0..4].copy_from_slice(&40u32.to_le_bytes()));
        assert!(err(&huge_table).contains("table size"));
        let nan_bias = reseal(&|p| p[12..16].copy_from_slice(&f32::NAN.to_le_bytes()));
        assert!(err(&nan_bias).contains("not finite"));
        let bad_index = reseal(&|p| p[24..28].copy_from_slice(&9999u32.to_le_bytes()));
        assert!(err(&bad_index).contains("weight index"));
        let extra = reseal(&|p| p.push(7));
        assert!(err(&extra).contains("left over"));
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("dmguard-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.dmgm");
        let m = small();
        m.save(&path).unwrap();
        assert_eq!(Model::load(&path).unwrap(), m);
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_errors_name_the_file() {
        let e = Model::load("/nonexistent/dir/m.dmgm")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/dir/m.dmgm"), "{e}");
    }
}
