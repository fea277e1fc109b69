//! Dropout masks drawn on the host, in parallel, for the CPU backends.
//!
//! Burn 0.22's CPU backends implement `random_like(Bernoulli)` with `TensorData::random`, which
//! builds a `rand` sampler and draws from ChaCha for every element, on one thread: profiled,
//! that was 17 % of a Monte-Carlo-dropout posterior on flex (more than every convolution but
//! the matrix products). Here the mask comes from a counter-based generator instead
//! (SplitMix64, [`crate::splitmix`], over the index of the element's pair), filled by rayon in
//! chunks, and holds the inverted-dropout scale `1 / keep` directly, so applying it is one
//! multiplication.
//!
//! The seed is drawn from the device's own generator, so `Device::seed` still makes runs
//! reproducible, and the mask of an element depends only on the seed and its index, not on the
//! number of threads. GPU devices keep Burn's on-device sampling: copying a mask to the GPU
//! would cost more than drawing it there.

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use rayon::prelude::*;

use crate::splitmix::{finalize, mix_seed};

/// Elements per rayon task: large enough to amortise scheduling, small enough to balance.
const CHUNK: usize = 1 << 15;

/// Whether `device` is a CPU backend (flex or ndarray, with or without autodiff): masks for
/// it are better drawn on the host, and `gampen`'s posterior batching sizes its rows for caches.
#[allow(deprecated)] // `Device::ndarray` is deprecated in Burn 0.22 but still supported here
pub fn is_cpu(device: &Device) -> bool {
    let base = device.clone().without_autodiff();
    #[cfg(feature = "flex")]
    if base == Device::flex() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    if base == Device::ndarray() {
        return true;
    }
    let _ = base;
    false
}

/// A 64-bit seed from the device's generator (four 24-bit uniform draws, mixed).
fn seed_from(device: &Device) -> u64 {
    let draws = Tensor::<1>::random([4], Distribution::Default, device).into_data();
    let draws = draws
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("a float tensor converts to f32");
    draws.iter().fold(0u64, |h, &u| {
        // Uniform f32 draws in [0, 1) carry 24 random bits.
        finalize(h ^ ((u * 16_777_216.0) as u64))
    })
}

/// Fills `out` with `scale` where the element is kept (probability `keep`) and 0 elsewhere.
fn fill(out: &mut [f32], keep: f64, scale: f32, seed: u64) {
    // Kept when a 32-bit draw falls below keep * 2^32 (exact to 2^-32 in probability). One
    // SplitMix64 output gives the draws of two neighbours (its high and low halves): the
    // generator is most of the mask's cost, and this halves it.
    let threshold = (keep * 4_294_967_296.0) as u64;
    const _: () = assert!(
        CHUNK.is_multiple_of(2),
        "a pair of draws must not straddle two chunks"
    );
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, values)| {
            let start = (chunk * CHUNK / 2) as u64;
            for (j, pair) in values.chunks_mut(2).enumerate() {
                let bits = mix_seed(seed, start + j as u64);
                for (v, draw) in pair.iter_mut().zip([bits >> 32, bits & 0xFFFF_FFFF]) {
                    *v = if draw < threshold { scale } else { 0.0 };
                }
            }
        });
}

/// The scaled inverted-dropout mask for `x`, `1 / keep` on kept elements and 0 on dropped
/// ones, drawn on the host; `None` where the device or dtype is better served by Burn's own
/// sampling (GPUs, non-f32 tensors).
///
/// # Shapes
/// - `x`: any shape; the mask has the same shape and device.
pub(crate) fn host_mask<const D: usize>(x: &Tensor<D>, keep: f64) -> Option<Tensor<D>> {
    let device = x.device();
    if x.dtype() != DType::F32 || !is_cpu(&device) {
        return None;
    }
    let shape = x.shape();
    let mut mask = vec![0.0f32; shape.num_elements()];
    fill(&mut mask, keep, (1.0 / keep) as f32, seed_from(&device));
    Some(Tensor::from_data(TensorData::new(mask, shape), &device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_fraction_and_scale() {
        for keep in [0.98, 0.75, 0.5, 0.1] {
            let mut out = vec![0.0f32; 200_000];
            fill(&mut out, keep, (1.0 / keep) as f32, 7);
            let kept = out.iter().filter(|v| **v != 0.0).count() as f64 / out.len() as f64;
            // 5 binomial standard deviations.
            let tol = 5.0 * (keep * (1.0 - keep) / out.len() as f64).sqrt();
            assert!((kept - keep).abs() < tol, "keep {keep}: kept {kept}");
            assert!(out
                .iter()
                .all(|v| *v == 0.0 || (*v - 1.0 / keep as f32).abs() < 1e-6));
            // Scaled mask has mean 1: expectations match the deterministic pass.
            let mean = out.iter().map(|v| *v as f64).sum::<f64>() / out.len() as f64;
            assert!(
                (mean - 1.0).abs() < 5.0 * tol / keep,
                "keep {keep}: mean {mean}"
            );
        }
    }

    #[test]
    fn masks_depend_on_seed_and_index_only() {
        let mut a = vec![0.0f32; 3 * CHUNK + 17];
        let mut b = vec![0.0f32; 3 * CHUNK + 17];
        fill(&mut a, 0.5, 2.0, 42);
        // A single-threaded pool splits the work differently; the mask must not change.
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool")
            .install(|| fill(&mut b, 0.5, 2.0, 42));
        assert_eq!(a, b);
        fill(&mut b, 0.5, 2.0, 43);
        assert_ne!(a, b);
    }

    #[test]
    fn neighbouring_elements_are_independent() {
        // Pairs (i, i + 1) and chunk boundaries: the joint keep rate is keep^2.
        let keep = 0.5;
        let mut out = vec![0.0f32; 4 * CHUNK];
        fill(&mut out, keep, 2.0, 3);
        let both = out
            .windows(2)
            .filter(|w| w[0] != 0.0 && w[1] != 0.0)
            .count() as f64
            / (out.len() - 1) as f64;
        assert!((both - 0.25).abs() < 0.01, "joint keep rate {both}");
    }

    /// The masks as specified, with SplitMix64 restated inline, so that a change to
    /// `splitmix` or to the draw layout cannot silently change every posterior. (Deliberately
    /// changed on 2026-12-06: each output now serves two neighbouring elements, high half
    /// first; before, one output per element, high half only.)
    #[test]
    fn masks_keep_their_values() {
        fn old_mix(mut z: u64) -> u64 {
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        let (seed, keep) = (0xDEAD_BEEF_u64, 0.6);
        let threshold = (keep * 4_294_967_296.0) as u64;
        let mut out = vec![0.0f32; CHUNK + 33];
        fill(&mut out, keep, 2.5, seed);
        for (i, v) in out.iter().enumerate() {
            let pair = (i / 2) as u64;
            let bits = old_mix(seed.wrapping_add((pair + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            let draw = if i % 2 == 0 {
                bits >> 32
            } else {
                bits & 0xFFFF_FFFF
            };
            let expected = if draw < threshold { 2.5 } else { 0.0 };
            assert_eq!(*v, expected, "element {i}");
        }
        assert_eq!(finalize(12345), old_mix(12345));
    }
}
