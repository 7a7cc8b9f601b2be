//! Near-duplicate fingerprints of the canonical text.
//!
//! Spam campaigns vary each copy so that exact matching fails: invisible
//! characters, width tricks and look-alike letters (undone by
//! canonicalisation), appended emoji or digits and a different link in
//! every copy (masked here: a run of words holding digits or belonging to a
//! link becomes one placeholder, and placeholders at the ends are dropped).
//! The words are hashed as trigrams into a one-permutation MinHash of
//! `2 × bands` buckets; each pair of buckets is one *band*. Two texts that
//! share a band are treated as the same text, so a copy that changes one
//! word still shares most bands with the original (locality-sensitive
//! hashing).
//!
//! The words are the ones the classifier reads ([`Words`], found once per
//! check), so the fingerprint costs a pass over word hashes, not over the
//! text. No allocation: everything lives in fixed arrays.

use crate::classifier::Words;
use crate::state::hash::{mix, nonzero};

/// The most bands a fingerprint can have: as many as the store takes.
pub(crate) use crate::state::store::MAX_BANDS;

/// The hash that stands for a run of numbers and links.
const PLACEHOLDER: u64 = 0x23_23_23_23;

/// The band keys of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub bands: [u64; MAX_BANDS],
    pub len: usize,
}

impl Fingerprint {
    pub fn keys(&self) -> &[u64] {
        &self.bands[..self.len]
    }
}

/// The fingerprint of `text` (canonical) from its `words`, or `None` when
/// fewer than `min_words` words and placeholders remain: short texts ("ok
/// thanks") are shared by too many honest people to mean anything.
pub(crate) fn fingerprint(
    text: &str,
    words: &Words,
    bands: usize,
    min_words: usize,
) -> Option<Fingerprint> {
    let bands = bands.clamp(1, MAX_BANDS);
    let mut sh = Shingles {
        buckets: 2 * bands as u64,
        mins: [u64::MAX; 2 * MAX_BANDS],
        tokens: 0,
        words: 0,
        last: [0; 2],
        masked: false,
    };
    let bytes = text.as_bytes();
    for w in words.spans() {
        let masked = w.has_digit || in_link(bytes, w.start as usize, w.end as usize);
        sh.word(u64::from(w.hash), masked);
    }
    if sh.tokens < min_words.max(3) || sh.words < 2 {
        return None;
    }
    let mins = &mut sh.mins[..2 * bands];
    densify(mins);
    let mut fp = Fingerprint {
        bands: [0; MAX_BANDS],
        len: bands,
    };
    for (b, key) in fp.bands[..bands].iter_mut().enumerate() {
        *key = nonzero(mix(mins[2 * b]
            ^ mins[2 * b + 1].rotate_left(32)
            ^ b as u64));
    }
    Some(fp)
}

/// Whether the word at `start..end` is part of a link, path or address:
/// joined to a neighbouring word by `.`, `/`, `:` or another character of
/// URLs ("bit.ly/x", "https://", "shop.brand.example", "name@host"). The
/// word's own bytes need no look: only the two bytes on each side, each
/// classed by one table lookup (most words end at a space, which settles
/// it at the first look).
fn in_link(bytes: &[u8], start: usize, end: usize) -> bool {
    let class = |i: usize| bytes.get(i).map_or(0, |&b| URL_BYTE[usize::from(b)]);
    let before = start >= 2 && class(start - 1) & JOINS != 0 && class(start - 2) & LINKED != 0;
    let after = class(end) & JOINS != 0 && class(end + 1) & LINKED != 0;
    before || after
}

/// Byte classes for [`in_link`]: a byte that joins the parts of a URL, and
/// a byte that can stand on the far side of such a join.
const JOINS: u8 = 1;
const LINKED: u8 = 2;
static URL_BYTE: [u8; 256] = byte_table!(|b| {
    let joins = matches!(
        b,
        b'.' | b'/' | b':' | b'@' | b'?' | b'=' | b'&' | b'#' | b'%' | b'_' | b'~'
    );
    let linked = b.is_ascii_alphanumeric() || b == b'/';
    (joins as u8 * JOINS) | (linked as u8 * LINKED)
});

/// The running MinHash over word trigrams.
struct Shingles {
    buckets: u64,
    mins: [u64; 2 * MAX_BANDS],
    /// Words and placeholders fed so far.
    tokens: usize,
    /// Words fed so far.
    words: usize,
    /// The two tokens before the next one.
    last: [u64; 2],
    /// Numbers or links were skipped since the last word.
    masked: bool,
}

impl Shingles {
    /// A word, or a number or link (masked: a run of them becomes one
    /// placeholder between words, nothing at the ends).
    #[inline]
    fn word(&mut self, h: u64, masked: bool) {
        if masked {
            self.masked = true;
            return;
        }
        if self.masked && self.words > 0 {
            self.feed(PLACEHOLDER);
        }
        self.masked = false;
        self.feed(h);
        self.words += 1;
    }

    fn feed(&mut self, h: u64) {
        self.tokens += 1;
        let [w1, w2] = self.last;
        if self.tokens >= 3 {
            // Word hashes are finished 32-bit hashes: two of them fill a
            // 64-bit word, the third is spread over it, and one multiply
            // mixes all three into the high bits, which pick the bucket
            // and decide the minimum. (A full `mix` per trigram cost a
            // third of the fingerprint.)
            let tri = ((w1 << 32 | w2) ^ h.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .wrapping_mul(0xd6e8_feb8_6659_fd93);
            // Below `buckets`, at most `2 * MAX_BANDS`: the mask only
            // spares a bounds check.
            let b = (((tri >> 32) * self.buckets) >> 32) as usize & (2 * MAX_BANDS - 1);
            self.mins[b] = self.mins[b].min(tri);
        }
        self.last = [w2, h];
    }
}

/// Fills empty buckets from the next non-empty one (rotation
/// densification), so that short texts still get every band.
fn densify(mins: &mut [u64]) {
    let n = mins.len();
    for i in 0..n {
        if mins[i] != u64::MAX {
            continue;
        }
        for step in 1..n {
            let j = (i + step) % n;
            if mins[j] != u64::MAX {
                mins[i] = mix(mins[j] ^ step as u64);
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Canonical;

    /// The fingerprint of a raw text, canonicalised as in a check.
    fn fp(raw: &str) -> Option<Fingerprint> {
        let mut canon = Canonical::default();
        canon.canonicalize(raw);
        let mut words = Words::default();
        words.fill(&canon.text);
        fingerprint(&canon.text, &words, 3, 4)
    }

    fn shares_a_band(a: &str, b: &str) -> bool {
        let (a, b) = (fp(a).unwrap(), fp(b).unwrap());
        a.keys().iter().any(|k| b.keys().contains(k))
    }

    #[test]
    fn short_texts_have_no_fingerprint() {
        assert_eq!(fp("ok thanks"), None);
        assert_eq!(fp("call me 0800 123 456"), None);
        assert!(fp("hey check this out").is_some());
        assert!(fp("88066 from 88066 lost 3pound help").is_some());
        assert_eq!(fp("ok 2 mins"), None);
    }

    #[test]
    fn disguised_copies_share_the_fingerprint() {
        let base = "hey check this out, you will love it https://bit.ly/abc";
        let copies = [
            "hey сheck this out, you will love it https://bit.ly/xyz",
            "hey check this out, you will love it 🔥🔥 4821",
            "hey check this out you will love it tinyurl.com/q9",
            "hey check this out!!! you will love it",
            "1234 hey check this out you will love it bit.ly/x 99",
            "Hey ᴄʜᴇᴄᴋ this out, you w\u{200b}ill love it www.promo.example/a?id=7",
        ];
        for copy in copies {
            assert_eq!(fp(base), fp(copy), "{copy}");
        }
    }

    #[test]
    fn a_copy_with_one_word_changed_usually_shares_a_band() {
        // Six of the nine trigrams survive one changed word in the middle:
        // a band (two buckets) survives with odds of about 0.44, one of
        // three with about 0.8.
        let base = "hey check this out you will really love it my friend";
        let others = [
            "truly",
            "surely",
            "totally",
            "also",
            "so",
            "just",
            "definitely",
            "probably",
            "soon",
            "all",
            "still",
            "quickly",
            "honestly",
            "simply",
            "absolutely",
            "certainly",
            "deeply",
            "fully",
            "madly",
            "sincerely",
        ];
        let shared = others
            .iter()
            .filter(|w| shares_a_band(base, &base.replace("really", w)))
            .count();
        assert!(shared >= 12, "{shared} of {} copies", others.len());
    }

    #[test]
    fn different_texts_do_not_collide() {
        let a = "my order hasn't arrived yet can you check";
        let b = "hey check this out you will love it";
        assert!(!shares_a_band(a, b));
    }

    #[test]
    fn links_are_masked_and_words_are_not() {
        let masked = |text: &str, word: &str| {
            let start = text.find(word).expect("the word is in the text");
            in_link(text.as_bytes(), start, start + word.len())
        };
        for (text, word) in [
            ("see https://x.y/z", "https"),
            ("see https://x.y/z", "y"),
            ("at www.example.com", "example"),
            ("at bit.ly/abc now", "abc"),
            ("shop.brand.example", "brand"),
            ("mail me at ann@host.example", "ann"),
        ] {
            assert!(masked(text, word), "{word} in {text}");
        }
        for (text, word) in [
            ("hello there", "hello"),
            ("the end. next", "end"),
            ("hello,world", "world"),
            ("ok: fine", "ok"),
        ] {
            assert!(!masked(text, word), "{word} in {text}");
        }
    }

    #[test]
    fn any_text_gives_a_fingerprint_or_none_without_panicking() {
        for raw in [
            "",
            " ",
            "a",
            "a b c d e",
            "x.y",
            ".",
            "/a",
            "a/",
            "🔥 🔥 🔥 🔥",
        ] {
            let _ = fp(raw);
        }
        let long = "word ".repeat(300) + &"a.b c:d ".repeat(40);
        assert!(fp(&long).is_some());
    }
}
