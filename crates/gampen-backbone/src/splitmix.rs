//! SplitMix64 (Vigna), the one seed-mixing function of the workspace.
//!
//! It lives here, in the lowest crate that draws random numbers (the dropout masks of
//! [`McDropout`](crate::McDropout) on the CPU backends), so that every other crate can share
//! it: `gampen_data::seed` re-exports it and names each derivation of a run's seed.

/// SplitMix64's increment (2^64 / golden ratio).
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective mix of all 64 bits of `z`.
#[inline]
pub fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 mixing of `seed` and a stream `index`: `finalize(seed + (index + 1) * GOLDEN)`,
/// the `index`-th output of a SplitMix64 generator started at `seed`.
#[inline]
pub fn mix_seed(seed: u64, index: u64) -> u64 {
    finalize(seed.wrapping_add(GOLDEN.wrapping_mul(index.wrapping_add(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_generator() {
        // SplitMix64's first two outputs for state 0 (Vigna's reference implementation).
        assert_eq!(mix_seed(0, 0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix_seed(0, 1), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(mix_seed(u64::MAX, 0), finalize(GOLDEN.wrapping_sub(1)));
    }
}
