//! The policy: every setting of a filter, read from one TOML or JSON file
//! and checked in one place ([`Policy::validate`], which a build runs):
//! thresholds, weights and lists here, and one table per part of the
//! pipeline beside it: `[links]` (`links`), `[stream]`, the evidence's
//! windows and thresholds (`stream`), and `[store]`, what the stream state
//! may hold (`store`). The parts read their tables from here; nothing here
//! reads the parts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod links;
mod store;
mod stream;

pub use links::LinkPolicy;
pub use store::StorePolicy;
pub(crate) use store::{MOVED_KEYS, Windows};
pub use stream::StreamPolicy;

use crate::Error;
use crate::codes::Code;
use crate::limits::{
    MAX_EXTRA_PHRASES, MAX_LINKS, MAX_LIST_ENTRIES, MAX_PATTERNS, MAX_PHRASES, MAX_POLICY_BYTES,
    MAX_TEXT_BYTES, REGEX_SIZE_LIMIT,
};

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
///
/// ```
/// use dmguard::{Filter, Message, Policy};
///
/// let policy = Policy::from_toml_str("[limits]\nmax_text_bytes = 1000")?;
/// let filter = Filter::new(policy)?;
/// let padded = format!("{} claim your free prize at bit.ly/x", "hello there. ".repeat(500));
/// let v = filter.check(&Message::new(&padded));
/// assert!(v.reason("TEXT_TRUNCATED").is_some());
/// assert!(v.reason("LINK_SHORTENER").is_some(), "the end of a long text is read too");
/// assert!(Policy::from_toml_str("[limits]\nmax_text_bytes = 100000000").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Bytes of text examined, 1 to 1 048 576. A longer text is read as
    /// its first three quarters of this and its last quarter, so that an
    /// honest start cannot hide what is appended; the middle is ignored,
    /// and reason `TEXT_TRUNCATED` says so, the stronger the longer the
    /// text. Default 4096.
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
    /// Reads a policy from TOML text and checks it. A text over 64 MiB is
    /// refused unread.
    pub fn from_toml_str(source: &str) -> Result<Policy, Error> {
        check_size(source.len()).map_err(|e| Error::policy(None, e))?;
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

    /// Reads a policy from JSON text and checks it. A text over 64 MiB is
    /// refused unread.
    pub fn from_json_str(source: &str) -> Result<Policy, Error> {
        check_size(source.len()).map_err(|e| Error::policy(None, e))?;
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
    /// otherwise. Errors name the file. An empty file, one that is not
    /// UTF-8, or one over 64 MiB (refused before it is read) is an error.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, Error> {
        let path = path.as_ref();
        let at = || Some(path.display().to_string());
        let bytes =
            crate::persist::read_capped(path, MAX_POLICY_BYTES as u64, |m| Error::policy(at(), m))?;
        let source =
            String::from_utf8(bytes).map_err(|_| Error::policy(at(), "corrupt: not UTF-8 text"))?;
        if source.trim().is_empty() {
            // An empty file is a write that went wrong, not a wish for the
            // built-in policy.
            return Err(Error::policy(at(), "empty: the file holds no policy"));
        }
        let in_file = |e: String| Error::policy(at(), e);
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            Policy::from_json_str(&source)
        } else {
            Policy::from_toml_str(&source)
        };
        parsed.map_err(|e| in_file(e.to_string()))
    }

    /// Checks the values that serde cannot: ranges, order, codes, patterns,
    /// link domains, the `[stream]` table. The one check of a whole
    /// policy: the parts do not check themselves again when a filter is
    /// built.
    pub fn validate(&self) -> Result<(), Error> {
        self.checked_weights().map(drop)
    }

    /// Checks the policy as [`Policy::validate`] does, and returns its
    /// `[weights]` resolved to codes: what a filter's build needs.
    pub(crate) fn checked_weights(&self) -> Result<Vec<(Code, f64)>, Error> {
        self.check_values("")
    }

    fn validated(self, source: &str) -> Result<Policy, Error> {
        self.check_values(source)?;
        Ok(self)
    }

    /// Every check; errors name the key, and its line when `source` (the
    /// policy's text) shows it.
    fn check_values(&self, source: &str) -> Result<Vec<(Code, f64)>, Error> {
        let at = |key: &str| Some(locate(source, key));
        // Sizes first: everything after them costs time per entry.
        self.check_sizes(source)?;
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
        let mut weights = Vec::with_capacity(self.weights.len());
        for (key, &weight) in &self.weights {
            let code = key.as_str();
            let Some(resolved) = Code::parse(code) else {
                return Err(Error::policy(
                    at(code),
                    format!("weights.{code}: no reason has this code"),
                ));
            };
            if resolved == Code::VERDICT_SINGLE_FAMILY {
                return Err(Error::policy(
                    at(code),
                    format!("weights.{code}: a note of the verdict, not evidence, has no weight"),
                ));
            }
            // The same bound as a model file's weights: beyond it a single
            // reason would make every score 0 or 1 whatever else fired.
            let max = crate::codes::MAX_LOG_ODDS;
            if !weight.is_finite() || weight.abs() > max {
                return Err(Error::policy(
                    at(code),
                    format!("weights.{code} is {weight}, outside -{max} to {max}"),
                ));
            }
            weights.push((resolved, weight));
        }
        for (list, name) in [(&self.allow, "allow"), (&self.deny, "deny")] {
            for pattern in &list.patterns {
                let compiled = regex::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build();
                if let Err(e) = compiled {
                    return Err(Error::policy(
                        at(pattern),
                        format!("{name}.patterns: {pattern:?} is not a valid regex: {e}"),
                    ));
                }
            }
            // Each may fit while all of them together, compiled into the
            // one set that a check runs, do not.
            if list.patterns.len() > 1
                && let Err(e) = pattern_set(&list.patterns)
            {
                return Err(Error::policy(
                    Some(locate_in(source, name, "patterns")),
                    format!("{name}.patterns: together they do not compile: {e}"),
                ));
            }
        }
        if let Some((value, message)) = self.links.problem() {
            return Err(Error::policy(at(&value), message));
        }
        if !(1..=MAX_TEXT_BYTES).contains(&self.limits.max_text_bytes) {
            return Err(Error::policy(
                at("max_text_bytes"),
                format!(
                    "limits.max_text_bytes = {} is outside 1..={MAX_TEXT_BYTES}",
                    self.limits.max_text_bytes
                ),
            ));
        }
        if self.links.max_links > MAX_LINKS {
            return Err(Error::policy(
                at("max_links"),
                format!(
                    "links.max_links = {} is above {MAX_LINKS}",
                    self.links.max_links
                ),
            ));
        }
        self.stream
            .validate()
            .map_err(|e| Error::policy(at("[stream]"), e.to_string()))?;
        self.store
            .validate()
            .map_err(|e| Error::policy(at("[store]"), e.to_string()))?;
        Ok(weights)
    }
}

/// Refuses a policy source too large to read.
fn check_size(len: usize) -> Result<(), String> {
    if len > MAX_POLICY_BYTES {
        return Err(format!(
            "the policy is {len} bytes, more than the {MAX_POLICY_BYTES} a policy may hold"
        ));
    }
    Ok(())
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

/// One list's patterns compiled as the set a check runs, within the size
/// limit.
pub(crate) fn pattern_set(patterns: &[String]) -> Result<regex::RegexSet, regex::Error> {
    regex::RegexSetBuilder::new(patterns)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl Policy {
    /// Refuses lists longer than their caps, naming the key and its line.
    fn check_sizes(&self, source: &str) -> Result<(), Error> {
        let l = &self.links;
        let lists: [(&str, &str, usize, usize); 12] = [
            (
                "",
                "extra_phrases",
                self.extra_phrases.len(),
                MAX_EXTRA_PHRASES,
            ),
            ("allow", "phrases", self.allow.phrases.len(), MAX_PHRASES),
            ("deny", "phrases", self.deny.phrases.len(), MAX_PHRASES),
            ("allow", "patterns", self.allow.patterns.len(), MAX_PATTERNS),
            ("deny", "patterns", self.deny.patterns.len(), MAX_PATTERNS),
            (
                "allow",
                "senders",
                self.allow.senders.len(),
                MAX_LIST_ENTRIES,
            ),
            ("deny", "senders", self.deny.senders.len(), MAX_LIST_ENTRIES),
            (
                "links",
                "own_domains",
                l.own_domains.len(),
                MAX_LIST_ENTRIES,
            ),
            (
                "links",
                "protected_domains",
                l.protected_domains.len(),
                MAX_LIST_ENTRIES,
            ),
            ("links", "shorteners", l.shorteners.len(), MAX_LIST_ENTRIES),
            (
                "links",
                "suspicious_tlds",
                l.suspicious_tlds.len(),
                MAX_LIST_ENTRIES,
            ),
            (
                "links",
                "deny_domains",
                l.deny_domains.len(),
                MAX_LIST_ENTRIES,
            ),
        ];
        for (table, key, len, cap) in lists {
            if len > cap {
                let name = match table {
                    "" => key.to_string(),
                    table => format!("{table}.{key}"),
                };
                return Err(Error::policy(
                    Some(locate_in(source, table, key)),
                    format!("{name} holds {len} entries, more than the {cap} allowed"),
                ));
            }
        }
        Ok(())
    }
}

/// "line N" of `key` within `table` (the first line naming the key after
/// the first line naming the table, `[deny]` in TOML or `"deny"` in JSON;
/// a top-level key when `table` is empty), or the dotted key itself when
/// the source does not show it (a policy built in code).
fn locate_in(source: &str, table: &str, key: &str) -> String {
    let mut lines = source.lines().enumerate();
    let found = if table.is_empty() {
        None
    } else {
        let toml = format!("[{table}]");
        let json = format!("\"{table}\"");
        lines.find(|(_, line)| {
            let line = line.trim_start();
            line.starts_with(&toml) || line.starts_with(&json)
        })
    };
    let line = if found.is_some() || table.is_empty() {
        lines
            .find(|(_, line)| {
                let line = line.trim_start().trim_start_matches('"');
                line.starts_with(key)
                    && line[key.len()..]
                        .trim_start_matches('"')
                        .trim_start()
                        .starts_with(['=', ':'])
            })
            .map(|(index, _)| index)
    } else {
        None
    };
    match line {
        Some(index) => format!("line {}", index + 1),
        None if table.is_empty() => key.to_string(),
        None => format!("{table}.{key}"),
    }
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
    fn unknown_weight_code_in_json_names_the_line() {
        let e = Policy::from_json_str("{\n\"weights\": {\n\"LINK_DENIED\": 2.0\n}\n}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("LINK_DENIED") && e.contains("line 3"), "{e}");
    }

    #[test]
    fn weights_resolve_to_their_codes() {
        let p = Policy::from_toml_str("[weights]\nLINK_DENY = 2.0\nTEXT_PHONE = 0.0\n").unwrap();
        assert_eq!(
            p.checked_weights().unwrap(),
            [(Code::LINK_DENY, 2.0), (Code::TEXT_PHONE, 0.0)]
        );
        let e = error("[weights]\nVERDICT_SINGLE_FAMILY = 1.0\n");
        assert!(
            e.contains("VERDICT_SINGLE_FAMILY") && e.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn a_policy_built_in_code_is_checked_once_whole_when_a_filter_is_built() {
        // Neither part was parsed, so nothing checked them before the
        // build: the build's one check names the key.
        let mut policy = Policy::default();
        policy.weights.insert("TEXT_ZERO_WIDHT".into(), 1.0);
        let e = crate::Filter::new(policy).unwrap_err().to_string();
        assert!(e.contains("weights.TEXT_ZERO_WIDHT"), "{e}");
        let mut policy = Policy::default();
        policy
            .links
            .deny_domains
            .push("https://evil.example/".into());
        let e = crate::Filter::new(policy).unwrap_err().to_string();
        assert!(e.contains("links.deny_domains"), "{e}");
        let mut policy = Policy::default();
        policy.links.max_links = 0;
        let e = crate::Filter::new(policy).unwrap_err().to_string();
        assert!(e.contains("links.max_links"), "{e}");
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
