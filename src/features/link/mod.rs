//! Link evidence: find every link however it is disguised, know where it
//! points, and judge it without a network call.
//!
//! The way a message goes: the byte prefilter ([`trigger`]) decides
//! whether the text can hold a link at all (most DMs stop here); if it
//! shows disguises, the de-obfuscated [`view`] undoes them; [`extract`]
//! finds and normalises the links; [`judge`] turns each into evidence,
//! with the built-in lists in [`domains`], the brand index in
//! [`lookalike`] and what was learned in [`reputation`].

mod bare;
pub(crate) mod domains;
mod expand;
mod extract;
mod judge;
mod lookalike;
pub(crate) mod reputation;
mod trigger;
mod view;

pub(crate) use crate::policy::LinkPolicy;
pub use expand::LinkExpander;
pub use extract::{Link, LinkKind};

use crate::Error;
use crate::codes::Code;
use crate::features::Evidence;
use crate::message::{Label, Message};
use domains::DomainSet;
use extract::Finder;
use lookalike::Protected;
use reputation::Reputation;

/// Every link in `text`, in order, with disguises undone.
///
/// Bare words count as domains only when they end in a real top-level
/// domain: "e.g.", "3.5", "file.txt", "Mr.Smith", "v1.2.3" and "$4.99" are
/// not links. Nothing is fetched or resolved. The cost grows with the
/// text; the filter itself looks at no more than
/// [`LinkPolicy::max_links`] links per message.
///
/// ```
/// let found = dmguard::links("see claim-prize.top, or mail me at jo@example.org");
/// let domains: Vec<_> = found.iter().filter_map(|l| l.domain.as_deref()).collect();
/// assert_eq!(domains, ["claim-prize.top", "example.org"]);
/// assert!(dmguard::links("e.g. v1.2.3 costs $4.99, see file.txt").is_empty());
/// ```
pub fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    Finder::default().find(text, trigger::trigger(text), usize::MAX, &mut out);
    out
}

/// Buffers kept with the filter's per-thread scratch, so that a message
/// without links allocates nothing and one with links reuses the same
/// vectors.
#[derive(Default)]
pub(crate) struct LinkScratch {
    finder: Finder,
    links: Vec<Link>,
}

/// The compiled link rules of one filter, and its learned reputation.
#[derive(Debug)]
pub(crate) struct LinkRules {
    own: DomainSet,
    deny: DomainSet,
    shorteners: DomainSet,
    suspicious_tlds: DomainSet,
    protected: Protected,
    many: usize,
    max_links: usize,
    new_account_days: u32,
    reputation: Reputation,
}

/// The entries of a policy list as `&str`.
fn strs(list: &[String]) -> impl Iterator<Item = &str> {
    list.iter().map(String::as_str)
}

impl LinkRules {
    /// `new_account_days` is the stream policy's, used when the link
    /// policy does not set its own. The link policy is not checked again
    /// here: the build checked it once, with the whole policy
    /// ([`Policy::validate`](crate::Policy::validate)).
    pub fn build(policy: &LinkPolicy, new_account_days: u32) -> Result<LinkRules, Error> {
        let builtin = domains::PROTECTED.iter().copied();
        Ok(LinkRules {
            own: DomainSet::new(strs(&policy.own_domains)),
            deny: DomainSet::new(strs(&policy.deny_domains)),
            shorteners: DomainSet::new(
                domains::SHORTENERS
                    .iter()
                    .copied()
                    .chain(strs(&policy.shorteners)),
            ),
            suspicious_tlds: DomainSet::new(
                domains::SUSPICIOUS_TLDS
                    .iter()
                    .copied()
                    .chain(strs(&policy.suspicious_tlds)),
            ),
            protected: Protected::new(
                builtin
                    .chain(strs(&policy.protected_domains))
                    .chain(strs(&policy.own_domains)),
            ),
            many: policy.many_links,
            max_links: policy.max_links,
            new_account_days: policy.new_account_days.unwrap_or(new_account_days),
            reputation: Reputation::new(policy.reputation_capacity),
        })
    }

    /// Adds the link evidence of `msg` (whose text is `text`, already
    /// truncated). Short links are looked up in `expander` when given.
    pub fn scan(
        &self,
        msg: &Message<'_>,
        text: &str,
        expander: Option<&dyn LinkExpander>,
        evidence: &mut Evidence,
        scratch: &mut LinkScratch,
    ) {
        let trigger = trigger::trigger(text);
        if trigger == trigger::Trigger::None {
            return;
        }
        let LinkScratch { finder, links } = scratch;
        links.clear();
        finder.find(text, trigger, self.max_links, links);
        if links.is_empty() {
            return;
        }
        let (mut foreign, mut foreign_urls) = (0, 0);
        for link in links.iter() {
            if self.own.matching(&link.host).is_some() {
                continue;
            }
            foreign += 1;
            foreign_urls += usize::from(link.kind == LinkKind::Url);
            let raw = text.get(link.range.clone()).unwrap_or("");
            judge::judge(self, link, raw, msg.recipient, expander, evidence);
        }
        if foreign == 0 {
            let host = &links[0].host;
            evidence.push(
                Code::LINK_OWN_DOMAIN,
                1.0,
                format!("every link points to the brand's own domain ({host})"),
            );
            return;
        }
        if foreign > self.many {
            let strength = ((foreign - self.many) as f64).min(3.0);
            evidence.push(
                Code::LINK_MANY,
                strength,
                format!("{foreign} links in one message"),
            );
        }
        // The profile is the only first-contact signal available here: the
        // stream state that knows whether this sender ever wrote to this
        // recipient before adds its own evidence. A new account that the
        // recipient does not follow is the case that matters for links. A
        // customer giving their own e-mail address is not such a link.
        if foreign_urls > 0
            && let Some(p) = msg.profile
            && let Some(days) = p.account_age_days
            && days < self.new_account_days
            && !p.recipient_follows_sender
            && !p.verified
        {
            evidence.push(
                Code::LINK_FIRST_CONTACT,
                1.0,
                format!("a link from a {days}-day-old account the recipient does not follow"),
            );
        }
    }

    /// What the reputation table has learned, for a state snapshot.
    pub(crate) fn reputation_entries(&self) -> Vec<(String, reputation::Counts)> {
        self.reputation.entries()
    }

    /// Puts back what a state snapshot's reputation table had learned.
    pub(crate) fn restore_reputation(&self, entries: &[(String, reputation::Counts)]) {
        self.reputation.restore(entries);
    }

    /// Teaches the reputation table (the shared one, or `brand`'s own):
    /// each registrable domain (or IP host) linked in `raw_text`, once per
    /// message, counts for `label`. The brand's own domains are never
    /// learned. With an `id`, [`LinkRules::unlearn`] can take it back.
    pub fn learn(&self, raw_text: &str, label: Label, id: Option<&str>, brand: Option<&str>) {
        let mut seen: Vec<String> = Vec::new();
        for link in links(raw_text).into_iter().take(self.max_links) {
            if self.own.matching(&link.host).is_some() {
                continue;
            }
            let key = link.domain.unwrap_or(link.host);
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        self.reputation.learn(&seen, label, id, brand);
    }

    /// Takes back what [`LinkRules::learn`] counted for this id.
    pub fn unlearn(&self, id: &str) -> bool {
        self.reputation.unlearn(id)
    }

    /// The learned reputation that a state snapshot does not carry.
    pub(crate) fn reputation(&self) -> &Reputation {
        &self.reputation
    }

    /// The links in `text` that go through a link shortener.
    pub fn short_links(&self, text: &str) -> Vec<Link> {
        let mut out = Vec::new();
        Finder::default().find(text, trigger::trigger(text), self.max_links, &mut out);
        out.retain(|l| self.shorteners.matching(&l.host).is_some());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SenderProfile;

    fn codes(policy: &LinkPolicy, msg: &Message<'_>) -> Vec<(&'static str, f64, String)> {
        let rules = LinkRules::build(policy, 30).unwrap();
        let mut ev = Evidence::default();
        rules.scan(msg, msg.text, None, &mut ev, &mut LinkScratch::default());
        ev.hits
            .into_iter()
            .map(|h| (h.code.as_str(), h.strength, h.detail.into_owned()))
            .collect()
    }

    fn brand() -> LinkPolicy {
        LinkPolicy {
            own_domains: vec!["brand.example".into()],
            ..LinkPolicy::default()
        }
    }

    #[test]
    fn own_links_are_not_penalised() {
        let hits = codes(
            &brand(),
            &Message::new("see https://shop.brand.example/orders/123"),
        );
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].0, "LINK_OWN_DOMAIN");
    }

    #[test]
    fn details_name_the_domain() {
        let hits = codes(&brand(), &Message::new("log in: https://paypa1.com/x"));
        let (_, _, detail) = hits
            .iter()
            .find(|h| h.0 == "LINK_LOOKALIKE_DOMAIN")
            .unwrap();
        assert_eq!(detail, "link to paypa1.com imitates paypal.com");
    }

    #[test]
    fn first_contact_needs_a_new_unfollowed_account() {
        let young = SenderProfile {
            account_age_days: Some(2),
            ..SenderProfile::default()
        };
        let msg = Message::new("look example.com/x").with_profile(young);
        assert!(
            codes(&brand(), &msg)
                .iter()
                .any(|h| h.0 == "LINK_FIRST_CONTACT")
        );
        let followed = SenderProfile {
            recipient_follows_sender: true,
            ..young
        };
        let msg = Message::new("look example.com/x").with_profile(followed);
        assert!(codes(&brand(), &msg).is_empty());
    }

    #[test]
    fn an_email_address_is_not_a_first_contact_link() {
        let young = SenderProfile {
            account_age_days: Some(2),
            ..SenderProfile::default()
        };
        let msg = Message::new("my email is lina.k@mailbox.example").with_profile(young);
        assert!(codes(&brand(), &msg).is_empty());
    }

    #[test]
    fn many_links_count_only_foreign_ones() {
        let text = "a.com b.com c.com d.com e.com";
        let hits = codes(&brand(), &Message::new(text));
        assert!(
            hits.iter().any(|h| h.0 == "LINK_MANY" && h.1 == 2.0),
            "{hits:?}"
        );
    }

    #[test]
    fn learned_domains_raise_and_lower() {
        let rules = LinkRules::build(&brand(), 30).unwrap();
        rules.learn(
            "win at evil-prize.com/x and evil-prize.com/y",
            Label::Spam,
            None,
            None,
        );
        rules.learn("my blog is calm-garden.com", Label::Ham, None, None);
        rules.learn(
            "order at https://shop.brand.example/x",
            Label::Spam,
            None,
            None,
        );
        let mut ev = Evidence::default();
        rules.scan(
            &Message::new("evil-prize.com/z"),
            "evil-prize.com/z",
            None,
            &mut ev,
            &mut LinkScratch::default(),
        );
        assert!(ev.hits[0].strength > 0.5, "{:?}", ev.hits);
        assert_eq!(
            rules.reputation.get("evil-prize.com", None).unwrap().spam,
            1
        );
        assert!(rules.reputation.get("brand.example", None).is_none());
        let mut ev = Evidence::default();
        rules.scan(
            &Message::new("calm-garden.com"),
            "calm-garden.com",
            None,
            &mut ev,
            &mut LinkScratch::default(),
        );
        assert!(ev.hits[0].strength < 0.0, "{:?}", ev.hits);
    }

    #[test]
    fn an_expanded_short_link_is_judged_by_its_target() {
        let rules = LinkRules::build(&brand(), 30).unwrap();
        let text = "see bit.ly/abc";
        let strength = |pairs: &[(&str, &str)]| {
            let mut ev = Evidence::default();
            rules.scan(
                &Message::new(text),
                text,
                Some(&pairs),
                &mut ev,
                &mut LinkScratch::default(),
            );
            ev.hits
                .iter()
                .map(|h| (h.code.as_str(), h.strength))
                .collect::<Vec<_>>()
        };
        assert_eq!(strength(&[]), [("LINK_SHORTENER", 1.0)]);
        let own = strength(&[("bit.ly/abc", "https://shop.brand.example/x")]);
        assert_eq!(own, [("LINK_SHORTENER", 0.3)]);
        let evil = strength(&[("http://bit.ly/abc", "https://paypa1.com/x")]);
        assert!(evil.contains(&("LINK_LOOKALIKE_DOMAIN", 1.0)), "{evil:?}");
    }

    #[test]
    fn max_links_caps_the_work() {
        let policy = LinkPolicy {
            max_links: 2,
            many_links: 1,
            ..brand()
        };
        let hits = codes(&policy, &Message::new("a.com b.com c.com d.com e.com"));
        assert!(
            hits.iter()
                .any(|h| h.0 == "LINK_MANY" && h.2.starts_with("2 links"))
        );
    }
}
