//! Judging one link: each check that fires becomes a hit whose detail
//! names the domain.

use unicode_security::MixedScript;

use crate::codes::Code;
use crate::features::Evidence;
use crate::features::link::extract::{Link, LinkKind, parse_candidate};
use crate::features::link::lookalike::{How, to_unicode};
use crate::features::link::{LinkExpander, LinkRules, links};

/// Raw text shown in a detail is cut to this many characters.
const SHOWN_CHARS: usize = 60;

/// Strength of `LINK_SHORTENER` once the caller's expander has said where
/// the link leads: the target is judged on its own, the shortener hides
/// nothing any more, and only the habit of shortening remains.
const EXPANDED_SHORTENER: f64 = 0.3;

/// Adds the evidence of one link that is not the brand's own. `raw` is the
/// link as written in the message; `expander` may know where a short link
/// leads.
pub(super) fn judge(
    rules: &LinkRules,
    link: &Link,
    raw: &str,
    brand: Option<&str>,
    expander: Option<&dyn LinkExpander>,
    evidence: &mut Evidence,
) {
    judge_host(rules, link, "", brand, evidence);
    if link.obfuscated {
        evidence.push(
            Code::LINK_OBFUSCATED,
            1.0,
            format!(
                "link written in disguise: \"{}\" is {}",
                shorten(raw),
                link.url
            ),
        );
    }
    if link.kind != LinkKind::Url {
        return;
    }
    let Some(short) = rules.shorteners.matching(&link.host) else {
        return;
    };
    let target = expander
        .and_then(|e| e.expand(&link.url))
        .and_then(|t| parse_target(&t));
    match target {
        Some(target) => {
            evidence.push(
                Code::LINK_SHORTENER,
                EXPANDED_SHORTENER,
                format!("link shortened with {short} leads to {}", target.host),
            );
            if rules.own.matching(&target.host).is_none() {
                let via = format!(" (behind {short})");
                judge_host(rules, &target, &via, brand, evidence);
            }
        }
        None => evidence.push(
            Code::LINK_SHORTENER,
            1.0,
            format!("link shortened with {short} hides where it leads"),
        ),
    }
}

/// The expander's answer as a link: a full URL, or failing that the first
/// link in the text it returned.
fn parse_target(target: &str) -> Option<Link> {
    let target = target.trim();
    parse_candidate(target, LinkKind::Url, target.contains("://"))
        .or_else(|| links(target).into_iter().next())
}

fn judge_host(
    rules: &LinkRules,
    link: &Link,
    via: &str,
    brand: Option<&str>,
    evidence: &mut Evidence,
) {
    let host = link.host.as_str();
    if let Some(entry) = rules.deny.matching(host) {
        evidence.push(
            Code::LINK_DENY,
            1.0,
            format!("link to {host}{via} is on the deny list ({entry})"),
        );
    }
    if let Some(ip) = link.ip {
        evidence.push(
            Code::LINK_IP_HOST,
            1.0,
            format!("link goes to the bare IP address {ip}{via}"),
        );
    }
    if let Some(user) = &link.userinfo {
        evidence.push(
            Code::LINK_USERINFO,
            1.0,
            format!(
                "link shows \"{}\" before @ but goes to {host}{via}",
                shorten(user)
            ),
        );
    }
    let Some(domain) = link.domain.as_deref() else {
        reputation(rules, host, via, brand, evidence);
        return;
    };
    if host.split('.').any(|label| label.starts_with("xn--")) {
        let unicode = to_unicode(host);
        // One script per label is how honest international names look;
        // a label mixing scripts is how look-alikes are built.
        let mixed = unicode.split('.').any(|label| !label.is_single_script());
        evidence.push(
            Code::LINK_PUNYCODE,
            if mixed { 1.0 } else { 0.5 },
            format!("link host {host}{via} is punycode for {unicode}"),
        );
    }
    if let Some(imitation) = rules.protected.imitated(host, domain) {
        let shown = to_unicode(domain);
        let protected = imitation.protected;
        let detail = match imitation.how {
            How::Imitates => format!("link to {shown}{via} imitates {protected}"),
            How::InFront => format!("link host {host}{via} puts {protected} in front of {domain}"),
            How::CopiesName => format!("link to {shown}{via} copies the name of {protected}"),
            How::BorrowsName => format!("link to {shown}{via} borrows the name of {protected}"),
        };
        evidence.push(Code::LINK_LOOKALIKE_DOMAIN, imitation.strength, detail);
    }
    let tld = host.rsplit('.').next().unwrap_or("");
    if rules.suspicious_tlds.matching(tld).is_some() {
        evidence.push(
            Code::LINK_SUSPICIOUS_TLD,
            1.0,
            format!("link to {domain}{via} uses .{tld}, a cheap and much-abused domain"),
        );
    }
    reputation(rules, domain, via, brand, evidence);
}

/// What was learned about `key`, for everyone and by the message's
/// recipient (`brand`).
fn reputation(
    rules: &LinkRules,
    key: &str,
    via: &str,
    brand: Option<&str>,
    evidence: &mut Evidence,
) {
    let Some(counts) = rules.reputation.get(key, brand) else {
        return;
    };
    let strength = counts.log_odds();
    if strength.abs() >= 0.1 {
        evidence.push(
            Code::LINK_DOMAIN_REPUTATION,
            strength,
            format!(
                "{key}{via} was seen in {} spam and {} ham message(s)",
                counts.spam, counts.ham
            ),
        );
    }
}

/// At most [`SHOWN_CHARS`] characters of `s`, so a detail stays readable.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
