//! Backbones for GaMPEN (Ghosh et al. 2022): the VGG family with GaMPEN's dropout before
//! every convolution but the first, and GaMorNet (Ghosh et al. 2020), both with dropout that
//! stays switchable at inference for Monte-Carlo sampling.
//!
//! - [`McDropout`]: dropout active on autodiff devices (training) or when MC mode is on.
//! - [`Vgg`] / [`VggConfig`]: torchvision's VGG-11/13/16/19 (optionally `_bn`), width
//!   multiplier, configurable classifier.
//! - [`GamorNet`] / [`GamorNetConfig`]: AlexNet-like, with [`Lrn`].
//!
//! Both networks split into a deterministic [`stem`](Vgg::stem) and the stochastic rest
//! ([`forward_from_stem`](Vgg::forward_from_stem)) so Monte-Carlo inference computes the
//! stem once per image.
#![warn(missing_docs)]

mod dropout;
mod error;
mod gamornet;
mod lrn;
mod mask;
mod precision;
pub mod splitmix;
mod vgg;

#[cfg(test)]
mod testutil;

pub use dropout::{McDropout, McDropoutConfig};
pub use error::BackboneError;
pub use gamornet::{GamorNet, GamorNetConfig};
pub use lrn::{Lrn, LrnConfig};
pub use mask::is_cpu;
pub use vgg::{Vgg, VggBlock, VggConfig, VggVariant};
