//! The de-obfuscated view of a message: the text as a link finder should
//! see it (`hxxps` → `https`, `[.]` and `example . com` → `.`, full-width
//! letters → ASCII, invisible characters dropped), with every byte mapped
//! back to the raw text so that links are reported where the sender wrote
//! them.

use crate::features::link::domains::is_word_tld;
use crate::features::link::trigger::{bracket_token, spaced_tld_end, starts_with_ci};
use crate::normalize::is_invisible;

/// The de-obfuscated text and, for every byte of it, the raw range it came
/// from. Reused between messages.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub text: String,
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl View {
    /// Rebuilds the view of `raw` (at most 4 GiB, far above any limit).
    pub fn build(&mut self, raw: &str) {
        self.text.clear();
        self.starts.clear();
        self.ends.clear();
        let b = raw.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            let Some(c) = raw[i..].chars().next() else {
                break;
            };
            let next = i + c.len_utf8();
            if is_invisible(c) {
                i = next;
                continue;
            }
            // hxxp, hXXps, h**p before "://".
            if (c == 'h' || c == 'H') && b.len() >= i + 4 {
                let mid = &b[i + 1..i + 3];
                let tail = &b[i + 3..];
                let hidden = (mid.eq_ignore_ascii_case(b"xx") || mid == b"**")
                    && (tail.len() >= 4 && tail[0] | 0x20 == b'p')
                    && (tail[1..].starts_with(b"://") || starts_with_ci(&tail[1..], b"s://"));
                if hidden {
                    self.push_str("http", i, i + 4);
                    i += 4;
                    continue;
                }
            }
            if matches!(c, '[' | '(' | '{')
                && let Some((stand_in, end)) = bracket_token(raw, i)
            {
                if matches!(stand_in, '.' | '@') {
                    self.trim_trailing_spaces();
                }
                self.push_char(stand_in, i, end);
                i = end;
                if matches!(stand_in, '.' | '@') {
                    while b.get(i) == Some(&b' ') {
                        i += 1;
                    }
                }
                continue;
            }
            if let Some(end) = self.spaced_dot(b, i) {
                i = end;
                continue;
            }
            match c {
                // Ideographic, full-width and half-width full stops, only
                // between parts of a name.
                '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => {
                    let after = raw[next..].chars().find(|c| !is_invisible(*c));
                    let joins = self
                        .text
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
                        && after.is_some_and(|c| {
                            c.is_ascii_alphanumeric() || ('\u{FF10}'..='\u{FF5A}').contains(&c)
                        });
                    self.push_char(if joins { '.' } else { c }, i, next);
                }
                '\u{FF01}'..='\u{FF5E}' => {
                    let ascii = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
                    self.push_char(ascii, i, next);
                }
                _ => self.push_str(&raw[i..next], i, next),
            }
            i = next;
        }
    }

    /// `example . com`, `example. com`, `example dot com` at `i` (a space
    /// or a dot after a name): pushes `.`, the TLD and a following ` / `
    /// as `/`, and returns where to go on.
    fn spaced_dot(&mut self, b: &[u8], i: usize) -> Option<usize> {
        if !self.last_is_alnum() || !(b[i] == b' ' || b[i] == b'.') {
            return None;
        }
        let mut j = i;
        while b.get(j) == Some(&b' ') {
            j += 1;
        }
        if b.get(j) == Some(&b'.') {
            j += 1;
        } else if j > i && starts_with_ci(&b[j..], b"dot ") {
            j += 3;
        } else {
            return None;
        }
        if j == i + 1 && b.get(j) != Some(&b' ') {
            return None; // a plain dot: nothing hidden
        }
        let tld_end = spaced_tld_end(b, j)?;
        let tld_start = tld_end
            - b[j..tld_end]
                .iter()
                .rev()
                .take_while(|c| **c != b' ')
                .count();
        let mut k = tld_end;
        while b.get(k) == Some(&b' ') {
            k += 1;
        }
        let path = b.get(k) == Some(&b'/');
        if self.reads_as_prose(&b[tld_start..tld_end], path) {
            return None;
        }
        self.push_char('.', i, tld_start);
        for (k, &byte) in b[tld_start..tld_end].iter().enumerate() {
            self.push_char(char::from(byte), tld_start + k, tld_start + k + 1);
        }
        if path && k > tld_end {
            let mut m = k + 1;
            while b.get(m) == Some(&b' ') {
                m += 1;
            }
            if b.get(m).is_some_and(|c| c.is_ascii_alphanumeric()) {
                self.push_char('/', tld_end, m);
                return Some(m);
            }
        }
        Some(tld_end)
    }

    /// Whether the name just pushed and a TLD written apart from it read
    /// as prose: the TLD is an English word ("polka dot top") or the name a
    /// function word ("the dot com bubble"), and nothing marks a link (a
    /// hyphen or digit in the name, `www`, a path after the TLD).
    fn reads_as_prose(&self, tld: &[u8], path: bool) -> bool {
        const FUNCTION_WORDS: [&str; 12] = [
            "the", "a", "an", "my", "your", "our", "their", "this", "that", "his", "her", "its",
        ];
        let name_len: usize = self
            .text
            .chars()
            .rev()
            .take_while(|&c| is_name_char(c))
            .map(char::len_utf8)
            .sum();
        let name = &self.text[self.text.len() - name_len..];
        let marked = path
            || name.starts_with("www")
            || name.bytes().any(|c| c == b'-' || c.is_ascii_digit());
        !marked && (is_word_tld(tld) || FUNCTION_WORDS.iter().any(|w| name.eq_ignore_ascii_case(w)))
    }

    fn last_is_alnum(&self) -> bool {
        self.text.chars().next_back().is_some_and(is_name_char)
    }

    /// Drops the spaces before a stand-in such as ` [.] ` when a name
    /// precedes them.
    fn trim_trailing_spaces(&mut self) {
        if !self
            .text
            .trim_end_matches(' ')
            .chars()
            .next_back()
            .is_some_and(is_name_char)
        {
            return;
        }
        while self.text.ends_with(' ') {
            self.text.pop();
            self.starts.pop();
            self.ends.pop();
        }
    }

    fn push_char(&mut self, c: char, start: usize, end: usize) {
        let mut buf = [0u8; 4];
        self.push_str(c.encode_utf8(&mut buf), start, end);
    }

    fn push_str(&mut self, s: &str, start: usize, end: usize) {
        self.text.push_str(s);
        for _ in 0..s.len() {
            self.starts.push(start as u32);
            self.ends.push(end as u32);
        }
    }

    /// The raw range that the view's `start..end` came from.
    pub fn raw_range(&self, start: usize, end: usize) -> (usize, usize) {
        match (
            self.starts.get(start),
            end.checked_sub(1).and_then(|e| self.ends.get(e)),
        ) {
            (Some(&s), Some(&e)) if s <= e => (s as usize, e as usize),
            _ => (0, 0),
        }
    }
}

/// A character that can be part of a host name.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(raw: &str) -> String {
        let mut v = View::default();
        v.build(raw);
        v.text
    }

    #[test]
    fn disguises_are_undone() {
        assert_eq!(view("hxxps://evil[.]top/x"), "https://evil.top/x");
        assert_eq!(view("h**p://a(dot)b{.}com"), "http://a.b.com");
        assert_eq!(
            view("go to example . com / win now"),
            "go to example.com/win now"
        );
        assert_eq!(view("example dot com"), "example.com");
        assert_eq!(view("ｅｘａｍｐｌｅ．ｃｏｍ"), "example.com");
        assert_eq!(view("example。com"), "example.com");
        assert_eq!(view("pay\u{200b}pal.com"), "paypal.com");
        assert_eq!(view("john [at] mail [.] com"), "john@mail.com");
        // Any TLD a link may end in, when a path follows.
        assert_eq!(view("glow-collab dot shop/join"), "glow-collab.shop/join");
        assert_eq!(view("win dot online / now"), "win.online/now");
        // A word TLD or a function word, with a mark of a link.
        assert_eq!(view("coin-vault dot top"), "coin-vault.top");
        assert_eq!(view("www dot top now"), "www.top now");
        assert_eq!(view("the dot com/x"), "the.com/x");
    }

    #[test]
    fn prose_is_left_alone() {
        assert_eq!(view("Thanks. See you. com"), "Thanks. See you.com");
        assert_eq!(view("ok . me too"), "ok . me too");
        assert_eq!(view("好的。谢谢"), "好的。谢谢");
        assert_eq!(view("(at least) [a] (.)"), "(at least) [a] .");
        // TLDs that are English words, and "the dot com" of prose.
        assert_eq!(view("the polka dot top"), "the polka dot top");
        assert_eq!(view("one click . buzz"), "one click . buzz");
        assert_eq!(view("the dot com bubble"), "the dot com bubble");
        assert_eq!(view("a dot com start-up"), "a dot com start-up");
        // Without a path, only the narrow list of TLDs is read apart.
        assert_eq!(view("my dot shop"), "my dot shop");
        assert_eq!(view("nice dot online"), "nice dot online");
    }

    #[test]
    fn ranges_map_back_to_the_raw_text() {
        let raw = "see evil[.]top now";
        let mut v = View::default();
        v.build(raw);
        let start = v.text.find("evil").unwrap();
        let (s, e) = v.raw_range(start, start + "evil.top".len());
        assert_eq!(&raw[s..e], "evil[.]top");
    }
}
