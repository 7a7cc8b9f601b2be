//! Plain, fast hashes that are the same in every process and face no
//! adversary:
//!
//! * 64-bit FNV-1a, for the reason-code weight table (its keys are the
//!   crate's own codes) and the model file's checksum (it catches damage,
//!   not forgery);
//! * the SplitMix64 finaliser, for the stream state's keys and the
//!   training shuffles.

/// FNV-1a of no bytes.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Continues the FNV-1a hash `h` over `bytes`.
#[inline]
pub(crate) fn fnv_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a of `bytes`.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    fnv_extend(FNV_OFFSET, bytes)
}

/// The SplitMix64 finaliser: a cheap, well-mixed 64-bit permutation.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fnv_extend(fnv(b"foo"), b"bar"), fnv(b"foobar"));
    }
}
