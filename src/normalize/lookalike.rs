//! Look-alike letters: a word is rewritten to the Latin letters it imitates
//! only when it is a disguise, i.e. when it mixes Latin with look-alike
//! letters of another script ("pаypal" with a Cyrillic а), or when it is
//! written wholly in look-alikes amid Latin text ("ассоunt" in an English
//! sentence). Honest Cyrillic, Greek, Arabic, Hebrew, Indic, Thai or CJK
//! words are left alone: a Russian message is not an attack on English.
//!
//! What a letter imitates comes from the UTS #39 confusable skeleton
//! (`unicode-security`), computed once per letter.

use std::sync::LazyLock;

use unicode_script::{Script, UnicodeScript};
use unicode_security::{is_potential_mixed_script_confusable_char, skeleton};

use super::chars::styled_latin;
use super::{Disguises, is_word_char};
use unicode_normalization::char::is_combining_mark;

/// One word of the text and what kind of writing it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word {
    start: u32,
    end: u32,
    kind: Kind,
    script: Script,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// No letters (numbers, marks).
    Neutral,
    /// Latin letters only.
    Latin,
    /// Latin with look-alikes from another script: always a disguise.
    Mixed,
    /// Another script only, but every letter has a Latin look-alike: a
    /// disguise when the text around it is Latin.
    Imitation,
    /// Another script with letters that imitate nothing: honest writing.
    Foreign,
}

/// The ASCII letters a character reads as: up to two, e.g. "w" for "ш".
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    bytes: [u8; 2],
    len: u8,
}

impl Reading {
    fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

/// Greek and Cyrillic, where nearly all look-alike attacks come from:
/// precomputed so that the hot path is an index.
const TABLE_START: u32 = 0x370;
const TABLE_END: u32 = 0x530;

/// For each letter of the table's range: its reading as written (lower
/// case) and, for Cyrillic, the reading of its capital ("в" reads as "b"
/// only as "В", and spammers write capitals). Not for Greek: "μ" in "10μg"
/// is a unit, not a disguised "M".
static TABLE: LazyLock<Vec<(Option<Reading>, Option<Reading>)>> = LazyLock::new(|| {
    (TABLE_START..TABLE_END)
        .map(|u| match char::from_u32(u) {
            Some(c) if u >= 0x400 => (reading_of(c), capital_reading(c)),
            Some(c) => (reading_of(c), None),
            None => (None, None),
        })
        .collect()
});

/// The [`loose_reading`] of each letter of the table's range, for the
/// same reason.
static LOOSE_TABLE: LazyLock<Vec<Option<Reading>>> = LazyLock::new(|| {
    (TABLE_START..TABLE_END)
        .map(|u| char::from_u32(u).and_then(loose_reading))
        .collect()
});

/// The loose reading of a Greek or Cyrillic letter without a strict one.
/// Other scripts have none: their look-alikes (Cherokee, Lisu, Coptic)
/// read strictly, and asking every Arabic or CJK letter in a word would
/// cost a skeleton each.
fn loose(c: char) -> Option<Reading> {
    let u = c as u32;
    if (TABLE_START..TABLE_END).contains(&u) {
        LOOSE_TABLE[(u - TABLE_START) as usize]
    } else {
        None
    }
}

/// The skeleton of `c`, when it is one or two ASCII letters (lower-cased).
fn reading_of(c: char) -> Option<Reading> {
    let mut buf = [0u8; 4];
    let mut reading = Reading {
        bytes: [0; 2],
        len: 0,
    };
    for p in skeleton(c.encode_utf8(&mut buf)) {
        if !p.is_ascii_alphabetic() || reading.len == 2 {
            return None;
        }
        reading.bytes[reading.len as usize] = p.to_ascii_lowercase() as u8;
        reading.len += 1;
    }
    (reading.len > 0).then_some(reading)
}

/// A looser reading, for letters in a word that already has Latin letters
/// (always a disguise): the skeleton with its combining marks dropped and
/// small capitals read as letters, so that "η" (skeleton "n" with a mark
/// below) reads "n" and "τ" (skeleton "ᴛ") "t". Not used to tell honest
/// Greek from a disguise: most Greek words would read as something.
fn loose_reading(c: char) -> Option<Reading> {
    let mut buf = [0u8; 4];
    let mut reading = Reading {
        bytes: [0; 2],
        len: 0,
    };
    for p in skeleton(c.encode_utf8(&mut buf)) {
        if is_combining_mark(p) {
            continue;
        }
        let letter = if p.is_ascii_alphabetic() {
            p.to_ascii_lowercase()
        } else {
            styled_latin(p)?
        };
        if reading.len == 2 {
            return None;
        }
        reading.bytes[reading.len as usize] = letter as u8;
        reading.len += 1;
    }
    (reading.len > 0).then_some(reading)
}

fn capital_reading(c: char) -> Option<Reading> {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if u != c => reading_of(u),
        _ => None,
    }
}

/// (as written, as written or as its capital)
fn readings(c: char) -> (Option<Reading>, Option<Reading>) {
    let u = c as u32;
    if (TABLE_START..TABLE_END).contains(&u) {
        let (lower, capital) = TABLE[(u - TABLE_START) as usize];
        (lower, lower.or(capital))
    } else if is_cherokee(c) {
        // Cherokee capitals are the look-alikes (Ꮯ, Ꮲ, Ꭼ), and the canonical
        // text is lower case: a small letter reads as its capital.
        let reading = capital_reading(c).or_else(|| reading_of(c));
        (reading, reading)
    } else if matches!(c, '\u{2C80}'..='\u{2CFF}' | '\u{A4D0}'..='\u{A4FF}') {
        // Coptic and Lisu letters are not in the mixed-script confusables
        // list, but their skeletons say which Latin letters they copy.
        let reading = reading_of(c);
        (reading, reading)
    } else if is_potential_mixed_script_confusable_char(c) {
        let lower = reading_of(c);
        (lower, lower)
    } else {
        (None, None)
    }
}

pub(crate) fn warm_up() {
    LazyLock::force(&TABLE);
    LazyLock::force(&LOOSE_TABLE);
}

fn is_cherokee(c: char) -> bool {
    matches!(c, '\u{13A0}'..='\u{13FF}' | '\u{AB70}'..='\u{ABBF}')
}

/// Whether `text` holds a letter from the blocks look-alike attacks draw
/// on, by UTF-8 lead bytes: Greek, Cyrillic and Armenian (CD to D6), and
/// the scripts whose capitals copy Latin ones, Cherokee (E1 8E-8F, EA
/// AD-AE), Lisu (EA 93) and Coptic (E2 B2-B3). Text without one, such as
/// Latin with emoji, or CJK, Thai or Arabic, skips the word analysis.
/// Mathematical, full-width and circled letters are already undone by
/// NFKC, small capitals by the canonical folding.
pub(crate) fn may_have_lookalikes(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| match b {
        0xCD..=0xD6 => true,
        0xE1 => matches!(bytes.get(i + 1), Some(0x8E | 0x8F)),
        0xE2 => matches!(bytes.get(i + 1), Some(0xB2 | 0xB3)),
        0xEA => matches!(bytes.get(i + 1), Some(0x93 | 0xAD | 0xAE)),
        _ => false,
    })
}

/// The script of a character, with the Cyrillic and Greek letters answered
/// without a table search.
fn script_of(c: char) -> Script {
    match c as u32 {
        0x400..=0x482 | 0x48A..=0x52F => Script::Cyrillic,
        0x391..=0x3A1 | 0x3A3..=0x3C9 => Script::Greek,
        _ => c.script(),
    }
}

fn classify(word: &str) -> (Kind, Script) {
    let mut latin = 0u32;
    let mut other = 0u32;
    let mut unread_lower = 0u32;
    // Letters with only a loose reading: honest writing, unless the word
    // has Latin letters too.
    let mut loosely = 0u32;
    let mut script = Script::Unknown;
    for c in word.chars() {
        if c.is_ascii() {
            latin += u32::from(c.is_ascii_alphabetic());
            continue;
        }
        match script_of(c) {
            Script::Latin => latin += 1,
            Script::Common | Script::Inherited => {}
            s => {
                other += 1;
                if script == Script::Unknown {
                    script = s;
                }
                let (lower, any) = readings(c);
                if any.is_none() {
                    if loose(c).is_none() {
                        // A letter that imitates nothing: honest writing.
                        return (Kind::Foreign, script);
                    }
                    loosely += 1;
                }
                unread_lower += u32::from(lower.is_none());
            }
        }
    }
    if loosely > 0 && latin == 0 {
        return (Kind::Foreign, script);
    }
    let kind = if other == 0 {
        if latin > 0 {
            Kind::Latin
        } else {
            Kind::Neutral
        }
    } else if latin > 0 {
        Kind::Mixed
    } else if latin == 0 && unread_lower == 0 && other >= 2 {
        Kind::Imitation
    } else {
        Kind::Foreign
    };
    (kind, script)
}

/// Rewrites the look-alike words of `text` (already NFKC and lower case)
/// to the Latin letters they imitate, and records them in `disguises`.
pub(crate) fn map_words(
    text: &mut String,
    words: &mut Vec<Word>,
    buf: &mut String,
    disguises: &mut Disguises,
) {
    words.clear();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (start, is_word_char(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let word = &text[s..i];
                let (kind, script) = if word.is_ascii() {
                    (Kind::Latin, Script::Latin)
                } else {
                    classify(word)
                };
                words.push(Word {
                    start: s as u32,
                    end: i as u32,
                    kind,
                    script,
                });
                start = None;
            }
            _ => {}
        }
    }
    let latin = words
        .iter()
        .filter(|w| matches!(w.kind, Kind::Latin | Kind::Mixed))
        .count();
    let foreign = words.iter().filter(|w| w.kind == Kind::Foreign).count();
    let latin_context = latin > foreign;
    let disguised =
        |w: &Word| w.kind == Kind::Mixed || (latin_context && w.kind == Kind::Imitation);
    if !words.iter().any(disguised) {
        return;
    }

    buf.clear();
    let mut copied = 0;
    for w in words.iter().filter(|w| disguised(w)) {
        let (s, e) = (w.start as usize, w.end as usize);
        buf.push_str(&text[copied..s]);
        let reads_from = buf.len();
        for c in text[s..e].chars() {
            let reading = match script_of(c) {
                Script::Latin | Script::Common | Script::Inherited => None,
                _ if w.kind == Kind::Mixed => readings(c).1.or_else(|| loose(c)),
                _ => readings(c).0,
            };
            match reading {
                Some(r) => buf.push_str(r.as_str()),
                None => buf.push(c),
            }
        }
        disguises.lookalike += 1;
        if disguises.lookalike == 1 {
            disguises
                .lookalike_first
                .set(&text[s..e], &buf[reads_from..]);
            disguises.lookalike_script = w.script.full_name();
        }
        copied = e;
    }
    buf.push_str(&text[copied..]);
    std::mem::swap(text, buf);
}

#[cfg(test)]
mod tests {
    use super::super::Canonical;
    use super::*;

    #[test]
    fn script_shortcut_agrees_with_the_tables() {
        for u in TABLE_START..TABLE_END {
            if let Some(c) = char::from_u32(u) {
                assert_eq!(script_of(c), c.script(), "U+{u:04X}");
            }
        }
    }

    fn canon(raw: &str) -> Canonical {
        let mut c = Canonical::default();
        c.canonicalize(raw);
        c
    }

    #[test]
    fn honest_scripts_are_left_alone() {
        let cases: &[(&str, &str)] = &[
            (
                "russian",
                "Здравствуйте! Заказ пришёл без чека, номер заказа 771902. Спасибо",
            ),
            (
                "ukrainian",
                "Доброго дня! Чи можна обміняти куртку на більший розмір?",
            ),
            (
                "greek",
                "Γεια σας, η παραγγελία μου δεν έχει φτάσει ακόμα. Αριθμός 661204",
            ),
            ("arabic", "مرحبا، طلبي رقم 448120 لم يصل بعد. شكرا"),
            ("hebrew", "שלום, קיבלתי מוצר פגום. איך אני מחזירה אותו?"),
            ("hindi", "नमस्ते, मेरा ऑर्डर अभी तक नहीं आया है।"),
            ("thai", "สวัสดีค่ะ สั่งของไปตั้งแต่อาทิตย์ที่แล้วยังไม่ได้รับเลยค่ะ"),
            (
                "japanese",
                "こんにちは。注文したTシャツのサイズを交換したいのですが",
            ),
            ("chinese", "你好，我的订单903311显示已发货"),
            ("korean", "안녕하세요, 주문한 신발이 사이즈가 안 맞아서"),
            (
                "turkish",
                "Merhaba, iade ettiğim ürünün ücreti hâlâ hesabıma yatmadı",
            ),
            (
                "russian_in_english",
                "my order from Москва arrived, спасибо",
            ),
            ("greek_letters_in_maths", "the 10μg dose, α and β versions"),
            ("cyrillic_amid_cyrillic", "сор и ухо"),
            ("cherokee", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎠᏓᏅᏖᏗ"),
            ("coptic", "thank you, and ⲡⲓⲭⲣⲓⲥⲧⲟⲥ ⲁϥⲧⲱⲛϥ to all"),
            ("cherokee_in_english", "thanks, and ᎣᏏᏲ from Tahlequah"),
        ];
        for &(name, raw) in cases {
            let c = canon(raw);
            assert_eq!(c.disguises.lookalike, 0, "{name}: {:?}", c.disguises);
        }
    }

    #[test]
    fn look_alike_words_read_as_latin() {
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            ("cyrillic_a", "pаypal", "paypal", "pаypal", "Cyrillic"),
            (
                "greek_o",
                "Grοw yοur αccοunt",
                "grow your account",
                "grοw",
                "Greek",
            ),
            ("capital_cyrillic", "ВUY NOW", "buy now", "вuy", "Cyrillic"),
            (
                "cherokee_capitals",
                "Ꮯlaim your free ᏢᎡᎥᏃᎬ now",
                "claim your free prize now",
                "ꮯlaim",
                "Cherokee",
            ),
            (
                "lisu",
                "get ꓝꓣꓰꓰ coins at once",
                "get free coins at once",
                "ꓝꓣꓰꓰ",
                "Lisu",
            ),
            ("coptic", "ⲣaypal login", "paypal login", "ⲣaypal", "Coptic"),
            // Letters whose skeleton carries a mark or is a small capital.
            (
                "greek_eta_tau",
                "αccουηt sυspeηded, lοgιη aτ once",
                "account suspended, login at once",
                "αccουηt",
                "Greek",
            ),
            // Wholly Cyrillic, but amid English words.
            (
                "imitation_in_latin_text",
                "your ассоunt is оk, see арр",
                "your account is ok, see app",
                "ассоunt",
                "Cyrillic",
            ),
        ];
        for &(name, raw, text, first, script) in cases {
            let c = canon(raw);
            assert_eq!(c.text, text, "{name}");
            assert!(c.disguises.lookalike > 0, "{name}");
            assert_eq!(c.disguises.lookalike_first.raw, first, "{name}");
            assert_eq!(c.disguises.lookalike_script, script, "{name}");
        }
    }

    #[test]
    fn reading_names_the_imitated_word() {
        let c = canon("log in to pаypal now");
        assert_eq!(c.disguises.lookalike, 1);
        assert_eq!(c.disguises.lookalike_first.reads, "paypal");
    }
}
