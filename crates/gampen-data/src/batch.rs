//! Batches of Burn tensors from a [`GalaxyDataset`], with augmentation, and seeded epochs.

use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;

use crate::dataset::GalaxyDataset;
use crate::seed::Seed;
use crate::transform::image::{crop_augment_into, Augment};

/// One batch for the model.
#[derive(Debug, Clone)]
pub struct GalaxyBatch {
    /// Cropped, normalised (and augmented) cutouts.
    ///
    /// # Shapes
    /// `[B, C, S, S]`
    pub images: Tensor<4>,
    /// Transformed and scaled labels; `None` for an unlabelled dataset.
    ///
    /// # Shapes
    /// `[B, n_labels]`
    pub targets: Option<Tensor<2>>,
    /// Dataset indices of the rows, in batch order.
    pub index: Vec<usize>,
}

impl GalaxyDataset {
    /// Builds the batch of galaxies `indices`.
    ///
    /// With `augment = Some(rng)` each galaxy gets a random flip/rotation drawn from the
    /// dataset's [`crate::AugmentOptions`] (draws are sequential, the resampling is parallel,
    /// so a seeded `rng` gives the same batch on any number of threads); `None` gives the
    /// plain centre crop, for evaluation.
    ///
    /// # Shapes
    /// `images`: `[indices.len(), channels, cutout_size, cutout_size]`;
    /// `targets`: `[indices.len(), n_labels]`.
    ///
    /// # Panics
    /// When an index is out of range (a programming error).
    pub fn batch(
        &self,
        indices: &[usize],
        augment: Option<&mut dyn RngCore>,
        device: &Device,
    ) -> GalaxyBatch {
        let s = self.options.cutout_size;
        let c = self.options.channels;
        let augs: Vec<Augment> = match augment {
            Some(rng) => indices
                .iter()
                .map(|_| Augment::sample(&self.options.augment, rng))
                .collect(),
            None => vec![Augment::default(); indices.len()],
        };
        let mut buf = vec![0f32; indices.len() * c * s * s];
        if !buf.is_empty() {
            buf.par_chunks_mut(c * s * s)
                .zip(indices.par_iter().zip(augs.par_iter()))
                .for_each(|(out, (&i, aug))| {
                    crop_augment_into(&self.images[i], s, c, aug, out);
                });
        }
        let images = Tensor::<4>::from_data(TensorData::new(buf, [indices.len(), c, s, s]), device);
        let k = self.num_targets();
        let targets = (k > 0).then(|| {
            let t: Vec<f32> = indices
                .iter()
                .flat_map(|&i| self.targets(i).iter().copied())
                .collect();
            Tensor::<2>::from_data(TensorData::new(t, [indices.len(), k]), device)
        });
        GalaxyBatch {
            images,
            targets,
            index: indices.to_vec(),
        }
    }

    /// The indices of one epoch cut into batches of `batch_size` (the last may be smaller),
    /// shuffled with `seed` or in order with `None`.
    pub fn epoch_indices(&self, batch_size: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        if let Some(seed) = seed {
            order.shuffle(&mut StdRng::seed_from_u64(seed));
        }
        order
            .chunks(batch_size.max(1))
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Iterates over one epoch of batches. With `seed = Some(..)` the order is shuffled and
    /// every batch is augmented (training); with `None` the order is the dataset's and
    /// nothing is augmented (evaluation, prediction).
    pub fn epoch<'a>(
        &'a self,
        batch_size: usize,
        seed: Option<u64>,
        device: &'a Device,
    ) -> impl Iterator<Item = GalaxyBatch> + 'a {
        let mut rng = seed.map(|s| StdRng::seed_from_u64(Seed(s).epoch_augment()));
        self.epoch_indices(batch_size, seed)
            .into_iter()
            .map(move |idx| {
                let aug = rng.as_mut().map(|r| r as &mut dyn RngCore);
                self.batch(&idx, aug, device)
            })
    }
}
