//! Text canonicalisation: the forms that rules and the classifier match on,
//! so that disguises (width, case, invisible characters, look-alike letters,
//! leetspeak, spaced-out letters) do not work, and a record of each disguise
//! found, since hiding is itself evidence.
//!
//! The work happens in three steps, each in its own file:
//! 1. here: HTML character references decoded (`&#102;ree` is "free" on
//!    screen), NFKC, lower case, invisible characters dropped (and counted
//!    when they sit inside a word);
//! 2. [`lookalike`]: words that mix scripts, or foreign words amid Latin
//!    text, rewritten to the Latin letters they imitate (UTS #39 skeleton);
//! 3. [`phrase`]: the word-spaced form for phrase matching, with leetspeak
//!    folded and spaced-out letters joined.
//!
//! Pure-ASCII input, most DMs, skips the Unicode work entirely.

mod chars;
mod leet;
mod lookalike;
mod phrase;
mod tokens;

use chars::{has_no_case, is_mark_on_latin, is_nfkc, simple_lower, styled_latin};
pub(crate) use chars::{invisible_name, is_invisible, is_word_char, warm_up};

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The canonical forms of one message, with the disguises that were removed
/// on the way. Reused between messages: after warm-up, canonicalising does
/// not allocate.
#[derive(Debug, Default, Clone)]
pub(crate) struct Canonical {
    /// NFKC, lower case, invisible characters removed, look-alike words
    /// mapped to the Latin letters they imitate.
    pub text: String,
    /// Words of `text` separated by single spaces, with a space at each
    /// end, leetspeak folded and spaced-out letters joined: the form phrase
    /// rules match on, so that a key `" free gift "` matches whole words.
    pub phrase: String,
    /// What the sender tried to hide.
    pub disguises: Disguises,
    scratch: Scratch,
}

/// Buffers reused between messages.
#[derive(Debug, Default, Clone)]
struct Scratch {
    words: Vec<lookalike::Word>,
    tokens: Vec<tokens::Token>,
    buf: String,
    /// The text with its HTML character references decoded.
    decoded: String,
    /// The text with its right-to-left overrides put in reading order.
    reordered: String,
}

/// A disguised piece of text: as written (after NFKC and lower case) and as
/// it reads.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Example {
    pub raw: String,
    pub reads: String,
}

impl Example {
    fn set(&mut self, raw: &str, reads: &str) {
        self.raw.clear();
        self.raw.push_str(raw);
        self.reads.clear();
        self.reads.push_str(reads);
    }

    fn clear(&mut self) {
        self.raw.clear();
        self.reads.clear();
    }
}

/// Disguises found while canonicalising: how many of each, and the first
/// one as an example for the reason's detail.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Disguises {
    /// Invisible characters inside words (or bidi overrides anywhere).
    /// Those between emoji or around punctuation are removed but not
    /// counted: a ZWJ joins emoji families and a variation selector picks
    /// the emoji form.
    pub invisible: u32,
    /// The first counted invisible character.
    pub invisible_char: Option<char>,
    /// The word the first one hid in, as it reads without it.
    pub invisible_word: String,
    /// Words that imitate Latin words with letters of another script.
    pub lookalike: u32,
    /// The first look-alike word and the Latin word it imitates.
    pub lookalike_first: Example,
    /// The script the first look-alike word borrowed from, e.g. "Cyrillic".
    pub lookalike_script: &'static str,
    /// Tokens that write letters as digits or symbols ("fr33", "cl@im").
    pub leet: u32,
    /// The first leet token and its folded form.
    pub leet_first: Example,
    /// Runs of spaced-out or dotted letters ("f r e e", "c.l.a.i.m").
    pub spaced: u32,
    /// The first run and the words it joins into.
    pub spaced_first: Example,
}

impl Disguises {
    fn clear(&mut self) {
        self.invisible = 0;
        self.invisible_char = None;
        self.invisible_word.clear();
        self.lookalike = 0;
        self.lookalike_first.clear();
        self.lookalike_script = "";
        self.leet = 0;
        self.leet_first.clear();
        self.spaced = 0;
        self.spaced_first.clear();
    }
}

impl Canonical {
    /// Replaces the contents with the canonical forms of `raw`.
    pub fn canonicalize(&mut self, raw: &str) {
        let (entity, override_) = rewrites_needed(raw);
        if !entity && !override_ {
            self.canonicalize_decoded(raw);
            return;
        }
        let mut decoded = std::mem::take(&mut self.scratch.decoded);
        let mut reordered = std::mem::take(&mut self.scratch.reordered);
        let mut text = raw;
        if entity {
            // A DM is shown as plain text, but many clients and bridges
            // render references, and spammers write letters as them to
            // break words for filters.
            decode_letter_references(text, &mut decoded, &mut self.scratch.buf);
            text = &decoded;
        }
        if override_ {
            undo_overrides(text, &mut reordered);
            text = &reordered;
        }
        self.canonicalize_decoded(text);
        self.scratch.decoded = decoded;
        self.scratch.reordered = reordered;
    }

    fn canonicalize_decoded(&mut self, raw: &str) {
        self.text.clear();
        self.phrase.clear();
        self.disguises.clear();
        if raw.is_ascii() {
            self.text.push_str(raw);
            self.text.make_ascii_lowercase();
        } else {
            let mut folder = Folder::new(&mut self.text, &mut self.disguises);
            if is_nfkc(raw) {
                folder.push_normalized(raw);
            } else {
                raw.nfkc().for_each(|c| folder.push(c));
            }
            let hidden_at = folder.first_at;
            if let Some(at) = hidden_at {
                let word = word_around(&self.text, at);
                self.disguises.invisible_word.push_str(word);
            }
            if lookalike::may_have_lookalikes(&self.text) {
                lookalike::map_words(
                    &mut self.text,
                    &mut self.scratch.words,
                    &mut self.scratch.buf,
                    &mut self.disguises,
                );
            }
        }
        phrase::build(
            &self.text,
            &mut self.phrase,
            &mut self.scratch.tokens,
            &mut self.scratch.buf,
            &mut self.disguises,
        );
    }
}

/// The longest HTML character reference, `&CounterClockwiseContourIntegral;`,
/// in bytes.
const LONGEST_REFERENCE: usize = 33;

/// Whether `raw` may hold an HTML character reference (an `&` followed by
/// `#` or a letter, and a `;` close enough to end the longest name), and
/// whether it holds a right-to-left override. One byte search, for `&`
/// and the lead byte of U+202E, on most DMs.
fn rewrites_needed(raw: &str) -> (bool, bool) {
    let b = raw.as_bytes();
    let (mut entity, mut override_) = (false, false);
    for i in memchr::memchr2_iter(b'&', 0xE2, b) {
        if b[i] == b'&' {
            entity = entity
                || b.get(i + 1)
                    .is_some_and(|&n| n == b'#' || n.is_ascii_alphabetic())
                    && memchr::memchr(b';', &b[i + 1..b.len().min(i + LONGEST_REFERENCE)])
                        .is_some();
        } else {
            override_ = override_ || b[i..].starts_with("\u{202E}".as_bytes());
        }
    }
    (entity, override_)
}

/// Writes `raw` into `out` with the HTML character references that stand
/// for a letter or a digit decoded (`&#102;`, `&#x65;`, `&eacute;`): those
/// are the ones that hide words. References to markup and punctuation
/// (`&lt;`, `&amp;`, `&#60;`) stay as written: they hide no word, and the
/// shared model learned them so from its corpora. `buf` is scratch.
fn decode_letter_references(raw: &str, out: &mut String, buf: &mut String) {
    out.clear();
    let b = raw.as_bytes();
    let mut copied = 0;
    for at in memchr::memchr_iter(b'&', b) {
        if at < copied {
            continue;
        }
        let window = &b[at + 1..b.len().min(at + LONGEST_REFERENCE)];
        let Some(semicolon) = memchr::memchr(b';', window) else {
            continue;
        };
        // Both ends are ASCII bytes, so char boundaries.
        let end = at + 1 + semicolon + 1;
        buf.clear();
        let decoded = html_escape::decode_html_entities_to_string(&raw[at..end], buf);
        let mut chars = decoded.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_alphanumeric()
        {
            out.push_str(&raw[copied..at]);
            out.push(c);
            copied = end;
        }
    }
    out.push_str(&raw[copied..]);
}

/// U+202E, which makes what follows show right to left, letters too.
const RIGHT_TO_LEFT_OVERRIDE: char = '\u{202E}';

/// Writes `text` into `out` with each span that a right-to-left override
/// shows reversed ("\u{202E}eerf\u{202C}" shows "free") put in the order it
/// is read: up to the next pop (U+202C) or line break, by characters with
/// their combining marks. The controls stay, for the folding to count.
fn undo_overrides(text: &str, out: &mut String) {
    out.clear();
    let mut rest = text;
    while let Some(at) = rest.find(RIGHT_TO_LEFT_OVERRIDE) {
        let start = at + RIGHT_TO_LEFT_OVERRIDE.len_utf8();
        out.push_str(&rest[..start]);
        let len = rest[start..]
            .find(['\u{202C}', '\n', '\r'])
            .unwrap_or(rest.len() - start);
        let span = &rest[start..start + len];
        let mut end = span.len();
        // Clusters from the last: a character and the marks after it.
        while end > 0 {
            let mut begin = end;
            for (i, c) in span[..end].char_indices().rev() {
                begin = i;
                if !is_combining_mark(c) {
                    break;
                }
            }
            out.push_str(&span[begin..end]);
            end = begin;
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
}

/// Appends lower-cased visible characters to the text, counting the
/// invisible ones that sit inside a word.
struct Folder<'a> {
    text: &'a mut String,
    disguises: &'a mut Disguises,
    /// Byte offset in `text` of the first counted invisible character.
    first_at: Option<usize>,
    /// An invisible character seen since the last visible one.
    pending: Option<char>,
    prev: Option<char>,
}

impl<'a> Folder<'a> {
    fn new(text: &'a mut String, disguises: &'a mut Disguises) -> Self {
        Folder {
            text,
            disguises,
            first_at: None,
            pending: None,
            prev: None,
        }
    }

    /// Text already in NFKC: ASCII runs are copied whole.
    fn push_normalized(&mut self, raw: &str) {
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let run = bytes[i..]
                .iter()
                .position(|&b| b >= 0x80)
                .unwrap_or(bytes.len() - i);
            if run > 0 {
                self.push_ascii(&raw[i..i + run]);
                i += run;
                continue;
            }
            let Some(c) = raw[i..].chars().next() else {
                break;
            };
            self.push(c);
            i += c.len_utf8();
        }
    }

    fn push_ascii(&mut self, run: &str) {
        if let Some(first) = run.chars().next() {
            self.settle_pending(first);
        }
        let start = self.text.len();
        self.text.push_str(run);
        self.text[start..].make_ascii_lowercase();
        self.prev = run.chars().next_back();
    }

    fn push(&mut self, c: char) {
        if is_invisible(c) {
            // Bidi overrides reverse what follows on screen: a disguise
            // wherever they are.
            if matches!(c, '\u{202D}' | '\u{202E}') {
                self.note(c);
            } else if self.pending.is_none() {
                self.pending = Some(c);
            }
            return;
        }
        if is_mark_on_latin(c, self.prev) {
            // `prev` stays the letter, so a stack of marks goes too.
            return;
        }
        self.settle_pending(c);
        if c.is_ascii() {
            self.text.push(c.to_ascii_lowercase());
        } else if let Some(letter) = styled_latin(c) {
            self.text.push(letter);
        } else if has_no_case(c) {
            self.text.push(c);
        } else if let Some(lower) = simple_lower(c) {
            self.text.push(lower);
        } else {
            self.text.extend(c.to_lowercase());
        }
        self.prev = Some(c);
    }

    /// Counts the pending invisible character if it split a word.
    fn settle_pending(&mut self, next: char) {
        if let Some(hidden) = self.pending.take()
            && self.prev.is_some_and(splits_word)
            && splits_word(next)
        {
            self.note(hidden);
        }
    }

    fn note(&mut self, c: char) {
        self.disguises.invisible += 1;
        if self.disguises.invisible_char.is_none() {
            self.disguises.invisible_char = Some(c);
            self.first_at = Some(self.text.len());
        }
    }
}

/// A letter or digit of a script written with spaces between words (Latin,
/// Greek, Cyrillic): an invisible character between two of them can only be
/// meant to split a word for filters. Scripts such as Arabic, Persian,
/// Indic or Thai use joiners and zero-width spaces legitimately.
fn splits_word(c: char) -> bool {
    (c as u32) < 0x530 && is_word_char(c)
}

/// The word of `text` that spans byte offset `at`.
fn word_around(text: &str, at: usize) -> &str {
    let at = at.min(text.len());
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word_char(c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(text.len(), |(i, _)| at + i);
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str) -> Canonical {
        let mut c = Canonical::default();
        c.canonicalize(raw);
        c
    }

    #[test]
    fn width_case_and_invisibles_are_removed() {
        let c = canon("Ｆｒｅｅ G\u{200b}IFT");
        assert_eq!(c.text, "free gift");
        assert_eq!(c.phrase, " free gift ");
        assert_eq!(c.disguises.invisible, 1);
        assert_eq!(c.disguises.invisible_char, Some('\u{200b}'));
        assert_eq!(c.disguises.invisible_word, "gift");
    }

    #[test]
    fn small_capitals_and_script_letters_read_as_latin() {
        let c = canon("ᴄʟᴀɪᴍ ʏᴏᴜʀ ꜰʀᴇᴇ ɢɪꜰᴛ at pɑypɑl, 🅕🅡🅔🅔 🆂🅿🅸🅽🆂");
        assert_eq!(c.text, "claim your free gift at paypal, free spins");
        assert_eq!(c.phrase, " claim your free gift at paypal free spins ");
        // A font, like NFKC's full-width and bold letters: not counted.
        assert_eq!(c.disguises, Disguises::default());
    }

    #[test]
    fn overlays_go_and_the_phrase_form_reads_through_diacritics() {
        let c = canon("c\u{336}l\u{336}a\u{336}i\u{336}m\u{336} n\u{332}o\u{332}w\u{332}");
        assert_eq!(c.text, "claim now");
        // Zalgo: NFKC composes "c" + cedilla, the overlays stacked on it go.
        let c = canon("c\u{335}\u{327}l\u{334}a\u{336}\u{301}i\u{337}m\u{338} Frèè gïft, Straße");
        assert_eq!(c.text, "çláim frèè gïft, straße");
        assert_eq!(c.phrase, " claim free gift strasse ");
        assert_eq!(c.disguises, Disguises::default());
        // On look-alike letters too, so that the word still reads.
        let c = canon("your а\u{336}\u{334}с\u{336}с\u{337}о\u{336}unt");
        assert_eq!(c.text, "your account");
        // A Russian stress mark goes; "й" is composed first and stays.
        assert_eq!(canon("за\u{301}мок, и\u{306}од").text, "замок, йод");
        // Marks on other scripts are spelling: Hindi vowel signs stay.
        let c = canon("नमस्ते");
        assert_eq!(c.text, "नमस्ते");
    }

    #[test]
    fn invisibles_count_only_inside_words() {
        let cases: &[(&str, &str, &str, u32)] = &[
            ("zero_width_in_word", "bit\u{200b}coin", "bitcoin", 1),
            (
                "joiner_and_bom",
                "acc\u{feff}ount lo\u{2060}cked",
                "account locked",
                2,
            ),
            (
                "emoji_family_zwj",
                "👨\u{200d}👩\u{200d}👧 pjs",
                "👨👩👧 pjs",
                0,
            ),
            ("heart_variation_selector", "❤\u{fe0f} it", "❤ it", 0),
            ("bom_at_start", "\u{feff}hello", "hello", 0),
            ("persian_zwnj", "می\u{200c}خواهم", "میخواهم", 0),
            ("bidi_override", "abc\u{202e}fed", "abcdef", 1),
            ("math_bold", "𝐟𝐫𝐞𝐞", "free", 0),
        ];
        for &(name, raw, text, invisible) in cases {
            let c = canon(raw);
            assert_eq!(c.text, text, "{name}");
            assert_eq!(c.disguises.invisible, invisible, "{name}");
        }
    }

    #[test]
    fn html_character_references_are_decoded() {
        // (name, raw, phrase)
        let cases: &[(&str, &str, &str)] = &[
            ("decimal", "fr&#101;&#101; g&#105;ft", " free gift "),
            ("hex", "cl&#x61;&#X69;m now", " claim now "),
            ("named_letters", "caf&eacute; cr&egrave;me", " cafe creme "),
            (
                "markup_stays",
                "love it &lt;3 &amp; &#60;3",
                " love it lt 3 amp 60 3 ",
            ),
            ("unknown_name_stays", "a &nosuch; b", " a nosuch b "),
            ("no_semicolon_stays", "fish &chips", " fish chips "),
            ("bare_ampersand", "Q&A at 5", " q a at 5 "),
        ];
        for &(name, raw, phrase) in cases {
            assert_eq!(canon(raw).phrase, phrase, "{name}");
        }
        assert_eq!(rewrites_needed("Q&A at 5, fish & chips"), (false, false));
        assert_eq!(rewrites_needed("&#102; \u{2019}"), (true, false));
        assert_eq!(rewrites_needed("\u{2019} \u{202e}x"), (false, true));
    }

    #[test]
    fn right_to_left_overrides_are_read_in_display_order() {
        // (name, raw, text, bidi overrides counted)
        let cases: &[(&str, &str, &str, u32)] = &[
            (
                "word",
                "get \u{202e}eerf\u{202c} coins",
                "get free coins",
                1,
            ),
            ("to_line_end", "\u{202e}tfig eerf\nnow", "free gift\nnow", 1),
            (
                "marks_stay_on_their_letter",
                "\u{202e}e\u{301}fac",
                "café",
                1,
            ),
            (
                "two_spans",
                "\u{202e}mialc\u{202c} \u{202e}won",
                "claim now",
                2,
            ),
            ("hebrew_without_override", "שלום free", "שלום free", 0),
        ];
        for &(name, raw, text, overrides) in cases {
            let c = canon(raw);
            assert_eq!(c.text, text, "{name}");
            assert_eq!(c.disguises.invisible, overrides, "{name}");
        }
    }

    #[test]
    fn ascii_input_is_only_lower_cased() {
        let c = canon("Where is ORDER #123?");
        assert_eq!(c.text, "where is order #123?");
        assert_eq!(c.phrase, " where is order 123 ");
        assert_eq!(c.disguises, Disguises::default());
    }

    #[test]
    fn buffers_are_reused_and_reset() {
        let mut c = Canonical::default();
        c.canonicalize("fr33 g1ft from pаypal h\u{200b}i");
        assert!(c.disguises.leet > 0 && c.disguises.lookalike > 0);
        c.canonicalize("ok");
        assert_eq!(c.text, "ok");
        assert_eq!(c.phrase, " ok ");
        assert_eq!(c.disguises, Disguises::default());
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_well_formed_forms(raw in "\\PC{0,80}|[a-z0-9 .@$-]{0,40}|.{0,40}") {
            let mut c = Canonical::default();
            c.canonicalize(&raw);
            proptest::prop_assert!(c.phrase.starts_with(' ') && c.phrase.ends_with(' '));
            proptest::prop_assert!(!c.phrase.contains("  "), "{:?}", c.phrase);
            // Canonicalising is deterministic and forgets the last message.
            let (text, phrase) = (c.text.clone(), c.phrase.clone());
            c.canonicalize("fr33 g1ft from pаypal h\u{200b}i");
            c.canonicalize(&raw);
            proptest::prop_assert_eq!(&c.text, &text);
            proptest::prop_assert_eq!(&c.phrase, &phrase);
        }
    }

    #[test]
    fn empty_and_odd_input() {
        for raw in [
            "",
            " ",
            "\u{200b}",
            "🙂🙂",
            "\u{e0001}",
            "\u{10ffff}",
            "a\u{301}",
        ] {
            let c = canon(raw);
            assert!(
                c.phrase.starts_with(' ') && c.phrase.ends_with(' '),
                "{raw:?}"
            );
        }
    }
}
