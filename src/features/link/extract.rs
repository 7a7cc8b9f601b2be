//! Finding links: our own scanner for `scheme://` URLs (linkify misses
//! IPv6 and numeric IPv4 hosts), linkify for bare domains and e-mail
//! addresses, then `url` to parse and normalise and `psl` to decide which
//! bare words are really domains.

use std::net::IpAddr;
use std::ops::Range;

use linkify::LinkFinder;
use serde::Serialize;
use url::{Host, Url};

use crate::features::link::bare::{BareHost, bare_host, host_is_link, known_suffix};
use crate::features::link::trigger::Trigger;
use crate::features::link::view::View;

/// One link found in a message.
///
/// ```
/// let found = dmguard::links("pay at hxxps://paypa1[.]com/login now");
/// assert_eq!(found.len(), 1);
/// let link = &found[0];
/// assert_eq!(link.url, "https://paypa1.com/login");
/// assert_eq!(link.domain.as_deref(), Some("paypa1.com"));
/// assert!(link.obfuscated);
/// assert_eq!(link.range, 7..33); // "hxxps://paypa1[.]com/login" in the raw text
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// Where the link is in the raw text, in bytes, as the sender wrote it
    /// (disguises included, trailing punctuation and brackets excluded).
    pub range: Range<usize>,
    /// The normalised URL: scheme added when missing (`http://`), host in
    /// lower case and punycode; `mailto:` for e-mail addresses.
    pub url: String,
    /// The host in ASCII: punycode for international names, the address
    /// for IP hosts.
    pub host: String,
    /// The registrable domain (`example.co.uk` for `shop.example.co.uk`);
    /// `None` for IP hosts.
    pub domain: Option<String>,
    /// The address when the host is an IP address, however it was written
    /// (`0xB9.0x17.4.19` and `3105293331` both read as `185.23.4.19`).
    pub ip: Option<IpAddr>,
    /// The user name written before `@` in a URL (`https://brand.com@evil.example`).
    pub userinfo: Option<String>,
    /// A URL or an e-mail address.
    pub kind: LinkKind,
    /// The sender disguised the link (`hxxp`, `[.]`, `example . com`,
    /// full-width letters, invisible characters…).
    pub obfuscated: bool,
}

/// What kind of link was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A web address, with or without a scheme.
    Url,
    /// An e-mail address.
    Email,
}

/// A span of the searched text that may be a link.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    range: Range<usize>,
    kind: LinkKind,
    scheme: bool,
}

/// Reused buffers for finding links.
#[derive(Debug, Default)]
pub(crate) struct Finder {
    pub view: View,
    candidates: Vec<Candidate>,
}

impl Finder {
    /// Appends up to `max` links of `raw` to `out`, in text order.
    pub fn find(&mut self, raw: &str, trigger: Trigger, max: usize, out: &mut Vec<Link>) {
        if trigger == Trigger::None || max == 0 {
            return;
        }
        let disguised = trigger == Trigger::Disguised;
        if disguised {
            self.view.build(raw);
        }
        let text = if disguised {
            self.view.text.as_str()
        } else {
            raw
        };
        self.candidates.clear();
        scheme_urls(text, &mut self.candidates);
        let schemed = self.candidates.len();
        let mut finder = LinkFinder::new();
        finder.url_must_have_scheme(false);
        // Both lists come in text order and the schemed ones do not
        // overlap: one cursor finds the only one that can overlap, so the
        // check stays linear in the number of links.
        let mut next = 0;
        for found in finder.links(text) {
            let (start, end) = (found.start(), found.end());
            while next < schemed && self.candidates[next].range.end <= start {
                next += 1;
            }
            let overlaps = next < schemed && self.candidates[next].range.start < end;
            if overlaps || found.as_str().contains("://") {
                continue;
            }
            let end = start + trimmed_len(&text[start..end]);
            let kind = match found.kind() {
                linkify::LinkKind::Email => LinkKind::Email,
                _ => LinkKind::Url,
            };
            self.candidates.push(Candidate {
                range: start..end,
                kind,
                scheme: false,
            });
        }
        if !text.is_ascii() {
            bare_international(text, &mut self.candidates);
        }
        self.candidates.sort_by_key(|c| c.range.start);
        for c in &self.candidates {
            if out.len() >= max {
                break;
            }
            let Some(mut link) = parse_candidate(&text[c.range.clone()], c.kind, c.scheme) else {
                continue;
            };
            let (start, end) = if disguised {
                self.view.raw_range(c.range.start, c.range.end)
            } else {
                (c.range.start, c.range.end)
            };
            link.obfuscated = raw.get(start..end) != Some(&text[c.range.clone()]);
            link.range = start..end;
            out.push(link);
        }
    }
}

/// Bare host names with a non-ASCII label after a dot (`пример.рф`,
/// `商店.中国`), which linkify does not see; `parse_candidate` then decides
/// by the TLD as for any bare name. A host name here is a run of letters,
/// digits, hyphens and dots, with the path that follows a `/`; one that
/// overlaps a candidate already found is left to that one.
fn bare_international(text: &str, out: &mut Vec<Candidate>) {
    let is_host_char = |c: char| c.is_alphanumeric() || c == '-' || c == '.';
    let found = out.len();
    let mut last_end = 0;
    for dot in memchr::memchr_iter(b'.', text.as_bytes()) {
        let next = text[dot + 1..].chars().next();
        if dot < last_end || !next.is_some_and(|c| !c.is_ascii() && c.is_alphabetic()) {
            continue;
        }
        let start = text[..dot]
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_host_char(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = text[dot..]
            .char_indices()
            .find(|&(_, c)| !is_host_char(c))
            .map_or(text.len(), |(i, _)| dot + i);
        let mut end = start + text[start..end].trim_end_matches(['.', '-']).len();
        if text[end..].starts_with('/') {
            // A path, as after a scheme.
            let rest = &text[end..];
            let len = rest
                .char_indices()
                .find(|&(_, c)| ends_url(c))
                .map_or(rest.len(), |(i, _)| i);
            end += trimmed_len(&rest[..len]);
        }
        last_end = end;
        let taken = out[..found]
            .iter()
            .any(|c| start < c.range.end && c.range.start < end);
        if start < dot && !taken {
            out.push(Candidate {
                range: start..end,
                kind: LinkKind::Url,
                scheme: false,
            });
        }
    }
}

/// `http://`, `https://` and `ftp://` URLs, up to a space, a quote or an
/// angle bracket, without trailing punctuation or unbalanced closing
/// brackets.
fn scheme_urls(text: &str, out: &mut Vec<Candidate>) {
    let b = text.as_bytes();
    let mut last_end = 0;
    for colon in memchr::memmem::find_iter(b, b"://") {
        let start = b[..colon]
            .iter()
            .rposition(|c| !c.is_ascii_alphabetic())
            .map_or(0, |p| p + 1);
        let scheme = &b[start..colon];
        let known = [&b"http"[..], b"https", b"ftp"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme));
        if !known || start < last_end {
            continue;
        }
        let rest = &text[colon + 3..];
        let len = rest
            .char_indices()
            .find(|&(_, c)| ends_url(c))
            .map_or(rest.len(), |(i, _)| i);
        let end = colon + 3 + trimmed_len(&rest[..len]);
        if end > colon + 3 {
            out.push(Candidate {
                range: start..end,
                kind: LinkKind::Url,
                scheme: true,
            });
            last_end = end;
        }
    }
}

/// A character that cannot be inside a URL written in running text.
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '<' | '>' | '"' | '`' | '|' | '\\' | '^')
        || (!c.is_ascii() && !c.is_alphanumeric())
}

/// The length of `s` without trailing punctuation, and without closing
/// brackets that do not close one opened inside it: `(see x.com/a).` keeps
/// `x.com/a`, `wiki/Foo_(bar)` keeps its bracket.
pub(crate) fn trimmed_len(s: &str) -> usize {
    let mut end = s.len();
    while let Some(c) = s[..end].chars().next_back() {
        let drop = match c {
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '"' | '*' | '~' => true,
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                let body = &s[..end];
                body.matches(open).count() < body.matches(c).count()
            }
            c => !c.is_ascii() && !c.is_alphanumeric(),
        };
        if !drop {
            break;
        }
        end -= c.len_utf8();
    }
    end
}

/// The registrable domain of a host name (the host itself when the public
/// suffix list has no rule for it).
pub(crate) fn registrable(host: &str) -> String {
    psl::domain_str(host).unwrap_or(host).to_string()
}

/// Parses and normalises one candidate, or rejects it as ordinary text.
pub(crate) fn parse_candidate(s: &str, kind: LinkKind, scheme: bool) -> Option<Link> {
    if kind == LinkKind::Email {
        return parse_email(s);
    }
    // A plain bare host already passed the host checks below on its text.
    let mut checked = false;
    let parsed = if scheme {
        Url::parse(s).ok()?
    } else {
        match bare_host(s) {
            BareHost::NotALink => return None,
            BareHost::Link => checked = true,
            BareHost::ForTheParser => {}
        }
        Url::parse(&format!("http://{s}")).ok()?
    };
    let (host, domain, ip) = match parsed.host()? {
        Host::Ipv4(a) => {
            // Bare dotted numbers are versions or amounts unless a path or
            // port says otherwise.
            if !scheme && !s.contains(['/', ':']) {
                return None;
            }
            (a.to_string(), None, Some(IpAddr::V4(a)))
        }
        Host::Ipv6(a) => (a.to_string(), None, Some(IpAddr::V6(a))),
        Host::Domain(d) => {
            if !checked && !host_is_link(d, s, scheme) {
                return None;
            }
            (d.to_string(), Some(registrable(d)), None)
        }
    };
    let userinfo = (!parsed.username().is_empty()).then(|| parsed.username().to_string());
    Some(Link {
        range: 0..s.len(),
        url: parsed.into(),
        host,
        domain,
        ip,
        userinfo,
        kind,
        obfuscated: false,
    })
}

fn parse_email(s: &str) -> Option<Link> {
    let at = s.rfind('@')?;
    let (local, domain) = (&s[..at], &s[at + 1..]);
    let host = url::quirks::domain_to_ascii(domain);
    if local.is_empty() || !host.contains('.') || !known_suffix(&host) {
        return None;
    }
    Some(Link {
        range: 0..s.len(),
        url: format!("mailto:{local}@{host}"),
        domain: Some(registrable(&host)),
        host,
        ip: None,
        userinfo: None,
        kind: LinkKind::Email,
        obfuscated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::link::trigger::trigger;

    fn urls(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        Finder::default().find(text, trigger(text), 16, &mut out);
        out.into_iter().map(|l| l.url).collect()
    }

    #[test]
    fn false_friends_are_not_links() {
        for text in [
            "e.g. this",
            "3.5 stars",
            "file.txt",
            "Mr.Smith",
            "v1.2.3",
            "at 10.30",
            "$4.99",
            "i.e. yes",
            "thanks.See you",
            "readme.md",
            "script.py",
            "1.2.3.4",
        ] {
            assert_eq!(urls(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn links_are_found_and_normalised() {
        assert_eq!(urls("(see https://x.com/a)."), ["https://x.com/a"]);
        assert_eq!(urls("«https://a.com/b»"), ["https://a.com/b"]);
        assert_eq!(urls("go bit.ly/x now"), ["http://bit.ly/x"]);
        assert_eq!(
            urls("http://[2001:db8::1]:8080/x ok"),
            ["http://[2001:db8::1]:8080/x"]
        );
        assert_eq!(urls("http://3105293331/a"), ["http://185.23.4.19/a"]);
        assert_eq!(urls("http://0xB9170413/a"), ["http://185.23.4.19/a"]);
        assert_eq!(urls("mail Jo@Example.COM."), ["mailto:Jo@example.com"]);
        assert_eq!(urls("аpple.com"), ["http://xn--pple-43d.com/"]);
        assert_eq!(urls("readme.md/x"), ["http://readme.md/x"]);
        assert_eq!(urls("185.23.4.19/login"), ["http://185.23.4.19/login"]);
    }
}
