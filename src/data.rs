//! What training and evaluation read: a set of galaxies that yields batches of images and
//! scaled targets.

use burn::tensor::{Device, Tensor, TensorData};
use gampen_data::seed::Seed;
use gampen_data::GalaxyDataset;
use rand::SeedableRng;

use crate::error::GampenError;

/// A set of galaxies the trainer can batch.
///
/// `gampen_data::GalaxyDataset` implements it for FITS directories and simulated data;
/// [`InMemorySet`] holds images already in memory.
pub trait GalaxySet: Sync {
    /// Number of galaxies.
    fn len(&self) -> usize;

    /// Whether the set is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of target parameters.
    fn num_params(&self) -> usize;

    /// Images and scaled targets of the galaxies at `indices`; `augment` seeds random flips
    /// and rotations (training), `None` means none (evaluation).
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]`
    /// - targets: `[B, n]`
    fn batch(
        &self,
        indices: &[usize],
        augment: Option<u64>,
        device: &Device,
    ) -> Result<(Tensor<4>, Tensor<2>), GampenError>;

    /// Scaled targets of galaxy `index`.
    fn targets(&self, index: usize) -> Vec<f64>;
}

/// Galaxies held in memory: images `[N, C, S, S]` and scaled targets `[N, n]`, row-major.
///
/// Augmentation applies random horizontal/vertical flips and 90-degree rotations, which leave
/// morphological parameters unchanged.
#[derive(Clone, Debug)]
pub struct InMemorySet {
    images: Vec<f32>,
    targets: Vec<f32>,
    dims: [usize; 3],
    n: usize,
}

impl InMemorySet {
    /// Wraps `images` (`len = N*C*S*S`) and `targets` (`len = N*n`).
    pub fn new(
        images: Vec<f32>,
        targets: Vec<f32>,
        channels: usize,
        size: usize,
        num_params: usize,
    ) -> Result<Self, GampenError> {
        let per = channels * size * size;
        if per == 0 || num_params == 0 || !images.len().is_multiple_of(per) {
            return Err(GampenError::Shape(format!(
                "{} image values are not a whole number of {channels}x{size}x{size} cutouts",
                images.len()
            )));
        }
        let count = images.len() / per;
        if targets.len() != count * num_params {
            return Err(GampenError::Shape(format!(
                "{} images but {} target values for {num_params} parameters",
                count,
                targets.len()
            )));
        }
        if let Some(i) = images.iter().position(|v| !v.is_finite()) {
            return Err(GampenError::Shape(format!(
                "non-finite pixel in image {} (value {})",
                i / per,
                images[i]
            )));
        }
        Ok(Self {
            images,
            targets,
            dims: [channels, size, size],
            n: num_params,
        })
    }

    /// A subset by indices (for train/devel/test splits).
    pub fn subset(&self, indices: &[usize]) -> Self {
        let per: usize = self.dims.iter().product();
        let mut images = Vec::with_capacity(indices.len() * per);
        let mut targets = Vec::with_capacity(indices.len() * self.n);
        for &i in indices {
            images.extend_from_slice(&self.images[i * per..(i + 1) * per]);
            targets.extend_from_slice(&self.targets[i * self.n..(i + 1) * self.n]);
        }
        Self {
            images,
            targets,
            dims: self.dims,
            n: self.n,
        }
    }
}

impl GalaxySet for InMemorySet {
    fn len(&self) -> usize {
        self.targets.len() / self.n
    }

    fn num_params(&self) -> usize {
        self.n
    }

    fn batch(
        &self,
        indices: &[usize],
        augment: Option<u64>,
        device: &Device,
    ) -> Result<(Tensor<4>, Tensor<2>), GampenError> {
        let [c, s, _] = self.dims;
        let per = c * s * s;
        let mut images = Vec::with_capacity(indices.len() * per);
        let mut targets = Vec::with_capacity(indices.len() * self.n);
        for (k, &i) in indices.iter().enumerate() {
            if i >= self.len() {
                return Err(GampenError::Shape(format!(
                    "index {i} out of range for {} galaxies",
                    self.len()
                )));
            }
            let src = &self.images[i * per..(i + 1) * per];
            match augment {
                None => images.extend_from_slice(src),
                Some(seed) => {
                    // A cheap per-sample hash: the augmentation of galaxy i in a batch depends
                    // only on (seed, position), so runs are reproducible.
                    let h = Seed(seed).sample_augment(k);
                    for ch in 0..c {
                        let band = &src[ch * s * s..(ch + 1) * s * s];
                        for y in 0..s {
                            for x in 0..s {
                                let (mut yy, mut xx) = (y, x);
                                if h & 1 == 1 {
                                    xx = s - 1 - xx;
                                }
                                if h & 2 == 2 {
                                    yy = s - 1 - yy;
                                }
                                if h & 4 == 4 {
                                    std::mem::swap(&mut yy, &mut xx);
                                }
                                images.push(band[yy * s + xx]);
                            }
                        }
                    }
                }
            }
            targets.extend_from_slice(&self.targets[i * self.n..(i + 1) * self.n]);
        }
        let b = indices.len();
        Ok((
            Tensor::from_data(TensorData::new(images, [b, c, s, s]), device),
            Tensor::from_data(TensorData::new(targets, [b, self.n]), device),
        ))
    }

    fn targets(&self, index: usize) -> Vec<f64> {
        self.targets[index * self.n..(index + 1) * self.n]
            .iter()
            .map(|&v| v as f64)
            .collect()
    }
}

impl GalaxySet for gampen_data::GalaxyDataset {
    fn len(&self) -> usize {
        GalaxyDataset::len(self)
    }

    fn num_params(&self) -> usize {
        self.num_targets()
    }

    fn batch(
        &self,
        indices: &[usize],
        augment: Option<u64>,
        device: &Device,
    ) -> Result<(Tensor<4>, Tensor<2>), GampenError> {
        if let Some(&i) = indices.iter().find(|&&i| i >= GalaxyDataset::len(self)) {
            return Err(GampenError::Shape(format!(
                "index {i} out of range for {} galaxies",
                GalaxyDataset::len(self)
            )));
        }
        let mut rng = augment.map(rand::rngs::StdRng::seed_from_u64);
        let batch = GalaxyDataset::batch(
            self,
            indices,
            rng.as_mut().map(|r| r as &mut dyn rand::RngCore),
            device,
        );
        let targets = batch.targets.ok_or_else(|| {
            GampenError::Config(format!(
                "the catalog of {} has no label columns to train on",
                self.dir().display()
            ))
        })?;
        Ok((batch.images, targets))
    }

    fn targets(&self, index: usize) -> Vec<f64> {
        GalaxyDataset::targets(self, index)
            .iter()
            .map(|&v| v as f64)
            .collect()
    }
}
