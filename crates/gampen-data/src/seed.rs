//! Seeds: every random stream of a run (simulated galaxies, epoch shuffles, augmentation,
//! dropout masks) derives from one user seed through SplitMix64, so a run is reproducible and
//! a resumed run draws what an uninterrupted one would.
//!
//! The derivations are named here, in one place, because their exact values are part of the
//! reproducibility contract: changing one changes every trained model and simulated set.

/// SplitMix64's increment and mixing function, shared with the dropout masks of
/// `gampen-backbone` (the lowest crate that draws random numbers, where they are defined).
pub use gampen_backbone::splitmix::{mix_seed, GOLDEN};

/// A run's seed and the seeds derived from it.
///
/// ```
/// use gampen_data::seed::Seed;
/// let seed = Seed(7);
/// assert_ne!(seed.epoch_shuffle(1), seed.epoch_shuffle(2));
/// assert_eq!(seed.item(3), gampen_data::seed::mix_seed(7, 3));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Seed(pub u64);

impl Seed {
    /// Seed of item `index` (a simulated galaxy): items are independent of each other and of
    /// how many are drawn.
    pub fn item(self, index: u64) -> u64 {
        mix_seed(self.0, index)
    }

    /// Seed of the device's generator (dropout masks) for `epoch` (1-based).
    pub fn epoch_dropout(self, epoch: usize) -> u64 {
        mix_seed(self.0 ^ ((epoch as u64) << 32), 0)
    }

    /// Seed of the shuffle of the training set in `epoch` (1-based).
    pub fn epoch_shuffle(self, epoch: usize) -> u64 {
        mix_seed(self.0.wrapping_add(epoch as u64), 0)
    }

    /// Seed of the augmentation of batch `batch` (0-based) of `epoch` (1-based).
    pub fn batch_augment(self, epoch: usize, batch: usize) -> u64 {
        mix_seed(self.0 ^ ((epoch as u64) << 40) ^ batch as u64, 0)
    }

    /// Random bits of the galaxy at `position` in a batch whose augmentation seed is `self`
    /// (see [`batch_augment`](Self::batch_augment)).
    pub fn sample_augment(self, position: usize) -> u64 {
        mix_seed(self.0 ^ (position as u64).wrapping_mul(GOLDEN), 0)
    }

    /// Seed of the prediction batch whose first galaxy is catalog row `first_row` (0-based).
    pub fn predict_batch(self, first_row: usize) -> u64 {
        self.0 ^ (first_row as u64).wrapping_mul(GOLDEN)
    }

    /// Seed of standard split size `k` (0-based, in `splits::STANDARD_SPLITS` order).
    pub fn split_size(self, k: usize) -> u64 {
        self.0.wrapping_add(GOLDEN.wrapping_mul(k as u64 + 1))
    }

    /// Seed of the augmentation generator of an epoch whose shuffle seed is `self`
    /// (`GalaxyDataset::epoch`).
    pub fn epoch_augment(self) -> u64 {
        self.0 ^ 0xA5A5_5A5A_0F0F_F0F0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values before the derivations moved here: a change would change every run.
    #[test]
    fn derivations_keep_their_values() {
        let s = Seed(12345);
        assert_eq!(s.item(3), mix_seed(12345, 3));
        assert_eq!(s.epoch_dropout(4), mix_seed(12345 ^ (4u64 << 32), 0));
        assert_eq!(s.epoch_shuffle(4), mix_seed(12345 + 4, 0));
        assert_eq!(s.batch_augment(4, 9), mix_seed(12345 ^ (4u64 << 40) ^ 9, 0));
        assert_eq!(
            s.sample_augment(5),
            mix_seed(12345 ^ 5u64.wrapping_mul(GOLDEN), 0)
        );
        // The same values as numbers, so that a change to mix_seed shows here too.
        assert_eq!(s.item(3), 0x2D16_0E7E_5C3F_42CA);
        assert_eq!(s.epoch_dropout(4), 0x2CCB_3F67_6829_D79D);
        assert_eq!(s.epoch_shuffle(4), 0x2916_E63F_42E6_25AF);
        assert_eq!(s.batch_augment(4, 9), 0x094C_31F9_EDC5_26A5);
        assert_eq!(s.sample_augment(5), 0xC53E_2467_7FC4_0A8D);
        // The derivations that were written out by hand where they were used, pinned as
        // numbers (computed with the old expressions).
        assert_eq!(s.split_size(3), 0x78DD_E6E5_FD2A_208D);
        assert_eq!(s.epoch_augment(), 0xA5A5_5A5A_0F0F_C0C9);
        assert_eq!(s.predict_batch(40), 0xB8AB_04FB_E3A3_5371);
        // SplitMix64's first output for state 0 (Vigna's reference implementation).
        assert_eq!(mix_seed(0, 0), 0xE220_A839_7B1D_CDAF);
        // A seed near u64::MAX wraps instead of overflowing.
        let _ = Seed(u64::MAX).epoch_shuffle(3);
    }
}
