//! Differentiable spatial transformer (Jaderberg et al. 2015) as used by GaMPEN
//! (Ghosh et al. 2022): a localisation network predicts an affine transform per image and the
//! image is resampled through it, so the network learns to crop and zoom galaxy cutouts.
//!
//! - [`affine_sample`] / [`affine_grid`]: PyTorch's `affine_grid` + `grid_sample`
//!   (`align_corners=True`, bilinear, zero padding), differentiable in image and transform.
//! - [`StnHead`]: scale-only (GaMPEN's default), scale + translation, or full affine.
//! - [`LocalisationNet`]: GaMPEN's conv/pool/linear localisation network.
//! - [`SpatialTransformer`]: the two together, starting as the identity transform.
#![warn(missing_docs)]

mod error;
mod grid;
mod head;
mod localisation;
mod transformer;

#[cfg(test)]
mod testutil;

pub use error::StnError;
pub use grid::{affine_grid, affine_sample};
pub use head::StnHead;
pub use localisation::{LocalisationNet, LocalisationNetConfig};
pub use transformer::{SpatialTransformer, SpatialTransformerConfig};
