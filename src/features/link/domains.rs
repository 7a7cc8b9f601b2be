//! Built-in domain knowledge: shorteners, suspicious and well-known TLDs,
//! widely phished brands, and the look-alike key that compares domains the
//! way a reader's eye does.

use std::collections::{HashMap, HashSet};

/// Link shorteners: the link hides where it leads.
pub(crate) const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "bit.do",
    "tinyurl.com",
    "tiny.cc",
    "tiny.one",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "v.gd",
    "buff.ly",
    "cutt.ly",
    "cutt.us",
    "rebrand.ly",
    "rb.gy",
    "shorturl.at",
    "shorturl.asia",
    "t.ly",
    "s.id",
    "qr.ae",
    "adf.ly",
    "shorte.st",
    "bc.vc",
    "ouo.io",
    "lnkd.in",
    "db.tt",
    "trib.al",
    "soo.gd",
    "clck.ru",
    "u.to",
    "x.co",
    "po.st",
    "mcaf.ee",
    "su.pr",
    "qr.net",
    "1url.com",
    "rotf.lol",
    "shrtco.de",
    "t2m.io",
    "urlz.fr",
    "chilp.it",
    "bl.ink",
    "snip.ly",
    "tr.im",
    "cli.gs",
    "budurl.com",
    "dlvr.it",
    "ift.tt",
    "hyperurl.co",
    "zpr.io",
    "qrco.de",
    "0rz.tw",
    "gg.gg",
    "vk.cc",
    "lc.chat",
    "short.gy",
    "tinu.be",
    "shorturl.com",
    "tiny.pl",
    "linktr.ee",
    "surl.li",
    "u.nu",
    "shorten.ee",
];

/// Top-level domains where most registrations are abuse: cheap or free,
/// with little checking.
pub(crate) const SUSPICIOUS_TLDS: &[&str] = &[
    "top",
    "xyz",
    "click",
    "icu",
    "tk",
    "ml",
    "ga",
    "cf",
    "gq",
    "buzz",
    "cam",
    "work",
    "rest",
    "fit",
    "loan",
    "win",
    "bid",
    "racing",
    "date",
    "download",
    "stream",
    "gdn",
    "men",
    "review",
    "party",
    "trade",
    "webcam",
    "science",
    "kim",
    "country",
    "cricket",
    "accountant",
    "faith",
    "zip",
    "mov",
    "sbs",
    "cfd",
    "lol",
    "quest",
    "monster",
    "cyou",
    "su",
    "bond",
];

/// TLDs that make a bare word.word a link without a scheme, `www.` or a
/// path: the generic ones everybody types, the ones spammers favour, and a
/// few ccTLDs used like generics. TLDs that are also common words or file
/// extensions (`.today`, `.me`, `.zip`, `.mov`, `.lol`) need a path too, so
/// that "thanks.today" stays prose. Other ccTLDs (`.py`, `.md`, `.rs`, `.sh`
/// …) are file extensions far more often than hosts in a DM, so they count
/// only with a path or `www.`.
pub(crate) const BARE_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "ly", "gl", "gd", "tv", "cc",
    "ws", "ai", "link", "site", "online", "shop", "store", "app", "dev", "live", "club", "ru",
    "cn", "example", "top", "xyz", "click", "icu", "buzz", "cyou", "sbs", "cfd", "monster", "bond",
    "su",
];

/// TLDs accepted when written apart from the name (`example . com`,
/// `example dot com`): a narrow list, because ordinary prose puts words
/// after a full stop. Takes the word in lower case; a `match` keeps the
/// look-up cheap for every ". Word" in a message.
pub(crate) fn is_spaced_tld(word: &[u8]) -> bool {
    matches!(
        word,
        b"com"
            | b"net"
            | b"org"
            | b"info"
            | b"biz"
            | b"io"
            | b"ly"
            | b"gl"
            | b"gd"
            | b"top"
            | b"xyz"
            | b"click"
            | b"icu"
            | b"ru"
            | b"cn"
            | b"tk"
            | b"ml"
            | b"ga"
            | b"cf"
            | b"gq"
            | b"buzz"
    )
}

/// Names reserved for documentation and tests (RFC 2606, RFC 6761): not in
/// the public suffix list, but hosts under them are written as links.
pub(crate) const RESERVED_TLDS: &[&str] = &["example", "test"];

/// Widely phished brands whose look-alikes are a strong sign of phishing.
pub(crate) const PROTECTED: &[&str] = &[
    "paypal.com",
    "apple.com",
    "icloud.com",
    "microsoft.com",
    "office.com",
    "outlook.com",
    "live.com",
    "google.com",
    "gmail.com",
    "youtube.com",
    "facebook.com",
    "instagram.com",
    "whatsapp.com",
    "twitter.com",
    "linkedin.com",
    "amazon.com",
    "netflix.com",
    "dropbox.com",
    "docusign.com",
    "adobe.com",
    "chase.com",
    "wellsfargo.com",
    "bankofamerica.com",
    "coinbase.com",
    "binance.com",
    "metamask.io",
    "blockchain.com",
    "steamcommunity.com",
    "discord.com",
    "telegram.org",
    "tiktok.com",
    "dhl.com",
    "fedex.com",
    "usps.com",
    "spotify.com",
    "ebay.com",
];

/// A set of domains that also matches their subdomains.
#[derive(Debug, Clone, Default)]
pub(crate) struct DomainSet {
    domains: HashSet<String>,
}

impl DomainSet {
    pub fn new<'a>(items: impl IntoIterator<Item = &'a str>) -> DomainSet {
        DomainSet {
            domains: items.into_iter().map(clean_domain).collect(),
        }
    }

    /// The entry that `host` is, or is a subdomain of.
    pub fn matching<'s>(&'s self, host: &str) -> Option<&'s str> {
        if self.domains.is_empty() {
            return None;
        }
        let mut rest = host;
        loop {
            if let Some(found) = self.domains.get(rest) {
                return Some(found);
            }
            rest = &rest[rest.find('.')? + 1..];
        }
    }
}

/// A domain as a policy writer may type it: case, a trailing dot, a
/// leading `*.` or `.` do not matter; IDN is stored as punycode.
pub(crate) fn clean_domain(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('.');
    let d = d.trim_start_matches("*.").trim_start_matches('.');
    let ascii = url::quirks::domain_to_ascii(d);
    if ascii.is_empty() {
        d.to_ascii_lowercase()
    } else {
        ascii
    }
}

/// The look-alike key of a domain: UTS #39 skeleton (so Cyrillic `а`,
/// `1`, `rn` read as `a`, `l`, `m`), lower-cased, plus the digit swaps the
/// skeleton leaves alone.
pub(crate) fn lookalike_key(unicode_domain: &str) -> String {
    let lower = unicode_domain.to_lowercase();
    let skeleton: String = unicode_security::skeleton(&lower).collect();
    let mut key = String::with_capacity(skeleton.len());
    for c in skeleton.chars().flat_map(char::to_lowercase) {
        key.push(match c {
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            '$' => 's',
            '@' => 'a',
            c => c,
        });
    }
    key.replace("vv", "w")
}

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
pub(crate) fn to_unicode(ascii: &str) -> std::borrow::Cow<'_, str> {
    if ascii.contains("xn--") {
        std::borrow::Cow::Owned(url::quirks::domain_to_unicode(ascii))
    } else {
        std::borrow::Cow::Borrowed(ascii)
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

    #[test]
    fn domain_set_matches_subdomains_only() {
        let set = DomainSet::new(["brand.example", "*.Other.Example."]);
        assert_eq!(set.matching("shop.brand.example"), Some("brand.example"));
        assert_eq!(set.matching("brand.example"), Some("brand.example"));
        assert_eq!(set.matching("x.other.example"), Some("other.example"));
        assert_eq!(set.matching("notbrand.example"), None);
        assert_eq!(set.matching("brand.example.evil.top"), None);
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
