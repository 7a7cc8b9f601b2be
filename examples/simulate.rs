//! Builds a labelled stream of DMs to brand inboxes from any labelled TSV
//! (`label<TAB>text`), for testing and benchmarking the stream evidence.
//!
//! ```text
//! cargo run --release --example simulate -- --input ../shared/data/sms/test.tsv > stream.jsonl
//! cargo run --release --example simulate -- --input test.tsv --seed 7 --check
//! ```
//!
//! Each output line is a JSON object with `id`, `ts` (event time, ms),
//! `sender`, `recipient`, `text`, `label`, `scenario`, `campaign` (the
//! scenario instance) and `sender_profile`; lines are sorted by `ts`.
//! Scenarios:
//!
//! - `follower`: ordinary followers, 1–3 DMs each, hours apart (ham);
//! - `upset_customer`: bursts of 4–8 DMs to one brand within 3 minutes (ham);
//! - `support_surge`: 150+ established customers writing near-identical
//!   complaints to one brand within minutes, some pasting the brand's shop
//!   link (ham; the complaint wording is built in, since a surge is defined
//!   by its shared text);
//! - `fanout_bot`: one account, one spam text to 20+ brands (spam);
//! - `bot_swarm`: 50+ new accounts, one spam text with small variations
//!   (invisible characters, look-alike letters, appended emoji or digits, a
//!   different short link) (spam);
//! - `slow_drip`: one bot, a new spam text every twenty minutes (spam);
//! - `single_shot`: one account, one spam text, one brand (spam);
//! - `hijacked`: an established account suddenly sending one spam link to
//!   many brands (spam).
//!
//! Spam texts come from the TSV's spam rows, ham texts from its ham rows.
//! The same flags and seed always give the same stream. With `--check`, the
//! stream is also scored with the built-in filter and the figures per
//! scenario are printed to stderr; `--assert` then exits with status 1 when
//! a stream target is missed (campaign spam, i.e. fan-out, swarm and
//! hijacked, at least 99% flagged from the 4th message of each campaign on;
//! no support-surge or upset-customer message flagged; at most 0.3% of ham
//! flagged), and with status 0, saying "skipped", when the input file does
//! not exist, so that CI without the corpora passes.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use dmguard::{Filter, Message, SenderProfile};
use serde::Serialize;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

struct Args {
    input: String,
    seed: u64,
    start_ms: i64,
    hours: i64,
    brands: u64,
    followers: u64,
    upset: u64,
    surges: u64,
    surge_size: u64,
    fanout_bots: u64,
    fanout_size: u64,
    swarms: u64,
    swarm_size: u64,
    drips: u64,
    drip_texts: u64,
    single_shots: u64,
    hijacked: u64,
    hijacked_size: u64,
    check: bool,
    assert: bool,
}

const USAGE: &str = "usage: simulate --input FILE.tsv [--seed N] [--start-ms MS] [--hours H] \
[--brands N] [--followers N] [--upset N] [--surges N] [--surge-size N] [--fanout-bots N] \
[--fanout-size N] [--swarms N] [--swarm-size N] [--drips N] [--drip-texts N] \
[--single-shots N] [--hijacked N] [--hijacked-size N] [--check] [--assert]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        input: String::new(),
        seed: 1,
        start_ms: 1_750_000_000_000,
        hours: 24,
        brands: 30,
        followers: 2000,
        upset: 40,
        surges: 2,
        surge_size: 160,
        fanout_bots: 5,
        fanout_size: 25,
        swarms: 3,
        swarm_size: 60,
        drips: 3,
        drip_texts: 12,
        single_shots: 60,
        hijacked: 3,
        hijacked_size: 25,
        check: false,
        assert: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--check" {
            a.check = true;
            continue;
        }
        if flag == "--assert" {
            (a.check, a.assert) = (true, true);
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_string());
        }
        let value = it.next().ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        if flag == "--input" {
            a.input = value;
            continue;
        }
        let n: i64 = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
        let u = u64::try_from(n).map_err(|_| format!("{flag}: {n} is negative"))?;
        match flag.as_str() {
            "--seed" => a.seed = u,
            "--start-ms" => a.start_ms = n,
            "--hours" => a.hours = n.max(1),
            "--brands" => a.brands = u.max(2),
            "--followers" => a.followers = u,
            "--upset" => a.upset = u,
            "--surges" => a.surges = u,
            "--surge-size" => a.surge_size = u,
            "--fanout-bots" => a.fanout_bots = u,
            "--fanout-size" => a.fanout_size = u,
            "--swarms" => a.swarms = u,
            "--swarm-size" => a.swarm_size = u,
            "--drips" => a.drips = u,
            "--drip-texts" => a.drip_texts = u,
            "--single-shots" => a.single_shots = u,
            "--hijacked" => a.hijacked = u,
            "--hijacked-size" => a.hijacked_size = u,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if a.input.is_empty() {
        return Err(format!("--input is required\n{USAGE}"));
    }
    Ok(a)
}

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
struct Dm {
    id: String,
    ts: i64,
    sender: String,
    recipient: String,
    text: String,
    label: &'static str,
    scenario: &'static str,
    campaign: String,
    sender_profile: SenderProfile,
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

struct Sim<'a> {
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

impl Sim<'_> {
    fn brand(&mut self) -> String {
        format!("brand_{:02}", self.rng.below(self.a.brands))
    }

    fn when(&mut self) -> i64 {
        self.a.start_ms + self.rng.below((self.a.hours * HOUR) as u64) as i64
    }

    fn push(&mut self, who: &Who, ts: i64, recipient: String, text: String) {
        let spam = !matches!(
            who.scenario,
            "follower" | "upset_customer" | "support_surge"
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

fn read_tsv(path: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let data = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let (mut ham, mut spam) = (Vec::new(), Vec::new());
    for line in data.lines() {
        let Some((label, text)) = line.split_once('\t') else {
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match label.trim() {
            "spam" | "1" => spam.push(text.to_string()),
            "ham" | "0" => ham.push(text.to_string()),
            _ => {}
        }
    }
    if ham.is_empty() || spam.is_empty() {
        return Err(format!(
            "{path}: needs both ham and spam rows (label<TAB>text)"
        ));
    }
    Ok((ham, spam))
}

/// Scores the stream in order and prints, per scenario, how much was
/// flagged overall and from the fourth message of each campaign on. Returns
/// the stream targets that were missed.
fn check(stream: &[Dm]) -> Vec<String> {
    #[derive(Default)]
    struct Tally {
        n: u64,
        flagged: u64,
        late_n: u64,
        late_flagged: u64,
    }
    let filter = Filter::default();
    let mut nth: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut labels: BTreeMap<&str, Tally> = BTreeMap::new();
    for dm in stream {
        let msg = Message::new(&dm.text)
            .with_timestamp_ms(dm.ts)
            .with_sender(&dm.sender)
            .with_recipient(&dm.recipient)
            .with_profile(dm.sender_profile);
        let flagged = u64::from(filter.check(&msg).is_flagged());
        let k = nth.entry(&dm.campaign).or_default();
        *k += 1;
        for t in [
            by.entry(dm.scenario).or_default(),
            labels.entry(dm.label).or_default(),
        ] {
            t.n += 1;
            t.flagged += flagged;
            if *k >= 4 {
                t.late_n += 1;
                t.late_flagged += flagged;
            }
        }
    }
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    eprintln!(
        "{:<16} {:>6} {:>9} {:>14}",
        "scenario", "n", "flagged%", "from-4th %"
    );
    for (name, t) in by.iter().chain(labels.iter()) {
        eprintln!(
            "{name:<16} {:>6} {:>8.2}% {:>13.2}%",
            t.n,
            pct(t.flagged, t.n),
            pct(t.late_flagged, t.late_n)
        );
    }
    eprintln!("{:?}", filter.stats());
    let mut missed = Vec::new();
    for name in ["fanout_bot", "bot_swarm", "hijacked"] {
        if let Some(t) = by.get(name)
            && pct(t.late_flagged, t.late_n) < 99.0
        {
            missed.push(format!(
                "{name}: {:.2}% flagged from the 4th message",
                pct(t.late_flagged, t.late_n)
            ));
        }
    }
    for name in ["support_surge", "upset_customer"] {
        if let Some(t) = by.get(name)
            && t.flagged > 0
        {
            missed.push(format!("{name}: {} message(s) flagged", t.flagged));
        }
    }
    if let Some(t) = labels.get("ham")
        && pct(t.flagged, t.n) > 0.3
    {
        missed.push(format!("ham: {:.2}% flagged", pct(t.flagged, t.n)));
    }
    missed
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if args.assert && !std::path::Path::new(&args.input).exists() {
        eprintln!("skipped: {} not found", args.input);
        return;
    }
    let (ham, spam) = match read_tsv(&args.input) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut sim = Sim {
        a: &args,
        rng: Rng(args.seed),
        ham,
        spam,
        out: Vec::new(),
    };
    sim.followers();
    sim.upset();
    sim.surges();
    sim.fanout_bots();
    sim.swarms();
    sim.drips();
    sim.single_shots();
    sim.hijacked();
    let mut out = sim.out;
    out.sort_by_key(|d| d.ts);
    for (i, dm) in out.iter_mut().enumerate() {
        dm.id = format!("m{i:07}");
    }
    if args.check {
        let missed = check(&out);
        for m in &missed {
            eprintln!("target missed: {m}");
        }
        if args.assert && !missed.is_empty() {
            std::process::exit(1);
        }
        return;
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    for dm in &out {
        let line = serde_json::to_string(dm).expect("plain data serialises");
        if writeln!(w, "{line}").is_err() {
            return;
        }
    }
    let _ = w.flush();
}
