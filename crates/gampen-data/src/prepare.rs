//! Per-cutout preparation for a model: read one HDU, check size and bands, apply the NaN
//! policy and the arsinh normalisation, centre-crop (repeating a single band), and stack a
//! batch. The same steps as [`crate::GalaxyDataset`] at load time, without augmentation.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::DataError;
use crate::fits::{read_fits_hdu, HduSelect};
use crate::transform::image::{arsinh_normalize, crop_augment_into, Augment};
use crate::{DatasetOptions, Image, NanPolicy};

type Result<T> = std::result::Result<T, DataError>;

/// Name of the file, in a training run directory, holding the data options the model was
/// trained with (crop size, channels, arsinh, NaN policy, HDU, cutout directory).
pub const DATASET_JSON: &str = "dataset.json";

/// How cutouts are turned into model input.
#[derive(Clone, Debug)]
pub struct Preparation {
    /// Directory holding the cutouts.
    pub cutouts: PathBuf,
    /// Crop side, pixels.
    pub size: usize,
    /// Model channels.
    pub channels: usize,
    /// Apply the arsinh normalisation.
    pub arsinh: bool,
    /// Non-finite pixel policy.
    pub nan_policy: NanPolicy,
    /// HDU to read.
    pub hdu: HduSelect,
}

impl Preparation {
    /// The preparation a model was trained with: `dataset.json` of the run when there is one,
    /// else the library defaults (arsinh on, NaN pixels an error, first image HDU,
    /// `cutouts/`), always with the model's crop size and channels.
    pub fn for_model(
        data: &Path,
        options: Option<&DatasetOptions>,
        size: usize,
        channels: usize,
    ) -> Self {
        let defaults = DatasetOptions::default();
        let o = options.unwrap_or(&defaults);
        Preparation {
            cutouts: data.join(&o.cutouts_dir),
            size,
            channels,
            arsinh: o.arsinh,
            nan_policy: o.nan_policy,
            hdu: o.hdu.map_or(HduSelect::FirstImage, HduSelect::Index),
        }
    }

    /// Reads one cutout and checks it against the model input, naming the file on failure.
    pub fn read(&self, file_name: &str) -> Result<Image> {
        let path = self.cutouts.join(file_name);
        let (mut img, _) = read_fits_hdu(&path, self.hdu)?;
        if img.height < self.size || img.width < self.size {
            return Err(DataError::CutoutTooSmall {
                path,
                height: img.height,
                width: img.width,
                size: self.size,
            });
        }
        if img.bands != 1 && img.bands != self.channels {
            return Err(DataError::Channels {
                path,
                bands: img.bands,
                channels: self.channels,
            });
        }
        img.apply_nan_policy(self.nan_policy, &path)?;
        if self.arsinh {
            arsinh_normalize(&mut img.data);
        }
        Ok(img)
    }

    /// Reads, prepares and centre-crops the cutouts `file_names` into one batch.
    ///
    /// # Shapes
    /// - result: `[file_names.len(), channels, size, size]`
    pub fn batch(&self, file_names: &[&str], device: &Device) -> Result<Tensor<4>> {
        let (s, c) = (self.size, self.channels);
        let per = c * s * s;
        let mut buf = vec![0f32; file_names.len() * per];
        for (name, out) in file_names.iter().zip(buf.chunks_mut(per)) {
            let img = self.read(name)?;
            crop_augment_into(&img, s, c, &Augment::default(), out);
        }
        Ok(Tensor::from_data(
            TensorData::new(buf, [file_names.len(), c, s, s]),
            device,
        ))
    }
}
