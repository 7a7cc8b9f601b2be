//! Short-link expansion, kept outside `check`: the filter never resolves
//! or fetches anything, so a caller who wants shortened links judged by
//! where they lead expands them itself and hands the answers back.

use std::collections::HashMap;

/// Answers "where does this short link lead?" from what the caller already
/// knows.
///
/// [`Filter::check_with_expander`](crate::Filter::check_with_expander) asks
/// it about each shortened link in a message (by its normalised URL,
/// e.g. `https://bit.ly/3xWinPrz`) and judges the answer like any other
/// link. It is called on the hot path, so it must answer from memory: the
/// pattern is a cache that a background task fills by following redirects
/// (with its own timeouts, limits and politeness), keyed by the URLs that
/// [`Filter::short_links`](crate::Filter::short_links) reports. An unknown
/// link gets `None` and is judged as a short link only.
///
/// Implemented for maps and for slices of `(short, long)` pairs:
///
/// ```
/// use std::collections::HashMap;
/// use dmguard::{Filter, LinkExpander, Message};
///
/// let filter = Filter::default();
/// let msg = Message::new("claim your prize: https://bit.ly/3xWinPrz");
///
/// // Elsewhere, off the hot path: resolve what `short_links` reports and
/// // remember it. Here a fixed answer stands in for the resolver.
/// let mut cache: HashMap<String, String> = HashMap::new();
/// for link in filter.short_links(msg.text) {
///     cache.insert(link.url, "http://185.23.4.19/login".to_string());
/// }
/// assert_eq!(cache.expand("https://bit.ly/3xWinPrz").as_deref(), Some("http://185.23.4.19/login"));
///
/// let plain = filter.check(&msg);
/// let expanded = filter.check_with_expander(&msg, &cache);
/// assert!(expanded.reasons.iter().any(|r| r.code == "LINK_IP_HOST"));
/// assert!(expanded.score > plain.score);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait LinkExpander {
    /// Where `url` leads, if known. `url` is a normalised URL as in
    /// [`Link::url`](crate::Link::url).
    fn expand(&self, url: &str) -> Option<String>;
}

/// Keys match with or without the scheme and a trailing `/`, and with the
/// host in any case.
fn same_url(key: &str, url: &str) -> bool {
    fn bare(s: &str) -> &str {
        let s = s.trim();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        s.strip_suffix('/').unwrap_or(s)
    }
    let (a, b) = (bare(key), bare(url));
    let host_end = |s: &str| s.find('/').unwrap_or(s.len());
    let (ha, hb) = (host_end(a), host_end(b));
    a[..ha].eq_ignore_ascii_case(&b[..hb]) && a[ha..] == b[hb..]
}

impl<S: std::hash::BuildHasher> LinkExpander for HashMap<String, String, S> {
    fn expand(&self, url: &str) -> Option<String> {
        if let Some(long) = self.get(url) {
            return Some(long.clone());
        }
        self.iter()
            .find(|(short, _)| same_url(short, url))
            .map(|(_, long)| long.clone())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> LinkExpander for [(K, V)] {
    fn expand(&self, url: &str) -> Option<String> {
        self.iter()
            .find(|(short, _)| same_url(short.as_ref(), url))
            .map(|(_, long)| long.as_ref().to_string())
    }
}

impl<T: LinkExpander + ?Sized> LinkExpander for &T {
    fn expand(&self, url: &str) -> Option<String> {
        (**self).expand(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_loosely_on_scheme_and_host_case() {
        let pairs = [("bit.ly/AbC", "https://target.example/x")];
        assert!(pairs[..].expand("http://bit.ly/AbC").is_some());
        assert!(pairs[..].expand("https://BIT.LY/AbC/").is_some());
        assert!(pairs[..].expand("https://bit.ly/abc").is_none());
    }
}
