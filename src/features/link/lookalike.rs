//! Look-alike domains: the key that compares domains the way a reader's
//! eye does (UTS #39 skeleton plus digit swaps), and the index of protected
//! domains that a link may imitate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use crate::features::link::domains::{SUSPICIOUS_TLDS, clean_domain};

/// The look-alike key of a domain: UTS #39 skeleton (so Cyrillic `а`,
/// `1`, `rn` read as `a`, `l`, `m`), lower-cased, plus the digit swaps the
/// skeleton leaves alone.
pub(crate) fn lookalike_key(unicode_domain: &str) -> String {
    let mut key = String::with_capacity(unicode_domain.len() + 4);
    if unicode_domain.is_ascii() {
        // The skeleton of ASCII text is the concatenation of each byte's
        // skeleton, looked up from a table built once from the same data.
        for b in unicode_domain.bytes() {
            key.push_str(&ASCII_SKELETON[usize::from(b.to_ascii_lowercase())]);
        }
    } else {
        let lower = unicode_domain.to_lowercase();
        key.extend(unicode_security::skeleton(&lower));
    }
    let mut out = String::with_capacity(key.len());
    for c in key.chars().flat_map(char::to_lowercase) {
        out.push(match c {
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            '$' => 's',
            '@' => 'a',
            c => c,
        });
    }
    if out.contains("vv") {
        out = out.replace("vv", "w");
    }
    out
}

/// The UTS #39 skeleton of every ASCII character.
static ASCII_SKELETON: LazyLock<Vec<String>> = LazyLock::new(|| {
    (0u8..128)
        .map(|b| unicode_security::skeleton(&char::from(b).to_string()).collect())
        .collect()
});

/// The protected domains (built-in brands, the policy's `protected_domains`
/// and `own_domains`), indexed so that judging a link costs a few hash
/// look-ups, not a pass over every brand.
#[derive(Debug, Clone, Default)]
pub(crate) struct Protected {
    domains: Vec<String>,
    by_domain: HashMap<String, usize>,
    /// Look-alike key of the whole registrable domain.
    by_key: HashMap<String, usize>,
    /// The registrable label (`paypal`), when long enough to be a name.
    by_label: HashMap<String, usize>,
    /// Look-alike key of that label.
    by_label_key: HashMap<String, usize>,
}

/// Brand labels shorter than this (`x`, `ups`) are ordinary words inside
/// other names, so only exact look-alikes of those domains count.
const MIN_NAME_LEN: usize = 4;

/// How a domain imitates a protected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// Reads the same: `paypa1.com`, `аpple.com`.
    Imitates,
    /// Puts the brand's domain in front: `paypal.com.login.evil.top`.
    InFront,
    /// The brand's name under a cheap TLD: `paypal.top`.
    CopiesName,
    /// The brand's name as one hyphenated word: `paypal-secure.xyz`.
    BorrowsName,
}

/// A domain that imitates a protected one, and how strongly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Imitation<'a> {
    pub protected: &'a str,
    pub strength: f64,
    pub how: How,
}

/// The Unicode form of a punycode name; ASCII names are returned as they
/// are, without the cost of IDNA.
pub(crate) fn to_unicode(ascii: &str) -> Cow<'_, str> {
    if ascii.contains("xn--") {
        Cow::Owned(url::quirks::domain_to_unicode(ascii))
    } else {
        Cow::Borrowed(ascii)
    }
}

impl Protected {
    pub fn new<'a>(domains: impl IntoIterator<Item = &'a str>) -> Protected {
        let mut p = Protected::default();
        for domain in domains {
            let domain = clean_domain(domain);
            if domain.is_empty() || p.by_domain.contains_key(&domain) {
                continue;
            }
            let i = p.domains.len();
            let label = registrable_label(&domain).to_string();
            p.by_key
                .entry(lookalike_key(&to_unicode(&domain)))
                .or_insert(i);
            if label.chars().count() >= MIN_NAME_LEN {
                p.by_label_key
                    .entry(lookalike_key(&to_unicode(&label)))
                    .or_insert(i);
                p.by_label.entry(label).or_insert(i);
            }
            p.by_domain.insert(domain.clone(), i);
            p.domains.push(domain);
        }
        p
    }

    /// Whether `registrable` (punycode) under `host` imitates a protected
    /// domain.
    pub fn imitated(&self, host: &str, registrable: &str) -> Option<Imitation<'_>> {
        if self.by_domain.contains_key(registrable) {
            return None;
        }
        let found = |i: usize, strength: f64, how: How| {
            Some(Imitation {
                protected: &self.domains[i],
                strength,
                how,
            })
        };
        if let Some(&i) = self.by_key.get(&lookalike_key(&to_unicode(registrable))) {
            return found(i, 1.0, How::Imitates);
        }
        let sub = host.strip_suffix(registrable).unwrap_or("");
        if sub.len() > "www.".len() {
            for (i, domain) in self.domains.iter().enumerate() {
                let at_label = sub.match_indices(domain.as_str()).any(|(p, _)| {
                    (p == 0 || sub.as_bytes()[p - 1] == b'.')
                        && sub.as_bytes().get(p + domain.len()) == Some(&b'.')
                });
                if at_label && registrable_label(domain).len() >= MIN_NAME_LEN {
                    return found(i, 0.8, How::InFront);
                }
            }
        }
        let label = registrable_label(registrable);
        if let Some(&i) = self.by_label.get(label) {
            // The brand's own name under another suffix is often the
            // brand's country site; only a cheap-TLD copy counts.
            let tld = registrable.rsplit('.').next().unwrap_or("");
            return SUSPICIOUS_TLDS
                .contains(&tld)
                .then(|| found(i, 0.8, How::CopiesName))
                .flatten();
        }
        if label.contains('-') {
            for word in label.split('-').filter(|w| w.len() >= MIN_NAME_LEN) {
                if let Some(&i) = self.by_label_key.get(&lookalike_key(&to_unicode(word))) {
                    return found(i, 0.6, How::BorrowsName);
                }
            }
        }
        None
    }
}

/// The registrable domain without its public suffix: `paypal` for
/// `paypal.com`, `bbc` for `bbc.co.uk`.
pub(crate) fn registrable_label(registrable: &str) -> &str {
    let suffix_len = psl::suffix(registrable.as_bytes()).map_or(0, |s| s.as_bytes().len());
    let end = registrable.len().saturating_sub(suffix_len + 1);
    if suffix_len == 0 || end == 0 {
        return registrable.split('.').next().unwrap_or(registrable);
    }
    &registrable[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::link::domains::PROTECTED;

    #[test]
    fn the_ascii_fast_path_agrees_with_the_full_skeleton() {
        for domain in [
            "paypa1.com",
            "rnicrosoft.com",
            "G00GLE.COM",
            "x-y_z.example",
            "vvalmart.com",
        ] {
            let lower = domain.to_lowercase();
            let full: String = unicode_security::skeleton(&lower).collect();
            let full = full.to_lowercase();
            let fast: String = domain
                .bytes()
                .map(|b| ASCII_SKELETON[usize::from(b.to_ascii_lowercase())].as_str())
                .collect::<String>()
                .to_lowercase();
            assert_eq!(fast, full, "{domain}");
        }
    }

    #[test]
    fn lookalike_keys_fold_digits_scripts_and_rn() {
        assert_eq!(lookalike_key("paypa1.com"), lookalike_key("paypal.com"));
        assert_eq!(
            lookalike_key("rnicrosoft.com"),
            lookalike_key("microsoft.com")
        );
        assert_eq!(lookalike_key("аpple.com"), lookalike_key("apple.com"));
        assert_eq!(lookalike_key("g00gle.com"), lookalike_key("google.com"));
        assert_ne!(lookalike_key("apples.com"), lookalike_key("apple.com"));
    }

    #[test]
    fn imitations_are_found_and_the_real_domain_is_not() {
        let p = Protected::new(PROTECTED.iter().copied().chain(["brand.example"]));
        let hit = p.imitated("paypa1.com", "paypa1.com").unwrap();
        assert_eq!((hit.protected, hit.strength), ("paypal.com", 1.0));
        assert!(p.imitated("www.paypal.com", "paypal.com").is_none());
        assert!(p.imitated("amazon.de", "amazon.de").is_none());
        assert_eq!(
            p.imitated("paypal.top", "paypal.top").unwrap().strength,
            0.8
        );
        let hit = p.imitated("paypal.com.login.evil.top", "evil.top").unwrap();
        assert_eq!((hit.protected, hit.how), ("paypal.com", How::InFront));
        assert!(p.imitated("www.evil.top", "evil.top").is_none());
        let hit = p
            .imitated("brand-rewards.click", "brand-rewards.click")
            .unwrap();
        assert_eq!(hit.protected, "brand.example");
        assert!(p.imitated("example.com", "example.com").is_none());
        assert!(p.imitated("applebees.com", "applebees.com").is_none());
    }

    #[test]
    fn registrable_label_drops_the_suffix() {
        assert_eq!(registrable_label("paypal.com"), "paypal");
        assert_eq!(registrable_label("bbc.co.uk"), "bbc");
        assert_eq!(registrable_label("brand.example"), "brand");
    }
}
