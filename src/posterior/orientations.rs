//! Test-time augmentation of the posterior: the Monte-Carlo passes spread over the symmetries
//! of the square.
//!
//! A galaxy's B/T, size and flux do not change when its image is flipped or turned by a
//! quarter, and a network trained with those augmentations (`--augment dihedral`) has seen
//! them all; but it is not exactly invariant, so each orientation errs a little differently.
//! Spreading the passes over the eight orientations averages that error out at no extra
//! cost: the posterior becomes the mixture of the eight orientations' Monte-Carlo posteriors,
//! which is the right posterior for a network that does not know which way up the galaxy is.
//! Only the deterministic prefix runs once per orientation instead of once.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Which orientations of each cutout the Monte-Carlo passes see.
///
/// On a command line (the `clap` feature): `one` or `dihedral`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Orientations {
    /// The cutout as it is (GaMPEN's).
    #[default]
    One,
    /// The eight flips and quarter turns, exact (no interpolation); pass `p` sees
    /// orientation `p % 8`.
    Dihedral,
}

impl Orientations {
    /// Whether this is [`Orientations::One`] (serde's `skip_serializing_if`).
    pub fn is_one(&self) -> bool {
        *self == Self::One
    }

    /// How many orientations there are.
    pub fn count(self) -> usize {
        match self {
            Self::One => 1,
            Self::Dihedral => 8,
        }
    }

    /// The passes orientation `k` gets out of `passes`: as even a share as there is, the
    /// first ones taking the remainder.
    pub fn passes(self, k: usize, passes: usize) -> usize {
        let n = self.count();
        passes / n + usize::from(k < passes % n)
    }

    /// Orientation `k` (`0..count()`) of `images`: bit 0 flips the columns, bit 1 the rows,
    /// bit 2 transposes first; 0 is the identity.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> `[B, C, S, S]`
    pub fn apply(self, images: Tensor<4>, k: usize) -> Tensor<4> {
        let mut x = images;
        if k & 4 != 0 {
            x = x.swap_dims(2, 3);
        }
        match k & 3 {
            0 => x,
            1 => x.flip([3]),
            2 => x.flip([2]),
            _ => x.flip([2, 3]),
        }
    }
}

impl std::fmt::Display for Orientations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::One => "one",
            Self::Dihedral => "dihedral",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn the_eight_orientations_are_distinct_and_keep_every_pixel() {
        let device = Device::flex();
        let px: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let img = Tensor::<4>::from_data(TensorData::new(px, [1, 1, 3, 3]), &device);
        let mut seen: Vec<Vec<f32>> = Vec::new();
        for k in 0..Orientations::Dihedral.count() {
            let mut v = gampen_testing::to_vec(Orientations::Dihedral.apply(img.clone(), k));
            assert!(!seen.contains(&v), "orientation {k} repeats: {v:?}");
            seen.push(v.clone());
            v.sort_by(f32::total_cmp);
            assert_eq!(v, (0..9).map(|v| v as f32).collect::<Vec<_>>());
        }
        // The identity first, and a quarter turn among them: column-flipped transpose.
        assert_eq!(seen[0], (0..9).map(|v| v as f32).collect::<Vec<_>>());
        assert_eq!(seen[5], vec![6.0, 3.0, 0.0, 7.0, 4.0, 1.0, 8.0, 5.0, 2.0]);
    }

    #[test]
    fn passes_are_shared_out_evenly() {
        let d = Orientations::Dihedral;
        let shares: Vec<usize> = (0..8).map(|k| d.passes(k, 100)).collect();
        assert_eq!(shares, vec![13, 13, 13, 13, 12, 12, 12, 12]);
        assert_eq!((0..8).map(|k| d.passes(k, 3)).sum::<usize>(), 3);
        assert_eq!(Orientations::One.passes(0, 7), 7);
    }
}
