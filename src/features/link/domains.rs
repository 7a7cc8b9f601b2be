//! Built-in domain knowledge: shorteners, suspicious and well-known TLDs,
//! widely phished brands, and sets of domains that match subdomains.

use std::collections::HashSet;

/// Link shorteners: the link hides where it leads.
#[rustfmt::skip]
pub(crate) const SHORTENERS: &[&str] = &[
    "bit.ly", "bitly.com", "bit.do", "tinyurl.com", "tiny.cc", "tiny.one", "t.co", "goo.gl",
    "ow.ly", "is.gd", "v.gd", "buff.ly", "cutt.ly", "cutt.us", "rebrand.ly", "rb.gy",
    "shorturl.at", "shorturl.asia", "t.ly", "s.id", "qr.ae", "adf.ly", "shorte.st", "bc.vc",
    "ouo.io", "lnkd.in", "db.tt", "trib.al", "soo.gd", "clck.ru", "u.to", "x.co", "po.st",
    "mcaf.ee", "su.pr", "qr.net", "1url.com", "rotf.lol", "shrtco.de", "t2m.io", "urlz.fr",
    "chilp.it", "bl.ink", "snip.ly", "tr.im", "cli.gs", "budurl.com", "dlvr.it", "ift.tt",
    "hyperurl.co", "zpr.io", "qrco.de", "0rz.tw", "gg.gg", "vk.cc", "lc.chat", "short.gy",
    "tinu.be", "shorturl.com", "tiny.pl", "linktr.ee", "surl.li", "u.nu", "shorten.ee",
];

/// Top-level domains where most registrations are abuse: cheap or free,
/// with little checking.
#[rustfmt::skip]
pub(crate) const SUSPICIOUS_TLDS: &[&str] = &[
    "top", "xyz", "click", "icu", "tk", "ml", "ga", "cf", "gq", "buzz", "cam", "work", "rest",
    "fit", "loan", "win", "bid", "racing", "date", "download", "stream", "gdn", "men", "review",
    "party", "trade", "webcam", "science", "kim", "country", "cricket", "accountant", "faith",
    "zip", "mov", "sbs", "cfd", "lol", "quest", "monster", "cyou", "su", "bond",
];

/// TLDs that make a bare word.word a link without a scheme, `www.` or a
/// path: the generic ones everybody types, the ones spammers favour, a
/// few ccTLDs used like generics, and the country and internationalised
/// TLDs people type bare at home. TLDs that are also common words or file
/// extensions (`.today`, `.me`, `.zip`, `.mov`, `.lol`) need a path too, so
/// that "thanks.today" stays prose. Other ccTLDs (`.py`, `.md`, `.rs`, `.sh`
/// …) are file extensions far more often than hosts in a DM, so they count
/// only with a path or `www.`.
#[rustfmt::skip]
pub(crate) const BARE_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "ly", "gl", "gd", "tv", "cc",
    "ws", "ai", "link", "site", "online", "shop", "store", "app", "dev", "live", "club", "ru",
    "cn", "example", "top", "xyz", "click", "icu", "buzz", "cyou", "sbs", "cfd", "monster", "bond",
    "su",
    // Country TLDs typed bare in their own countries, none of them an
    // English word or a common file extension (so not .in, .me, .us, .it,
    // .pl, .pt, .au, .py, .md).
    "de", "fr", "es", "nl", "eu", "uk", "ua", "br", "jp", "kr", "ca", "ch", "se", "dk", "fi",
    "cz", "gr", "tr", "vn",
    // Internationalised TLDs, as punycode: рф, рус, укр, бел, онлайн, сайт,
    // 中国, 公司, 网络, 한국.
    "xn--p1ai", "xn--p1acf", "xn--j1amh", "xn--90ais", "xn--80asehdb", "xn--80aswg",
    "xn--fiqs8s", "xn--55qx5d", "xn--io0a7i", "xn--3e0b707e",
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

/// Spaced TLDs that are also English words: written apart from a name
/// (`polka dot top`, `one click . buzz`) they are prose unless something
/// marks a link. Takes the word as written.
pub(crate) fn is_word_tld(word: &[u8]) -> bool {
    [&b"top"[..], b"click", b"buzz"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// Names reserved for documentation and tests (RFC 2606, RFC 6761): not in
/// the public suffix list, but hosts under them are written as links.
pub(crate) const RESERVED_TLDS: &[&str] = &["example", "test"];

/// Widely phished brands whose look-alikes are a strong sign of phishing.
#[rustfmt::skip]
pub(crate) const PROTECTED: &[&str] = &[
    "paypal.com", "apple.com", "icloud.com", "microsoft.com", "office.com", "outlook.com",
    "live.com", "google.com", "gmail.com", "youtube.com", "facebook.com", "instagram.com",
    "whatsapp.com", "twitter.com", "linkedin.com", "amazon.com", "netflix.com", "dropbox.com",
    "docusign.com", "adobe.com", "chase.com", "wellsfargo.com", "bankofamerica.com",
    "coinbase.com", "binance.com", "metamask.io", "blockchain.com", "steamcommunity.com",
    "discord.com", "telegram.org", "tiktok.com", "dhl.com", "fedex.com", "usps.com", "spotify.com",
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
}
