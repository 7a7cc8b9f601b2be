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
/// after a full stop.
pub(crate) const SPACED_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "ly", "gl", "gd", "top", "xyz", "click", "icu", "ru",
    "cn", "tk", "ml", "ga", "cf", "gq", "buzz",
];

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

/// A protected domain: its look-alike key and its registrable label.
#[derive(Debug, Clone)]
struct Brand {
    domain: String,
    label: String,
    label_key: String,
}

/// The protected domains (built-in brands, the policy's `protected_domains`
/// and `own_domains`), indexed by look-alike key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Protected {
    by_key: HashMap<String, usize>,
    brands: Vec<Brand>,
}

/// How a domain imitates a protected one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Imitation<'a> {
    pub protected: &'a str,
    pub strength: f64,
    pub how: &'static str,
}

impl Protected {
    pub fn new<'a>(domains: impl IntoIterator<Item = &'a str>) -> Protected {
        let mut p = Protected::default();
        for domain in domains {
            let domain = clean_domain(domain);
            if domain.is_empty() || p.brands.iter().any(|b| b.domain == domain) {
                continue;
            }
            let unicode = url::quirks::domain_to_unicode(&domain);
            let label = registrable_label(&domain).to_string();
            let label_key = lookalike_key(&url::quirks::domain_to_unicode(&label));
            p.by_key.insert(lookalike_key(&unicode), p.brands.len());
            p.brands.push(Brand {
                domain,
                label,
                label_key,
            });
        }
        p
    }

    pub fn contains(&self, registrable: &str) -> bool {
        self.brands.iter().any(|b| b.domain == registrable)
    }

    /// Whether `registrable` (punycode) under `host` imitates a protected
    /// domain: same look-alike key, the brand's name as a hyphenated word,
    /// or the brand's domain put in front of another one.
    pub fn imitated(&self, host: &str, registrable: &str) -> Option<Imitation<'_>> {
        if self.contains(registrable) {
            return None;
        }
        let unicode = url::quirks::domain_to_unicode(registrable);
        if let Some(&i) = self.by_key.get(&lookalike_key(&unicode)) {
            return Some(Imitation {
                protected: &self.brands[i].domain,
                strength: 1.0,
                how: "imitates",
            });
        }
        let label = registrable_label(registrable);
        let tld = registrable.rsplit('.').next().unwrap_or("");
        for brand in &self.brands {
            if brand.label.len() < 4 {
                continue;
            }
            let sub = host.strip_suffix(registrable).unwrap_or("");
            if sub.contains(&format!("{}.", brand.domain)) {
                return Some(Imitation {
                    protected: &brand.domain,
                    strength: 0.8,
                    how: "puts the name of",
                });
            }
            if label == brand.label {
                // The brand's own name under another suffix: often the
                // brand's country site, so only a cheap-TLD copy counts.
                if SUSPICIOUS_TLDS.contains(&tld) {
                    return Some(Imitation {
                        protected: &brand.domain,
                        strength: 0.8,
                        how: "copies the name of",
                    });
                }
                continue;
            }
            let hyphenated = label.contains('-')
                && label.split('-').any(|word| {
                    lookalike_key(&url::quirks::domain_to_unicode(word)) == brand.label_key
                });
            if hyphenated {
                return Some(Imitation {
                    protected: &brand.domain,
                    strength: 0.6,
                    how: "borrows the name of",
                });
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
        assert_eq!(hit.protected, "paypal.com");
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
