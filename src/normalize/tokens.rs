//! The tokens the phrase form is built from: runs of word characters and
//! leet symbols, with their byte spans in the canonical text. A token of
//! one character remembers it, as a candidate for a spaced-out word.

use super::is_word_char;
use super::leet::is_leet_symbol;

/// A run of word characters (and leet symbols) in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub start: u32,
    pub end: u32,
    /// The character, when the token is one letter or digit of an
    /// alphabetic script: a candidate for a spaced-out run.
    pub single: Option<char>,
}

/// Fills `tokens` with the tokens of `text`.
pub(super) fn tokenize(text: &str, tokens: &mut Vec<Token>) {
    tokens.clear();
    if text.is_ascii() {
        tokenize_ascii(text.as_bytes(), tokens);
        return;
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    let mut start = None;
    let mut words = 0u32;
    while i <= n {
        // (class, the character, its length): ASCII by table, the rest by
        // decoding; the end of the text is a separator.
        let (class, c, len) = match bytes.get(i) {
            None => (0, ' ', 1),
            Some(&b) if b < 0x80 => (ASCII_CLASS[usize::from(b)], b as char, 1),
            Some(_) => {
                let c = text[i..].chars().next().unwrap_or(' ');
                let class = if is_word_char(c) {
                    LETTER
                } else if is_leet_symbol(c) {
                    LEET
                } else {
                    0
                };
                (class, c, c.len_utf8())
            }
        };
        if class != 0 {
            if start.is_none() {
                start = Some((i, c));
                words = 0;
            }
            words += u32::from(class & WORD != 0);
        } else if let Some((s, first)) = start.take()
            && words > 0
        {
            let single = (i - s == first.len_utf8() && (first as u32) < 0x2E80).then_some(first);
            tokens.push(Token {
                start: s as u32,
                end: i as u32,
                single,
            });
        }
        i += len;
    }
}

/// Byte classes for ASCII text, as bits so that a token's classes can be
/// or-ed together: 0 a separator (and every byte outside ASCII, which the
/// callers decode instead), else a letter, a digit or a leet symbol.
pub(super) const LETTER: u8 = 1;
pub(super) const DIGIT: u8 = 2;
pub(super) const LEET: u8 = 4;
/// A letter or digit: what makes a run of symbols a word.
const WORD: u8 = LETTER | DIGIT;
pub(super) static ASCII_CLASS: [u8; 256] = byte_table!(|b| if b.is_ascii_alphabetic() {
    LETTER
} else if b.is_ascii_digit() {
    DIGIT
} else if matches!(b, b'@' | b'$' | b'|') {
    LEET
} else {
    0
});

fn tokenize_ascii(bytes: &[u8], tokens: &mut Vec<Token>) {
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        while i < n && ASCII_CLASS[usize::from(bytes[i])] == 0 {
            i += 1;
        }
        let start = i;
        let mut words = 0;
        while i < n && ASCII_CLASS[usize::from(bytes[i])] != 0 {
            words += usize::from(ASCII_CLASS[usize::from(bytes[i])] & WORD != 0);
            i += 1;
        }
        if words > 0 {
            tokens.push(Token {
                start: start as u32,
                end: i as u32,
                single: (i - start == 1).then_some(bytes[start] as char),
            });
        }
    }
}
