//! Per-cutout preparation for a model: read one HDU, check size and bands, apply the NaN
//! policy and the arsinh normalisation, centre-crop (repeating a single band), and stack a
//! batch. [`crate::GalaxyDataset`] prepares its cutouts with the same
//! [`Preprocessing::prepare`], so training and prediction cannot drift apart.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::atomic::read_json;
use crate::error::DataError;
use crate::fits::{read_fits_hdu, HduSelect};
use crate::transform::image::{arsinh_normalize, crop_augment_into, Augment};
use crate::transform::sky::{check_softening, gampen_softening};
use crate::{DatasetOptions, Image, NanPolicy};

type Result<T> = std::result::Result<T, DataError>;

/// Name of the file, in a training run directory, holding the data options the model was
/// trained with (crop size, channels, arsinh, NaN policy, HDU, cutout directory). Newer
/// checkpoints carry [`PREPROCESSING_JSON`] instead.
pub const DATASET_JSON: &str = "dataset.json";

/// Name of the file, in a checkpoint directory, holding its [`Preprocessing`].
pub const PREPROCESSING_JSON: &str = "preprocessing.json";

/// How a cutout file becomes model input: the part of [`DatasetOptions`] a trained model
/// depends on. Saved with every checkpoint (`preprocessing.json`) so that prediction reads
/// cutouts exactly as training did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// Side of the centre crop fed to the model, pixels.
    pub cutout_size: usize,
    /// Model channels; one-band cutouts are repeated.
    pub channels: usize,
    /// Apply `x -> asinh(x / arsinh_softening)` to the pixels.
    pub arsinh: bool,
    /// The softening `b` of the arsinh, in the cutouts' pixel units (GaMPEN: 1; see
    /// [`arsinh_normalize`]). Checkpoints from before it existed read as 1.
    #[serde(default = "gampen_softening")]
    pub arsinh_softening: f64,
    /// What to do with NaN and infinite pixels.
    pub nan_policy: NanPolicy,
    /// HDU to read (`None`: the first image HDU).
    #[serde(default)]
    pub hdu: Option<usize>,
    /// Directory of the cutouts, relative to a data directory.
    pub cutouts_dir: String,
}

impl Preprocessing {
    /// The library defaults (arsinh on, NaN pixels an error, first image HDU, `cutouts/`)
    /// for a model taking `cutout_size` x `cutout_size` crops with `channels` channels.
    pub fn new(cutout_size: usize, channels: usize) -> Self {
        Self::from_options(&DatasetOptions {
            cutout_size,
            channels,
            ..Default::default()
        })
    }

    /// The preprocessing part of dataset options.
    pub fn from_options(options: &DatasetOptions) -> Self {
        Preprocessing {
            cutout_size: options.cutout_size,
            channels: options.channels,
            arsinh: options.arsinh,
            arsinh_softening: options.arsinh_softening,
            nan_policy: options.nan_policy,
            hdu: options.hdu,
            cutouts_dir: options.cutouts_dir.clone(),
        }
    }

    /// Reads a `preprocessing.json`, naming the file on failure.
    pub fn read_json(path: &Path) -> Result<Self> {
        let p: Self = read_json(path)?;
        p.check()
            .map_err(|e| DataError::input(path, e.to_string()))?;
        Ok(p)
    }

    /// The preprocessing of a training run's `dataset.json` ([`DATASET_JSON`]).
    pub fn read_dataset_json(path: &Path) -> Result<Self> {
        let options: DatasetOptions = read_json(path)?;
        Ok(Self::from_options(&options))
    }

    /// This preprocessing as pretty JSON, as saved in a checkpoint.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises")
    }

    /// Refuses a zero crop size or channel count, and a softening that is not a positive
    /// finite number.
    pub fn check(&self) -> Result<()> {
        if self.cutout_size == 0 || self.channels == 0 {
            return Err(DataError::Config(
                "cutout_size and channels must be positive".into(),
            ));
        }
        check_softening(self.arsinh_softening)
    }

    /// The HDU selection of [`Preprocessing::hdu`].
    pub fn hdu_select(&self) -> HduSelect {
        self.hdu.map_or(HduSelect::FirstImage, HduSelect::Index)
    }

    /// Checks a cutout read from `path` against the model input, applies the NaN policy,
    /// keeps the part a rotated crop can reach and normalises it. Returns the image and the
    /// number of non-finite pixels replaced.
    pub fn prepare(&self, mut img: Image, path: &Path) -> Result<(Image, usize)> {
        let s = self.cutout_size;
        if img.height < s || img.width < s {
            return Err(DataError::CutoutTooSmall {
                path: path.to_path_buf(),
                height: img.height,
                width: img.width,
                size: s,
            });
        }
        if img.bands != 1 && img.bands != self.channels {
            return Err(DataError::Channels {
                path: path.to_path_buf(),
                bands: img.bands,
                channels: self.channels,
            });
        }
        let replaced = img.apply_nan_policy(self.nan_policy, path)?;
        let mut img = shrink_for_rotation(img, s);
        if self.arsinh {
            arsinh_normalize(&mut img.data, self.arsinh_softening as f32);
        }
        Ok((img, replaced))
    }

    /// Centre-crops prepared images into one batch.
    ///
    /// # Shapes
    /// - result: `[images.len(), channels, cutout_size, cutout_size]`
    pub fn stack(&self, images: &[Image], device: &Device) -> Tensor<4> {
        let (s, c) = (self.cutout_size, self.channels);
        let per = c * s * s;
        let mut buf = vec![0f32; images.len() * per];
        for (img, out) in images.iter().zip(buf.chunks_mut(per)) {
            crop_augment_into(img, s, c, &Augment::default(), out);
        }
        Tensor::from_data(TensorData::new(buf, [images.len(), c, s, s]), device)
    }
}

impl From<&DatasetOptions> for Preprocessing {
    fn from(options: &DatasetOptions) -> Self {
        Self::from_options(options)
    }
}

/// Cutout files of one data directory prepared for a model.
#[derive(Clone, Debug)]
pub struct Preparation {
    /// Directory holding the cutouts.
    pub cutouts: PathBuf,
    /// How each cutout is prepared.
    pub preprocessing: Preprocessing,
}

impl Preparation {
    /// Cutouts of the data directory `data` (under its `preprocessing.cutouts_dir`).
    pub fn new(data: &Path, preprocessing: &Preprocessing) -> Self {
        Preparation {
            cutouts: data.join(&preprocessing.cutouts_dir),
            preprocessing: preprocessing.clone(),
        }
    }

    /// The preparation a model was trained with: the run's dataset options when given, else
    /// the library defaults, always with the model's crop size and channels.
    pub fn for_model(
        data: &Path,
        options: Option<&DatasetOptions>,
        size: usize,
        channels: usize,
    ) -> Self {
        let defaults = DatasetOptions::default();
        let mut p = Preprocessing::from_options(options.unwrap_or(&defaults));
        p.cutout_size = size;
        p.channels = channels;
        Self::new(data, &p)
    }

    /// Reads and prepares one cutout, naming the file on failure.
    pub fn read(&self, file_name: &str) -> Result<Image> {
        let path = self.cutouts.join(file_name);
        let (img, _) = read_fits_hdu(&path, self.preprocessing.hdu_select())?;
        Ok(self.preprocessing.prepare(img, &path)?.0)
    }

    /// Reads, prepares and centre-crops the cutouts `file_names` into one batch.
    ///
    /// # Shapes
    /// - result: `[file_names.len(), channels, cutout_size, cutout_size]`
    pub fn batch(&self, file_names: &[&str], device: &Device) -> Result<Tensor<4>> {
        let images = file_names
            .iter()
            .map(|name| self.read(name))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.preprocessing.stack(&images, device))
    }
}

/// Keeps the central part of a large cutout that a rotation of the `s x s` crop can reach
/// (side `ceil(s sqrt 2) + 2`, same parity offset so that the centre crop is unchanged).
fn shrink_for_rotation(img: Image, s: usize) -> Image {
    let keep = |dim: usize| {
        let mut t = ((s as f64 * std::f64::consts::SQRT_2).ceil() as usize + 2).min(dim);
        if (dim - t) % 2 == 1 {
            t += 1;
        }
        t.min(dim)
    };
    let (th, tw) = (keep(img.height), keep(img.width));
    if th == img.height && tw == img.width {
        return img;
    }
    let (top, left) = ((img.height - th) / 2, (img.width - tw) / 2);
    let mut data = Vec::with_capacity(img.bands * th * tw);
    for b in 0..img.bands {
        let band = img.band(b);
        for r in top..top + th {
            data.extend_from_slice(&band[r * img.width + left..r * img.width + left + tw]);
        }
    }
    Image::new(data, img.bands, th, tw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_keeps_centre_crop() {
        let img = Image::new((0..101 * 90).map(|v| v as f32).collect(), 1, 101, 90);
        let small = shrink_for_rotation(img.clone(), 20);
        assert!(small.height < 101 && small.width < 90);
        let (t0, l0) = ((101 - 20) / 2, (90 - 20) / 2);
        let (t1, l1) = ((small.height - 20) / 2, (small.width - 20) / 2);
        for i in 0..20 {
            for j in 0..20 {
                assert_eq!(img.get(0, t0 + i, l0 + j), small.get(0, t1 + i, l1 + j));
            }
        }
    }

    #[test]
    fn preprocessing_json_round_trips_and_rejects_unknown_fields() {
        let mut p = Preprocessing::new(40, 1);
        p.nan_policy = NanPolicy::Replace(0.5);
        p.hdu = Some(1);
        let back: Preprocessing = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(back, p);
        let extra = p.to_json().replacen('{', "{\"rotate\": true,", 1);
        assert!(serde_json::from_str::<Preprocessing>(&extra).is_err());
    }

    #[test]
    fn softening_defaults_to_gampen_and_must_be_positive() {
        let mut json: serde_json::Value =
            serde_json::from_str(&Preprocessing::new(40, 1).to_json()).unwrap();
        json.as_object_mut().unwrap().remove("arsinh_softening");
        let old: Preprocessing = serde_json::from_value(json).unwrap();
        assert_eq!(old.arsinh_softening, 1.0);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let p = Preprocessing {
                arsinh_softening: bad,
                ..old.clone()
            };
            assert!(p
                .check()
                .unwrap_err()
                .to_string()
                .contains("arsinh_softening"));
        }
    }

    #[test]
    fn prepare_checks_size_bands_and_nan_policy() {
        let p = Preprocessing::new(2, 3);
        let path = Path::new("g.fits");
        let small = Image::zeros(1, 1, 4);
        assert!(p
            .prepare(small, path)
            .unwrap_err()
            .to_string()
            .contains("g.fits"));
        let two_bands = Image::zeros(2, 2, 2);
        assert!(matches!(
            p.prepare(two_bands, path),
            Err(DataError::Channels { .. })
        ));
        let nan = Image::new(vec![1.0, f32::NAN, 0.0, 0.0], 1, 2, 2);
        assert!(p.prepare(nan.clone(), path).is_err());
        let replace = Preprocessing {
            nan_policy: NanPolicy::Replace(0.0),
            ..p
        };
        let (img, replaced) = replace.prepare(nan, path).unwrap();
        assert_eq!(replaced, 1);
        assert_eq!(img.data, vec![1f32.asinh(), 0.0, 0.0, 0.0]);
    }
}
