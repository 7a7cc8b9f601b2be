//! The `[links]` section of a policy.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::features::link::domains::clean_domain;

/// How links are judged: the brand's own domains, extra lists, and caps.
///
/// Every list adds to a built-in one (about 60 shorteners, 40 abused TLDs
/// and 36 widely phished brands); none replaces it.
///
/// ```
/// use dmguard::Policy;
///
/// let policy = Policy::from_toml_str(r#"
/// [links]
/// own_domains = ["brand.example"]
/// deny_domains = ["known-scam.example"]
/// shorteners = ["brnd.link"]
/// "#)?;
/// assert_eq!(policy.links.own_domains, ["brand.example"]);
/// assert_eq!(policy.links.max_links, 16);
/// assert!(Policy::from_toml_str("[links]\nown_domains = [\"https://brand.example/\"]").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkPolicy {
    /// The brand's own domains; their subdomains match too. Links to them
    /// are never penalised (reason `LINK_OWN_DOMAIN` lowers the score when
    /// every link is one), and look-alikes of them are
    /// `LINK_LOOKALIKE_DOMAIN`. Default: empty.
    pub own_domains: Vec<String>,
    /// More domains whose look-alikes are phishing (`LINK_LOOKALIKE_DOMAIN`).
    /// Default: empty (the built-in brands still apply).
    pub protected_domains: Vec<String>,
    /// More link shorteners (`LINK_SHORTENER`). Default: empty.
    pub shorteners: Vec<String>,
    /// More top-level domains to distrust, without the dot
    /// (`LINK_SUSPICIOUS_TLD`). Default: empty.
    pub suspicious_tlds: Vec<String>,
    /// Domains whose links speak against a message, subdomains included
    /// (`LINK_DENY`). Default: empty.
    pub deny_domains: Vec<String>,
    /// More links than this in one message is `LINK_MANY`. Default 3.
    pub many_links: usize,
    /// Links examined per message; the rest are ignored. Default 16.
    pub max_links: usize,
    /// Accounts younger than this many days that the recipient does not
    /// follow make a link `LINK_FIRST_CONTACT`. Default: what counts as a
    /// new account everywhere else, the `[stream]` section's
    /// `new_account_days` (30); set it here only to make links differ.
    pub new_account_days: Option<u32>,
    /// Domains the learned reputation remembers; the least recently seen
    /// are forgotten first. 0 turns learning off. Default 10 000.
    pub reputation_capacity: usize,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        LinkPolicy {
            own_domains: Vec::new(),
            protected_domains: Vec::new(),
            shorteners: Vec::new(),
            suspicious_tlds: Vec::new(),
            deny_domains: Vec::new(),
            many_links: 3,
            max_links: 16,
            new_account_days: None,
            reputation_capacity: 10_000,
        }
    }
}

impl LinkPolicy {
    /// Checks that every list holds bare domain names (no scheme, path or
    /// spaces) and that the caps are usable; the error names the key and
    /// the value. [`Policy::validate`](crate::Policy::validate) makes the
    /// same check, with the line, as part of the whole policy; that is the
    /// one a filter's build makes.
    pub fn validate(&self) -> Result<(), Error> {
        match self.problem() {
            Some((_, message)) => Err(Error::policy(None, message)),
            None => Ok(()),
        }
    }

    /// The first bad value (to find its line) and what is wrong with it.
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        for (key, list) in [
            ("own_domains", &self.own_domains),
            ("protected_domains", &self.protected_domains),
            ("shorteners", &self.shorteners),
            ("suspicious_tlds", &self.suspicious_tlds),
            ("deny_domains", &self.deny_domains),
        ] {
            for value in list {
                let bad = value.trim().is_empty()
                    || value.contains(|c: char| c.is_whitespace() || "/:@?#[]\\".contains(c))
                    || clean_domain(value).is_empty();
                if bad {
                    return Some((
                        value.clone(),
                        format!(
                            "links.{key}: {value:?} is not a domain name (write it like \"example.com\")"
                        ),
                    ));
                }
            }
        }
        if self.max_links == 0 {
            return Some((
                "max_links".into(),
                "links.max_links must be at least 1".into(),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_domains_are_named() {
        let policy = LinkPolicy {
            deny_domains: vec!["evil.example".into(), "http://x.com".into()],
            ..LinkPolicy::default()
        };
        let e = policy.validate().unwrap_err().to_string();
        assert!(
            e.contains("links.deny_domains") && e.contains("http://x.com"),
            "{e}"
        );
        assert!(LinkPolicy::default().validate().is_ok());
    }
}
