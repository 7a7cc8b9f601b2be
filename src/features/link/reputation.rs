//! Learned domain reputation: how often each registrable domain appeared
//! in messages people labelled spam or ham. Bounded, shared between
//! threads, and serialisable so that it can be saved with the rest of the
//! filter's state.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::message::Label;

/// Strength is capped so that one domain never outweighs every other
/// piece of evidence.
const MAX_LOG_ODDS: f64 = 3.0;

/// Spam and ham counts of one domain, and when it was last seen (a counter
/// of teaching events, not a clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Counts {
    pub spam: u32,
    pub ham: u32,
    pub seen: u64,
}

impl Counts {
    /// Smoothed log-odds of spam (add-one on both sides), capped.
    pub fn log_odds(&self) -> f64 {
        let odds = (f64::from(self.spam) + 1.0) / (f64::from(self.ham) + 1.0);
        odds.ln().clamp(-MAX_LOG_ODDS, MAX_LOG_ODDS)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Table {
    capacity: usize,
    tick: u64,
    domains: HashMap<String, Counts>,
}

/// The reputation table behind a read-write lock: `check` only reads.
#[derive(Debug, Default)]
pub(crate) struct Reputation {
    table: RwLock<Table>,
}

impl Reputation {
    /// An empty table holding at most `capacity` domains (0 turns learning
    /// off).
    pub fn new(capacity: usize) -> Reputation {
        Reputation {
            table: RwLock::new(Table {
                capacity,
                ..Table::default()
            }),
        }
    }

    /// Counts one labelled sighting of `domain`. When the table is full,
    /// the least recently seen tenth is evicted at once, so eviction costs
    /// O(log n) per insert on average.
    pub fn record(&self, domain: &str, label: Label) {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        if table.capacity == 0 {
            return;
        }
        table.tick += 1;
        let tick = table.tick;
        if !table.domains.contains_key(domain) && table.domains.len() >= table.capacity {
            let mut ages: Vec<u64> = table.domains.values().map(|c| c.seen).collect();
            let evict = (table.capacity / 10).max(1);
            ages.sort_unstable();
            let cutoff = ages[evict.min(ages.len()) - 1];
            table.domains.retain(|_, c| c.seen > cutoff);
        }
        let counts = table.domains.entry(domain.to_string()).or_default();
        match label {
            Label::Spam => counts.spam = counts.spam.saturating_add(1),
            Label::Ham => counts.ham = counts.ham.saturating_add(1),
        }
        counts.seen = tick;
    }

    /// What was learned about `domain`, if anything.
    pub fn get(&self, domain: &str) -> Option<Counts> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        table.domains.get(domain).copied()
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
        while table.domains.len() > table.capacity {
            let oldest = table
                .domains
                .iter()
                .min_by(|a, b| a.1.seen.cmp(&b.1.seen).then_with(|| a.0.cmp(b.0)))
                .map(|(d, _)| d.clone());
            match oldest {
                Some(domain) => table.domains.remove(&domain),
                None => break,
            };
        }
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_raises_and_ham_lowers() {
        let rep = Reputation::new(100);
        rep.record("evil.top", Label::Spam);
        rep.record("evil.top", Label::Spam);
        rep.record("shop.example", Label::Ham);
        assert!(rep.get("evil.top").unwrap().log_odds() > 1.0);
        assert!(rep.get("shop.example").unwrap().log_odds() < 0.0);
        assert!(rep.get("unknown.com").is_none());
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
            small.get("old.top").is_none(),
            "the least recently seen goes first"
        );
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_recent_domains() {
        let rep = Reputation::new(20);
        for i in 0..100 {
            rep.record(&format!("d{i}.com"), Label::Spam);
        }
        assert!(rep.len() <= 20);
        assert!(rep.get("d99.com").is_some());
        assert!(rep.get("d0.com").is_none());
    }

    #[test]
    fn round_trips_through_json() {
        let rep = Reputation::new(10);
        rep.record("evil.top", Label::Spam);
        let json = serde_json::to_string(&rep).unwrap();
        let back: Reputation = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("evil.top"), rep.get("evil.top"));
        back.record("x.com", Label::Ham);
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn zero_capacity_learns_nothing() {
        let rep = Reputation::new(0);
        rep.record("evil.top", Label::Spam);
        assert_eq!(rep.len(), 0);
    }
}
