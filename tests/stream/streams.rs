//! Synthetic streams for the stream tests: profiles, DMs, a surge, background
//! traffic and bot texts, all from a seeded generator.

use dmguard::{Filter, Message, SenderProfile, Verdict};

pub(crate) const T0: i64 = 1_750_000_000_000;
pub(crate) const SEC: i64 = 1000;
pub(crate) const MIN: i64 = 60 * SEC;

/// splitmix64: a deterministic stream of numbers for the generators.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) fn established(i: u64) -> SenderProfile {
    SenderProfile {
        account_age_days: Some(400 + (i % 3000) as u32),
        followers: Some(50 + i % 400),
        following: Some(80 + i % 300),
        ..SenderProfile::default()
    }
}

pub(crate) fn fresh(i: u64) -> SenderProfile {
    // New but otherwise unremarkable: no lopsided following, so that the
    // swarm evidence, not the profile, has to do the work.
    SenderProfile {
        account_age_days: Some((i % 5) as u32),
        followers: Some(i % 7),
        following: Some(20 + i % 30),
        ..SenderProfile::default()
    }
}

/// One message of a stream, owning its strings.
#[derive(Clone)]
pub(crate) struct Dm {
    pub(crate) ts: Option<i64>,
    pub(crate) sender: String,
    pub(crate) recipient: String,
    pub(crate) text: String,
    pub(crate) profile: SenderProfile,
}

impl Dm {
    pub(crate) fn new(
        ts: i64,
        sender: String,
        recipient: &str,
        text: String,
        profile: SenderProfile,
    ) -> Dm {
        Dm {
            ts: Some(ts),
            sender,
            recipient: recipient.to_string(),
            text,
            profile,
        }
    }

    pub(crate) fn check(&self, filter: &Filter) -> Verdict {
        let mut msg = Message::new(&self.text)
            .with_sender(&self.sender)
            .with_recipient(&self.recipient)
            .with_profile(self.profile);
        msg.timestamp_ms = self.ts;
        filter.check(&msg)
    }
}

/// A bot variant of one spam-neutral text: invisible characters, a
/// look-alike letter, appended emoji or digits, a different short link.
pub(crate) fn bot_text(rng: &mut Rng) -> String {
    let check = ["check", "\u{0441}heck", "ch\u{200b}eck", "che\u{0441}k"][rng.below(4) as usize];
    let tail = match rng.below(4) {
        0 => format!(" https://bit.ly/{:x}", rng.next() % 0xfffff),
        1 => format!(" {}", rng.below(10_000)),
        2 => " 🔥🔥".to_string(),
        _ => format!(" tinyurl.com/{:x} 😍", rng.next() % 0xffff),
    };
    format!("hey {check} this out, you will love it{tail}")
}

/// `n` fresh accounts `swarm_0`…, one every 7 s from a minute after `T0`,
/// each sending a bot text to one of `brands` brands.
pub(crate) fn swarm(rng: &mut Rng, n: u64, brands: u64) -> Vec<Dm> {
    (0..n)
        .map(|i| {
            let brand = format!("brand_{:02}", rng.below(brands));
            let ts = T0 + MIN + i as i64 * 7 * SEC;
            Dm::new(ts, format!("swarm_{i}"), &brand, bot_text(rng), fresh(i))
        })
        .collect()
}

/// 200 established customers (with a few fresh accounts among them) writing
/// near-identical complaints to one brand within ten minutes, some pasting
/// the brand's shop link.
pub(crate) fn surge(rng: &mut Rng, start: i64, brand: &str, tag: &str) -> Vec<Dm> {
    (0..200u64)
        .map(|i| {
            let order = 100_000 + rng.below(900_000);
            let text = match rng.below(4) {
                0 => format!("my order #{order} hasn't arrived, can you help?"),
                1 => format!(
                    "my order #{order} hasn't arrived, can you help? https://shop.brand.example/orders/{order}"
                ),
                2 => format!("My order {order} hasn't arrived!! can you help?? 😡"),
                _ => format!("hi, my order #{order} hasn't arrived yet, can you help please"),
            };
            let profile = if i % 25 == 0 { fresh(i) } else { established(i) };
            let ts = start + rng.below(10 * MIN as u64) as i64;
            Dm::new(ts, format!("cust_{tag}_{i}"), brand, text, profile)
        })
        .collect()
}

/// Ordinary followers: one DM each to one of twenty brands, spread over an
/// hour, each text different.
pub(crate) fn background(rng: &mut Rng, start: i64, n: u64) -> Vec<Dm> {
    (0..n)
        .map(|i| {
            let brand = format!("brand_{:02}", rng.below(20));
            let text = format!("hello, question {i} about the blue jacket sizes, thanks");
            let ts = start + rng.below(60 * MIN as u64) as i64;
            Dm::new(ts, format!("follower_{i}"), &brand, text, established(i))
        })
        .collect()
}

pub(crate) fn by_time(mut dms: Vec<Dm>) -> Vec<Dm> {
    dms.sort_by_key(|d| d.ts);
    dms
}

pub(crate) fn flagged(v: &Verdict) -> bool {
    v.is_flagged()
}
