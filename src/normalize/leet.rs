//! Leetspeak: digits and symbols standing in for letters ("fr33 g1ft"),
//! and how much a token looks like it rather than like a code or a
//! quantity.

use super::phrase::is_letter;

/// Symbols that stand in for letters and so belong to a token.
pub(super) fn is_leet_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '€' | '|')
}

/// The letter a digit or symbol stands for in leetspeak.
pub(super) fn leet_letter(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '€' => 'e',
        '|' => 'l',
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Leet {
    /// Several stand-ins, inside or at two places: "b1tc0in", "0nl1n3".
    Strong,
    /// One stand-in between letters ("g1ft"), a trailing pair ("fr33"), a
    /// leading stand-in ("4pply"). Codes and products look the same
    /// ("mp3s", "w3c", "win10"), so these count only in company.
    Weak,
}

/// How much a folded token looks like leetspeak rather than a code or a
/// quantity ("10am", "mp3", "1st" are neither).
pub(super) fn leet_kind(core: &str) -> Option<Leet> {
    let mut buf = [' '; 24];
    let mut n = 0;
    for c in core.chars() {
        if n == buf.len() {
            // Long tokens are identifiers, not words.
            return None;
        }
        buf[n] = c;
        n += 1;
    }
    let chars = &buf[..n];
    let stand_in = |c: char| !is_letter(c) && leet_letter(c).is_some();
    let (mut stand_ins, mut runs, mut inside) = (0, 0, false);
    for (i, &c) in chars.iter().enumerate() {
        if !stand_in(c) {
            continue;
        }
        stand_ins += 1;
        if i == 0 || !stand_in(chars[i - 1]) {
            runs += 1;
        }
        inside |= i > 0 && i + 1 < n && is_letter(chars[i - 1]) && is_letter(chars[i + 1]);
    }
    let leading = chars.iter().take_while(|&&c| stand_in(c)).count();
    let trailing = chars.iter().rev().take_while(|&&c| stand_in(c)).count();
    if stand_ins >= 2 && (inside || runs >= 2) {
        Some(Leet::Strong)
    } else if inside
        || (runs == 1 && trailing >= 2 && n - trailing >= 2)
        || (runs == 1 && leading >= 1 && n - leading >= 3)
    {
        Some(Leet::Weak)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_graded() {
        let cases: &[(&str, Option<Leet>)] = &[
            ("b1tc0in", Some(Leet::Strong)),
            ("0nl1n3", Some(Leet::Strong)),
            ("n33d3d", Some(Leet::Strong)),
            ("g1ft", Some(Leet::Weak)),
            ("fr33", Some(Leet::Weak)),
            ("4pply", Some(Leet::Weak)),
            ("mp3s", Some(Leet::Weak)),
            ("10am", None),
            ("1st", None),
            ("mp3", None),
            ("summer", None),
            ("abcdefghijklmnopqrstuvwxyz0", None),
        ];
        for &(token, kind) in cases {
            assert_eq!(leet_kind(token), kind, "{token}");
        }
    }
}
