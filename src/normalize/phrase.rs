//! The phrase form: words separated by single spaces, with a space at each
//! end, so that a phrase key `" free gift "` matches whole words only.
//!
//! On the way, two disguises are undone and counted:
//! - leetspeak: inside a token that mixes letters with digits or symbols,
//!   `0 1 3 4 5 7 @ $ € |` read as `o i e a s t a s e l` ("fr33 g1ft" →
//!   "free gift"). Numbers ("order 123", "$49.99") have no letters and stay;
//!   codes with other digits ("summer20", "1z999aa1") stay too;
//! - spaced-out letters: a run of at least three single letters separated
//!   by one space, dot, dash, underscore, star, line break or emoji is
//!   joined, and a double space or a blank line inside the run separates
//!   words ("f r e e  c r y p t o" → "free crypto", "c.l.a.i.m" → "claim",
//!   "f🔥r🔥e🔥e g🔥i🔥f🔥t" → "free gift", one letter a line → the word).
//!   When a run joins its letters with something other than a space, a
//!   single space in it separates words. Only single letters are joined:
//!   pieces of two letters or more are words, never glued.

use super::chars::latin_base;
use super::leet::{Leet, is_leet_symbol, leet_kind, leet_letter};
use super::tokens::{ASCII_CLASS, DIGIT, LEET, LETTER, Token, tokenize};
use super::{Disguises, is_word_char};

/// A letter, as opposed to a digit, for leet and spaced-out runs. Outside
/// ASCII every word character counts as a letter: digits of other scripts
/// play no part in either disguise.
pub(super) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        is_word_char(c)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Gap {
    /// One space between letters: of a spaced-out word, or between the
    /// words of a run joined by something else.
    Space,
    /// Another separator between letters of a spaced-out word.
    Join,
    /// Two or three spaces, or a blank line: a word break inside a run.
    Break,
    /// Anything else ends a run.
    Other,
}

fn gap(g: &str) -> Gap {
    // The gaps of ordinary text first, by their bytes.
    match g.as_bytes() {
        b" " => Gap::Space,
        [b'.' | b'-' | b'_' | b'*' | b'\n'] | b"\r\n" => Gap::Join,
        b"  " | b"   " => Gap::Break,
        b if b.is_ascii() && !b.contains(&b'\n') => Gap::Other,
        _ => gap_slow(g),
    }
}

fn gap_slow(g: &str) -> Gap {
    let mut chars = g.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(' '), None, _) => Gap::Space,
        (Some('.' | '-' | '_' | '*' | '·' | '•' | '\n'), None, _)
        | (Some('\r'), Some('\n'), None) => Gap::Join,
        // An emoji or a symbol, with its skin tone or a second regional
        // indicator: "f🔥r🔥e🔥e".
        (Some(a), b, None) if is_symbol(a) && b.is_none_or(is_symbol) => Gap::Join,
        _ if (2..=3).contains(&g.len()) && g.bytes().all(|b| b == b' ') => Gap::Break,
        _ if g.bytes().filter(|&b| b == b'\n').count() == 2
            && g.bytes().all(|b| matches!(b, b'\n' | b'\r' | b' ')) =>
        {
            Gap::Break
        }
        _ => Gap::Other,
    }
}

/// A character outside ASCII that is neither part of a word nor a space:
/// an emoji, a pictograph, a dingbat.
fn is_symbol(c: char) -> bool {
    !c.is_ascii() && !c.is_whitespace() && !is_word_char(c)
}

/// A spaced-out run of single letters: where it ends (exclusive), and
/// whether its single spaces separate words (its letters are joined by
/// something else: dots, line breaks, emoji).
#[derive(Debug, Clone, Copy)]
struct Run {
    end: usize,
    spaces_break: bool,
}

impl Run {
    /// Whether the gap between two tokens of the run separates words.
    fn breaks(self, gap: Gap) -> bool {
        gap == Gap::Break || (gap == Gap::Space && self.spaces_break)
    }
}

/// The spaced-out run starting at token `i`, if one starts there.
fn spaced_run(text: &str, tokens: &[Token], i: usize) -> Option<Run> {
    let letter = |t: &Token| t.single.is_some_and(is_letter);
    tokens[i].single?;
    let mut j = i + 1;
    let (mut spaces, mut joins) = (0, 0);
    while j < tokens.len() && tokens[j].single.is_some() {
        match gap(&text[tokens[j - 1].end as usize..tokens[j].start as usize]) {
            Gap::Space => spaces += 1,
            Gap::Join => joins += 1,
            Gap::Break => {}
            Gap::Other => break,
        }
        j += 1;
    }
    let letters = tokens[i..j].iter().filter(|t| letter(t)).count();
    (j - i >= 3 && letters >= 3 && spaces + joins > 0).then_some(Run {
        end: j,
        spaces_break: joins > 0,
    })
}

/// Builds the phrase form of `text` into `out`.
pub(crate) fn build(
    text: &str,
    out: &mut String,
    tokens: &mut Vec<Token>,
    buf: &mut String,
    disguises: &mut Disguises,
) {
    if text.is_ascii() && build_plain_ascii(text, out) {
        return;
    }
    build_full(text, out, tokens, buf, disguises);
    fold_diacritics(out, buf);
}

/// Writes Latin letters with diacritics as the ASCII letters they are
/// written from: "frèè gïft" is "free gift" to the phrase rules. Not a
/// disguise that counts: French, Spanish or German customers write so.
fn fold_diacritics(out: &mut String, buf: &mut String) {
    // ASCII is tested first, inline, so that most characters of most texts
    // cost no call to `latin_base`.
    let Some((at, _)) = out
        .char_indices()
        .find(|&(_, c)| !c.is_ascii() && latin_base(c).is_some())
    else {
        return;
    };
    buf.clear();
    buf.push_str(&out[..at]);
    for c in out[at..].chars() {
        match (!c.is_ascii()).then(|| latin_base(c)).flatten() {
            Some(base) => buf.push_str(base),
            None => buf.push(c),
        }
    }
    std::mem::swap(out, buf);
}

/// The phrase form by tokens: every disguise undone and counted.
fn build_full(
    text: &str,
    out: &mut String,
    tokens: &mut Vec<Token>,
    buf: &mut String,
    disguises: &mut Disguises,
) {
    out.clear();
    tokenize(text, tokens);
    out.push(' ');
    // Leet tokens that are strong on their own.
    let mut strong = 0;
    let mut i = 0;
    while i < tokens.len() {
        if let Some(run) = spaced_run(text, tokens, i) {
            let j = run.end;
            buf.clear();
            let mut letters = 0;
            for k in i..j {
                if k > i
                    && run.breaks(gap(
                        &text[tokens[k - 1].end as usize..tokens[k].start as usize]
                    ))
                {
                    buf.push(' ');
                }
                let c = tokens[k].single.unwrap_or(' ');
                letters += usize::from(is_letter(c));
                buf.push(c);
            }
            // Three letters are often initials ("u.s.a"): joined, but only
            // four or more count as a disguise.
            if letters >= 4 {
                disguises.spaced += 1;
                if disguises.spaced == 1 {
                    let raw = &text[tokens[i].start as usize..tokens[j - 1].end as usize];
                    disguises.spaced_first.set(raw, buf);
                }
            }
            for word in buf.split(' ') {
                emit_token(word, None, || false, out, disguises, &mut strong);
            }
            i = j;
            continue;
        }
        let t = tokens[i];
        let (s, e) = (t.start as usize, t.end as usize);
        let token = &text[s..e];
        if !token
            .bytes()
            .any(|b| b.is_ascii_digit() || matches!(b, b'@' | b'$' | b'|' | 0xE2))
        {
            // Most words: no digit or symbol, nothing to fold.
            out.push_str(token);
            out.push(' ');
        } else {
            let next = text[e..].chars().next();
            emit_token(
                token,
                next,
                || in_link(text, s, e),
                out,
                disguises,
                &mut strong,
            );
        }
        i += 1;
    }
    // A lone weak token is as likely a code ("mp3s") as a disguise.
    if strong == 0 && disguises.leet < 2 {
        disguises.leet = 0;
        disguises.leet_first.clear();
    }
}

/// Whether the token at `start..end` is part of a link or path
/// ("bit.ly/pz5win"): random slugs look like leetspeak but hide nothing.
fn in_link(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let from = memchr::memrchr2(b' ', b'\n', &bytes[..start]).map_or(0, |i| i + 1);
    let to = memchr::memchr2(b' ', b'\n', &bytes[end..]).map_or(bytes.len(), |i| end + i);
    memchr::memchr(b'/', &bytes[from..to]).is_some()
}

/// The phrase form of ASCII text with nothing to fold or join, in one pass:
/// most DMs. Returns `false`, with `out` half written, as soon as it meets
/// what needs the full path: a leet symbol, letters and digits in one
/// token, or three single characters in a row with no other gap than a
/// space, a join or a word break between them (where a spaced-out run may start;
/// "i'm" or "a b" cannot be one).
fn build_plain_ascii(text: &str, out: &mut String) -> bool {
    let bytes = text.as_bytes();
    out.push(' ');
    let n = bytes.len();
    let mut i = 0;
    // Single characters chained by joins or breaks, ending at `prev_end`.
    let (mut singles, mut prev_end) = (0u32, 0usize);
    while i < n {
        while i < n && ASCII_CLASS[usize::from(bytes[i])] == 0 {
            i += 1;
        }
        let start = i;
        // The classes of the token's bytes, or-ed: one test per byte.
        let mut classes = 0;
        while i < n {
            let class = ASCII_CLASS[usize::from(bytes[i])];
            if class == 0 {
                break;
            }
            classes |= class;
            i += 1;
        }
        if start == i {
            break;
        }
        if classes & LEET != 0 || classes & (LETTER | DIGIT) == LETTER | DIGIT {
            return false;
        }
        if i - start == 1 {
            singles = if singles > 0 && gap(&text[prev_end..start]) != Gap::Other {
                singles + 1
            } else {
                1
            };
            if singles >= 3 {
                return false;
            }
        } else {
            singles = 0;
        }
        prev_end = i;
        out.push_str(&text[start..i]);
        out.push(' ');
    }
    true
}

/// Appends one token, leet folded when it is leetspeak, and a space.
/// Leetspeak inside a link is folded but not counted as a disguise.
fn emit_token(
    token: &str,
    next: Option<char>,
    in_link: impl FnOnce() -> bool,
    out: &mut String,
    disguises: &mut Disguises,
    strong: &mut u32,
) {
    // A leading "@" marks a handle and "$" a price: not letters.
    let core = token.trim_matches(is_leet_symbol);
    if core.is_empty() {
        return;
    }
    // "name@brand.example": the "@" of an e-mail address is no letter; a
    // leet "@" sits in a short word ("cl@im").
    let email =
        core.contains('@') && (core.len() > 10 || matches!(next, Some('.' | '-' | '_' | '>')));
    let (mut letters, mut leet, mut other) = (0, 0, 0);
    let mut len = 0;
    for c in core.chars() {
        len += 1;
        if is_letter(c) {
            letters += 1;
        } else if leet_letter(c).is_some() {
            leet += 1;
        } else if c.is_ascii_digit() {
            other += 1;
        }
    }
    if !email && letters >= 1 && leet >= 1 && other == 0 && len >= 2 {
        let start = out.len();
        out.extend(core.chars().map(|c| leet_letter(c).unwrap_or(c)));
        if letters >= 2
            && let Some(kind) = leet_kind(core)
            && !in_link()
        {
            disguises.leet += 1;
            *strong += u32::from(kind == Leet::Strong);
            if disguises.leet_first.raw.is_empty() || (kind == Leet::Strong && *strong == 1) {
                disguises.leet_first.set(core, &out[start..]);
            }
        }
    } else {
        for c in core.chars() {
            if !is_leet_symbol(c) {
                out.push(c);
            } else if !out.ends_with(' ') {
                out.push(' ');
            }
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::super::Canonical;

    fn canon(raw: &str) -> Canonical {
        let mut c = Canonical::default();
        c.canonicalize(raw);
        c
    }

    #[test]
    fn leetspeak_is_folded_in_mixed_tokens_only() {
        // (name, raw, phrase, leet tokens counted)
        let cases: &[(&str, &str, &str, u32)] = &[
            ("free_gift", "fr33 g1ft", " free gift ", 2),
            ("lone_weak_token", "my g1ft", " my gift ", 0),
            ("tech_tokens", "w3c mp3s", " wec mpes ", 2),
            (
                "lone_tech_token",
                "the mp3s are here",
                " the mpes are here ",
                0,
            ),
            ("claim_prize", "cl@im y0ur pr1ze", " claim your prize ", 3),
            ("bitcoin", "b1tc0in 1nv3stm3nt", " bitcoin investment ", 2),
            ("order_number", "order 123456", " order 123456 ", 0),
            (
                "price",
                "I was charged $49.99 twice",
                " i was charged 49 99 twice ",
                0,
            ),
            (
                "discount_code",
                "code SUMMER20 and GC-7731",
                " code summer20 and gc 7731 ",
                0,
            ),
            ("tracking", "1Z999AA10123456784", " 1z999aa10123456784 ", 0),
            (
                "quantities",
                "10am 5pm 1st 3rd mp3",
                " ioam spm ist erd mpe ",
                0,
            ),
            ("handle", "@brand_01 hi", " brand 01 hi ", 0),
            (
                "email",
                "mail support@brand.example",
                " mail support brand example ",
                0,
            ),
            ("money_signs", "earn $$$ now", " earn now ", 0),
            (
                "link_slug",
                "see is.gd/pz5win now",
                " see is gd pzswin now ",
                0,
            ),
        ];
        for &(name, raw, phrase, leet) in cases {
            let c = canon(raw);
            assert_eq!(c.phrase, phrase, "{name}");
            assert_eq!(c.disguises.leet, leet, "{name}");
        }
    }

    #[test]
    fn plain_ascii_path_agrees_with_the_full_path() {
        // Whenever the one-pass path finishes, the full path must build the
        // same phrase form and find no disguise.
        // (text, whether the one-pass path finishes)
        let cases: &[(&str, bool)] = &[
            ("i'm here", true),
            ("u r 2 late", false),
            ("u r late", true),
            ("a b c", false),
            ("a  b  c", false),
            ("a.b c", false),
            ("a b'c d", true),
            ("x-y-z now", false),
            ("i.e. this", true),
            ("1 2 3 go", false),
            ("ok lar... joking wif u oni...", true),
            ("a b, c d, e f", true),
            ("call me at 5 or 6 pm", true),
            ("p.s. i'm a b", false),
            ("p.s. i'm here", true),
            ("g1ft", false),
        ];
        for &(text, finishes) in cases {
            let mut plain = String::new();
            assert_eq!(
                super::build_plain_ascii(text, &mut plain),
                finishes,
                "{text:?}"
            );
            let (mut full, mut tokens, mut buf) = (String::new(), Vec::new(), String::new());
            let mut disguises = super::super::Disguises::default();
            super::build_full(text, &mut full, &mut tokens, &mut buf, &mut disguises);
            if finishes {
                assert_eq!(plain, full, "{text:?}");
                assert_eq!(disguises, super::super::Disguises::default(), "{text:?}");
            }
        }
    }

    #[test]
    fn spaced_out_letters_are_joined() {
        // (name, raw, phrase, runs counted)
        let cases: &[(&str, &str, &str, u32)] = &[
            (
                "double_space_words",
                "f r e e  c r y p t o for you",
                " free crypto for you ",
                1,
            ),
            ("dotted", "c.l.a.i.m now", " claim now ", 1),
            ("dashed", "s-u-b-s-c-r-i-b-e", " subscribe ", 1),
            ("initials_joined_not_counted", "u.s.a", " usa ", 0),
            ("two_letters_stay", "i.e. this", " i e this ", 0),
            ("ordinary_sentence", "i am a big fan", " i am a big fan ", 0),
            ("numbers_alone_stay", "1 2 3 go", " 1 2 3 go ", 0),
            ("emoji_between", "f🔥r🔥e🔥e g💰i💰f💰t!", " free gift ", 1),
            ("skin_tone_between", "w👍🏽i👍🏽n👍🏽s", " wins ", 1),
            (
                "dotted_words",
                "c.l.a.i.m y.o.u.r p.r.i.z.e",
                " claim your prize ",
                1,
            ),
            (
                "one_letter_a_line",
                "f\nr\ne\ne\n\ng\ni\nf\nt",
                " free gift ",
                1,
            ),
            ("crlf", "w\r\ni\r\nn now", " win now ", 0),
            (
                "words_on_lines_stay",
                "hi\nthere\nfriend",
                " hi there friend ",
                0,
            ),
            (
                "emoji_between_words_stay",
                "love 😍 it 😍 so much",
                " love it so much ",
                0,
            ),
            ("heart_between_two", "i❤u", " i u ", 0),
            ("sizes_on_lines", "sizes:\nS\nM\nL", " sizes sml ", 0),
        ];
        for &(name, raw, phrase, spaced) in cases {
            let c = canon(raw);
            assert_eq!(c.phrase, phrase, "{name}");
            assert_eq!(c.disguises.spaced, spaced, "{name}");
        }
        let c = canon("f r e e  c r y p t o");
        assert_eq!(c.disguises.spaced_first.raw, "f r e e  c r y p t o");
        assert_eq!(c.disguises.spaced_first.reads, "free crypto");
    }
}
