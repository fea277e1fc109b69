//! In-memory multi-band images and the policy for non-finite pixels.

use std::path::Path;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// A multi-band image, row-major `[bands, height, width]` in FITS storage order: row 0 is the
/// first row stored in the file (FITS `y = 1`, drawn at the bottom by DS9), column 0 is
/// FITS `x = 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Pixel values, `bands * height * width` of them, band-major then row-major.
    pub data: Vec<f32>,
    /// Number of bands (1 for a 2-D image, `NAXIS3` for a cube).
    pub bands: usize,
    /// Number of rows (`NAXIS2`).
    pub height: usize,
    /// Number of columns (`NAXIS1`).
    pub width: usize,
}

impl Image {
    /// Wraps `data` as a `[bands, height, width]` image.
    ///
    /// # Panics
    /// When `data.len() != bands * height * width` (a programming error).
    pub fn new(data: Vec<f32>, bands: usize, height: usize, width: usize) -> Self {
        assert_eq!(
            data.len(),
            bands * height * width,
            "image data length does not match {bands}x{height}x{width}"
        );
        Image {
            data,
            bands,
            height,
            width,
        }
    }

    /// An image of zeros.
    pub fn zeros(bands: usize, height: usize, width: usize) -> Self {
        Image::new(vec![0.0; bands * height * width], bands, height, width)
    }

    /// The pixel at `(band, row, col)`.
    pub fn get(&self, band: usize, row: usize, col: usize) -> f32 {
        self.data[(band * self.height + row) * self.width + col]
    }

    /// The pixels of one band, row-major `[height, width]`.
    pub fn band(&self, band: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.data[band * n..(band + 1) * n]
    }

    /// Copies the image into an `ndarray` array of shape `[bands, height, width]`.
    pub fn to_array3(&self) -> Array3<f32> {
        Array3::from_shape_vec((self.bands, self.height, self.width), self.data.clone())
            .expect("length checked at construction")
    }

    /// Builds an image from a `[bands, height, width]` array.
    pub fn from_array3(array: &Array3<f32>) -> Self {
        let (b, h, w) = array.dim();
        Image::new(array.iter().copied().collect(), b, h, w)
    }

    /// Sum of all pixels (in `f64`).
    pub fn sum(&self) -> f64 {
        self.data.iter().map(|&v| v as f64).sum()
    }

    /// Applies `policy` to NaN and infinite pixels and returns how many there were.
    ///
    /// `path` names the image in the error of [`NanPolicy::Error`].
    pub fn apply_nan_policy(&mut self, policy: NanPolicy, path: &Path) -> Result<usize, DataError> {
        let count = self.data.iter().filter(|v| !v.is_finite()).count();
        if count == 0 {
            return Ok(0);
        }
        match policy {
            NanPolicy::Error => {
                let first = self
                    .data
                    .iter()
                    .position(|v| !v.is_finite())
                    .expect("count > 0");
                let plane = self.height * self.width;
                Err(DataError::NonFinitePixels {
                    path: path.to_path_buf(),
                    count,
                    band: first / plane,
                    row: (first % plane) / self.width,
                    col: first % self.width,
                })
            }
            NanPolicy::Replace(value) => {
                self.data
                    .iter_mut()
                    .filter(|v| !v.is_finite())
                    .for_each(|v| *v = value);
                Ok(count)
            }
        }
    }
}

/// What to do with NaN and infinite pixels (masked or saturated pixels in survey cutouts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub enum NanPolicy {
    /// Fail with [`DataError::NonFinitePixels`], naming the file and the first bad pixel.
    #[default]
    Error,
    /// Replace each non-finite pixel with this value; the count is reported.
    Replace(f32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_policy_error_names_first_pixel() {
        let mut img = Image::new(vec![0.0, 1.0, f32::NAN, f32::INFINITY], 1, 2, 2);
        let err = img
            .apply_nan_policy(NanPolicy::Error, Path::new("a.fits"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("a.fits") && msg.contains("2 non-finite") && msg.contains("row 1"));
    }

    #[test]
    fn nan_policy_replace_counts() {
        let mut img = Image::new(vec![f32::NAN, 1.0, f32::NEG_INFINITY, 3.0], 1, 2, 2);
        let n = img
            .apply_nan_policy(NanPolicy::Replace(0.0), Path::new("a.fits"))
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(img.data, vec![0.0, 1.0, 0.0, 3.0]);
    }

    #[test]
    fn array_round_trip() {
        let img = Image::new((0..24).map(|v| v as f32).collect(), 2, 3, 4);
        assert_eq!(Image::from_array3(&img.to_array3()), img);
        assert_eq!(img.get(1, 2, 3), 23.0);
    }
}
