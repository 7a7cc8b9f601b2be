//! Cache hints for the stream tables.
//!
//! A message's sender key and fingerprint bands are known as soon as its
//! text is canonical, but the tables are read only after the text and link
//! scans, about a microsecond later. Asking the CPU to fetch the slots'
//! keys at once takes those cache misses off the critical path.
//!
//! The tables sit behind the shard locks and move when they grow, so the
//! hint works from an address published at each growth and read without
//! the lock. A stale address only fetches a useless line: a prefetch is a
//! hint that never faults and whose result the program never sees.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::shard::{WAYS, set_starts};

/// Where one shard's key array lives, for prefetching without its lock.
#[derive(Debug, Default)]
pub(crate) struct Hint {
    /// Address of the first key.
    base: AtomicUsize,
    /// Sets in the key array.
    sets: AtomicUsize,
}

impl Hint {
    /// Records where `keys` are now (called under the shard's lock after
    /// the table was built or grown).
    pub fn publish(&self, keys: &[u64]) {
        self.base.store(keys.as_ptr().addr(), Ordering::Relaxed);
        self.sets.store(keys.len() / WAYS, Ordering::Relaxed);
    }

    /// Whether `keys` are where this hint says.
    pub fn is_current(&self, keys: &[u64]) -> bool {
        self.base.load(Ordering::Relaxed) == keys.as_ptr().addr()
    }

    /// Starts fetching the two sets `key` may live in.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        let base = self.base.load(Ordering::Relaxed);
        let sets = self.sets.load(Ordering::Relaxed);
        if base == 0 || sets == 0 {
            return;
        }
        for start in set_starts(key, sets) {
            // A set is 64 bytes but need not start a cache line: fetch the
            // lines of its first and last key.
            let first = base.wrapping_add(start * 8);
            line(first);
            line(first.wrapping_add(8 * WAYS - 1));
        }
    }
}

/// Asks the CPU to bring the cache line holding `addr` into every level of
/// cache.
#[allow(unsafe_code)]
#[inline(always)]
fn line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is a hint: it never faults, on any address,
    // and nothing the program reads depends on it, so a stale or wrong
    // address costs a wasted fetch and nothing else. The pointer is never
    // dereferenced. The intrinsic needs SSE, which every x86_64 CPU has.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::without_provenance(addr));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_any_address_is_harmless() {
        let keys = vec![0u64; 16 * WAYS];
        let hint = Hint::default();
        hint.prefetch(7); // nothing published yet
        hint.publish(&keys);
        assert!(hint.is_current(&keys));
        for key in [0, 1, u64::MAX, 0x1234_5678_9abc_def0] {
            hint.prefetch(key);
        }
        // A stale address, as after the table grew and freed its old keys.
        drop(keys);
        hint.prefetch(42);
        let other = vec![0u64; WAYS];
        assert!(!hint.is_current(&other));
    }
}
