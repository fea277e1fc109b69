//! The spatial transformer's crops: what the backbone of a model sees of each galaxy.

use std::path::Path;

use burn::tensor::Tensor;
use gampen_data::fits::HeaderCard;
use gampen_data::{write_fits, Image};

use super::Predictor;
use crate::error::GampenError;
use crate::host::to_f32_vec;
use crate::model::Gampen;

/// One galaxy through the spatial transformer.
#[derive(Clone, Debug, PartialEq)]
pub struct StnCrop {
    /// The affine transform, row-major `[[a, b, tx], [c, d, ty]]`.
    pub theta: [f32; 6],
    /// The prepared model input, `channels x size x size`.
    pub input: Image,
    /// The transformer's output, `channels x size x size`.
    pub crop: Image,
}

impl StnCrop {
    /// Writes the crop as a FITS file with its transform in the header (`STN_A`, `STN_B`,
    /// `STN_TX`, `STN_C`, `STN_D`, `STN_TY`) and `name` as `OBJECT`.
    pub fn write_fits(&self, path: &Path, name: &str) -> Result<(), GampenError> {
        let t = self.theta.map(f64::from);
        let cards = [
            HeaderCard::text("OBJECT", name, "gampen crop: STN output"),
            HeaderCard::real("STN_A", t[0], "theta[0,0]"),
            HeaderCard::real("STN_B", t[1], "theta[0,1]"),
            HeaderCard::real("STN_TX", t[2], "theta[0,2]"),
            HeaderCard::real("STN_C", t[3], "theta[1,0]"),
            HeaderCard::real("STN_D", t[4], "theta[1,1]"),
            HeaderCard::real("STN_TY", t[5], "theta[1,2]"),
        ];
        Ok(write_fits(path, &self.crop, &cards)?)
    }
}

impl Predictor {
    /// The spatial transformer's crops of a batch of prepared images ([`stn_crops`] of this
    /// predictor's model).
    ///
    /// # Shapes
    /// - images: `[B, channels, cutout_size, cutout_size]`
    /// - result: `B` crops
    pub fn stn_crops(&self, images: Tensor<4>) -> Result<Vec<StnCrop>, GampenError> {
        stn_crops(self.model(), images)
    }
}

/// The spatial transformer's crops by `model` of a batch of prepared images.
///
/// # Shapes
/// - images: `[B, channels, cutout_size, cutout_size]`
/// - result: `B` crops
pub fn stn_crops(model: &Gampen, images: Tensor<4>) -> Result<Vec<StnCrop>, GampenError> {
    let [b, c, s, _] = images.dims();
    let theta = to_f32_vec(model.theta(images.clone()))?;
    let cropped = to_f32_vec(model.transform(images.clone()))?;
    let input = to_f32_vec(images)?;
    let per = c * s * s;
    Ok((0..b)
        .map(|k| StnCrop {
            theta: std::array::from_fn(|i| theta[k * 6 + i]),
            input: Image::new(input[k * per..(k + 1) * per].to_vec(), c, s, s),
            crop: Image::new(cropped[k * per..(k + 1) * per].to_vec(), c, s, s),
        })
        .collect())
}
