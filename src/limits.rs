//! Every bound on the work and memory that one message, one policy or the
//! stream can cost, in one place.
//!
//! **Per message** ([`Filter::check`](crate::Filter::check)), set in the
//! policy, each with a ceiling an operator cannot raise it past:
//!
//! - `limits.max_text_bytes` (default 4096, at most [`MAX_TEXT_BYTES`]):
//!   the bytes of text that are read. A longer text is read as its first
//!   three quarters of that budget and its last quarter (see
//!   [`examined`]), and carries `TEXT_TRUNCATED`, whose strength grows with
//!   how far the text overshoots. Everything after (canonical forms, words,
//!   phrases, patterns, links, fingerprint, classifier) is linear in the
//!   bytes read, so a 10 MB DM costs what a 4 KB one does.
//! - `links.max_links` (default 16, at most [`MAX_LINKS`]): links judged.
//! - Reasons per verdict: one per reason code at most (a code that fires
//!   twice keeps the stronger hit), so a verdict never holds more reasons
//!   than there are codes; every detail is built from the bytes read.
//!
//! **Per policy**, checked when it is read or a filter is built, each
//! refused with an error that names the key and, in a policy file, its
//! line: [`MAX_POLICY_BYTES`], [`MAX_EXTRA_PHRASES`] spam phrases,
//! [`MAX_PHRASES`] per allow or deny phrase list,
//! [`MAX_LIST_ENTRIES`] per sender or domain list, [`MAX_PATTERNS`] per
//! pattern list and [`REGEX_SIZE_LIMIT`] for the compiled patterns. The
//! regex engine is linear in the text whatever the pattern, so a pattern
//! that would backtrack exponentially elsewhere, such as `(a+)+$`, costs
//! nothing more here.
//!
//! **The stream** is bounded by `[stream] max_senders`, `max_fingerprints`
//! and `max_conversations`, whatever the number of distinct senders or
//! texts; its keys are hashed with the policy's secret (`[store] hash_key`)
//! so that nobody can aim ids or texts at one table set.

/// The highest `limits.max_text_bytes` a policy may set: 1 MiB.
pub(crate) const MAX_TEXT_BYTES: usize = 1 << 20;

/// The highest `links.max_links` a policy may set.
pub(crate) const MAX_LINKS: usize = 1024;

/// The largest policy file or string read: 64 MiB, room for a million
/// deny-listed domains.
pub(crate) const MAX_POLICY_BYTES: usize = 64 << 20;

/// Phrases per allow or deny list (`allow.phrases`, `deny.phrases`),
/// each list compiled into one automaton that grows with its phrases.
pub(crate) const MAX_PHRASES: usize = 100_000;

/// The policy's spam phrases (`extra_phrases`): fewer, because they join
/// the built-in list in a full DFA (one table lookup per byte on the hot
/// path), whose memory grows several kilobytes per phrase.
pub(crate) const MAX_EXTRA_PHRASES: usize = 10_000;

/// Entries per sender or domain list (`allow.senders`, `deny.senders` and
/// every list of `[links]`).
pub(crate) const MAX_LIST_ENTRIES: usize = 1_000_000;

/// Regular expressions per list (`allow.patterns`, `deny.patterns`).
pub(crate) const MAX_PATTERNS: usize = 1000;

/// Entries one stream table (`[store] max_senders`, `max_fingerprints`,
/// `max_conversations`) may be allowed: 100 million, which is 6.4 GB of
/// senders or 11 GB of fingerprint bands. The tables grow as they fill, so
/// a cap beyond the machine's memory would not fail at build but when the
/// stream fills it; past this one it is taken for a slip of the keyboard.
pub(crate) const MAX_TABLE_ENTRIES: usize = 100_000_000;

/// Bytes that one list's patterns may take once compiled (the regex
/// crate's `size_limit`, applied to each pattern and to the list's set).
pub(crate) const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// The part of `text` that a check reads within `max` bytes, and whether
/// that is all of it: the text itself when it fits; otherwise its first
/// three quarters of `max` and its last quarter, each cut on a character
/// boundary, joined by a line break into `buffer`.
///
/// The tail is read because the cheap way to hide spam from a reader of
/// prefixes is to pad an honest start in front of it; what remains unread
/// is the middle of a text already marked too long.
pub(crate) fn examined<'t>(text: &'t str, max: usize, buffer: &'t mut String) -> &'t str {
    if text.len() <= max {
        return text;
    }
    let head = floor_boundary(text, max - max / 4);
    let tail = ceil_boundary(text, text.len() - max / 4);
    buffer.clear();
    buffer.push_str(&text[..head]);
    // The tail starts mid-text: a line break keeps its first word from
    // running into the head's last one.
    if tail < text.len() {
        buffer.push('\n');
        buffer.push_str(&text[tail..]);
    }
    buffer
}

/// The strength of `TEXT_TRUNCATED` for a text of `len` bytes read within
/// `max`: 1 at the cap, one more for each doubling beyond it, at most 4, so
/// that a long honest complaint adds little and a megabyte of padding adds
/// several times as much (a text that long is no ordinary DM).
pub(crate) fn overshoot(len: usize, max: usize) -> f64 {
    (1.0 + (len as f64 / max.max(1) as f64).log2()).clamp(1.0, 4.0)
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_read_at_both_ends_within_the_budget() {
        let mut buffer = String::new();
        assert_eq!(examined("short", 8, &mut buffer), "short");
        let text = format!("{}SPAM", "é".repeat(100));
        let read = examined(&text, 40, &mut buffer);
        assert!(read.len() <= 41, "{}", read.len());
        assert!(read.starts_with("ééé") && read.ends_with("SPAM"), "{read}");
        // Cut on character boundaries at both ends, whatever the cap.
        for max in 1..50 {
            let read = examined(&text, max, &mut buffer);
            assert!(read.len() <= max + 1, "{max}");
        }
    }

    #[test]
    fn overshoot_grows_by_doublings_and_is_capped() {
        assert_eq!(overshoot(4096, 4096), 1.0);
        assert_eq!(overshoot(8192, 4096), 2.0);
        assert_eq!(overshoot(10 << 20, 4096), 4.0);
    }
}
