//! Learned domain reputation: how often each registrable domain appeared
//! in messages people labelled spam or ham. Bounded, shared between
//! threads, and serialisable so that it can be saved with the rest of the
//! filter's state.
//!
//! Reputation follows the scope of the lesson, like the classifier: what
//! everyone teaches goes to the shared table, what one brand teaches to
//! that brand's own small table, which adds to the shared counts for that
//! brand's messages only. A brand's "not spam" on a partner's shop must
//! not vouch for that domain in every other brand's inbox, and a brand's
//! feedback must leave other brands' verdicts as they were. Every lesson
//! with an id is journalled, so that unlearning takes its counts back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::journal::Journal;
use crate::message::Label;
use crate::persist::codec::{Dec, Enc};

/// Brands with a reputation table of their own at most; the least
/// recently taught is evicted first.
const MAX_BRANDS: usize = 128;
/// Domains per brand table at most.
const BRAND_DOMAINS: usize = 1_000;

/// Strength is capped so that one domain never outweighs every other
/// piece of evidence.
const MAX_LOG_ODDS: f64 = 3.0;

/// Spam and ham counts of one domain, as the state snapshot stores them;
/// what they mean as evidence is here.
pub(crate) use crate::state::DomainCounts as Counts;

impl Counts {
    /// Smoothed log-odds of spam (add-one on both sides), capped.
    pub fn log_odds(&self) -> f64 {
        let odds = (f64::from(self.spam) + 1.0) / (f64::from(self.ham) + 1.0);
        odds.ln().clamp(-MAX_LOG_ODDS, MAX_LOG_ODDS)
    }

    /// Both tables' counts together, seen when the later saw it.
    fn plus(self, other: Counts) -> Counts {
        Counts {
            spam: self.spam.saturating_add(other.spam),
            ham: self.ham.saturating_add(other.ham),
            seen: self.seen.max(other.seen),
        }
    }
}

/// One domain count added by a lesson, and what the table held before.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DomainChange {
    brand: Option<String>,
    domain: String,
    label: Label,
    before: Option<Counts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Table {
    capacity: usize,
    tick: u64,
    domains: HashMap<String, Counts>,
}

impl Table {
    fn with_capacity(capacity: usize) -> Table {
        Table {
            capacity,
            ..Table::default()
        }
    }

    /// Counts one labelled sighting of `domain`; returns what the table
    /// held for it before, or `None` when learning is off. When the table
    /// is full, the least recently seen tenth is evicted at once, so
    /// eviction costs O(log n) per insert on average.
    fn record(&mut self, domain: &str, label: Label) -> Option<Option<Counts>> {
        if self.capacity == 0 {
            return None;
        }
        // The tick may come from a file: saturate rather than overflow.
        self.tick = self.tick.saturating_add(1);
        let tick = self.tick;
        if !self.domains.contains_key(domain) && self.domains.len() >= self.capacity {
            let mut ages: Vec<u64> = self.domains.values().map(|c| c.seen).collect();
            let evict = (self.capacity / 10).max(1);
            ages.sort_unstable();
            let cutoff = ages[evict.min(ages.len()) - 1];
            self.domains.retain(|_, c| c.seen > cutoff);
        }
        let counts = self.domains.entry(domain.to_string()).or_default();
        let before = (counts.spam > 0 || counts.ham > 0).then_some(*counts);
        match label {
            Label::Spam => counts.spam = counts.spam.saturating_add(1),
            Label::Ham => counts.ham = counts.ham.saturating_add(1),
        }
        counts.seen = tick;
        Some(before)
    }

    /// Takes one labelled sighting back: the entry as it was before when
    /// nothing else counted it since, else one count less.
    fn undo(&mut self, change: &DomainChange) {
        let Some(counts) = self.domains.get_mut(&change.domain) else {
            // Evicted since: nothing is left to take back.
            return;
        };
        match change.label {
            Label::Spam => counts.spam = counts.spam.saturating_sub(1),
            Label::Ham => counts.ham = counts.ham.saturating_sub(1),
        }
        match change.before {
            Some(b) if b.spam == counts.spam && b.ham == counts.ham => *counts = b,
            None if counts.spam == 0 && counts.ham == 0 => {
                self.domains.remove(&change.domain);
            }
            _ => {}
        }
    }
}

/// Brand tables and when each brand was last taught.
#[derive(Debug, Default)]
struct Brands {
    tables: HashMap<String, (Table, u64)>,
    lessons: u64,
}

/// The reputation tables behind read-write locks: `check` only reads.
#[derive(Debug, Default)]
pub(crate) struct Reputation {
    table: RwLock<Table>,
    /// Brands with a table of their own; while 0 a check does not look.
    brand_count: AtomicUsize,
    brands: RwLock<Brands>,
    journal: Mutex<Journal<DomainChange>>,
}

impl Reputation {
    /// An empty table holding at most `capacity` domains (0 turns learning
    /// off).
    pub fn new(capacity: usize) -> Reputation {
        Reputation {
            table: RwLock::new(Table::with_capacity(capacity)),
            ..Reputation::default()
        }
    }

    /// Counts one labelled sighting of each of `domains` in the shared
    /// table, or in `brand`'s own; with an `id`, journalled for
    /// [`Reputation::unlearn`].
    pub fn learn(&self, domains: &[String], label: Label, id: Option<&str>, brand: Option<&str>) {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let mut changes = Vec::new();
        let mut shared = self.table.write().unwrap_or_else(|e| e.into_inner());
        let capacity = shared.capacity.min(BRAND_DOMAINS);
        let mut brands = self.brands.write().unwrap_or_else(|e| e.into_inner());
        for domain in domains {
            let table = match brand {
                None => &mut *shared,
                Some(name) => brand_table(&mut brands, name, capacity),
            };
            if let Some(before) = table.record(domain, label) {
                changes.push(DomainChange {
                    brand: brand.map(str::to_string),
                    domain: domain.clone(),
                    label,
                    before,
                });
            }
        }
        self.brand_count.store(brands.tables.len(), Relaxed);
        if let Some(id) = id {
            journal.record(id, changes);
        }
    }

    /// Takes back the counts learned with this id; false when none were
    /// (or they were forgotten).
    pub fn unlearn(&self, id: &str) -> bool {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let Some(changes) = journal.take(id) else {
            return false;
        };
        let mut shared = self.table.write().unwrap_or_else(|e| e.into_inner());
        let mut brands = self.brands.write().unwrap_or_else(|e| e.into_inner());
        for change in changes.iter().rev() {
            match &change.brand {
                None => shared.undo(change),
                Some(name) => {
                    if let Some((table, _)) = brands.tables.get_mut(name) {
                        table.undo(change);
                        if table.domains.is_empty() {
                            brands.tables.remove(name);
                        }
                    }
                }
            }
        }
        self.brand_count.store(brands.tables.len(), Relaxed);
        true
    }

    /// What was learned about `domain`, if anything: in the shared table,
    /// plus what `brand` taught its own.
    pub fn get(&self, domain: &str, brand: Option<&str>) -> Option<Counts> {
        let shared = {
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            table.domains.get(domain).copied()
        };
        if let Some(name) = brand
            && self.brand_count.load(Relaxed) > 0
        {
            let brands = self.brands.read().unwrap_or_else(|e| e.into_inner());
            if let Some(own) = brands
                .tables
                .get(name)
                .and_then(|t| t.0.domains.get(domain))
            {
                return Some(shared.unwrap_or_default().plus(*own));
            }
        }
        shared
    }

    /// Every domain with its counts, in name order (a stable snapshot).
    pub fn entries(&self) -> Vec<(String, Counts)> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        let mut entries: Vec<(String, Counts)> =
            table.domains.iter().map(|(d, c)| (d.clone(), *c)).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    /// Puts back entries from [`Reputation::entries`]: each replaces what
    /// this table knows of its domain; when they are more than the table
    /// holds, the most recently seen are kept.
    pub fn restore(&self, entries: &[(String, Counts)]) {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        if table.capacity == 0 {
            return;
        }
        let mut newest: Vec<&(String, Counts)> = entries.iter().collect();
        newest.sort_unstable_by(|a, b| b.1.seen.cmp(&a.1.seen).then_with(|| a.0.cmp(&b.0)));
        newest.truncate(table.capacity);
        for (domain, counts) in newest {
            table.tick = table.tick.max(counts.seen);
            table.domains.insert(domain.clone(), *counts);
        }
        // One sort for all the excess, not a scan per entry removed: a
        // full table restored into would otherwise cost its size squared.
        let excess = table.domains.len().saturating_sub(table.capacity);
        if excess > 0 {
            let mut oldest: Vec<(u64, String)> = table
                .domains
                .iter()
                .map(|(d, c)| (c.seen, d.clone()))
                .collect();
            oldest.sort_unstable();
            for (_, domain) in &oldest[..excess] {
                table.domains.remove(domain);
            }
        }
    }

    /// Writes the brand tables and the journal (the shared table travels
    /// in the stream snapshot).
    pub fn encode_learned(&self, e: &mut Enc) {
        let journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let brands = self.brands.read().unwrap_or_else(|e| e.into_inner());
        e.u64(brands.lessons);
        let mut names: Vec<&String> = brands.tables.keys().collect();
        names.sort_unstable();
        e.len(names.len());
        for name in names {
            let (table, touched) = &brands.tables[name];
            e.str(name);
            e.u64(*touched);
            e.u64(table.tick);
            encode_domains(e, table.domains.iter().map(|(d, c)| (d.as_str(), *c)));
        }
        e.len(journal.len());
        for (id, changes) in journal.entries() {
            e.str(id);
            e.len(changes.len());
            for c in changes {
                e.opt_str(c.brand.as_deref());
                e.str(&c.domain);
                e.u8(u8::from(c.label == Label::Spam));
                match c.before {
                    None => e.u8(0),
                    Some(b) => {
                        e.u8(1);
                        encode_counts(e, b);
                    }
                }
            }
        }
    }

    /// Replaces the brand tables and the journal with those written by
    /// [`Reputation::encode_learned`].
    pub fn decode_learned(&self, d: &mut Dec<'_>) -> Result<(), String> {
        let capacity = {
            let shared = self.table.read().unwrap_or_else(|e| e.into_inner());
            shared.capacity.min(BRAND_DOMAINS)
        };
        let lessons = d.u64("brand lesson count")?;
        let n = d.len("brand reputation tables", 24)?;
        let mut tables = HashMap::new();
        for _ in 0..n {
            let name = d.str("brand name")?.to_string();
            let touched = d.u64("brand recency")?;
            let mut table = Table::with_capacity(capacity);
            table.tick = d.u64("brand reputation tick")?;
            let m = d.len("domains", 24)?;
            for _ in 0..m {
                let domain = d.str("domain")?.to_string();
                table.domains.insert(domain, decode_counts(d)?);
            }
            tables.insert(name, (table, touched));
        }
        let mut journal = Journal::default();
        let ids = d.len("journal ids", 8)?;
        for _ in 0..ids {
            let id = d.str("message id")?.to_string();
            let m = d.len("domain changes", 7)?;
            let mut changes = Vec::with_capacity(m);
            for _ in 0..m {
                let brand = d.opt_str("change scope", "brand name")?.map(str::to_string);
                let domain = d.str("domain")?.to_string();
                let label = match d.u8("label")? {
                    0 => Label::Ham,
                    1 => Label::Spam,
                    other => return Err(format!("corrupt: label {other}")),
                };
                let before = match d.u8("counts flag")? {
                    0 => None,
                    1 => Some(decode_counts(d)?),
                    other => return Err(format!("corrupt: counts flag {other}")),
                };
                changes.push(DomainChange {
                    brand,
                    domain,
                    label,
                    before,
                });
            }
            journal.record(&id, changes);
        }
        // The journal before the brands, in the order `learn` takes them.
        let mut journal_slot = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let mut brands = self.brands.write().unwrap_or_else(|e| e.into_inner());
        *brands = Brands { tables, lessons };
        self.brand_count.store(brands.tables.len(), Relaxed);
        *journal_slot = journal;
        Ok(())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .domains
            .len()
    }
}

/// `brand`'s own table, made when it has none; the least recently taught
/// brand's is evicted to make room.
fn brand_table<'a>(brands: &'a mut Brands, name: &str, capacity: usize) -> &'a mut Table {
    brands.lessons = brands.lessons.saturating_add(1);
    if !brands.tables.contains_key(name) && brands.tables.len() >= MAX_BRANDS {
        let oldest = brands
            .tables
            .iter()
            .min_by_key(|(_, t)| t.1)
            .map(|(n, _)| n.clone());
        if let Some(oldest) = oldest {
            brands.tables.remove(&oldest);
        }
    }
    let lessons = brands.lessons;
    let entry = brands
        .tables
        .entry(name.to_string())
        .or_insert_with(|| (Table::with_capacity(capacity), 0));
    entry.1 = lessons;
    &mut entry.0
}

fn encode_counts(e: &mut Enc, c: Counts) {
    e.u32(c.spam);
    e.u32(c.ham);
    e.u64(c.seen);
}

fn decode_counts(d: &mut Dec<'_>) -> Result<Counts, String> {
    Ok(Counts {
        spam: d.u32("spam count")?,
        ham: d.u32("ham count")?,
        seen: d.u64("domain recency")?,
    })
}

fn encode_domains<'a>(e: &mut Enc, domains: impl Iterator<Item = (&'a str, Counts)>) {
    let mut domains: Vec<(&str, Counts)> = domains.collect();
    domains.sort_unstable_by(|a, b| a.0.cmp(b.0));
    e.len(domains.len());
    for (domain, counts) in domains {
        e.str(domain);
        encode_counts(e, counts);
    }
}

impl Serialize for Reputation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Reputation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Reputation {
            table: RwLock::new(Table::deserialize(deserializer)?),
            ..Reputation::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Reputation {
        fn record(&self, domain: &str, label: Label) {
            self.learn(&[domain.to_string()], label, None, None);
        }
    }

    #[test]
    fn spam_raises_and_ham_lowers() {
        let rep = Reputation::new(100);
        rep.record("evil.top", Label::Spam);
        rep.record("evil.top", Label::Spam);
        rep.record("shop.example", Label::Ham);
        assert!(rep.get("evil.top", None).unwrap().log_odds() > 1.0);
        assert!(rep.get("shop.example", None).unwrap().log_odds() < 0.0);
        assert!(rep.get("unknown.com", None).is_none());
    }

    #[test]
    fn counts_restored_at_their_maximum_saturate_when_learning() {
        let rep = Reputation::new(100);
        let full = Counts {
            spam: u32::MAX,
            ham: u32::MAX,
            seen: u64::MAX,
        };
        rep.restore(&[("evil.top".to_string(), full)]);
        rep.record("evil.top", Label::Spam);
        rep.record("evil.top", Label::Ham);
        rep.record("new.top", Label::Spam);
        assert_eq!(rep.get("evil.top", None), Some(full));
        // The newest domain is not taken for the oldest.
        assert_eq!(rep.get("new.top", None).unwrap().seen, u64::MAX);
        rep.learn(&["shop.example".into()], Label::Ham, None, Some("brand"));
    }

    #[test]
    fn entries_restore_into_a_bounded_table() {
        let rep = Reputation::new(100);
        rep.record("old.top", Label::Spam);
        rep.record("evil.top", Label::Spam);
        rep.record("shop.example", Label::Ham);
        let restored = Reputation::new(100);
        restored.restore(&rep.entries());
        assert_eq!(restored.entries(), rep.entries());
        let small = Reputation::new(2);
        small.restore(&rep.entries());
        assert_eq!(small.len(), 2);
        assert!(
            small.get("old.top", None).is_none(),
            "the least recently seen goes first"
        );
    }

    #[test]
    fn entries_restored_into_a_full_table_push_out_its_oldest() {
        let rep = Reputation::new(1000);
        for i in 0..1000 {
            rep.record(&format!("d{i}.com"), Label::Spam);
        }
        let full = Reputation::new(1000);
        for i in 0..1000 {
            full.record(&format!("e{i}.com"), Label::Spam);
        }
        full.restore(&rep.entries());
        assert_eq!(full.len(), 1000);
        // Both tables count from the same start: the older half of each
        // went, and of equal ages the name decides.
        assert!(full.get("d999.com", None).is_some());
        assert!(full.get("e999.com", None).is_some());
        assert!(full.get("d0.com", None).is_none());
        assert!(full.get("e0.com", None).is_none());
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_recent_domains() {
        let rep = Reputation::new(20);
        for i in 0..100 {
            rep.record(&format!("d{i}.com"), Label::Spam);
        }
        assert!(rep.len() <= 20);
        assert!(rep.get("d99.com", None).is_some());
        assert!(rep.get("d0.com", None).is_none());
    }

    #[test]
    fn round_trips_through_json() {
        let rep = Reputation::new(10);
        rep.record("evil.top", Label::Spam);
        let json = serde_json::to_string(&rep).unwrap();
        let back: Reputation = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("evil.top", None), rep.get("evil.top", None));
        back.record("x.com", Label::Ham);
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn zero_capacity_learns_nothing() {
        let rep = Reputation::new(0);
        rep.record("evil.top", Label::Spam);
        assert_eq!(rep.len(), 0);
    }

    #[test]
    fn unlearning_takes_the_counts_back_exactly() {
        let rep = Reputation::new(100);
        rep.record("shop.example", Label::Ham);
        let before = rep.entries();
        let domains = ["coin-drop.example".to_string(), "shop.example".to_string()];
        rep.learn(&domains, Label::Spam, Some("m1"), None);
        rep.learn(&domains, Label::Spam, Some("m2"), None);
        assert_eq!(rep.get("coin-drop.example", None).unwrap().spam, 2);
        assert!(rep.unlearn("m2") && rep.unlearn("m1"));
        assert_eq!(rep.entries(), before);
        assert!(rep.get("coin-drop.example", None).is_none());
        assert!(!rep.unlearn("m1"));
    }

    #[test]
    fn a_brands_lessons_count_for_that_brand_only() {
        let rep = Reputation::new(100);
        rep.record("coin-drop.example", Label::Spam);
        let domains = ["coin-drop.example".to_string()];
        rep.learn(&domains, Label::Spam, Some("m1"), Some("brand_a"));
        assert_eq!(
            rep.get("coin-drop.example", Some("brand_a")).unwrap().spam,
            2
        );
        assert_eq!(
            rep.get("coin-drop.example", Some("brand_b")).unwrap().spam,
            1
        );
        assert_eq!(rep.get("coin-drop.example", None).unwrap().spam, 1);

        let mut e = Enc::default();
        rep.encode_learned(&mut e);
        let back = Reputation::new(100);
        let mut d = Dec::new(&e.bytes);
        back.decode_learned(&mut d).unwrap();
        d.end().unwrap();
        assert_eq!(
            back.get("coin-drop.example", Some("brand_a")).unwrap().spam,
            1
        );
        assert!(back.unlearn("m1"), "the journal is restored too");
        assert!(back.get("coin-drop.example", Some("brand_a")).is_none());

        assert!(rep.unlearn("m1"));
        assert_eq!(
            rep.get("coin-drop.example", Some("brand_a")).unwrap().spam,
            1
        );
    }
}
