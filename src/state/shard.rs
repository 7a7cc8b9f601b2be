//! One shard of a bounded table: set-associative, so that memory is fixed by
//! a cap and eviction is a constant-time choice inside two small sets.
//!
//! A key hashes to two sets of [`WAYS`] slots. The table starts small and
//! doubles while sets overflow with live entries, up to its cap; after that
//! a new key takes the slot of the entry in its sets with the oldest event
//! time. Entries idle longer than their time-to-live go first; pushing out a
//! live entry is counted as an eviction.

use std::mem::size_of;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};

use super::hash::mix;
use super::prefetch::Hint;

/// Slots per set: eight keys fill one cache line.
pub(crate) const WAYS: usize = 8;

/// A value held in a table: it knows when it was last touched.
pub(crate) trait Slot: Copy + Default {
    /// Event time of the last update, in seconds.
    fn last_seen(&self) -> u32;
}

/// A bounded set-associative map from non-zero 64-bit keys to `V`.
#[derive(Debug)]
pub(crate) struct Table<V> {
    /// 0 marks an empty slot; keys are hashes made non-zero.
    keys: Vec<u64>,
    vals: Vec<V>,
    max_sets: usize,
    len: usize,
    /// Live entries pushed out to make room.
    pub evicted: u64,
    /// Idle entries whose slot was reused.
    pub expired: u64,
    /// Messages counted here (kept under the shard's lock rather than in a
    /// shared atomic, which every thread would contend for).
    pub messages: u64,
}

/// The first slots of the two sets `key` may live in, in a table of `sets`
/// sets ("two-choice" hashing: a new key goes to whichever has room, so
/// sets overflow far later than with one choice and the table fills to its
/// cap before evicting).
pub(crate) fn set_starts(key: u64, sets: usize) -> [usize; 2] {
    // Multiply-shift range reduction: any set count works, and the shard,
    // chosen by the key's low bits, stays independent.
    let sets = sets as u128;
    let a = ((u128::from(key) * sets) >> 64) as usize;
    let b = ((u128::from(mix(key)) * sets) >> 64) as usize;
    [a * WAYS, b * WAYS]
}

impl<V: Slot> Table<V> {
    /// A table that will hold at most `max_slots` entries (at least one set).
    pub fn new(max_slots: usize) -> Table<V> {
        let max_sets = (max_slots / WAYS).max(1);
        let sets = max_sets.min(8);
        Table {
            keys: vec![0; sets * WAYS],
            vals: vec![V::default(); sets * WAYS],
            max_sets,
            len: 0,
            evicted: 0,
            expired: 0,
            messages: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the slots.
    pub fn bytes(&self) -> usize {
        self.keys.capacity() * size_of::<u64>() + self.vals.capacity() * size_of::<V>()
    }

    fn sets(&self) -> usize {
        self.keys.len() / WAYS
    }

    /// The keys of the set starting at slot `start`.
    fn set_keys(&self, start: usize) -> &[u64; WAYS] {
        self.keys[start..start + WAYS]
            .try_into()
            .expect("a set start leaves room for its ways")
    }

    fn set_starts(&self, key: u64) -> [usize; 2] {
        set_starts(key, self.sets())
    }

    /// The value for `key`, and whether it was just created (zeroed). `now`
    /// and `ttl` (seconds) decide whether a slot to be reused is still live.
    pub fn entry(&mut self, key: u64, now: u32, ttl: u32) -> (&mut V, bool) {
        let starts = self.set_starts(key);
        // Each set is looked at as one fixed-size array: no bounds check
        // per slot, and the compares of a set run together.
        let found = starts.into_iter().find_map(|s| {
            self.set_keys(s)
                .iter()
                .position(|&k| k == key)
                .map(|p| s + p)
        });
        if let Some(i) = found {
            return (&mut self.vals[i], false);
        }
        let victim = self.victim(starts);
        if self.keys[victim] != 0 {
            let live = now.saturating_sub(self.vals[victim].last_seen()) < ttl;
            if live && self.sets() < self.max_sets {
                self.grow(now, ttl);
                return self.entry(key, now, ttl);
            }
            if live {
                self.evicted += 1;
            } else {
                self.expired += 1;
            }
        } else {
            self.len += 1;
        }
        self.keys[victim] = key;
        self.vals[victim] = V::default();
        (&mut self.vals[victim], true)
    }

    /// The value for `key`, if held; creates nothing.
    pub fn get(&self, key: u64) -> Option<&V> {
        self.set_starts(key).into_iter().find_map(|s| {
            self.set_keys(s)
                .iter()
                .position(|&k| k == key)
                .map(|p| &self.vals[s + p])
        })
    }

    /// An empty slot of the emptier set, else the slot of either set
    /// touched longest ago.
    fn victim(&self, starts: [usize; 2]) -> usize {
        let empties = |s: usize| self.set_keys(s).iter().filter(|&&k| k == 0).count();
        let set = if empties(starts[1]) > empties(starts[0]) {
            starts[1]
        } else {
            starts[0]
        };
        if let Some(p) = self.set_keys(set).iter().position(|&k| k == 0) {
            return set + p;
        }
        let mut victim = starts[0];
        let mut oldest = self.vals[victim].last_seen();
        for s in starts {
            for (p, v) in self.vals[s..s + WAYS].iter().enumerate() {
                if v.last_seen() < oldest {
                    (victim, oldest) = (s + p, v.last_seen());
                }
            }
        }
        victim
    }

    fn grow(&mut self, now: u32, ttl: u32) {
        let sets = (self.sets() * 2).min(self.max_sets);
        let keys = std::mem::replace(&mut self.keys, vec![0; sets * WAYS]);
        let vals = std::mem::replace(&mut self.vals, vec![V::default(); sets * WAYS]);
        self.len = 0;
        for (key, val) in keys.into_iter().zip(vals) {
            if key != 0 {
                *self.entry(key, now, ttl).0 = val;
            }
        }
    }

    /// Every held entry.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.keys
            .iter()
            .zip(&self.vals)
            .filter(|(k, _)| **k != 0)
            .map(|(k, v)| (*k, v))
    }
}

/// A table behind its lock, with the hint that lets a message start
/// fetching its slots before it takes the lock.
#[derive(Debug)]
pub(crate) struct Shard<V> {
    table: Mutex<Table<V>>,
    hint: Hint,
}

impl<V: Slot> Shard<V> {
    pub fn new(max_slots: usize) -> Shard<V> {
        let table = Table::new(max_slots);
        let hint = Hint::default();
        hint.publish(&table.keys);
        Shard {
            table: Mutex::new(table),
            hint,
        }
    }

    /// Starts fetching the sets `key` may live in; takes no lock.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        self.hint.prefetch(key);
    }

    /// Locks the table. A panic elsewhere while holding it leaves counters
    /// that are still valid, so poisoning is ignored.
    pub fn lock(&self) -> Locked<'_, V> {
        Locked {
            table: self.table.lock().unwrap_or_else(|e| e.into_inner()),
            hint: &self.hint,
        }
    }
}

/// What the tables of a set of shards hold and have dropped, summed.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub len: usize,
    pub evicted: u64,
    pub expired: u64,
    pub bytes: usize,
    pub messages: u64,
}

/// Sums the counters of every shard's table, one lock at a time.
pub(crate) fn tally<V: Slot>(shards: &[Shard<V>]) -> Tally {
    let mut sum = Tally::default();
    for shard in shards {
        let t = shard.lock();
        sum.len += t.len();
        sum.evicted += t.evicted;
        sum.expired += t.expired;
        sum.bytes += t.bytes();
        sum.messages += t.messages;
    }
    sum
}

/// A locked table; when it is released after growing, the hint learns where
/// the keys went.
pub(crate) struct Locked<'a, V> {
    table: MutexGuard<'a, Table<V>>,
    hint: &'a Hint,
}

impl<V> Deref for Locked<'_, V> {
    type Target = Table<V>;
    fn deref(&self) -> &Table<V> {
        &self.table
    }
}

impl<V> DerefMut for Locked<'_, V> {
    fn deref_mut(&mut self) -> &mut Table<V> {
        &mut self.table
    }
}

impl<V> Drop for Locked<'_, V> {
    fn drop(&mut self) {
        let keys = &self.table.keys;
        if !self.hint.is_current(keys) {
            self.hint.publish(keys);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, Default)]
    struct T(u32);
    impl Slot for T {
        fn last_seen(&self) -> u32 {
            self.0
        }
    }

    #[test]
    fn finds_what_it_stored() {
        let mut t: Table<T> = Table::new(1024);
        for k in 1..=500u64 {
            let key = crate::state::hash::mix(k) | 1;
            let (v, new) = t.entry(key, 0, 10);
            assert!(new);
            v.0 = k as u32;
        }
        for k in 1..=500u64 {
            let key = crate::state::hash::mix(k) | 1;
            let (v, new) = t.entry(key, 0, 10);
            assert!(!new);
            assert_eq!(v.0, k as u32);
        }
        assert_eq!(t.len(), 500);
        assert_eq!(t.evicted, 0);
        assert_eq!(t.get(crate::state::hash::mix(7) | 1).map(|v| v.0), Some(7));
        assert!(t.get(crate::state::hash::mix(501) | 1).is_none());
    }

    #[test]
    fn stays_within_its_cap_and_counts_evictions() {
        let mut t: Table<T> = Table::new(64);
        for k in 1..=10_000u64 {
            let key = crate::state::hash::mix(k) | 1;
            t.entry(key, k as u32, u32::MAX).0.0 = k as u32;
        }
        assert!(t.len() <= 64);
        assert_eq!(t.iter().count(), t.len());
        assert!(t.evicted >= 10_000 - 64);
        assert!(t.bytes() <= 64 * (8 + size_of::<T>()));
    }

    #[test]
    fn idle_entries_are_reused_before_live_ones_are_evicted() {
        let mut t: Table<T> = Table::new(8);
        for k in 1..=8u64 {
            t.entry(k << 60 | k, 0, 100).0.0 = 0;
        }
        t.entry(99, 1000, 100).0.0 = 1000;
        assert_eq!(t.expired, 1);
        assert_eq!(t.evicted, 0);
    }
}
