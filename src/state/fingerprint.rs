//! Near-duplicate fingerprints of the canonical text.
//!
//! Spam campaigns vary each copy so that exact matching fails: invisible
//! characters and width tricks (removed by canonicalisation), look-alike
//! letters (folded here to their UTS #39 skeleton inside words that mix
//! scripts), appended emoji or digits and a different link in every copy
//! (masked here: a run of words holding digits or links becomes one
//! placeholder, and placeholders at the ends are dropped). The words are
//! hashed as trigrams into a one-permutation MinHash
//! of `2 × bands` buckets; each pair of buckets is one *band*. Two texts
//! that share a band are treated as the same text, so a copy that changes
//! one word still shares most bands with the original (locality-sensitive
//! hashing). No allocation: everything lives in fixed arrays.

use unicode_security::confusable_detection::skeleton;

use super::hash::{mix, nonzero};

/// The most bands a fingerprint can have.
pub(crate) const MAX_BANDS: usize = 4;

/// The hash that stands for a run of numbers and links.
const PLACEHOLDER: u64 = 0x23_23_23_23;

/// Words looked at per message: keeps the cost bounded on long texts.
const MAX_WORDS: usize = 256;

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

/// The fingerprint of `text` (canonical: lowercased, invisibles removed), or
/// `None` when fewer than `min_words` words and placeholders remain: short
/// texts ("ok thanks") are shared by too many honest people to mean anything.
pub(crate) fn fingerprint(text: &str, bands: usize, min_words: usize) -> Option<Fingerprint> {
    fingerprint_with(text, bands, min_words, Shingles::scan)
}

/// [`fingerprint`] with the pass over the text given: the tests compare the
/// fast pass with a plain one.
fn fingerprint_with(
    text: &str,
    bands: usize,
    min_words: usize,
    scan: fn(&mut Shingles, &str),
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
    scan(&mut sh, text);
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

/// Byte classes for the single pass over the text.
const SPACE: u8 = 1;
const ALNUM: u8 = 2;
const DIGIT: u8 = 4;
/// `.` or `:`, which a link needs.
const LINKY: u8 = 8;
/// Part of a non-ASCII character: the token takes the slow path.
const HIGH: u8 = 16;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_whitespace() {
            SPACE
        } else if b.is_ascii_digit() {
            ALNUM | DIGIT
        } else if b.is_ascii_alphabetic() {
            ALNUM
        } else if b == b'.' || b == b':' {
            LINKY
        } else if b >= 0x80 {
            HIGH
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Words of one token held until the token ends, when it is known whether
/// the token is a link (then they are dropped).
const TOKEN_WORDS: usize = 16;

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
    /// One pass over the bytes: ASCII whitespace splits tokens (NFKC has
    /// mapped the Unicode spaces to ASCII ones, and splitting on ASCII bytes
    /// keeps UTF-8 boundaries); ASCII alphanumeric runs are words. The
    /// inner loop runs over one word's bytes with nothing else to decide,
    /// and a token without `.`, `:` or non-ASCII bytes (most of them) feeds
    /// its words without being sliced or looked at again.
    fn scan(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let len = bytes.len();
        let mut pending = [(0u64, false); TOKEN_WORDS];
        let mut i = 0;
        let mut seen = 0;
        loop {
            while i < len && CLASS[usize::from(bytes[i])] & SPACE != 0 {
                i += 1;
            }
            if i == len {
                return;
            }
            let (start, mut flags, mut n) = (i, 0u8, 0);
            loop {
                // Rotate-xor packs up to eight bytes exactly and has no
                // multiply in the per-byte dependency chain; the word is
                // mixed once at its end.
                let (mut h, mut word_class) = (0u64, 0u8);
                while i < len {
                    let b = bytes[i];
                    let c = CLASS[usize::from(b)];
                    if c & ALNUM == 0 {
                        break;
                    }
                    h = h.rotate_left(8) ^ u64::from(b);
                    word_class |= c;
                    i += 1;
                }
                if word_class != 0 && n < TOKEN_WORDS {
                    pending[n] = (mix(h), word_class & DIGIT != 0);
                    n += 1;
                }
                if i == len {
                    break;
                }
                let c = CLASS[usize::from(bytes[i])];
                if c & SPACE != 0 {
                    break;
                }
                flags |= c;
                i += 1;
            }
            if flags & (LINKY | HIGH) == 0 {
                for &(h, numeric) in &pending[..n] {
                    self.word(h, numeric);
                }
            } else {
                self.token(&text[start..i], flags, &pending[..n]);
            }
            seen += 1;
            if seen >= MAX_WORDS {
                return;
            }
        }
    }

    /// A whitespace-separated token and the ASCII words found in it.
    #[inline]
    fn token(&mut self, token: &str, flags: u8, words: &[(u64, bool)]) {
        if flags & LINKY != 0 && is_link(token) {
            // A link is masked like a number.
            self.word(0, true);
        } else if flags & HIGH != 0 {
            for w in token.split(|c: char| !c.is_alphanumeric()) {
                if !w.is_empty() {
                    self.word(word_hash(w), w.chars().any(char::is_numeric));
                }
            }
        } else {
            for &(h, numeric) in words {
                self.word(h, numeric);
            }
        }
    }

    /// A word, or a number (masked: a run of them becomes one placeholder
    /// between words, nothing at the ends).
    #[inline]
    fn word(&mut self, h: u64, numeric: bool) {
        if numeric {
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
            let tri = mix(w1.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ w2.rotate_left(29) ^ h);
            let b = (((tri >> 32) * self.buckets) >> 32) as usize;
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

/// A word that is (part of) a link: a scheme, `www.`, or a dot between
/// letters as in `bit.ly/x` or `shop.brand.example`.
fn is_link(token: &str) -> bool {
    // One pass over byte triples: a substring search for "://" costs more
    // to start than a DM's token is long.
    token.starts_with("www.")
        || token.as_bytes().windows(3).any(|w| {
            w == b"://"
                || (w[0].is_ascii_alphanumeric() && w[1] == b'.' && w[2].is_ascii_alphabetic())
        })
}

/// A word's hash, the same as the byte path's for ASCII words; a word that mixes ASCII letters with
/// other letters is hashed through its confusable skeleton, so "сheck" with
/// a Cyrillic "с" hashes like "check". Honest single-script words are
/// hashed as written, which keeps the common path cheap.
fn word_hash(word: &str) -> u64 {
    let mut h = 0u64;
    let mixed = !word.is_ascii() && word.bytes().any(|b| b.is_ascii_alphabetic());
    if !mixed {
        for b in word.bytes() {
            h = h.rotate_left(8) ^ u64::from(b);
        }
        return mix(h);
    }
    let mut buf = [0u8; 4];
    for c in word.chars() {
        if c.is_ascii() {
            h = h.rotate_left(8) ^ u64::from(c as u8);
            continue;
        }
        for s in skeleton(c.encode_utf8(&mut buf)) {
            for &b in s.encode_utf8(&mut [0u8; 4]).as_bytes() {
                h = h.rotate_left(8) ^ u64::from(b);
            }
        }
    }
    mix(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain pass the fast one must match exactly: one loop over the
    /// bytes, every token sliced and handed to `token`.
    fn plain_scan(sh: &mut Shingles, text: &str) {
        let bytes = text.as_bytes();
        let mut pending = [(0u64, false); TOKEN_WORDS];
        let mut n = 0;
        let (mut start, mut flags) = (0, 0u8);
        let (mut h, mut word_class) = (0u64, 0u8);
        let mut seen = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let c = CLASS[usize::from(b)];
            if c & ALNUM != 0 {
                h = h.rotate_left(8) ^ u64::from(b);
                word_class |= c;
                continue;
            }
            flags |= c;
            if word_class != 0 {
                if n < TOKEN_WORDS {
                    pending[n] = (mix(h), word_class & DIGIT != 0);
                    n += 1;
                }
                (h, word_class) = (0, 0);
            }
            if c & SPACE == 0 {
                continue;
            }
            if i > start {
                sh.token(&text[start..i], flags, &pending[..n]);
                seen += 1;
                if seen >= MAX_WORDS {
                    return;
                }
            }
            (start, flags, n) = (i + 1, 0, 0);
        }
        if word_class != 0 && n < TOKEN_WORDS {
            pending[n] = (mix(h), word_class & DIGIT != 0);
            n += 1;
        }
        if bytes.len() > start {
            sh.token(&text[start..], flags, &pending[..n]);
        }
    }

    fn same_as_plain(text: &str) {
        for (bands, min_words) in [(1, 3), (3, 4), (4, 6)] {
            assert_eq!(
                fingerprint(text, bands, min_words),
                fingerprint_with(text, bands, min_words, plain_scan),
                "{text:?}"
            );
        }
    }

    #[test]
    fn fast_pass_matches_the_plain_one_on_the_fixtures() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dms.jsonl");
        let fixtures = std::fs::read_to_string(path).expect("fixtures/dms.jsonl");
        let mut canon = crate::normalize::Canonical::default();
        let mut texts = 0;
        for line in fixtures.lines().filter(|l| !l.trim().is_empty()) {
            let dm: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let text = dm["text"].as_str().expect("a text");
            canon.canonicalize(text);
            same_as_plain(&canon.text);
            same_as_plain(text);
            texts += 1;
        }
        assert!(texts > 50, "{texts}");
        let long = "word ".repeat(300) + &"a.b c:d ".repeat(40);
        same_as_plain(&long);
        same_as_plain(&"x1y2z3.".repeat(40));
    }

    proptest::proptest! {
        #[test]
        fn fast_pass_matches_the_plain_one(
            text in "([a-z0-9]{1,6}|[ .:/\\t\\n#$,!]|w{3}\\.|://|[é😀с\\u{200b}]){0,60}",
            raw in "\\PC{0,80}",
        ) {
            same_as_plain(&text);
            same_as_plain(&raw);
        }
    }

    fn fp(text: &str) -> Option<Fingerprint> {
        fingerprint(text, 3, 4)
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
        ];
        for copy in copies {
            assert_eq!(fp(base), fp(copy), "{copy}");
        }
        assert!(shares_a_band(
            "hey check this out you will really love it my friend",
            "hey check this out you will truly love it my friend"
        ));
    }

    #[test]
    fn different_texts_do_not_collide() {
        let a = "my order hasn't arrived yet can you check";
        let b = "hey check this out you will love it";
        assert!(!shares_a_band(a, b));
    }

    #[test]
    fn links_are_recognised() {
        for link in [
            "https://x.y/z",
            "www.example.com",
            "bit.ly/abc",
            "shop.brand.example",
        ] {
            assert!(is_link(link), "{link}");
        }
        for word in ["hello", "end.", "hello,world"] {
            assert!(!is_link(word), "{word}");
        }
    }
}
