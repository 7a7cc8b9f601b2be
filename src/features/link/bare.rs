//! Candidates without a scheme ("brand.de", "bit.ly/x", "tomorrow.call"):
//! which host names count as links, decided on the text where it is safe,
//! so that the dotted words of prose do not each cost a URL parse.

use crate::features::link::domains::{BARE_TLDS, RESERVED_TLDS};

/// A TLD that a link may end in: in the public suffix list, or reserved
/// for examples.
pub(super) fn known_suffix(host: &str) -> bool {
    let tld = host.rsplit('.').next().unwrap_or("");
    RESERVED_TLDS.contains(&tld) || psl::suffix(host.as_bytes()).is_some_and(|s| s.is_known())
}

/// What the text of a candidate without a scheme says about its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BareHost {
    /// A plain host name that fails the host checks of
    /// [`parse_candidate`](super::extract::parse_candidate).
    NotALink,
    /// A plain host name that passes them: the parser's host is the same
    /// name in lower case.
    Link,
    /// Something a URL parser might read differently.
    ForTheParser,
}

/// The host checks of [`parse_candidate`](super::extract::parse_candidate)
/// for a candidate without a scheme, done on its text before parsing: most
/// dotted words in prose ("tomorrow.call", "irene.ere") fail them, and
/// parsing them was a fifth of a long DM's check. Only plain host names
/// are decided here; whatever a URL parser might read differently (user
/// info, numbers that parse as an IP address, punycode, other characters,
/// a trailing dot) goes to the parser.
pub(super) fn bare_host(s: &str) -> BareHost {
    let end = s.find(['/', ':', '?', '#', '\\']).unwrap_or(s.len());
    let host = &s[..end];
    let last = host.rsplit('.').next().unwrap_or("");
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    let plain = (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !numeric
        && !s.contains('@');
    if !plain {
        return BareHost::ForTheParser;
    }
    let mut buf = [0u8; 253];
    let lower = &mut buf[..host.len()];
    lower.copy_from_slice(host.as_bytes());
    lower.make_ascii_lowercase();
    let Ok(host) = std::str::from_utf8(lower) else {
        return BareHost::ForTheParser;
    };
    if host.split('.').any(|label| label.starts_with("xn--")) {
        return BareHost::ForTheParser;
    }
    if host_is_link(host, s, false) {
        BareHost::Link
    } else {
        BareHost::NotALink
    }
}

/// Whether a host name (lower case, as a parser gives it) is a link's: it
/// has a dot and a known suffix and, `written` without a scheme, is a name
/// people type bare as a link.
pub(super) fn host_is_link(host: &str, written: &str, scheme: bool) -> bool {
    host.contains('.') && known_suffix(host) && (scheme || bare_domain_is_link(host, written))
}

/// A word.word without a scheme is a link when its TLD is one people type
/// bare (`.com`, `.top`…), when it sits under a multi-label suffix
/// (`.co.uk`), or when `www.` or a path, port or query says so (`readme.md`
/// is a file, `readme.md/x` a link).
fn bare_domain_is_link(host: &str, written: &str) -> bool {
    if host.starts_with("www.") || written.contains(['/', ':', '?', '#']) {
        return true;
    }
    if sentence_join(written) {
        return false;
    }
    let tld = host.rsplit('.').next().unwrap_or("");
    if BARE_TLDS.contains(&tld) {
        return true;
    }
    psl::suffix(host.as_bytes()).is_some_and(|s| s.as_bytes().contains(&b'.'))
}

/// Two sentences typed without a space, "thanks.Today": a lower-case word,
/// a dot, then a capitalised word. Domains are written in one case.
fn sentence_join(written: &str) -> bool {
    let Some((left, right)) = written.rsplit_once('.') else {
        return false;
    };
    let mut chars = right.chars();
    let capitalised = chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_lowercase);
    let left = left.rsplit('.').next().unwrap_or(left);
    capitalised && left.chars().all(|c| !c.is_uppercase())
}

#[cfg(test)]
mod tests {
    use url::{Host, Url};

    use super::*;

    /// What the parser accepts of a candidate without a scheme, without
    /// the cheap look first.
    fn parser_accepts(s: &str) -> bool {
        let Ok(parsed) = Url::parse(&format!("http://{s}")) else {
            return false;
        };
        match parsed.host() {
            Some(Host::Domain(d)) => host_is_link(d, s, false),
            Some(_) => true,
            None => false,
        }
    }

    #[test]
    fn the_cheap_look_rejects_prose_and_defers_the_tricky() {
        for prose in [
            "tomorrow.call",
            "irene.ere",
            "park.6ph",
            "ah.the",
            "days.en",
            "thanks.See",
        ] {
            assert_eq!(bare_host(prose), BareHost::NotALink, "{prose}");
            assert!(!parser_accepts(prose), "{prose}");
        }
        for link in [
            "bit.ly/x",
            "Shop.Brand.COM",
            "www.example.co.uk",
            "brand.de",
        ] {
            assert_eq!(bare_host(link), BareHost::Link, "{link}");
            assert!(parser_accepts(link), "{link}");
        }
        // Left to the parser: user info, IP-like numbers, punycode.
        for tricky in [
            "user:pw@evil.com",
            "0x7f.1/x",
            "1.2.3.4/x",
            "xn--pple-43d.com",
            "a.b.",
        ] {
            assert_eq!(bare_host(tricky), BareHost::ForTheParser, "{tricky}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_cheap_look_agrees_with_the_parser(
            s in concat!(
                "[a-zA-Z0-9-]{0,8}(\\.[a-zA-Z0-9-]{0,6}){0,3}",
                "(\\.(com|net|ly|call|top|co\\.uk|md|de|ere|COM|Ly|0x1f|12))?",
                "([/:?#@][a-z0-9.]{0,6})?",
            ),
        ) {
            match bare_host(&s) {
                BareHost::NotALink => proptest::prop_assert!(!parser_accepts(&s), "{}", s),
                // The parser may still fail on the rest (a bad port).
                BareHost::Link => proptest::prop_assert!(
                    parser_accepts(&s) || Url::parse(&format!("http://{s}")).is_err(),
                    "{}",
                    s
                ),
                BareHost::ForTheParser => {}
            }
        }
    }
}
