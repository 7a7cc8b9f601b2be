//! The per-brand adaptation experiment shared by `examples/adapt.rs` and
//! `tests/learn.rs`: a brand whose traffic the shared model does not know
//! (SpamAssassin's e-mail) teaches its own overlay from 500 of its ham and
//! 200 of its spam, and is measured on the rest before and after.

use dmguard::{Filter, Label, LearnScope, Message};

/// The brand that teaches, and one that does not.
pub const BRAND: &str = "brand_mail";
pub const OTHER: &str = "brand_other";
pub const TEACH_HAM: usize = 500;
pub const TEACH_SPAM: usize = 200;

/// Ham flagged and spam caught, as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub ham_flagged: f64,
    pub spam_caught: f64,
}

/// What the experiment measured.
#[derive(Debug)]
pub struct Outcome {
    pub before: Rates,
    pub after: Rates,
    pub held_out: (usize, usize),
    /// Every score of the other brand's messages and of the shared test
    /// set, as bits, before and after the lessons.
    pub other_unchanged: bool,
    pub shared_unchanged: bool,
    pub shared_before: Rates,
    pub shared_after: Rates,
    /// Mean time of a check after the lessons, in µs, for the brand with
    /// an overlay and for the other brand.
    pub check_us: (f64, f64),
}

/// `label<TAB>text` lines; lines with another label are skipped.
pub fn read_tsv(path: &str) -> std::io::Result<Vec<(Label, String)>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|line| {
            let (label, text) = line.split_once('\t')?;
            Some((label.parse().ok()?, text.to_string()))
        })
        .collect())
}

/// A deterministic shuffle (SplitMix64-driven Fisher–Yates).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn rates(filter: &Filter, data: &[(Label, String)], recipient: Option<&str>) -> (Rates, Vec<u64>) {
    let (mut ham, mut flagged, mut spam, mut caught) = (0, 0, 0, 0);
    let mut bits = Vec::with_capacity(data.len());
    for (label, text) in data {
        let mut msg = Message::new(text);
        if let Some(r) = recipient {
            msg = msg.with_recipient(r);
        }
        let v = filter.check(&msg);
        bits.push(v.score.to_bits());
        match label {
            Label::Ham => {
                ham += 1;
                flagged += usize::from(v.is_flagged());
            }
            Label::Spam => {
                spam += 1;
                caught += usize::from(v.is_flagged());
            }
        }
    }
    let rates = Rates {
        ham_flagged: flagged as f64 / ham.max(1) as f64,
        spam_caught: caught as f64 / spam.max(1) as f64,
    };
    (rates, bits)
}

/// Runs the experiment on `corpus` (SpamAssassin) split by `seed`, with
/// `shared` (SMS test) as the shared model's yardstick.
pub fn run(
    filter: &Filter,
    corpus: &[(Label, String)],
    shared: &[(Label, String)],
    seed: u64,
) -> Outcome {
    let mut ham: Vec<&(Label, String)> = corpus.iter().filter(|e| e.0 == Label::Ham).collect();
    let mut spam: Vec<&(Label, String)> = corpus.iter().filter(|e| e.0 == Label::Spam).collect();
    shuffle(&mut ham, seed);
    shuffle(&mut spam, seed ^ 0x5151);
    let teach_ham = TEACH_HAM.min(ham.len() / 2);
    let teach_spam = TEACH_SPAM.min(spam.len() / 2);
    let mut lessons: Vec<&(Label, String)> = ham[..teach_ham]
        .iter()
        .chain(&spam[..teach_spam])
        .copied()
        .collect();
    shuffle(&mut lessons, seed ^ 0xadad);
    let test: Vec<(Label, String)> = ham[teach_ham..]
        .iter()
        .chain(&spam[teach_spam..])
        .map(|e| (*e).clone())
        .collect();

    let (before, _) = rates(filter, &test, Some(BRAND));
    let (_, other_before) = rates(filter, &test, Some(OTHER));
    let (shared_before, shared_bits_before) = rates(filter, shared, None);
    for (i, (label, text)) in lessons.iter().enumerate() {
        let id = format!("lesson-{i}");
        let msg = Message::new(text).with_recipient(BRAND).with_id(&id);
        filter.learn_scoped(&msg, *label, LearnScope::Brand(BRAND));
    }
    let started = std::time::Instant::now();
    let (after, _) = rates(filter, &test, Some(BRAND));
    let brand_us = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;
    let started = std::time::Instant::now();
    let (_, other_after) = rates(filter, &test, Some(OTHER));
    let other_us = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;
    let (shared_after, shared_bits_after) = rates(filter, shared, None);
    Outcome {
        before,
        after,
        held_out: (ham.len() - teach_ham, spam.len() - teach_spam),
        other_unchanged: other_before == other_after,
        shared_unchanged: shared_bits_before == shared_bits_after,
        shared_before,
        shared_after,
        check_us: (brand_us, other_us),
    }
}

/// The targets: ham flagged at least halved, spam caught not lower, the
/// shared model's and the other brand's scores unchanged to the bit.
pub fn check(o: &Outcome) -> Result<(), String> {
    let mut failed = Vec::new();
    if o.after.ham_flagged > o.before.ham_flagged / 2.0 {
        failed.push(format!(
            "ham flagged {:.3} → {:.3}, not halved",
            o.before.ham_flagged, o.after.ham_flagged
        ));
    }
    if o.after.spam_caught < o.before.spam_caught {
        failed.push(format!(
            "spam caught fell {:.3} → {:.3}",
            o.before.spam_caught, o.after.spam_caught
        ));
    }
    if !o.other_unchanged {
        failed.push("another brand's scores changed".to_string());
    }
    if !o.shared_unchanged {
        failed.push("the shared model's scores changed".to_string());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
