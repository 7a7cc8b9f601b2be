//! The prefilter: one cheap look at the bytes decides whether a message
//! can hold a link at all, and whether it shows signs of a disguised one.

use crate::features::link::domains::{BARE_TLDS, SUSPICIOUS_TLDS, is_spaced_tld};

/// What one quick pass over the bytes says about a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// No byte that could start or carry a link: nothing to do.
    None,
    /// Maybe a link, written plainly: the finder runs on the raw text.
    Plain,
    /// Signs of a hidden link: the finder runs on the de-obfuscated view.
    Disguised,
}

/// `example dot com` in the usual cases.
const DOT_WORDS: [&[u8; 5]; 3] = [b" dot ", b" DOT ", b" Dot "];

/// Whether one of [`DOT_WORDS`] is followed by a top-level domain. One
/// pass over the `d` and `D` bytes (three substring searches cost more on
/// a short DM); each case's matches are taken without overlap, as a
/// substring search per case would.
fn dot_word_tld(b: &[u8]) -> bool {
    let mut next_free = [0usize; DOT_WORDS.len()];
    for d in memchr::memchr2_iter(b'd', b'D', b) {
        let Some(space) = d.checked_sub(1) else {
            continue;
        };
        let Some(word) = b.get(space..space + 5) else {
            break;
        };
        for (k, w) in DOT_WORDS.iter().enumerate() {
            if word == &w[..] && space >= next_free[k] {
                if spaced_tld_at(b, space + 5) {
                    return true;
                }
                next_free[k] = space + 5;
            }
        }
    }
    false
}

/// The cheap prefilter: a few SIMD byte searches (`memchr`) for the bytes
/// a link needs (`.` before a letter, `@`, `://`) or a disguise uses
/// (brackets around a dot, `example . com`, `dot`, non-ASCII dots and
/// letters, invisible characters), each followed by a look at its
/// neighbours. Most DMs have none of them and cost a few nanoseconds.
pub(crate) fn trigger(raw: &str) -> Trigger {
    let b = raw.as_bytes();
    let mut found = Trigger::None;
    for i in memchr::memchr3_iter(b'.', b'@', b':', b) {
        match b[i] {
            b'.' => {
                let spaced = (i > 0 && b[i - 1] == b' ') || b.get(i + 1) == Some(&b' ');
                if spaced && spaced_tld_at(b, i + 1) {
                    return Trigger::Disguised;
                }
                let next = b.get(i + 1).copied().unwrap_or(b' ');
                // A digit after the dot is a link only in a dotted quad
                // (185.23.4.19); prices and versions stop here.
                if next.is_ascii_alphabetic() || next >= 0x80 || dotted_quad_at(b, i) {
                    found = Trigger::Plain;
                }
            }
            // An address, not a @handle: something before the @.
            b'@' => {
                let around = i > 0
                    && b[i - 1].is_ascii_alphanumeric()
                    && b.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric());
                if around {
                    found = Trigger::Plain;
                }
            }
            _ => {
                if b[i + 1..].starts_with(b"//") {
                    if disguised_scheme_before(b, i) {
                        return Trigger::Disguised;
                    }
                    found = Trigger::Plain;
                }
            }
        }
    }
    for i in memchr::memchr3_iter(b'[', b'(', b'{', b) {
        if bracket_token(raw, i).is_some() {
            return Trigger::Disguised;
        }
    }
    if dot_word_tld(b) {
        return Trigger::Disguised;
    }
    if !b.is_ascii() && disguised_non_ascii(b) {
        return Trigger::Disguised;
    }
    found
}

/// Non-ASCII disguises: invisible characters inside a name, ideographic,
/// full-width and half-width dots after Latin letters, full-width letters.
fn disguised_non_ascii(b: &[u8]) -> bool {
    // U+00AD soft hyphen inside a name.
    let soft_hyphen =
        memchr::memchr_iter(0xC2, b).any(|i| b.get(i + 1) == Some(&0xAD) && in_name(b, i, i + 2));
    if soft_hyphen {
        return true;
    }
    memchr::memchr3_iter(0xE2, 0xE3, 0xEF, b).any(|i| {
        let next = b.get(i + 1..i + 3);
        match b[i] {
            // U+200B..U+200F, U+2060..U+206F: zero-width and format
            // characters between parts of a name (in an emoji sequence a
            // joiner is honest).
            0xE2 => {
                matches!(next, Some([0x80, 0x8B..=0x8F] | [0x81, 0xA0..=0xAF]))
                    && in_name(b, i, i + 3)
            }
            // U+3002 ideographic full stop after a Latin letter or digit,
            // not in Japanese or Chinese prose.
            0xE3 => next == Some(&[0x80, 0x82]) && after_latin(b, i),
            // Full-width dot, digits and letters, half-width dot, U+FEFF;
            // not full-width punctuation such as ？ and ， in CJK prose.
            _ => matches!(
                next,
                Some(
                    [0xBC, 0x8E | 0x90..=0x99 | 0xA1..=0xBA]
                    | [0xBD, 0x81..=0x9A | 0xA1]
                    | [0xBB, 0xBF],
                )
            ),
        }
    })
}

/// True when the letters before the `:` at `colon` look like `http` or
/// `https` with letters swapped (`hxxps`, `h**p`).
fn disguised_scheme_before(b: &[u8], colon: usize) -> bool {
    let start = b[..colon]
        .iter()
        .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'*'))
        .map_or(0, |p| p + 1);
    let s = &b[start..colon];
    (s.len() == 4 || s.len() == 5)
        && s[0] | 0x20 == b'h'
        && !s.eq_ignore_ascii_case(b"http")
        && !s.eq_ignore_ascii_case(b"https")
}

/// A run of digits and dots through `dot` with at least three dots.
fn dotted_quad_at(b: &[u8], dot: usize) -> bool {
    let is_part = |c: &u8| c.is_ascii_digit() || *c == b'.';
    let start = b[..dot]
        .iter()
        .rposition(|c| !is_part(c))
        .map_or(0, |p| p + 1);
    let end = b[dot..]
        .iter()
        .position(|c| !is_part(c))
        .map_or(b.len(), |p| dot + p);
    b[start..end].iter().filter(|c| **c == b'.').count() >= 3
}

/// The bytes before `start` and after `end` are ASCII name characters or
/// dots: an invisible character hidden inside a host.
fn in_name(b: &[u8], start: usize, end: usize) -> bool {
    let part = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.');
    start > 0 && part(b.get(start - 1)) && part(b.get(end))
}

/// The character before `i` is an ASCII letter or digit, or a full-width
/// one (U+FF10..U+FF5A, whose UTF-8 starts with 0xEF).
fn after_latin(b: &[u8], i: usize) -> bool {
    (i > 0 && b[i - 1].is_ascii_alphanumeric()) || (i >= 3 && b[i - 3] == 0xEF)
}

pub(super) fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// After optional spaces from `i`, a TLD that ends at a word boundary:
/// one from [`is_spaced_tld`], or, when a path follows (`shop/join`), any
/// TLD a bare link may end in ([`BARE_TLDS`], [`SUSPICIOUS_TLDS`]).
/// Returns the end of the TLD.
pub(super) fn spaced_tld_end(b: &[u8], mut i: usize) -> Option<usize> {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let start = i;
    while b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
        i += 1;
    }
    if i == start
        || b.get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80)
    {
        return None;
    }
    let word = &b[start..i];
    if word.len() > MAX_TLD {
        return None;
    }
    let mut buf = [0u8; MAX_TLD];
    let lower = &mut buf[..word.len()];
    for (l, c) in lower.iter_mut().zip(word) {
        *l = c.to_ascii_lowercase();
    }
    if is_spaced_tld(lower) {
        return Some(i);
    }
    let path = b[i..].iter().find(|c| **c != b' ') == Some(&b'/');
    let known = |tlds: &[&str]| tlds.iter().any(|t| t.as_bytes() == &lower[..]);
    (path && (known(BARE_TLDS) || known(SUSPICIOUS_TLDS))).then_some(i)
}

/// The longest TLD read apart from its name (`download`, `accountant`).
const MAX_TLD: usize = 10;

fn spaced_tld_at(b: &[u8], i: usize) -> bool {
    spaced_tld_end(b, i).is_some()
}

/// A bracketed stand-in at `i`: `[.]`, `(dot)`, `{.}`, `[:]`, `[at]`, `(@)`
/// with optional spaces inside. Returns the character it stands for and the
/// end of the token.
pub(super) fn bracket_token(raw: &str, i: usize) -> Option<(char, usize)> {
    let b = raw.as_bytes();
    let close = match b[i] {
        b'[' => b']',
        b'(' => b')',
        b'{' => b'}',
        _ => return None,
    };
    let mut j = i + 1;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    let (c, len) = if starts_with_ci(&b[j..], b"dot") {
        ('.', 3)
    } else if starts_with_ci(&b[j..], b"at") {
        ('@', 2)
    } else {
        match b.get(j) {
            Some(b'.') => ('.', 1),
            Some(b':') => (':', 1),
            Some(b'@') => ('@', 1),
            Some(b'/') => ('/', 1),
            _ => return None,
        }
    };
    j += len;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    (b.get(j) == Some(&close)).then_some((c, j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use memchr::memmem;

    #[test]
    fn dot_words_match_a_search_per_case() {
        // The plain definition: each case searched on its own, matches
        // taken without overlap.
        let reference = |b: &[u8]| {
            DOT_WORDS
                .iter()
                .any(|w| memmem::find_iter(b, &w[..]).any(|i| spaced_tld_at(b, i + 5)))
        };
        for text in [
            "example dot com",
            "see example DOT com now",
            "example Dot Com",
            "example dot dot com",
            "a dot dot dot com",
            "x DOT dot com",
            "dot com",
            " dot com",
            "the dot is here",
            "example dOt com",
            "example  dot  net",
            "d",
            "",
        ] {
            assert_eq!(
                dot_word_tld(text.as_bytes()),
                reference(text.as_bytes()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn trigger_sorts_texts() {
        assert_eq!(
            trigger("my order hasn't arrived, thanks. See you"),
            Trigger::None
        );
        assert_eq!(trigger("see example.org today"), Trigger::Plain);
        assert_eq!(trigger("see bit.ly/x"), Trigger::Plain);
        assert_eq!(trigger("https://a.com"), Trigger::Plain);
        assert_eq!(trigger("hxxps://a.com"), Trigger::Disguised);
        assert_eq!(trigger("a[.]com"), Trigger::Disguised);
        assert_eq!(trigger("tinyurl . com"), Trigger::Disguised);
        assert_eq!(trigger("ａ．ｃｏｍ"), Trigger::Disguised);
        assert_eq!(trigger("Привет, где мой заказ?"), Trigger::None);
        assert_eq!(trigger("it was $49.99, v1.2.3"), Trigger::None);
        assert_eq!(trigger("cc @brand_ops"), Trigger::None);
        assert_eq!(trigger("こんにちは。注文？"), Trigger::None);
        assert_eq!(trigger("👨\u{200d}👩\u{200d}👧 pjs"), Trigger::None);
        assert_eq!(trigger("go 185.23.4.19/x"), Trigger::Plain);
        assert_eq!(trigger("jo@example.com"), Trigger::Plain);
        assert_eq!(trigger("pay\u{200b}pal.com"), Trigger::Disguised);
        assert_eq!(trigger("example。com"), Trigger::Disguised);
    }
}
