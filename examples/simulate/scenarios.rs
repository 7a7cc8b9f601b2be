//! The scenarios of the simulated stream: who writes, to whom, when, and
//! with which text.

use dmguard::SenderProfile;
use serde::Serialize;

use crate::{Args, HOUR, MIN};

/// splitmix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Serialize)]
pub(crate) struct Dm {
    pub(crate) id: String,
    pub(crate) ts: i64,
    pub(crate) sender: String,
    pub(crate) recipient: String,
    pub(crate) text: String,
    pub(crate) label: &'static str,
    pub(crate) scenario: &'static str,
    pub(crate) campaign: String,
    pub(crate) sender_profile: SenderProfile,
    /// `outgoing` for a brand's own DM (sender the brand, recipient the
    /// person), which is recorded rather than scored; absent for the DMs a
    /// brand receives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) direction: Option<&'static str>,
}

impl Dm {
    pub(crate) fn is_outgoing(&self) -> bool {
        self.direction == Some("outgoing")
    }
}

/// Who sends, in which scenario and campaign (scenario instance).
struct Who {
    scenario: &'static str,
    campaign: String,
    sender: String,
    profile: SenderProfile,
}

impl Who {
    fn new(
        scenario: &'static str,
        campaign: String,
        sender: String,
        profile: SenderProfile,
    ) -> Who {
        Who {
            scenario,
            campaign,
            sender,
            profile,
        }
    }
}

pub(crate) struct Sim<'a> {
    a: &'a Args,
    rng: Rng,
    ham: Vec<String>,
    spam: Vec<String>,
    out: Vec<Dm>,
}

fn established(rng: &mut Rng) -> SenderProfile {
    SenderProfile {
        account_age_days: Some(rng.range(90, 4000) as u32),
        followers: Some(rng.range(10, 3000)),
        following: Some(rng.range(10, 1500)),
        verified: rng.chance(0.01),
        recipient_follows_sender: rng.chance(0.08),
    }
}

fn new_account(rng: &mut Rng) -> SenderProfile {
    SenderProfile {
        account_age_days: Some(rng.range(0, 12) as u32),
        followers: Some(rng.range(0, 15)),
        following: Some(rng.range(0, 2000)),
        ..SenderProfile::default()
    }
}

/// Small changes bots make to dodge exact matching.
fn disguise(rng: &mut Rng, text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 40);
    let lookalike = rng.chance(0.5);
    let invisible = rng.chance(0.5);
    for (i, c) in text.chars().enumerate() {
        let swapped = match c {
            'a' => '\u{0430}',
            'e' => '\u{0435}',
            'o' => '\u{043e}',
            'c' => '\u{0441}',
            'p' => '\u{0440}',
            _ => c,
        };
        s.push(if lookalike && i % 7 == 3 { swapped } else { c });
        if invisible && i % 11 == 5 && c.is_alphabetic() {
            s.push('\u{200b}');
        }
    }
    match rng.below(4) {
        0 => s.push_str(&format!(" {}", rng.below(100_000))),
        1 => s.push_str(["  🔥", " 😍😍", " 💰✨", " 👉"][rng.below(4) as usize]),
        2 => s.push_str(&format!(" https://bit.ly/{:x}", rng.next() & 0xff_ffff)),
        _ => s.push_str(&format!(" tinyurl.com/{:x}", rng.next() & 0xf_ffff)),
    }
    s
}

impl<'a> Sim<'a> {
    pub(crate) fn new(a: &'a Args, ham: Vec<String>, spam: Vec<String>) -> Sim<'a> {
        Sim {
            a,
            rng: Rng(a.seed),
            ham,
            spam,
            out: Vec::new(),
        }
    }

    /// Every scenario, the stream sorted by event time and numbered.
    pub(crate) fn run(mut self) -> Vec<Dm> {
        self.followers();
        self.upset();
        self.surges();
        self.fanout_bots();
        self.swarms();
        self.drips();
        self.single_shots();
        self.hijacked();
        self.conversations();
        let mut out = self.out;
        out.sort_by_key(|d| d.ts);
        for (i, dm) in out.iter_mut().enumerate() {
            dm.id = format!("m{i:07}");
        }
        out
    }

    fn brand(&mut self) -> String {
        format!("brand_{:02}", self.rng.below(self.a.brands))
    }

    fn when(&mut self) -> i64 {
        self.a.start_ms + self.rng.below((self.a.hours * HOUR) as u64) as i64
    }

    fn push(&mut self, who: &Who, ts: i64, recipient: String, text: String) {
        let spam = !matches!(
            who.scenario,
            "follower" | "upset_customer" | "support_surge" | "conversation"
        );
        self.out.push(Dm {
            id: String::new(),
            ts,
            sender: who.sender.clone(),
            recipient,
            text,
            label: if spam { "spam" } else { "ham" },
            scenario: who.scenario,
            campaign: who.campaign.clone(),
            sender_profile: who.profile,
            direction: None,
        });
    }

    /// The brand's own DM to `to`: part of the conversation's record, not
    /// something the brand receives.
    fn push_outgoing(&mut self, who: &Who, ts: i64, brand: &str, text: String) {
        self.out.push(Dm {
            id: String::new(),
            ts,
            sender: brand.to_string(),
            recipient: who.sender.clone(),
            text,
            label: "ham",
            scenario: who.scenario,
            campaign: who.campaign.clone(),
            sender_profile: BRAND_PROFILE,
            direction: Some("outgoing"),
        });
    }

    /// A new account with probability `p_new`, else an established one.
    fn profile(&mut self, p_new: f64) -> SenderProfile {
        if self.rng.chance(p_new) {
            new_account(&mut self.rng)
        } else {
            established(&mut self.rng)
        }
    }

    fn followers(&mut self) {
        for i in 0..self.a.followers {
            let profile = self.profile(0.03);
            let brand = self.brand();
            let mut ts = self.when();
            for _ in 0..self.rng.range(1, 3) {
                let text = self.rng.pick(&self.ham).to_string();
                let to = if self.rng.chance(0.2) {
                    self.brand()
                } else {
                    brand.clone()
                };
                let who = Who::new("follower", format!("f{i}"), format!("f{i}"), profile);
                self.push(&who, ts, to, text);
                ts += self.rng.range(HOUR as u64, 5 * HOUR as u64) as i64;
            }
        }
    }

    fn upset(&mut self) {
        for i in 0..self.a.upset {
            let profile = self.profile(0.2);
            let brand = self.brand();
            let start = self.when();
            let n = self.rng.range(4, 8);
            let repeat = self.rng.pick(&self.ham).to_string();
            for k in 0..n {
                let ts = start + (k as i64 * 3 * MIN) / n as i64 + self.rng.below(10_000) as i64;
                let text = if self.rng.chance(0.3) {
                    repeat.clone()
                } else {
                    self.rng.pick(&self.ham).to_string()
                };
                let who = Who::new(
                    "upset_customer",
                    format!("upset{i}"),
                    format!("upset{i}"),
                    profile,
                );
                self.push(&who, ts, brand.clone(), text);
            }
        }
    }

    fn surges(&mut self) {
        const OPENINGS: [&str; 4] = ["hi", "hello", "hey", "good morning"];
        const BODIES: [&str; 3] = [
            "my order #{n} hasn't arrived yet, can you check what is going on",
            "my order {n} still hasn't arrived and tracking has not updated",
            "order #{n} has not arrived, when will it be delivered",
        ];
        for s in 0..self.a.surges {
            let brand = self.brand();
            let start = self.when();
            let body = BODIES[s as usize % BODIES.len()];
            for i in 0..self.a.surge_size.max(150) {
                let profile = self.profile(0.04);
                let n = self.rng.range(100_000, 999_999);
                let mut text = format!(
                    "{} {}",
                    OPENINGS[self.rng.below(4) as usize],
                    body.replace("{n}", &n.to_string())
                );
                match self.rng.below(5) {
                    0 => text.push_str(&format!(" https://shop.brand.example/orders/{n}")),
                    1 => text.push_str(" 😡"),
                    2 => text.push_str("??"),
                    _ => {}
                }
                let ts = start + self.rng.below(8 * MIN as u64) as i64;
                let who = Who::new(
                    "support_surge",
                    format!("surge{s}"),
                    format!("cust{s}_{i}"),
                    profile,
                );
                self.push(&who, ts, brand.clone(), text);
            }
        }
    }

    fn fanout_bots(&mut self) {
        for b in 0..self.a.fanout_bots {
            let profile = new_account(&mut self.rng);
            let text = self.rng.pick(&self.spam).to_string();
            let mut ts = self.when();
            for k in 0..self.a.fanout_size.max(20) {
                let to = format!("brand_{:02}", (b * 7 + k) % self.a.brands.max(20));
                let copy = if self.rng.chance(0.5) {
                    disguise(&mut self.rng, &text)
                } else {
                    text.clone()
                };
                let who = Who::new(
                    "fanout_bot",
                    format!("fanbot{b}"),
                    format!("fanbot{b}"),
                    profile,
                );
                self.push(&who, ts, to, copy);
                ts += self.rng.range(10_000, 60_000) as i64;
            }
        }
    }

    fn swarms(&mut self) {
        for s in 0..self.a.swarms {
            let text = self.rng.pick(&self.spam).to_string();
            let start = self.when();
            let span = self.rng.range(15, 30) as i64 * MIN;
            for i in 0..self.a.swarm_size.max(50) {
                let profile = new_account(&mut self.rng);
                let ts = start + self.rng.below(span as u64) as i64;
                for _ in 0..self.rng.range(1, 2) {
                    let copy = disguise(&mut self.rng, &text);
                    let to = self.brand();
                    let at = ts + self.rng.below(2 * MIN as u64) as i64;
                    let who = Who::new(
                        "bot_swarm",
                        format!("swarm{s}"),
                        format!("swarm{s}_{i}"),
                        profile,
                    );
                    self.push(&who, at, to, copy);
                }
            }
        }
    }

    fn drips(&mut self) {
        for d in 0..self.a.drips {
            let profile = new_account(&mut self.rng);
            let mut ts = self.when();
            for _ in 0..self.a.drip_texts {
                let text = self.rng.pick(&self.spam).to_string();
                let to = self.brand();
                let who = Who::new("slow_drip", format!("drip{d}"), format!("drip{d}"), profile);
                self.push(&who, ts, to, text);
                ts += 20 * MIN;
            }
        }
    }

    fn single_shots(&mut self) {
        for i in 0..self.a.single_shots {
            let profile = self.profile(0.5);
            let text = self.rng.pick(&self.spam).to_string();
            let (ts, to) = (self.when(), self.brand());
            let who = Who::new(
                "single_shot",
                format!("shot{i}"),
                format!("shot{i}"),
                profile,
            );
            self.push(&who, ts, to, text);
        }
    }

    fn hijacked(&mut self) {
        for h in 0..self.a.hijacked {
            let mut profile = established(&mut self.rng);
            profile.account_age_days = Some(self.rng.range(1000, 4000) as u32);
            let base = self.rng.pick(&self.spam).to_string();
            let mut ts = self.when();
            for k in 0..self.a.hijacked_size.max(20) {
                let text = format!("{base} https://bit.ly/{:x}", self.rng.next() & 0xff_ffff);
                let to = format!("brand_{:02}", (h * 11 + k) % self.a.brands.max(20));
                // Some of the brands follow the old account back.
                profile.recipient_follows_sender = self.rng.chance(0.1);
                let who = Who::new(
                    "hijacked",
                    format!("hijacked{h}"),
                    format!("hijacked{h}"),
                    profile,
                );
                self.push(&who, ts, to, text);
                ts += self.rng.range(5_000, 40_000) as i64;
            }
        }
    }
}

/// A brand's own account, as the sender of its replies.
const BRAND_PROFILE: SenderProfile = SenderProfile {
    account_age_days: Some(3650),
    followers: Some(250_000),
    following: Some(400),
    verified: true,
    recipient_follows_sender: false,
};

/// What customers who talk to a brand write. Built in, like the support
/// surge's complaints: the scenario is defined by what a customer says to a
/// brand (order and phone numbers, amounts, the brand's own links), which no
/// SMS corpus has. `{o}` is the order number, `{a}` an amount, `{p}` a
/// phone number, `{d}` a small count of days.
const OPENERS: [&str; 8] = [
    "hi, my order #{o} still hasn't arrived, it's been {d} days",
    "I was charged ${a} twice for order {o}, please refund one of them",
    "the jacket I got from https://shop.brand.example/p/{o} arrived with a broken zip",
    "can someone call me back on {p}? it's about order {o}",
    "WHY HAS NOBODY REPLIED?? ORDER {o} IS {d} DAYS LATE",
    "hello, I returned order {o} {d} days ago and still no refund of ${a}",
    "your checkout at shop.brand.example keeps failing, I tried 3 cards 😤",
    "@brand_support hi, wrong item in my parcel, order {o}",
];

const REPLIES: [&str; 5] = [
    "Hi, sorry about that! Could you send us your order number and the phone number on the account?",
    "Thanks for reaching out. Can you share the order number so we can look into it?",
    "Sorry to hear this, we'd like to help. What's the e-mail address on your order?",
    "Hi there, we're checking with the warehouse now. Can you confirm the delivery address and a contact number?",
    "Thanks, we've found your order. Could you tell us the amount you were charged?",
];

const FOLLOW_UPS: [&str; 16] = [
    "order number is {o}",
    "it's #{o}, placed {d} days ago",
    "my phone is {p}",
    "I paid ${a} by card",
    "here's the link https://shop.brand.example/orders/{o}",
    "tracking says delivered but nothing here, neighbours don't have it either",
    "thanks for getting back to me",
    "still waiting on the refund of ${a}",
    "this is really frustrating, I needed it for the weekend",
    "brand.example/help/returns says 14 days but it's been {d} days",
    "the box was crushed 📦😡 sent you a photo",
    "can you just send a replacement? same size, M",
    "ok thank you 🙏",
    "it's {o}. it's {o}. it's {o}",
    "call me on {p} if that's easier, I'm home all day",
    "I was charged ${a} and the order total was less, why??",
];

fn fill(template: &str, rng: &mut Rng, order: u64) -> String {
    let amount = format!("{}.{:02}", rng.range(9, 480), rng.below(100));
    let phone = match rng.below(3) {
        0 => format!("+44 7700 900{:03}", rng.below(1000)),
        1 => format!("07700 900{:03}", rng.below(1000)),
        _ => format!("(555) 01{:02}-{:04}", rng.below(100), rng.below(10_000)),
    };
    template
        .replace("{o}", &order.to_string())
        .replace("{a}", &amount)
        .replace("{p}", &phone)
        .replace("{d}", &rng.range(3, 21).to_string())
}

impl Sim<'_> {
    /// A customer writes, the brand replies, and the customer answers with
    /// two to six more DMs within minutes of the reply.
    fn conversations(&mut self) {
        for c in 0..self.a.conversations {
            let profile = self.profile(0.15);
            let brand = self.brand();
            let order = self.rng.range(100_000, 999_999);
            let who = Who::new(
                "conversation",
                format!("conv{c}"),
                format!("talk{c}"),
                profile,
            );
            let mut ts = self.when();
            let opener = OPENERS[self.rng.below(OPENERS.len() as u64) as usize];
            let text = fill(opener, &mut self.rng, order);
            self.push(&who, ts, brand.clone(), text);
            ts += self.rng.range(2 * MIN as u64, 40 * MIN as u64) as i64;
            let reply = REPLIES[self.rng.below(REPLIES.len() as u64) as usize];
            self.push_outgoing(&who, ts, &brand, reply.to_string());
            for _ in 0..self.rng.range(2, 6) {
                ts += self.rng.range(20_000, 3 * MIN as u64) as i64;
                let follow_up = FOLLOW_UPS[self.rng.below(FOLLOW_UPS.len() as u64) as usize];
                let text = fill(follow_up, &mut self.rng, order);
                self.push(&who, ts, brand.clone(), text);
            }
        }
    }
}
