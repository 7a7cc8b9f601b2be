//! Character tables for the hot path.
//!
//! Outside ASCII, the standard library and `unicode-normalization` answer
//! "is this a letter", "its lower case", "is this already NFKC" by
//! searching tables: tens of nanoseconds a character, which made honest
//! Cyrillic or Greek DMs ten times dearer than English ones. The answers
//! for the Basic Multilingual Plane are computed once from those same
//! sources into bitmaps; the tests check that both agree.

use std::sync::LazyLock;

use unicode_normalization::char::{
    canonical_combining_class, decompose_canonical, is_combining_mark,
};
use unicode_normalization::{IsNormalized, is_nfkc_quick};

/// Builds the lookup tables now rather than on the first message.
pub(crate) fn warm_up() {
    LazyLock::force(&WORD_CHARS);
    LazyLock::force(&NFKC_STARTERS);
    LazyLock::force(&LATIN_BASES);
    super::lookalike::warm_up();
}

/// Letters, digits and combining marks: what words are made of.
///
/// Outside ASCII, the standard library answers by searching its Unicode
/// tables (tens of nanoseconds a character, the largest cost on Thai, CJK
/// or emoji text), so the Basic Multilingual Plane is looked up in a bitmap
/// built once from those same tables.
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    let u = c as u32;
    if u < 0x1_0000 {
        bit(&WORD_CHARS, u)
    } else if (0x1_F000..0x1_FC00).contains(&u) {
        // Emoji, pictographs and other symbols.
        false
    } else {
        is_word_char_slow(c)
    }
}

fn is_word_char_slow(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

static WORD_CHARS: LazyLock<Vec<u64>> = LazyLock::new(|| bmp_bitmap(is_word_char_slow));

/// A bitmap over the BMP, from a predicate computed once per character.
fn bmp_bitmap(f: impl Fn(char) -> bool) -> Vec<u64> {
    let mut bits = vec![0u64; 0x1_0000 / 64];
    for u in 0x80..0x1_0000u32 {
        if char::from_u32(u).is_some_and(&f) {
            bits[(u >> 6) as usize] |= 1 << (u & 63);
        }
    }
    bits
}

fn bit(bits: &[u64], u: u32) -> bool {
    bits[(u >> 6) as usize] >> (u & 63) & 1 == 1
}

/// BMP characters that NFKC leaves alone whatever surrounds them: quick
/// check "yes" and combining class 0.
static NFKC_STARTERS: LazyLock<Vec<u64>> = LazyLock::new(|| bmp_bitmap(nfkc_starter_slow));

fn nfkc_starter_slow(c: char) -> bool {
    canonical_combining_class(c) == 0 && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

/// Whether `s` is certainly in NFKC already (the UAX #15 quick check, with
/// the common characters answered from a bitmap). `false` means
/// "normalise to be sure".
pub(super) fn is_nfkc(s: &str) -> bool {
    let mut last_class = 0u8;
    for c in s.chars() {
        if c.is_ascii() {
            last_class = 0;
            continue;
        }
        let u = c as u32;
        if (u < 0x1_0000 && bit(&NFKC_STARTERS, u)) || (0x1_F300..0x1_FB00).contains(&u) {
            // Starters, and emoji and pictographs.
            last_class = 0;
            continue;
        }
        let class = canonical_combining_class(c);
        if (class != 0 && last_class > class)
            || is_nfkc_quick(std::iter::once(c)) != IsNormalized::Yes
        {
            return false;
        }
        last_class = class;
    }
    true
}

/// Latin letters with diacritics, by block: Latin-1 Supplement to Latin
/// Extended-B, and Latin Extended Additional.
const LATIN_BLOCKS: [(u32, u32); 2] = [(0xC0, 0x250), (0x1E00, 0x1F00)];

/// For each letter of [`LATIN_BLOCKS`], the ASCII letters it is written
/// from (lower case), or nothing.
static LATIN_BASES: LazyLock<Vec<[u8; 2]>> = LazyLock::new(|| {
    LATIN_BLOCKS
        .iter()
        .flat_map(|&(start, end)| start..end)
        .map(|u| {
            let Some(c) = char::from_u32(u) else {
                return [0; 2];
            };
            // Letters with a stroke or ligatures have no decomposition.
            match c {
                'ß' => return *b"ss",
                'æ' | 'Æ' => return *b"ae",
                'œ' | 'Œ' => return *b"oe",
                'ø' | 'Ø' => return [b'o', 0],
                'đ' | 'Đ' => return [b'd', 0],
                'ł' | 'Ł' => return [b'l', 0],
                _ => {}
            }
            let mut base = None;
            decompose_canonical(c, |d| {
                base.get_or_insert(d);
            });
            match base {
                Some(b) if b != c && b.is_ascii_alphabetic() => [b.to_ascii_lowercase() as u8, 0],
                _ => [0; 2],
            }
        })
        .collect()
});

/// The ASCII letters a Latin letter with diacritics is written from
/// ("é" → "e", "Ü" → "u", "ß" → "ss"), for the phrase form: "frèè gïft"
/// must match "free gift", and a French "crédit" the policy's "credit".
pub(super) fn latin_base(c: char) -> Option<&'static str> {
    let u = c as u32;
    if u < LATIN_BLOCKS[0].0 {
        return None;
    }
    let mut offset = 0;
    for (start, end) in LATIN_BLOCKS {
        if (start..end).contains(&u) {
            let bytes = &LATIN_BASES[(offset + u - start) as usize];
            let len = bytes.iter().position(|&b| b == 0).unwrap_or(2);
            return (len > 0)
                .then(|| std::str::from_utf8(&bytes[..len]).ok())
                .flatten();
        }
        offset += end - start;
    }
    None
}

/// A combining mark that sits on a Latin, Greek or Cyrillic letter or
/// digit: after NFKC has composed what it can ("e" + acute → "é", "и" +
/// breve → "й"), what is left there is an overlay (strike-through,
/// underline, "zalgo" stacks, also on look-alike letters) or at most a
/// stress mark, not spelling. The blocks of combining diacritical marks
/// are tested by range, not with `is_combining_mark`'s table search, which
/// every non-ASCII character after a letter would pay. Marks on other
/// scripts (Hebrew points, Indic vowel signs, Thai tones) are spelling.
pub(super) fn is_mark_on_latin(c: char, prev: Option<char>) -> bool {
    matches!(c as u32, 0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
        && prev.is_some_and(|p| {
            p.is_ascii_alphanumeric()
                || (0x370..=0x52F).contains(&(p as u32)) // Greek and Cyrillic
                || latin_base(p).is_some()
                || styled_latin(p).is_some()
        })
}

/// Lower case by arithmetic for the scripts most DMs use beyond ASCII
/// (Latin-1, Greek, Cyrillic), where the standard library would search a
/// table for every letter. `None`: ask the standard library.
pub(super) fn simple_lower(c: char) -> Option<char> {
    let u = c as u32;
    let lower = match u {
        0xC0..=0xDE if u != 0xD7 => u + 0x20,
        0x391..=0x3A9 if u != 0x3A2 => u + 0x20,
        0x400..=0x40F => u + 0x50,
        0x410..=0x42F => u + 0x20,
        0xDF..=0xFF | 0x3AC..=0x3CE | 0x430..=0x45F => u,
        _ => return None,
    };
    char::from_u32(lower)
}

/// The ASCII letter a styled Latin letter stands for: the small capitals
/// and the negative circled and squared letters that "fancy text"
/// generators use ("ᴄʟᴀɪᴍ ʏᴏᴜʀ ᴘʀɪᴢᴇ", "🅵🆁🅴🅴"), and the script a and g of
/// phonetics ("pɑypɑl"). NFKC folds full-width, circled and mathematical
/// letters but not these, which no orthography writes words with. Like
/// NFKC's folds, this is not counted as a disguise: people write in such
/// fonts too, and what matters is reading the words.
pub(super) fn styled_latin(c: char) -> Option<char> {
    let letter = |first: u32| char::from(b'a' + (c as u32 - first) as u8);
    Some(match c {
        '\u{1F150}'..='\u{1F169}' => letter(0x1F150),
        '\u{1F170}'..='\u{1F189}' => letter(0x1F170),
        '\u{1D00}' | '\u{0251}' => 'a',
        '\u{0299}' => 'b',
        '\u{1D04}' => 'c',
        '\u{1D05}' => 'd',
        '\u{1D07}' => 'e',
        '\u{A730}' => 'f',
        '\u{0262}' | '\u{0261}' => 'g',
        '\u{029C}' => 'h',
        '\u{026A}' => 'i',
        '\u{1D0A}' => 'j',
        '\u{1D0B}' => 'k',
        '\u{029F}' => 'l',
        '\u{1D0D}' => 'm',
        '\u{0274}' => 'n',
        '\u{1D0F}' => 'o',
        '\u{1D18}' => 'p',
        '\u{A7AF}' => 'q',
        '\u{0280}' => 'r',
        '\u{A731}' => 's',
        '\u{1D1B}' => 't',
        '\u{1D1C}' => 'u',
        '\u{1D20}' => 'v',
        '\u{1D21}' => 'w',
        '\u{028F}' => 'y',
        '\u{1D22}' => 'z',
        _ => return None,
    })
}

/// Blocks without letter case (Hebrew to Myanmar, CJK, Hangul, emoji and
/// beyond), where looking up a lower-case mapping is wasted work.
pub(super) fn has_no_case(c: char) -> bool {
    let u = c as u32;
    (0x0590..0x10A0).contains(&u)
        || (0x3000..0xA640).contains(&u)
        || (0xAC00..0xFB00).contains(&u)
        || u >= 0x1_E944
}

/// Format characters that render as nothing: zero-width spaces and joiners,
/// word joiner and invisible operators, byte-order mark, soft hyphen, bidi
/// controls, fillers, variation selectors, tags.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// A readable name for an invisible character, for reasons.
pub(crate) fn invisible_name(c: char) -> &'static str {
    match c {
        '\u{200B}' => "zero-width space",
        '\u{200C}' => "zero-width non-joiner",
        '\u{200D}' => "zero-width joiner",
        '\u{2060}' => "word joiner",
        '\u{FEFF}' => "zero-width no-break space",
        '\u{00AD}' => "soft hyphen",
        '\u{202D}' | '\u{202E}' => "bidi override",
        '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202C}' | '\u{2066}'..='\u{2069}' => {
            "bidi control"
        }
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => "variation selector",
        '\u{E0000}'..='\u{E007F}' => "tag character",
        _ => "invisible character",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_letters_read_as_their_ascii_letters() {
        let cases = [
            ('é', Some("e")),
            ('Ü', Some("u")),
            ('ñ', Some("n")),
            ('ş', Some("s")),
            ('ạ', Some("a")),
            ('ß', Some("ss")),
            ('Æ', Some("ae")),
            ('ø', Some("o")),
            ('ł', Some("l")),
            // No Latin letter underneath.
            ('ı', None),
            ('ə', None),
            ('×', None),
            ('ж', None),
            ('a', None),
        ];
        for (c, base) in cases {
            assert_eq!(latin_base(c), base, "{c}");
        }
    }

    #[test]
    fn word_char_table_agrees_with_the_standard_library() {
        for u in (0..0x11_0000u32).step_by(7) {
            if let Some(c) = char::from_u32(u) {
                let fast = is_word_char(c);
                let emoji = (0x1_F000..0x1_FC00).contains(&u);
                assert_eq!(fast, !emoji && is_word_char_slow(c), "U+{u:04X}");
            }
        }
    }

    #[test]
    fn simple_lower_agrees_with_the_standard_library() {
        for u in 0x80..0x530u32 {
            if let Some(c) = char::from_u32(u)
                && let Some(lower) = simple_lower(c)
            {
                let std: Vec<char> = c.to_lowercase().collect();
                assert_eq!(std, [lower], "U+{u:04X}");
            }
        }
    }

    #[test]
    fn nfkc_check_agrees_with_the_quick_check() {
        let cases = [
            "plain ascii",
            "Здравствуйте! Заказ пришёл",
            "Ｆｕｌｌ width",
            "𝐛𝐨𝐥𝐝",
            "e\u{301}",
            "a\u{323}\u{301}",
            "a\u{301}\u{323}",
            "สวัสดีค่ะ",
            "注文番号は220915です。",
            "love it 😍🔥 👨\u{200d}👩\u{200d}👧",
            "🄰 enclosed",
        ];
        for s in cases {
            let quick = is_nfkc_quick(s.chars()) == IsNormalized::Yes;
            assert_eq!(is_nfkc(s), quick, "{s:?}");
        }
        for u in (0x1_F300..0x1_FB00u32).filter_map(char::from_u32) {
            assert!(nfkc_starter_slow(u), "U+{:04X}", u as u32);
        }
    }
}
