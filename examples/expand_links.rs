//! The `LinkExpander` pattern: short links are expanded outside `check`.
//!
//! `Filter::check` never resolves or fetches anything. A service that wants
//! `bit.ly/…` judged by where it leads keeps a cache of expansions, filled
//! by a background worker, and passes the cache to
//! `Filter::check_with_expander`, which only reads it.
//!
//! Here the worker is a thread and a fixed table stands in for following
//! redirects over HTTP (which a real service would do with its own client,
//! timeouts and limits); the crate itself has no network code.
//!
//! `cargo run --example expand_links`

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::thread;

use dmguard::{Filter, LinkExpander, Message, Policy};

/// Expansions known so far, shared between the checking thread and the
/// resolver. Reading it is a hash look-up, cheap enough for the hot path.
#[derive(Default)]
struct ExpansionCache {
    map: RwLock<HashMap<String, String>>,
}

impl LinkExpander for ExpansionCache {
    fn expand(&self, url: &str) -> Option<String> {
        self.map.read().ok()?.get(url).cloned()
    }
}

/// Stands in for an HTTP client that follows redirects.
fn follow_redirects(short: &str) -> Option<String> {
    let known = [
        ("https://bit.ly/3xWinPrz", "http://185.23.4.19/claim"),
        (
            "http://tinyurl.com/order-help",
            "https://shop.brand.example/help",
        ),
    ];
    known
        .iter()
        .find(|(s, _)| *s == short)
        .map(|(_, long)| long.to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const USAGE: &str = "usage: expand_links (no arguments: checks two DMs with short links, before and \
after a background thread expands them)";
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        return Err(format!("unexpected argument {arg:?}\n{USAGE}").into());
    }
    let policy = Policy::from_toml_str("[links]\nown_domains = [\"brand.example\"]")?;
    let filter = Filter::new(policy)?;
    let cache = Arc::new(ExpansionCache::default());

    // The resolver: receives short URLs, resolves them off the hot path,
    // and stores the answers.
    let (to_resolver, requests) = mpsc::channel::<String>();
    let resolver = {
        let cache = Arc::clone(&cache);
        thread::spawn(move || {
            for short in requests {
                if let Some(long) = follow_redirects(&short)
                    && let Ok(mut map) = cache.map.write()
                {
                    map.insert(short, long);
                }
            }
        })
    };

    let texts = [
        "you won!! claim it here https://bit.ly/3xWinPrz",
        "the help page tinyurl.com/order-help says to DM you, order 5521",
    ];

    // First pass: nothing is known yet, so short links are judged as short
    // links only; their URLs go to the resolver.
    let mut before = Vec::new();
    for text in texts {
        let msg = Message::new(text);
        before.push(filter.check_with_expander(&msg, cache.as_ref()));
        for link in filter.short_links(text) {
            if cache.expand(&link.url).is_none() {
                to_resolver.send(link.url)?;
            }
        }
    }
    drop(to_resolver);
    resolver.join().expect("the resolver thread finished");

    // Later messages with the same links (or a re-check) see where they lead.
    for (text, before) in texts.iter().zip(before) {
        let after = filter.check_with_expander(&Message::new(text), cache.as_ref());
        println!("{text}");
        println!(
            "  before expansion: {:.3} {:?}",
            before.score, before.action
        );
        println!("  after expansion:  {:.3} {:?}", after.score, after.action);
        for reason in &after.reasons {
            println!(
                "    {} {:+.2} {}",
                reason.code, reason.weight, reason.detail
            );
        }
    }

    let scam = filter.check_with_expander(&Message::new(texts[0]), cache.as_ref());
    assert!(scam.reasons.iter().any(|r| r.code == "LINK_IP_HOST"));
    let help = filter.check_with_expander(&Message::new(texts[1]), cache.as_ref());
    assert!(!help.is_flagged());
    Ok(())
}
