//! Per-brand overlays: what one brand's feedback taught the classifier,
//! kept apart from the shared weights so that it moves only that brand's
//! verdicts.
//!
//! An overlay is a sparse map from table index to a weight delta, added to
//! the shared weight when a message for that brand (its `recipient`) is
//! scored. Brands without an overlay are scored from the shared weights
//! alone, as before: the check costs one atomic load while no brand has an
//! overlay, and one map lookup per message once some do. A brand with an
//! overlay is scored without the word cache (its words' sums differ from
//! the shared ones) and with one small map probe per feature.
//!
//! Memory is bounded: at most [`MAX_BRANDS`] overlays of at most
//! [`MAX_ENTRIES`] entries each (16 bytes and the map's overhead per
//! entry, about 1.5 MB for a full overlay: 500 ham and 200 spam e-mails
//! of up to 4 KB teach some 60,000 to 90,000 indices). Past either cap the least
//! recently taught brand, or a brand's least recently taught tenth of
//! entries, is evicted, and [`OverlayStats`] counts what was.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::persist::codec::{Dec, Enc};

/// Brands with an overlay at most.
pub(crate) const MAX_BRANDS: usize = 128;
/// Entries (taught table indices) per brand at most.
pub(crate) const MAX_ENTRIES: usize = 65_536;

/// Table indices are hashes already: one multiply spreads them over the
/// map's control bits.
#[derive(Debug, Default)]
pub(crate) struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.0 = u64::from(x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One taught index of a brand's overlay.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Entry {
    /// Added to the shared weight.
    pub delta: f32,
    /// The brand's own squared-gradient sum, added to the shared one for
    /// its AdaGrad step.
    pub sq_grad: f32,
    /// The brand's lesson count when the entry was last changed.
    pub touched: u32,
}

/// One brand's overlay.
#[derive(Debug, Default)]
pub(crate) struct Brand {
    pub entries: HashMap<u32, Entry, BuildHasherDefault<IndexHasher>>,
    /// Lessons taught to this brand, for its entries' recency.
    pub lessons: u32,
    /// The overlays' lesson count when this brand was last taught.
    touched: u64,
}

impl Brand {
    /// The brand's delta at table index `j`.
    #[inline]
    pub fn delta(&self, j: u32) -> f32 {
        self.entries.get(&j).map_or(0.0, |e| e.delta)
    }

    /// Evicts the least recently taught tenth of the entries when the
    /// overlay holds more than [`MAX_ENTRIES`]; returns how many went.
    pub fn trim(&mut self) -> usize {
        let cap = MAX_ENTRIES;
        if self.entries.len() <= cap {
            return 0;
        }
        let mut ages: Vec<u32> = self.entries.values().map(|e| e.touched).collect();
        let evict = self.entries.len() - cap + cap / 10;
        let (_, cutoff, _) = ages.select_nth_unstable(evict - 1);
        let cutoff = *cutoff;
        let before = self.entries.len();
        self.entries.retain(|_, e| e.touched > cutoff);
        before - self.entries.len()
    }
}

/// The overlays of every brand.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub brands: HashMap<String, Brand>,
    lessons: u64,
}

impl Table {
    /// The overlay of `brand`, made when it has none; the least recently
    /// taught brand is evicted to make room.
    pub fn brand_mut(&mut self, brand: &str, evicted: &AtomicU64) -> &mut Brand {
        // The count may come from a file: saturate rather than overflow.
        self.lessons = self.lessons.saturating_add(1);
        if !self.brands.contains_key(brand) && self.brands.len() >= MAX_BRANDS {
            let oldest = self
                .brands
                .iter()
                .min_by_key(|(_, b)| b.touched)
                .map(|(name, _)| name.clone());
            if let Some(name) = oldest {
                self.brands.remove(&name);
                evicted.fetch_add(1, Relaxed);
            }
        }
        let lessons = self.lessons;
        let b = self.brands.entry(brand.to_string()).or_default();
        b.touched = lessons;
        b
    }
}

/// The per-brand overlays of one classifier.
#[derive(Debug, Default)]
pub(crate) struct Overlays {
    /// Brands with an overlay; while 0 a check does not look.
    count: AtomicUsize,
    table: RwLock<Table>,
    pub evicted_brands: AtomicU64,
    pub evicted_entries: AtomicU64,
}

/// What the per-brand overlays hold and have evicted (see
/// [`Filter::learn_scoped`](crate::Filter::learn_scoped)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverlayStats {
    /// Brands with an overlay.
    pub brands: usize,
    /// Entries (taught weights) over all brands.
    pub entries: usize,
    /// Brands whose overlay was evicted to make room for another.
    pub evicted_brands: u64,
    /// Entries evicted from a full overlay.
    pub evicted_entries: u64,
}

impl Overlays {
    /// True when some brand has an overlay.
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Relaxed) > 0
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes how many brands have an overlay, after `table` changed.
    pub fn publish(&self, table: &Table) {
        self.count.store(table.brands.len(), Relaxed);
    }

    pub fn stats(&self) -> OverlayStats {
        let table = self.read();
        OverlayStats {
            brands: table.brands.len(),
            entries: table.brands.values().map(|b| b.entries.len()).sum(),
            evicted_brands: self.evicted_brands.load(Relaxed),
            evicted_entries: self.evicted_entries.load(Relaxed),
        }
    }

    /// Writes every overlay, brands and entries in a stable order.
    pub fn encode(&self, e: &mut Enc) {
        let table = self.read();
        e.u64(table.lessons);
        e.u64(self.evicted_brands.load(Relaxed));
        e.u64(self.evicted_entries.load(Relaxed));
        let mut brands: Vec<(&String, &Brand)> = table.brands.iter().collect();
        brands.sort_unstable_by(|a, b| a.0.cmp(b.0));
        e.len(brands.len());
        for (name, b) in brands {
            e.str(name);
            e.u64(b.touched);
            e.u32(b.lessons);
            let mut entries: Vec<(&u32, &Entry)> = b.entries.iter().collect();
            entries.sort_unstable_by_key(|(j, _)| **j);
            e.len(entries.len());
            for (&j, entry) in entries {
                e.u32(j);
                e.f32(entry.delta);
                e.f32(entry.sq_grad);
                e.u32(entry.touched);
            }
        }
    }

    /// Replaces every overlay with those read from `d`; indices must fall
    /// in a table of `size` weights.
    pub fn decode(&self, d: &mut Dec<'_>, size: usize) -> Result<(), String> {
        let lessons = d.u64("overlay lesson count")?;
        let evicted_brands = d.u64("evicted brand count")?;
        let evicted_entries = d.u64("evicted entry count")?;
        let n = d.len("brand overlays", 20)?;
        if n > MAX_BRANDS {
            return Err(format!(
                "corrupt: {n} brand overlays, more than {MAX_BRANDS}"
            ));
        }
        let mut brands = HashMap::with_capacity(n);
        for _ in 0..n {
            let name = d.str("brand name")?.to_string();
            let touched = d.u64("brand recency")?;
            let lessons = d.u32("brand lesson count")?;
            let m = d.len("overlay entries", 16)?;
            if m > MAX_ENTRIES {
                return Err(format!(
                    "corrupt: {m} overlay entries, more than {MAX_ENTRIES}"
                ));
            }
            let mut entries = HashMap::with_capacity_and_hasher(m, Default::default());
            for _ in 0..m {
                let j = d.u32("overlay index")?;
                if j as usize >= size {
                    return Err(format!("corrupt: overlay index {j} outside the table"));
                }
                let entry = Entry {
                    delta: d.f32("overlay delta")?,
                    sq_grad: d.f32("overlay gradient sum")?,
                    touched: d.u32("overlay entry recency")?,
                };
                entries.insert(j, entry);
            }
            brands.insert(
                name,
                Brand {
                    entries,
                    lessons,
                    touched,
                },
            );
        }
        let mut table = self.write();
        *table = Table { brands, lessons };
        self.evicted_brands.store(evicted_brands, Relaxed);
        self.evicted_entries.store(evicted_entries, Relaxed);
        self.publish(&table);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands_and_entries_stay_bounded_and_the_oldest_go() {
        let o = Overlays::default();
        let mut table = o.write();
        for i in 0..MAX_BRANDS + 3 {
            table.brand_mut(&format!("b{i}"), &o.evicted_brands);
        }
        assert_eq!(table.brands.len(), MAX_BRANDS);
        assert!(!table.brands.contains_key("b0"));
        assert!(table.brands.contains_key(&format!("b{}", MAX_BRANDS + 2)));
        assert_eq!(o.evicted_brands.load(Relaxed), 3);

        let b = table.brand_mut("big", &o.evicted_brands);
        for j in 0..(MAX_ENTRIES as u32 + 1) {
            b.entries.insert(
                j,
                Entry {
                    delta: 1.0,
                    sq_grad: 1.0,
                    touched: j,
                },
            );
        }
        let evicted = b.trim();
        assert!(b.entries.len() <= MAX_ENTRIES && evicted > MAX_ENTRIES / 20);
        assert!(!b.entries.contains_key(&0));
        assert!(b.entries.contains_key(&(MAX_ENTRIES as u32)));
    }

    #[test]
    fn overlays_round_trip() {
        let o = Overlays::default();
        {
            let mut table = o.write();
            let b = table.brand_mut("brand_01", &o.evicted_brands);
            b.entries.insert(
                5,
                Entry {
                    delta: -0.25,
                    sq_grad: 2.0,
                    touched: 1,
                },
            );
            o.publish(&table);
        }
        let mut e = Enc::default();
        o.encode(&mut e);
        let back = Overlays::default();
        let mut d = Dec::new(&e.bytes);
        back.decode(&mut d, 16).unwrap();
        d.end().unwrap();
        assert!(back.any());
        assert_eq!(back.read().brands["brand_01"].delta(5), -0.25);
        let mut d = Dec::new(&e.bytes);
        assert!(
            Overlays::default()
                .decode(&mut d, 4)
                .unwrap_err()
                .contains("outside")
        );
    }
}
