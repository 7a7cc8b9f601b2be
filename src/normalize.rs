//! Text canonicalisation: the form that rules and the classifier match on,
//! so that disguises (width, case, invisible characters) do not work.

use unicode_normalization::UnicodeNormalization;

/// The canonical forms of one message, with the disguises that were removed
/// on the way. Reused between messages to avoid allocating.
#[derive(Debug, Default)]
pub(crate) struct Canonical {
    /// NFKC, case-folded, invisible characters removed.
    pub text: String,
    /// `text` with runs of non-alphanumerics collapsed to one space, for
    /// phrase matching on word boundaries.
    pub phrase: String,
    /// What the sender tried to hide.
    pub disguises: Disguises,
}

/// Disguises found while canonicalising.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Disguises {
    /// Zero-width and other invisible format characters.
    pub invisible: u32,
}

impl Canonical {
    /// Replaces the contents with the canonical forms of `raw`.
    pub fn canonicalize(&mut self, raw: &str) {
        self.text.clear();
        self.phrase.clear();
        self.disguises = Disguises::default();
        for c in raw.nfkc() {
            if is_invisible(c) {
                self.disguises.invisible += 1;
                continue;
            }
            self.text.extend(c.to_lowercase());
        }
        let mut space = true;
        self.phrase.push(' ');
        for c in self.text.chars() {
            if c.is_alphanumeric() {
                self.phrase.push(c);
                space = false;
            } else if !space {
                self.phrase.push(' ');
                space = true;
            }
        }
        if !space {
            self.phrase.push(' ');
        }
    }
}

/// Format characters that render as nothing: zero-width spaces and joiners,
/// word joiner, byte-order mark, soft hyphen, bidi controls.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_case_and_invisibles_are_removed() {
        let mut c = Canonical::default();
        c.canonicalize("Ｆｒｅｅ G\u{200b}IFT");
        assert_eq!(c.text, "free gift");
        assert_eq!(c.phrase, " free gift ");
        assert_eq!(c.disguises.invisible, 1);
    }
}
