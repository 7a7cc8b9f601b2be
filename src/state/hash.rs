//! Keyed hashing and small windowed sketches shared by the sender and
//! campaign tables.
//!
//! The tables are keyed by values an attacker chooses (sender ids, texts).
//! With public seeds, ids can be crafted offline to collide in full (two
//! senders sharing one record) or to fall into one set and evict a chosen
//! record, such as a running campaign's bands. So every key mixes in a
//! secret [`HashKey`] when the policy sets one (`[store] hash_key`), carried
//! by snapshots so that a restored table keys the same. Without one the
//! public seeds key the tables: then two runs of one stream give the same
//! verdicts to the bit (a random key would move which ids share a bit of
//! the distinct-count sketches, and so the counts near a threshold), which
//! a replay and every test rely on; a deployment that faces attackers sets
//! a key. The hash
//! itself stays a hand-rolled multiply-mix (not SipHash): it runs twice per
//! message on the hot path, and the key, not the strength of the mix, is
//! what keeps an attacker from aiming.

use std::sync::LazyLock;

pub(crate) use crate::hash::mix;

/// A 64-bit hash of a string, never 0 (0 marks an empty table slot).
pub(crate) fn hash_str(s: &str, seed: u64) -> u64 {
    let bytes = s.as_bytes();
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    nonzero(mix(h))
}

/// Maps 0 to 1 so that a key never collides with the empty-slot marker.
pub(crate) fn nonzero(h: u64) -> u64 {
    h | u64::from(h == 0)
}

/// The secret that keys the stream tables' hashes. 0 stands for the fixed
/// public seeds of snapshots written before keys existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct HashKey(pub u64);

impl HashKey {
    /// Reads 16 hexadecimal digits, as `[store] hash_key` and snapshots
    /// write them.
    pub fn from_hex(hex: &str) -> Option<HashKey> {
        if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok().map(HashKey)
    }

    /// The key as 16 lower-case hexadecimal digits.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// The seed for a family of string hashes: the family's own seed with
    /// the secret mixed in (the public seed itself under key 0).
    #[inline]
    pub fn seed(self, family: u64) -> u64 {
        family ^ self.0
    }

    /// A band key as the tables store it: keyed and mixed, so that which
    /// set it lands in cannot be worked out from the text (a table picks a
    /// key's first set by its top bits, which a plain xor would leave
    /// equal for equal top bits). Unchanged under key 0.
    #[inline]
    pub fn band(self, key: u64) -> u64 {
        if self.0 == 0 {
            return key;
        }
        nonzero(mix(key ^ self.0))
    }
}

/// Seeds that keep the hash families apart.
pub(crate) const SENDER_SEED: u64 = 0x5e4d_e25e_ed00_0001;
pub(crate) const RECIPIENT_SEED: u64 = 0x2ec1_01e7_0000_0002;

/// A two-bin sliding counter: the current bin and the one before, each
/// `len` seconds long. The estimate for "the last `len` seconds" weights the
/// previous bin by the part of it still inside the window, the usual
/// sliding-window approximation.
pub(crate) fn count_add(bins: &mut [u16; 2], shift: i64) {
    roll(bins, shift);
    let slot = usize::from(shift < 0);
    bins[slot] = bins[slot].saturating_add(1);
}

/// Moves the bins forward by `shift` bins (no-op for shift <= 0).
pub(crate) fn roll<T: Copy + Default>(bins: &mut [T; 2], shift: i64) {
    if shift == 1 {
        bins[1] = bins[0];
        bins[0] = T::default();
    } else if shift > 1 {
        *bins = [T::default(); 2];
    }
}

/// The sliding estimate of a two-bin counter at `now` (seconds), the bins
/// being aligned on `len`.
pub(crate) fn count_estimate(bins: [u16; 2], now: u32, len: u32) -> f64 {
    let into = f64::from(now % len) / f64::from(len);
    f64::from(bins[0]) + f64::from(bins[1]) * (1.0 - into)
}

/// The number of bins between the bin of `last` and the bin of `t`
/// (negative for a late message).
pub(crate) fn bin_shift(last: u32, t: u32, len: u32) -> i64 {
    i64::from(t / len) - i64::from(last / len)
}

/// Distinct items in a 64-bit linear-counting bitmap: exact enough for the
/// small counts that matter (3, 4, 10), saturating near 270.
pub(crate) fn distinct(bits: u64) -> f64 {
    ESTIMATES.0[bits.count_zeros() as usize]
}

/// Linear-counting estimates by number of zero bits, for 64- and 128-bit
/// bitmaps, computed once: `m ln(m / zeros)`, a full bitmap reading as if
/// one bit were still free.
static ESTIMATES: LazyLock<([f64; 65], [f64; 129])> = LazyLock::new(|| {
    let estimate = |m: f64, zeros: usize| m * (m / (zeros.max(1) as f64)).ln();
    (
        std::array::from_fn(|z| estimate(64.0, z)),
        std::array::from_fn(|z| estimate(128.0, z)),
    )
});

/// Distinct items in a 128-bit linear-counting bitmap: used where small
/// counts must be right (a text reaching its third and fourth inbox, from
/// how many senders).
pub(crate) fn distinct_wide(bits: u128) -> f64 {
    ESTIMATES.1[bits.count_zeros() as usize]
}

/// Records `h` in a two-bin 128-bit bitmap.
pub(crate) fn wide_bits_add(bins: &mut [u128; 2], shift: i64, h: u64) {
    roll(bins, shift);
    bins[usize::from(shift < 0)] |= 1u128 << (h >> 57);
}

/// The bit of a hash in a 64-bit linear-counting bitmap.
pub(crate) fn bit(h: u64) -> u64 {
    1u64 << (h >> 58)
}

/// Records `h` in a two-bin bitmap (see [`count_add`] for the bins).
pub(crate) fn bits_add(bins: &mut [u64; 2], shift: i64, h: u64) {
    roll(bins, shift);
    bins[usize::from(shift < 0)] |= bit(h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_nonzero() {
        assert_eq!(hash_str("u1", 7), hash_str("u1", 7));
        assert_ne!(hash_str("u1", 7), hash_str("u2", 7));
        assert_ne!(hash_str("u1", 7), hash_str("u1", 8));
        assert_ne!(hash_str("", 0), 0);
        assert_eq!(nonzero(0), 1);
    }

    #[test]
    fn keys_read_back_from_hex() {
        let (a, b) = (HashKey(0x0123_4567_89ab_cdef), HashKey(0x00ff));
        assert_eq!(HashKey::from_hex(&a.to_hex()), Some(a));
        assert_eq!(HashKey::from_hex("00000000000000ff"), Some(HashKey(255)));
        for bad in [
            "",
            "ff",
            "00000000000000fg",
            "000000000000000ff",
            "+000000000000ff",
        ] {
            assert_eq!(HashKey::from_hex(bad), None, "{bad}");
        }
        // Key 0 is the public seeds of old snapshots.
        assert_eq!(HashKey(0).seed(SENDER_SEED), SENDER_SEED);
        assert_eq!(HashKey(0).band(42), 42);
        // Keys that share their top bits, as a crafted text's bands could,
        // do not share them once keyed.
        let fixed = HashKey(0x1234_5678_9abc_def1);
        let (x, y) = (
            fixed.band(0xabcd_0000_0000_0001),
            fixed.band(0xabcd_0000_0000_0002),
        );
        assert_ne!(x >> 48, y >> 48);
        assert_ne!(
            hash_str("u1", a.seed(SENDER_SEED)),
            hash_str("u1", b.seed(SENDER_SEED))
        );
    }

    #[test]
    fn distinct_counts_small_sets_closely() {
        let mut bits = 0;
        for i in 0..4u64 {
            bits |= bit(mix(i + 1));
        }
        assert!((3.0..=4.5).contains(&distinct(bits)), "{}", distinct(bits));
        let mut bits = 0;
        for i in 0..150u64 {
            bits |= bit(mix(i + 1000));
        }
        let d = distinct(bits);
        assert!((100.0..=220.0).contains(&d), "{d}");
    }

    #[test]
    fn two_bin_counter_slides() {
        let mut bins = [0u16; 2];
        count_add(&mut bins, 0);
        count_add(&mut bins, 0);
        assert_eq!(bins, [2, 0]);
        count_add(&mut bins, 1);
        assert_eq!(bins, [1, 2]);
        // Half-way through the current bin, half of the previous one counts.
        assert_eq!(count_estimate(bins, 30, 60), 2.0);
        count_add(&mut bins, -1);
        assert_eq!(bins, [1, 3]);
        count_add(&mut bins, 5);
        assert_eq!(bins, [1, 0]);
    }
}
