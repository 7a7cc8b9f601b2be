//! Hashed features of the canonical text: word unigrams, orthogonal sparse
//! bigrams, character n-grams inside words, and a few dense buckets.
//!
//! Every feature is a 32-bit hash reduced to an index into a fixed table, so
//! the model never stores a vocabulary and scoring never allocates: tokens
//! are slices of the canonical text, n-grams are hashed from a small stack
//! buffer of characters.
//!
//! * **Unigrams**: maximal runs of letters and digits. Symbols are skipped:
//!   trained on SMS, "+", "/", "@" and "£" become strong spam evidence, and
//!   in a brand inbox they come with customers' phone numbers, links,
//!   handles and prices (the links, money and phone rules judge those in
//!   context instead). Words with digits are never named in explanations.
//!   Numbers get n-grams like words: the shapes of premium-rate numbers
//!   and short codes are much of what tells SMS spam apart, and with
//!   brand-inbox ham in the training set (account, order and booking
//!   numbers, times, prices) a number's shape is learned from both sides.
//! * **OSB** (orthogonal sparse bigrams, as in CRM114 and rspamd): each token
//!   paired with each of the [`OSB_WINDOW`] tokens before it, the distance
//!   hashed in, so "claim … prize" is a feature whatever lies between.
//! * **Character n-grams** of length 3 and 4 inside each token, with word
//!   boundary markers (as in fastText), so that misspellings, inflections
//!   and unseen words still share evidence. (5-grams too cost a quarter
//!   more time and measured no better: cross-validated MCC 0.941 against
//!   0.944 without them.)
//! * **Dense buckets**: text length and distinct word count.
//!
//! Features are binary per message: a word met before in the text adds
//! nothing (see [`Seen`]), so repeated text counts once.

/// How many previous tokens each token is paired with (CRM114 and rspamd
/// use a window of five tokens: the current one and four before it).
pub(crate) const OSB_WINDOW: usize = 4;
/// Characters of a token looked at for n-grams (longer tokens are URLs or
/// noise; their start says enough).
const MAX_TOKEN_CHARS: usize = 24;
/// Tokens looked at per message, so that no text costs more than a bound.
pub(crate) const MAX_TOKENS: usize = 256;

// Seeds that keep the feature kinds apart in the table.
const SEED_WORD: u32 = 0x9e37_79b9;
const SEED_OSB: u32 = 0xc2b2_ae35;
const SEED_NGRAM: u32 = 0x27d4_eb2f;
const SEED_DENSE: u32 = 0x1656_67b1;

/// One word of the canonical text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    /// Where the word starts in the text, in bytes.
    pub start: usize,
    /// The word's hash.
    pub hash: u32,
    /// It holds an ASCII digit.
    pub has_digit: bool,
}

/// Where a word sits in the canonical text, and its hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
    pub hash: u32,
    pub has_digit: bool,
}

/// The words of one canonical text (the first [`MAX_TOKENS`]), found once
/// per check: the classifier and the campaign fingerprint both read them,
/// so the text is scanned for words once.
#[derive(Debug, Default, Clone)]
pub(crate) struct Words {
    spans: Vec<Span>,
}

impl Words {
    /// Finds the words of `text`, reusing the buffer.
    pub fn fill(&mut self, text: &str) {
        self.spans.clear();
        self.spans
            .extend(tokens(text).take(MAX_TOKENS).map(|t| Span {
                start: t.start as u32,
                end: (t.start + t.text.len()) as u32,
                hash: t.hash,
                has_digit: t.has_digit,
            }));
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The words as tokens of `text`, the text they were found in.
    pub fn tokens<'a>(&'a self, text: &'a str) -> impl Iterator<Item = Token<'a>> {
        self.spans.iter().map(move |s| Token {
            text: text.get(s.start as usize..s.end as usize).unwrap_or(""),
            start: s.start as usize,
            hash: s.hash,
            has_digit: s.has_digit,
        })
    }
}

/// The kind of a feature, so that explanations can name words only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Other,
}

/// What a pass over a text's features does with them.
pub(crate) trait Sink<'a> {
    /// One feature: its finished hash, its kind, and the word for unigram
    /// features (empty otherwise).
    fn feature(&mut self, hash: u32, kind: Kind, word: &'a str);

    /// The character n-grams of a word, in order;
    /// returns how many. A scorer may answer for the whole word at once
    /// (see `classifier::cache`), so the n-grams come as one call.
    fn ngrams(&mut self, token: &Token<'a>) -> u32 {
        each_ngram(token.text, |h| self.feature(h, Kind::Other, ""))
    }
}

/// A closure as a [`Sink`].
struct Each<F>(F);

impl<'a, F: FnMut(u32, Kind, &'a str)> Sink<'a> for Each<F> {
    fn feature(&mut self, hash: u32, kind: Kind, word: &'a str) {
        (self.0)(hash, kind, word);
    }
}

/// Calls `emit(hash, kind, token)` for every feature of `text` (a canonical,
/// lowercased text) and returns how many were emitted and how many distinct
/// words (tokens) were seen: no features when the text has no word. `token`
/// is the word for unigram features and empty otherwise.
pub(crate) fn for_each<'a>(text: &'a str, emit: impl FnMut(u32, Kind, &'a str)) -> (u32, u32) {
    with_seen(|seen| for_each_token(text.len(), tokens(text), seen, &mut Each(emit)))
}

/// Runs `f` with this thread's [`Seen`], for the callers that keep none of
/// their own (training, learning, [`Model`](super::Model)'s own scoring;
/// a check keeps one in its word cache), or with a fresh one when it is
/// already in use on this thread.
pub(crate) fn with_seen<R>(f: impl FnOnce(&mut Seen) -> R) -> R {
    thread_local! {
        static SEEN: std::cell::RefCell<Seen> = Default::default();
    }
    SEEN.with(|seen| match seen.try_borrow_mut() {
        Ok(mut seen) => f(&mut seen),
        Err(_) => f(&mut Seen::default()),
    })
}

/// The words already met in one text, so that a word counts once however
/// often it recurs: features are binary per message. Repetition is not
/// evidence: a customer who pastes a complaint three times wrote one
/// complaint, and counted features read that paste as three times the
/// evidence. Kept per thread and stamped per text, so that starting a text
/// clears nothing and nothing is allocated after the first text.
#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    /// (word hash, stamp of the text it was met in); empty until first use.
    slots: Vec<(u32, u32)>,
    stamp: u32,
}

/// Slots of [`Seen`]: twice [`MAX_TOKENS`], so that open addressing stays
/// short and always finds a free slot.
const SEEN_SLOTS: usize = 2 * MAX_TOKENS;
const SEEN_SHIFT: u32 = u32::BITS - SEEN_SLOTS.trailing_zeros();
const _: () = assert!(SEEN_SLOTS.is_power_of_two());

impl Seen {
    /// Forgets the words of the previous text.
    #[inline]
    fn start(&mut self) {
        if self.slots.is_empty() {
            self.slots = vec![(0, 0); SEEN_SLOTS];
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Once in 2^32 texts: stamps start over on a clean table.
            self.slots.fill((0, 0));
            self.stamp = 1;
        }
    }

    /// Records a word's hash; true when the text had not met it yet.
    /// At most [`MAX_TOKENS`] words per text, so a free slot is always
    /// found.
    #[inline]
    fn insert(&mut self, hash: u32) -> bool {
        let mut i = (hash.wrapping_mul(0x9e37_79b9) >> SEEN_SHIFT) as usize;
        loop {
            let slot = &mut self.slots[i];
            if slot.1 != self.stamp {
                *slot = (hash, self.stamp);
                return true;
            }
            if slot.0 == hash {
                return false;
            }
            i = (i + 1) & (SEEN_SLOTS - 1);
        }
    }
}

/// [`for_each`] over words already found, into a [`Sink`]: `len` is the
/// text's length in bytes.
pub(crate) fn for_each_token<'a>(
    len: usize,
    tokens: impl Iterator<Item = Token<'a>>,
    seen: &mut Seen,
    sink: &mut impl Sink<'a>,
) -> (u32, u32) {
    seen.start();
    let mut distinct = 0u32;
    // The mixes leave the low bits poorly spread, and the table index is
    // the low bits: every hash is finished before the sink sees it.
    let mut count = 0u32;
    // The previous words, each already mixed with the pair seed: every
    // word is the first of up to four pairs, so it is mixed once, not four
    // times.
    let mut window = [0u32; OSB_WINDOW];
    let mut words = 0usize;
    // Symbols are not evidence here (the tokenizer skips them): in a brand
    // inbox "+", "/", "@" and "£" come with phone numbers, links, handles
    // and prices that customers send every day (the link and money rules
    // judge those).
    for token in tokens.take(MAX_TOKENS) {
        // Words with digits are evidence but never named as the words
        // that spoke (an order or phone number in a verdict's detail reads
        // as an accusation of the customer's own data).
        let kind = if token.has_digit {
            Kind::Other
        } else {
            Kind::Word
        };
        // A word met before in this text adds nothing: not itself, its
        // n-grams, nor its pairs with the words before it (a pair that
        // ends in a new word is new). It still stands in the window, so
        // the words after it pair with it.
        if seen.insert(token.hash) {
            distinct += 1;
            sink.feature(finish(token.hash), kind, token.text);
            count += 1;
            for (d, &prev) in window.iter().take(words.min(OSB_WINDOW)).enumerate() {
                sink.feature(
                    finish(mix(mix(prev, token.hash), d as u32)),
                    Kind::Other,
                    "",
                );
                count += 1;
            }
            count += sink.ngrams(&token);
        }
        window.copy_within(0..OSB_WINDOW - 1, 1);
        window[0] = mix(SEED_OSB, token.hash);
        words += 1;
    }
    // A text without words (emoji, symbols) gives no evidence at all,
    // rather than whatever its length bucket meant in the training set.
    if words == 0 {
        return (0, 0);
    }
    // Dense evidence as buckets, each one a feature of its own: the
    // length in bytes, and the number of distinct words.
    let buckets = [(1, log2_bucket(len)), (2, log2_bucket(distinct as usize))];
    for (which, bucket) in buckets {
        let hash = finish(mix(mix(SEED_DENSE, which), bucket as u32));
        sink.feature(hash, Kind::Other, "");
        count += 1;
    }
    (count, distinct)
}

/// Calls `emit` with the finished hash of every character n-gram of one
/// word, with boundary markers; returns how many. Each n-gram's hash extends the
/// one of the (n-1)-gram at the same start, so all lengths cost one mix per
/// character and start; the characters are read once, with the chains
/// that are still growing carried along (no buffer).
pub(crate) fn each_ngram(word: &str, mut emit: impl FnMut(u32)) -> u32 {
    let mut chains = Chains::default();
    let mut count = chains.push(u32::from('<'), &mut emit);
    if word.is_ascii() {
        for &b in word.as_bytes().iter().take(MAX_TOKEN_CHARS) {
            count += chains.push(u32::from(b), &mut emit);
        }
    } else {
        for c in word.chars().take(MAX_TOKEN_CHARS) {
            count += chains.push(u32::from(c), &mut emit);
        }
    }
    count + chains.push(u32::from('>'), &mut emit)
}

/// The n-gram hashes still growing: those of the chains that started one,
/// two and three characters ago.
#[derive(Default)]
struct Chains {
    one: u32,
    two: u32,
    three: u32,
    seen: u32,
}

impl Chains {
    /// Extends every chain by `c`, emits the 4-gram and the 3-gram it
    /// completes (in that order: the order of their starts), and returns
    /// how many.
    #[inline(always)]
    fn push(&mut self, c: u32, emit: &mut impl FnMut(u32)) -> u32 {
        let four = mix(self.three, c);
        self.three = mix(self.two, c);
        self.two = mix(self.one, c);
        self.one = mix(SEED_NGRAM, c);
        self.seen += 1;
        let mut count = 0;
        if self.seen >= 4 {
            emit(finish(four));
            count += 1;
        }
        if self.seen >= 3 {
            emit(finish(self.three));
            count += 1;
        }
        count
    }
}

/// The words of a canonical text: maximal runs of letters and digits.
/// Whitespace, punctuation and symbols separate words and are skipped.
/// ASCII goes byte by byte; other characters are decoded.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        // Find the start of the next word.
        let start = loop {
            // ASCII separators by table, without decoding.
            while bytes
                .get(at)
                .is_some_and(|&b| BYTE_CLASS[usize::from(b)] == 0)
            {
                at += 1;
            }
            let (c, len) = char_at(text, at)?;
            if is_word_char(c) {
                break at;
            }
            at += len;
        };
        // The classes of the word's ASCII bytes, or-ed: one test per byte
        // for the common case, a letter or digit.
        let mut classes = 0;
        while let Some(&b) = bytes.get(at) {
            let class = BYTE_CLASS[usize::from(b)];
            if class & (LETTER | DIGIT) != 0 {
                classes |= class;
                at += 1;
            } else if class == 0 {
                break;
            } else {
                match char_at(text, at) {
                    Some((c, len)) if is_word_char(c) => at += len,
                    _ => break,
                }
            }
        }
        let has_digit = classes & DIGIT != 0;
        let word = &text[start..at];
        Some(Token {
            text: word,
            start,
            hash: hash_str(SEED_WORD, word),
            has_digit,
        })
    })
}

/// Byte classes for the tokenizer: 0 an ASCII separator, else letter or
/// digit bits, or the byte of a character outside ASCII (decoded).
const LETTER: u8 = 1;
const DIGIT: u8 = 2;
const NON_ASCII: u8 = 4;
static BYTE_CLASS: [u8; 256] = byte_table!(|b| if b >= 0x80 {
    NON_ASCII
} else if b.is_ascii_digit() {
    DIGIT
} else if b.is_ascii_alphabetic() {
    LETTER
} else {
    0
});

/// The character at byte `at` and its length, ASCII without decoding.
#[inline]
fn char_at(text: &str, at: usize) -> Option<(char, usize)> {
    let b = *text.as_bytes().get(at)?;
    if b < 0x80 {
        return Some((char::from(b), 1));
    }
    let c = text.get(at..)?.chars().next()?;
    Some((c, c.len_utf8()))
}

/// Letters and digits, with a cheap test instead of the Unicode tables:
/// ASCII by bytes, and outside ASCII everything except the blocks of
/// punctuation, symbols and emoji (the tables cost more than the rest of
/// the classifier on non-Latin text).
#[inline]
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    !matches!(c,
        '\u{80}'..='\u{BF}' | '\u{D7}' | '\u{F7}'
        | '\u{2000}'..='\u{2BFF}' | '\u{3000}'..='\u{303F}'
        | '\u{FE00}'..='\u{FE6F}' | '\u{FF00}'..='\u{FF0F}'
        | '\u{1F000}'..='\u{1FAFF}' | '\u{E0000}'..='\u{E007F}')
        && !c.is_whitespace()
}

fn log2_bucket(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// A fast hash of a string's bytes, four at a time.
pub(crate) fn hash_str(seed: u32, s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut h = mix(seed, bytes.len() as u32);
    let mut chunks = bytes.chunks_exact(4);
    for chunk in &mut chunks {
        h = mix(
            h,
            u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
        );
    }
    for &b in chunks.remainder() {
        h = mix(h, u32::from(b));
    }
    finish(h)
}

/// One round of an FxHash-like mix.
#[inline]
pub(crate) fn mix(h: u32, v: u32) -> u32 {
    (h.rotate_left(5) ^ v).wrapping_mul(0x9e37_79b9)
}

/// Spreads the high bits down so that masking the low bits is uniform.
#[inline]
pub(crate) fn finish(h: u32) -> u32 {
    let h = h ^ (h >> 16);
    let h = h.wrapping_mul(0x85eb_ca6b);
    h ^ (h >> 13)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of `text` the plain way: maximal runs of word characters,
    /// decoded one by one.
    fn plain_words(text: &str) -> Vec<(&str, bool)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            match (start, is_word_char(c)) {
                (None, true) => start = Some(i),
                (Some(s), false) => {
                    let w = &text[s..i];
                    out.push((w, w.bytes().any(|b| b.is_ascii_digit())));
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn the_byte_table_tokenizer_matches_the_plain_one(
            text in "([a-z0-9]{1,6}|[ .,:/#$!\\-]|[éсß😀—’]){0,40}",
            raw in "\\PC{0,60}",
            ascii in "[A-Za-z0-9 .,@`:/\\[{\\x10-\\x1f\\-]{0,80}",
        ) {
            for t in [&text, &raw, &ascii] {
                let fast: Vec<(&str, bool)> = tokens(t).map(|k| (k.text, k.has_digit)).collect();
                proptest::prop_assert_eq!(fast, plain_words(t));
            }
        }
    }

    /// Every feature hash of `text` the plain way: each pair hashed from
    /// scratch and each n-gram from a buffer of its characters. The model
    /// file's weights sit at these hashes, so the fast path must match
    /// them exactly.
    fn plain_features(text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        let mut distinct = std::collections::HashSet::new();
        for token in tokens(text).take(MAX_TOKENS) {
            if !distinct.insert(token.hash) {
                seen.push(token.hash);
                continue;
            }
            out.push(finish(token.hash));
            for (d, &prev) in seen.iter().rev().take(OSB_WINDOW).enumerate() {
                out.push(finish(mix(mix(mix(SEED_OSB, prev), token.hash), d as u32)));
            }
            seen.push(token.hash);
            let chars: Vec<u32> = std::iter::once('<')
                .chain(token.text.chars().take(MAX_TOKEN_CHARS))
                .chain(std::iter::once('>'))
                .map(u32::from)
                .collect();
            for start in 0..chars.len().saturating_sub(2) {
                for n in 3..=4 {
                    if let Some(gram) = chars.get(start..start + n) {
                        out.push(finish(gram.iter().fold(SEED_NGRAM, |h, &c| mix(h, c))));
                    }
                }
            }
        }
        if !seen.is_empty() {
            let len_bucket = log2_bucket(text.len()) as u32;
            let count_bucket = log2_bucket(distinct.len()) as u32;
            out.push(finish(mix(mix(SEED_DENSE, 1), len_bucket)));
            out.push(finish(mix(mix(SEED_DENSE, 2), count_bucket)));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn features_match_the_plain_definition(
            text in "([a-z0-9]{1,30}|(ab|no|7)|[ .,:/#$!\\-]|[éсß😀—’日本]){0,60}",
        ) {
            let mut fast = Vec::new();
            let (n, _) = for_each(&text, |h, _, _| fast.push(h));
            proptest::prop_assert_eq!(n as usize, fast.len());
            proptest::prop_assert_eq!(fast, plain_features(&text));
        }
    }

    fn words(text: &str) -> Vec<&str> {
        tokens(text).map(|t| t.text).collect()
    }

    #[test]
    fn tokens_are_words_of_any_script_and_skip_symbols() {
        assert_eq!(words("win £1000 now!!"), ["win", "1000", "now"]);
        assert_eq!(
            words("  привет, мир 🙂 日本語"),
            ["привет", "мир", "日本語"]
        );
        assert_eq!(words("x"), ["x"]);
        assert!(words("").is_empty());
        assert!(words(" !! 🙂 ").is_empty());
    }

    #[test]
    fn symbols_are_skipped_and_numbers_are_not_named() {
        let mut named = Vec::new();
        let (n, words) = for_each("order #482913 +44", |_, kind, w| {
            if kind == Kind::Word {
                named.push(w);
            }
        });
        assert_eq!(named, ["order"]);
        // "order": 1 word + 9 n-grams; "482913": itself, 1 pair, 6 + 5
        // n-grams of "<482913>"; "44": itself, 2 pairs, 2 + 1 n-grams of
        // "<44>"; 2 buckets.
        assert_eq!(n, 1 + 9 + (1 + 1 + 11) + (1 + 2 + 3) + 2);
        assert_eq!(words, 3);
    }

    #[test]
    fn features_are_deterministic_and_counted() {
        let mut first = Vec::new();
        let (n, _) = for_each("claim your prize now", |h, _, _| first.push(h));
        let mut second = Vec::new();
        for_each("claim your prize now", |h, _, _| second.push(h));
        assert_eq!(first, second);
        assert_eq!(n as usize, first.len());
        // 4 words, 0+1+2+3 pairs, n-grams, 2 buckets.
        assert!(first.len() > 4 + 6 + 2);
    }

    #[test]
    fn a_repeated_text_has_the_features_of_one_copy_but_its_length() {
        let once = "my order 4417 never arrived and nobody answers my emails";
        let features = |text: &str| {
            let mut v = Vec::new();
            let counts = for_each(text, |h, _, _| v.push(h));
            (v, counts)
        };
        let (one, (n1, w1)) = features(once);
        for copies in [3, 8] {
            let pasted = vec![once; copies].join(" ");
            let (many, (n, w)) = features(&pasted);
            assert_eq!((n, w), (n1, w1), "{copies} copies");
            // All but the length bucket, the last but one.
            assert_eq!(many[..many.len() - 2], one[..one.len() - 2]);
            assert_eq!(many.last(), one.last());
        }
    }

    #[test]
    fn seen_words_start_over_with_each_text() {
        let mut seen = Seen::default();
        seen.start();
        assert!(seen.insert(7) && !seen.insert(7) && seen.insert(8));
        seen.start();
        assert!(seen.insert(7));
        // A full text of distinct words fits.
        seen.start();
        assert!((0..MAX_TOKENS as u32).all(|h| seen.insert(h.wrapping_mul(2_654_435_761))));
    }

    #[test]
    fn huge_tokens_are_capped() {
        let long = "a".repeat(10_000);
        let (n, _) = for_each(&long, |_, _, _| {});
        assert!(n < 100, "{n}");
    }

    #[test]
    fn word_features_name_their_word() {
        let mut named = Vec::new();
        for_each("free gift", |_, kind, w| {
            if kind == Kind::Word {
                named.push(w);
            }
        });
        assert_eq!(named, ["free", "gift"]);
    }
}
