//! Builds each pathological input of the resource bounds and prints, per
//! case, what the filter answered, how long it took and the peak memory it
//! reached; then checks that the time of a check grows linearly with the
//! text it reads.
//!
//! ```text
//! cargo run --release --example limits [-- CASE...]
//! ```
//!
//! CASE is one of the names printed in the first column (default: all).
//! Peak memory is the process's resident high-water mark (`VmHWM`), reset
//! before each case through `/proc/self/clear_refs` (Linux; elsewhere the
//! column reads `-`), so each figure is that case's own peak, the built-in
//! model included. The doubling check raises `limits.max_text_bytes` to its
//! ceiling so that the whole text is read, and times each kind of text at
//! 256 KiB, 512 KiB and 1 MiB (best of eleven): a linear path shows a ratio
//! near 2 between successive sizes, a quadratic one near 4.

use std::time::Instant;

use dmguard::{Filter, Message, Policy};

const T0: i64 = 1_750_000_000_000;

fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    println!("{:<22} {:>10} {:>9}  result", "case", "seconds", "peak MB");
    for (name, case) in CASES {
        if wanted(name) {
            reset_peak();
            let start = Instant::now();
            let result = case();
            let seconds = start.elapsed().as_secs_f64();
            println!("{name:<22} {seconds:>10.4} {:>9}  {result}", peak_mb());
        }
    }
    if wanted("doubling") {
        doubling();
    }
}

type Case = fn() -> String;

const CASES: [(&str, Case); 13] = [
    ("dm_10mb", dm_10mb),
    ("combining_1m", combining_1m),
    ("links_10k", links_10k),
    ("senders_1m", senders_1m),
    ("texts_1m", texts_1m),
    ("regex_nested", regex_nested),
    ("regex_huge", regex_huge),
    ("extra_phrases_10k", extra_phrases_10k),
    ("extra_phrases_over_cap", extra_phrases_over_cap),
    ("deny_phrases_100k", deny_phrases_100k),
    ("phrases_over_cap", phrases_over_cap),
    ("deny_domains_1m", deny_domains_1m),
    ("policy_file_over_cap", policy_file_over_cap),
];

/// One verdict, in one line: action, score and reason codes.
fn summary(filter: &Filter, text: &str) -> String {
    let v = filter.check(&Message::new(text));
    let codes: Vec<&str> = v.reasons.iter().map(|r| r.code).collect();
    format!("{:?} {:.3} {}", v.action, v.score, codes.join(","))
}

fn dm_10mb() -> String {
    let filter = Filter::default();
    let text = "my order has not arrived and nobody answers my emails. "
        .repeat(10 << 20 >> 6)
        .to_string();
    format!("{} bytes: {}", text.len(), summary(&filter, &text))
}

fn combining_1m() -> String {
    let filter = Filter::default();
    let text = format!("a{}", "\u{301}".repeat(1_000_000));
    format!("{} bytes: {}", text.len(), summary(&filter, &text))
}

fn links_10k() -> String {
    let filter = Filter::default();
    let text: String = (0..10_000)
        .map(|i| format!("see https://site{i}.example/p{i} "))
        .collect();
    let links = dmguard::links(&text).len();
    format!(
        "{} bytes, {links} links found by dmguard::links: {}",
        text.len(),
        summary(&filter, &text)
    )
}

/// A stream policy whose tables are small enough for a flood to overflow.
fn small_tables() -> Filter {
    let policy = Policy::from_toml_str(
        "[stream]\nmax_senders = 65536\nmax_fingerprints = 65536\nmax_conversations = 65536\n",
    )
    .expect("a valid policy");
    Filter::new(policy).expect("builds")
}

fn senders_1m() -> String {
    let filter = small_tables();
    let mut id = String::new();
    for i in 0..1_000_000i64 {
        id.clear();
        id.push_str(&format!("flood_{i}"));
        let msg = Message::new("hello, is anyone there?")
            .with_sender(&id)
            .with_recipient("brand")
            .with_timestamp_ms(T0 + i);
        filter.check(&msg);
    }
    let s = filter.stats();
    format!(
        "cap 65536: senders {} (evicted {}, expired {}), state {} bytes",
        s.senders, s.senders_evicted, s.expired, s.bytes
    )
}

fn texts_1m() -> String {
    let filter = small_tables();
    for i in 0..1_000_000i64 {
        let text = format!(
            "offer {} for {} and more {} today",
            word(i),
            word(i * 7),
            word(i * 13)
        );
        let msg = Message::new(&text)
            .with_sender("one_sender")
            .with_recipient("brand")
            .with_timestamp_ms(T0 + i);
        filter.check(&msg);
    }
    let s = filter.stats();
    format!(
        "cap 65536: fingerprint bands {} (evicted {}, expired {}), state {} bytes",
        s.fingerprints, s.fingerprints_evicted, s.expired, s.bytes
    )
}

/// A word of letters only (the fingerprint masks words with digits).
fn word(mut i: i64) -> String {
    let mut w = String::new();
    loop {
        w.push(char::from(b'a' + (i % 26) as u8));
        i /= 26;
        if i == 0 {
            return w;
        }
    }
}

fn regex_nested() -> String {
    // Exponential in a backtracking engine; linear here.
    let policy = Policy::from_toml_str("[deny]\npatterns = ['(a+)+$', '(a|aa)*b', '(.*a){20}']\n");
    match policy.and_then(Filter::new) {
        Ok(filter) => {
            let text = format!("{}!", "a".repeat(4000));
            let start = Instant::now();
            let s = summary(&filter, &text);
            format!("built; a 4 KB check took {:?}: {s}", start.elapsed())
        }
        Err(e) => format!("refused: {e}"),
    }
}

fn regex_huge() -> String {
    match Policy::from_toml_str("[deny]\npatterns = ['\\w{1000}{1000}']\n") {
        Ok(_) => "built".into(),
        Err(e) => format!("refused: {e}"),
    }
}

/// `n` distinct two-word phrases, as TOML strings.
fn phrases(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("\"zq{:x} offer{}\"", i * 2_654_435_761 % 1_000_003, i))
        .collect()
}

fn build_phrases(table: &str, key: &str, n: usize) -> String {
    let source = format!("{table}\n{key} = [\n{}\n]\n", phrases(n).join(",\n"));
    match Policy::from_toml_str(&source).and_then(Filter::new) {
        Ok(filter) => {
            let start = Instant::now();
            let s = summary(&filter, "hello, where is my order?");
            format!("built {n}; a check took {:?}: {s}", start.elapsed())
        }
        Err(e) => format!("refused: {e}"),
    }
}

fn extra_phrases_10k() -> String {
    build_phrases("", "extra_phrases", 10_000)
}

fn extra_phrases_over_cap() -> String {
    build_phrases("", "extra_phrases", 10_001)
}

fn deny_phrases_100k() -> String {
    build_phrases("[deny]", "phrases", 100_000)
}

fn phrases_over_cap() -> String {
    build_phrases("[deny]", "phrases", 100_001)
}

fn deny_domains_1m() -> String {
    let list: Vec<String> = (0..1_000_000)
        .map(|i| format!("\"scam{i}.example\""))
        .collect();
    let source = format!("[links]\ndeny_domains = [\n{}\n]\n", list.join(",\n"));
    let start = Instant::now();
    match Policy::from_toml_str(&source).and_then(Filter::new) {
        Ok(filter) => {
            let built = start.elapsed();
            let s = summary(&filter, "pay at https://scam777777.example/x now");
            format!("{} MB of TOML built in {built:?}: {s}", source.len() >> 20)
        }
        Err(e) => format!("refused: {e}"),
    }
}

fn policy_file_over_cap() -> String {
    let path = std::env::temp_dir().join(format!("dmguard-limits-{}.toml", std::process::id()));
    // Sparse: the size is what is checked, before any byte is read.
    let written = std::fs::File::create(&path).and_then(|f| f.set_len(65 << 20));
    let result = match written.map(|_| Policy::from_path(&path)) {
        Ok(Ok(_)) => "built".into(),
        Ok(Err(e)) => format!("refused: {e}"),
        Err(e) => format!("could not write {}: {e}", path.display()),
    };
    let _ = std::fs::remove_file(&path);
    result
}

/// Times each kind of text at three sizes with the whole text read.
fn doubling() {
    let mut policy = Policy::default();
    policy.limits.max_text_bytes = 1 << 20;
    policy.links.max_links = 1024;
    let filter = Filter::new(policy).expect("builds");
    let kinds: [(&str, &str); 7] = [
        ("words", "my parcel is late again, please help "),
        ("combining", "a\u{301}\u{302}\u{303}\u{304}"),
        ("links", "see https://a1.example/x and bit.ly/abc "),
        (
            "disguised_links",
            "go to hxxp://win[.]top/a or prize dot example ",
        ),
        ("cyrillic_mix", "frее gіft сard wіnnеr "),
        ("emoji_zero_width", "f\u{200b}r\u{200b}e\u{200b}e 🎁🎉 "),
        ("cjk", "我的包裹还没有到，请帮忙查一下。"),
    ];
    println!("\ndoubling (whole text read): seconds at 256 KiB, 512 KiB, 1 MiB; ratios");
    for (name, unit) in kinds {
        let times: Vec<f64> = [256 << 10, 512 << 10, 1 << 20]
            .iter()
            .map(|&bytes: &usize| {
                let text = unit.repeat(bytes / unit.len());
                (0..11)
                    .map(|_| {
                        let start = Instant::now();
                        std::hint::black_box(filter.check(&Message::new(&text)));
                        start.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        println!(
            "{name:<18} {:.4} {:.4} {:.4}  x{:.2} x{:.2}",
            times[0],
            times[1],
            times[2],
            times[1] / times[0],
            times[2] / times[1]
        );
    }
}

/// Resets the resident high-water mark (Linux 4.0 and later).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The resident high-water mark in MB, or `-` where it cannot be read.
fn peak_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1}", kb / 1024.0))
        })
        .unwrap_or_else(|| "-".into())
}
