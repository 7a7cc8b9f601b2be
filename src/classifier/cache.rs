//! Each thread's memory of the words it scored lately: a word's character
//! n-grams are most of a text's features, and most words recur ("you",
//! "the", "order", "refund"), so their summed weight is kept per word
//! instead of hashed and looked up again.
//!
//! On a stream of DMs most words with n-grams are answered here (see
//! `docs/EXPERIMENTS.md` for what was measured). An entry holds the word's
//! bytes (words of up to [`KEY_BYTES`] bytes; longer ones are scored
//! directly), so a hit is exact, never a hash collision. It also holds the
//! generation of the weights it was summed from: every classifier starts a
//! generation of its own and every learned or unlearned message starts a
//! new one, so a cache shared by every filter on a thread never answers
//! with another model's weights or with weights from before an update.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::features::{Seen, Token};

/// Entries per thread: 2,048 entries of 32 bytes, 64 KB, stay in the L2
/// cache.
const ENTRIES: usize = 2048;
/// A word hash's top bits pick its entry.
const INDEX_SHIFT: u32 = u32::BITS - ENTRIES.trailing_zeros();
const _: () = assert!(ENTRIES.is_power_of_two());
/// The longest word kept, in bytes.
const KEY_BYTES: usize = 16;

/// The next generation of classifier weights; 0 marks an empty entry.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// A generation of weights no other classifier, and no other state of this
/// one, has had.
pub(crate) fn new_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Relaxed)
}

/// One word's n-grams, summed.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    generation: u64,
    key: [u64; 2],
    sum: f32,
    count: u32,
}

/// What the classifier keeps per thread between checks: the n-gram sums
/// of the words it scored lately, and the words met in the current text
/// (so that each counts once, without allocating per text).
#[derive(Debug, Default)]
pub(crate) struct WordCache {
    pub sums: WordSums,
    pub seen: Seen,
}

/// A thread's words and their n-gram sums, direct-mapped by word hash.
#[derive(Debug, Default)]
pub(crate) struct WordSums {
    /// Empty until the first word is kept, so that scratch buffers stay
    /// cheap to create.
    entries: Vec<Entry>,
}

/// A word's place in the cache and its bytes as the key.
#[derive(Debug, Clone, Copy)]
struct Slot {
    index: usize,
    key: [u64; 2],
}

impl WordSums {
    /// The n-gram sum and count of `token` of `text` under weights of
    /// `generation`: kept from an earlier call, or from `sum`, which is then
    /// kept if the word is short enough.
    #[inline]
    pub fn sum(
        &mut self,
        text: &str,
        token: &Token<'_>,
        generation: u64,
        sum: impl FnOnce() -> (f32, u32),
    ) -> (f32, u32) {
        let Some(slot) = Self::slot(text, token) else {
            return sum();
        };
        if let Some(kept) = self.get(slot, generation) {
            return kept;
        }
        let (total, count) = sum();
        self.put(slot, generation, total, count);
        (total, count)
    }

    /// Where `token` of `text` is kept, if it is short enough to keep.
    #[inline]
    fn slot(text: &str, token: &Token<'_>) -> Option<Slot> {
        let len = token.text.len();
        if len > KEY_BYTES {
            return None;
        }
        Some(Slot {
            index: (token.hash.wrapping_mul(0x9e37_79b9) >> INDEX_SHIFT) as usize,
            key: key(text.as_bytes(), token.start, len),
        })
    }

    /// The n-gram sum and count kept for this slot's word under weights of
    /// `generation`.
    #[inline]
    fn get(&self, slot: Slot, generation: u64) -> Option<(f32, u32)> {
        let e = self.entries.get(slot.index)?;
        (e.generation == generation && e.key == slot.key).then_some((e.sum, e.count))
    }

    /// Keeps a word's n-gram sum and count.
    fn put(&mut self, slot: Slot, generation: u64, sum: f32, count: u32) {
        if self.entries.is_empty() {
            self.entries = vec![Entry::default(); ENTRIES];
        }
        self.entries[slot.index] = Entry {
            generation,
            key: slot.key,
            sum,
            count,
        };
    }
}

/// The `len` bytes at `start` of `bytes`, zero-padded to 16 as two words.
/// A word never holds a zero byte, so the padding cannot make two words
/// equal. Read as two 8-byte loads and masked where the text runs on past
/// the word, which is nearly always; copied otherwise.
#[inline]
fn key(bytes: &[u8], start: usize, len: usize) -> [u64; 2] {
    let mask = |n: usize| match n {
        0 => 0,
        8.. => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    };
    if let Some(window) = bytes.get(start..start + KEY_BYTES) {
        let lo = u64::from_le_bytes(window[..8].try_into().unwrap_or_default());
        let hi = u64::from_le_bytes(window[8..].try_into().unwrap_or_default());
        return [lo & mask(len), hi & mask(len.saturating_sub(8))];
    }
    let mut buf = [0u8; KEY_BYTES];
    let word = bytes.get(start..start + len).unwrap_or_default();
    buf[..word.len()].copy_from_slice(word);
    [
        u64::from_le_bytes(buf[..8].try_into().unwrap_or_default()),
        u64::from_le_bytes(buf[8..].try_into().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::features::tokens;

    fn slots(text: &str) -> Vec<Option<[u64; 2]>> {
        tokens(text)
            .map(|t| WordSums::slot(text, &t).map(|s| s.key))
            .collect()
    }

    #[test]
    fn a_key_is_the_word_whether_read_in_place_or_copied() {
        // The same words near the end of a text (copied) and followed by
        // more text (read in place and masked).
        let end = slots("x refund orders привет");
        let inside = slots("x refund orders привет and then a much longer tail");
        assert_eq!(end, inside[..4]);
        assert_ne!(end[1], end[2]);
        let mut refund = [0u8; 16];
        refund[..6].copy_from_slice(b"refund");
        assert_eq!(
            end[1],
            Some([u64::from_le_bytes(refund[..8].try_into().unwrap()), 0])
        );
    }

    #[test]
    fn words_longer_than_the_key_are_not_kept() {
        assert_eq!(slots("abcdefghijklmnopq ok")[0], None);
        assert!(slots("abcdefghijklmnop ok").iter().all(Option::is_some));
    }

    #[test]
    fn an_entry_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
    }

    #[test]
    fn an_entry_answers_only_its_word_and_generation() {
        let text = "refund please";
        let token = tokens(text).next().unwrap();
        let slot = WordSums::slot(text, &token).unwrap();
        let mut cache = WordSums::default();
        assert_eq!(cache.get(slot, 7), None);
        cache.put(slot, 7, 1.5, 9);
        assert_eq!(cache.get(slot, 7), Some((1.5, 9)));
        assert_eq!(cache.get(slot, 8), None);
        let other = Slot {
            key: [slot.key[0] ^ 1, 0],
            ..slot
        };
        assert_eq!(cache.get(other, 7), None);
    }
}
