//! The policy: thresholds, weights and lists, read from TOML or JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::features::link::LinkPolicy;
use crate::features::stream::StreamPolicy;
use crate::state::{MOVED_KEYS, StorePolicy};

/// How a filter judges messages: configuration as data.
///
/// Every field has a default, so a policy file names only what it changes.
/// Unknown keys are an error, so a typo never passes silently.
///
/// ```
/// use dmguard::Policy;
///
/// let policy = Policy::from_toml_str(r#"
/// review_threshold = 0.4
/// block_threshold = 0.95
/// extra_phrases = ["limited drop"]
///
/// [weights]
/// TEXT_ZERO_WIDTH = 2.0
///
/// [allow]
/// senders = ["u_partner"]
/// "#)?;
/// assert_eq!(policy.review_threshold, 0.4);
/// assert!(Policy::from_toml_str("review_treshold = 0.4").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Score at or above which a message is held for review. Default 0.5.
    pub review_threshold: f64,
    /// Score at or above which a message is blocked. Default 0.9.
    pub block_threshold: f64,
    /// Families of evidence (see [`Family`](crate::Family)) that must point
    /// at spam for a message to be blocked; with fewer, a score at or above
    /// `block_threshold` sends it to review (reason
    /// `VERDICT_SINGLE_FAMILY`). A hit of a deny list blocks regardless.
    /// At least 1; default 2, so that no single kind of evidence, such as
    /// a text classifier that misreads a brand's customers, blocks a
    /// message on its own.
    pub block_min_families: usize,
    /// Weight per reason code, replacing the built-in or trained weight.
    /// Default: empty.
    pub weights: BTreeMap<String, f64>,
    /// More spam phrases, matched on the canonical text like the built-in
    /// list (reason `TEXT_SPAM_PHRASE`). Default: empty.
    pub extra_phrases: Vec<String>,
    /// Senders and phrases that speak for a message. Default: empty.
    pub allow: Lists,
    /// Senders, phrases and regular expressions that speak against a
    /// message. Default: empty.
    pub deny: Lists,
    /// Caps on the work done per message.
    pub limits: Limits,
    /// Windows and thresholds of the rate, campaign and sender evidence
    /// (the `[stream]` table).
    #[serde(default)]
    pub stream: StreamPolicy,
    /// How much stream state is kept: shards and caps (the `[store]`
    /// table).
    #[serde(default)]
    pub store: StorePolicy,
    /// How links are judged: the brand's own domains, extra lists, caps.
    #[serde(default)]
    pub links: LinkPolicy,
}

/// Allow or deny lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lists {
    /// Sender identifiers, matched exactly.
    pub senders: Vec<String>,
    /// Phrases, matched on the canonical text (case, width and look-alike
    /// letters do not matter).
    pub phrases: Vec<String>,
    /// Regular expressions (Rust `regex` syntax) matched on the canonical
    /// text, case-insensitively (that text is lower-cased, so `PROMO` and
    /// `[A-Z]` match it as `promo` and `[a-z]` would).
    pub patterns: Vec<String>,
}

/// Caps on the work done per message, so that no input costs more than a
/// bounded amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Bytes of text examined; the rest is ignored (reason
    /// `TEXT_TRUNCATED`). Default 4096.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: 4096,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            review_threshold: 0.5,
            block_threshold: 0.9,
            block_min_families: 2,
            weights: BTreeMap::new(),
            extra_phrases: Vec::new(),
            allow: Lists::default(),
            deny: Lists::default(),
            limits: Limits::default(),
            stream: StreamPolicy::default(),
            store: StorePolicy::default(),
            links: LinkPolicy::default(),
        }
    }
}

impl Policy {
    /// Reads a policy from TOML text and checks it.
    pub fn from_toml_str(source: &str) -> Result<Policy, Error> {
        let error = |e: toml::de::Error| Error::policy(None, e.to_string().trim_end().to_string());
        let policy: Policy = if mentions_moved_key(source) {
            let mut table: toml::Table = toml::from_str(source).map_err(error)?;
            if let Some(toml::Value::Table(stream)) = table.get_mut("stream") {
                let moved = take_moved(stream, |t, k| t.remove(k));
                let store = table
                    .entry("store")
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(store) = store {
                    put_moved(store, moved, source)?;
                }
            }
            toml::Value::Table(table).try_into().map_err(error)?
        } else {
            toml::from_str(source).map_err(error)?
        };
        policy.validated(source)
    }

    /// Reads a policy from JSON text and checks it.
    pub fn from_json_str(source: &str) -> Result<Policy, Error> {
        let error = |e: serde_json::Error| {
            let at = (e.line() > 0).then(|| format!("line {}", e.line()));
            Error::policy(at, e.to_string())
        };
        let policy: Policy = if mentions_moved_key(source) {
            let mut value: serde_json::Value = serde_json::from_str(source).map_err(error)?;
            if let Some(top) = value.as_object_mut()
                && let Some(serde_json::Value::Object(stream)) = top.get_mut("stream")
            {
                let moved = take_moved(stream, |t, k| t.remove(k));
                let store = top
                    .entry("store")
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                if let serde_json::Value::Object(store) = store {
                    put_moved(store, moved, source)?;
                }
            }
            serde_json::from_value(value).map_err(error)?
        } else {
            serde_json::from_str(source).map_err(error)?
        };
        policy.validated(source)
    }

    /// Reads a policy file: JSON when the name ends in `.json`, TOML
    /// otherwise. Errors name the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, Error> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            Policy::from_json_str(&source)
        } else {
            Policy::from_toml_str(&source)
        };
        parsed.map_err(|e| Error::policy(Some(path.display().to_string()), e.to_string()))
    }

    /// Checks the values that serde cannot: ranges, order, codes, patterns.
    pub fn validate(&self) -> Result<(), Error> {
        self.check_values("")
    }

    fn validated(self, source: &str) -> Result<Policy, Error> {
        self.check_values(source)?;
        Ok(self)
    }

    fn check_values(&self, source: &str) -> Result<(), Error> {
        let at = |key: &str| Some(locate(source, key));
        for (key, value) in [
            ("review_threshold", self.review_threshold),
            ("block_threshold", self.block_threshold),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::policy(
                    at(key),
                    format!("{key} = {value} is outside [0, 1]"),
                ));
            }
        }
        if self.review_threshold > self.block_threshold {
            return Err(Error::policy(
                at("review_threshold"),
                format!(
                    "review_threshold ({}) is above block_threshold ({})",
                    self.review_threshold, self.block_threshold
                ),
            ));
        }
        if self.block_min_families == 0 {
            return Err(Error::policy(
                at("block_min_families"),
                "block_min_families must be at least 1",
            ));
        }
        for (code, weight) in &self.weights {
            if !crate::features::all_codes().any(|info| info.code == code) {
                return Err(Error::policy(
                    at(code),
                    format!("weights.{code}: no reason has this code"),
                ));
            }
            if code == crate::combine::SINGLE_FAMILY {
                return Err(Error::policy(
                    at(code),
                    format!("weights.{code}: a note of the verdict, not evidence, has no weight"),
                ));
            }
            // The same bound as a model file's weights: beyond it a single
            // reason would make every score 0 or 1 whatever else fired.
            let max = crate::classifier::model::MAX_LOG_ODDS;
            if !weight.is_finite() || weight.abs() > max {
                return Err(Error::policy(
                    at(code),
                    format!("weights.{code} is {weight}, outside -{max} to {max}"),
                ));
            }
        }
        for (list, name) in [(&self.allow, "allow"), (&self.deny, "deny")] {
            for pattern in &list.patterns {
                let compiled = regex::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .build();
                if let Err(e) = compiled {
                    return Err(Error::policy(
                        at(pattern),
                        format!("{name}.patterns: {pattern:?} is not a valid regex: {e}"),
                    ));
                }
            }
        }
        if let Some((value, message)) = self.links.problem() {
            return Err(Error::policy(at(&value), message));
        }
        if self.limits.max_text_bytes == 0 {
            return Err(Error::policy(
                at("max_text_bytes"),
                "limits.max_text_bytes must be at least 1",
            ));
        }
        self.stream
            .validate()
            .map_err(|e| Error::policy(at("[stream]"), e.to_string()))?;
        self.store
            .validate()
            .map_err(|e| Error::policy(at("[store]"), e.to_string()))
    }
}

/// Whether the source may name a `[store]` key in `[stream]`, where older
/// policy files have them: only then is it read in two steps.
fn mentions_moved_key(source: &str) -> bool {
    MOVED_KEYS.iter().any(|key| source.contains(key))
}

/// Takes the `[store]` keys out of a `[stream]` table.
fn take_moved<T, V>(
    stream: &mut T,
    remove: impl Fn(&mut T, &str) -> Option<V>,
) -> Vec<(&'static str, V)> {
    MOVED_KEYS
        .iter()
        .filter_map(|&key| remove(stream, key).map(|v| (key, v)))
        .collect()
}

/// Puts keys taken from `[stream]` into `[store]`, refusing one that
/// `[store]` also sets (which of the two was meant cannot be told).
fn put_moved<M, V>(store: &mut M, moved: Vec<(&'static str, V)>, source: &str) -> Result<(), Error>
where
    M: MapLike<V>,
{
    for (key, value) in moved {
        if store.has(key) {
            return Err(Error::policy(
                Some(locate(source, key)),
                format!("{key} is set in both [stream] and [store]; it belongs in [store]"),
            ));
        }
        store.put(key, value);
    }
    Ok(())
}

/// The two tables a policy is read into before it is typed: TOML's and
/// JSON's.
trait MapLike<V> {
    fn has(&self, key: &str) -> bool;
    fn put(&mut self, key: &str, value: V);
}

impl MapLike<toml::Value> for toml::Table {
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn put(&mut self, key: &str, value: toml::Value) {
        self.insert(key.to_string(), value);
    }
}

impl MapLike<serde_json::Value> for serde_json::Map<String, serde_json::Value> {
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn put(&mut self, key: &str, value: serde_json::Value) {
        self.insert(key.to_string(), value);
    }
}

/// "line N" of the first line that mentions `key`, or the key itself when
/// the source does not show it (a policy built in code).
fn locate(source: &str, key: &str) -> String {
    match source.lines().position(|line| line.contains(key)) {
        Some(index) => format!("line {}", index + 1),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(source: &str) -> String {
        Policy::from_toml_str(source).unwrap_err().to_string()
    }

    #[test]
    fn empty_policy_is_the_default() {
        assert_eq!(Policy::from_toml_str("").unwrap(), Policy::default());
        assert_eq!(Policy::from_json_str("{}").unwrap(), Policy::default());
    }

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let e = error("review_threshold = 0.5\nblock_treshold = 0.9\n");
        assert!(e.contains("block_treshold") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn threshold_outside_unit_interval_is_named() {
        let e = error("\nblock_threshold = 1.5\n");
        assert!(e.contains("block_threshold") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn review_above_block_is_an_error() {
        let e = error("review_threshold = 0.95\nblock_threshold = 0.9\n");
        assert!(e.contains("above block_threshold"), "{e}");
    }

    #[test]
    fn bad_regex_names_the_pattern_and_line() {
        let e = error("[deny]\npatterns = [\"(unclosed\"]\n");
        assert!(e.contains("(unclosed") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn unknown_weight_code_is_an_error() {
        let e = error("[weights]\nTEXT_NOT_A_CODE = 1.0\n");
        assert!(e.contains("TEXT_NOT_A_CODE") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_weight_beyond_the_model_files_bound_is_an_error() {
        let e = error("[weights]\nTEXT_ZERO_WIDTH = 1e308\n");
        assert!(
            e.contains("TEXT_ZERO_WIDTH") && e.contains("line 2") && e.contains("outside"),
            "{e}"
        );
        assert!(Policy::from_toml_str("[weights]\nTEXT_ZERO_WIDTH = -64.0").is_ok());
    }

    #[test]
    fn block_min_families_must_be_positive() {
        let e = error("block_min_families = 0\n");
        assert!(
            e.contains("block_min_families") && e.contains("line 1"),
            "{e}"
        );
        let p = Policy::from_toml_str("block_min_families = 3").unwrap();
        assert_eq!(p.block_min_families, 3);
        assert_eq!(Policy::default().block_min_families, 2);
    }

    #[test]
    fn json_errors_name_the_line() {
        let e = Policy::from_json_str("{\n\"review_threshold\": \"high\"\n}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
