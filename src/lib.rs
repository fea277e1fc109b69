//! # gampen
//!
//! GaMPEN (Galaxy Morphology Posterior Estimation Network; Ghosh et al. 2022, ApJ 935, 138)
//! in pure Rust on [Burn](https://burn.dev): a spatial transformer that learns to crop each
//! galaxy, a VGG/GaMorNet backbone, a full-covariance Gaussian likelihood, and Monte-Carlo
//! dropout, so every galaxy gets a calibrated joint posterior over its structural parameters.
//!
//! The same model runs on `Device::flex()` / `Device::ndarray()` (CPU) and
//! `Device::wgpu(..)` (GPU).
//!
//! ```no_run
//! use burn::tensor::{Device, Tensor};
//! use gampen::{GampenConfig, PosteriorOptions, posterior::Identity};
//!
//! let device = Device::flex();
//! let config = GampenConfig::gampen_small(vec!["bt".into(), "r_e".into(), "flux".into()]);
//! let model = config.init(&device)?;
//! let images = Tensor::<4>::zeros([2, 1, 64, 64], &device);
//! let posteriors = model.predict_posterior(images, &PosteriorOptions::new(), &Identity)?;
//! println!("B/T = {:.3} +- {:.3}", posteriors[0].marginals[0].median, posteriors[0].marginals[0].std);
//! # Ok::<(), gampen::GampenError>(())
//! ```
//!
//! Crates underneath, usable on their own: [`gampen_stn`] (spatial transformer),
//! [`gampen_backbone`] (VGG, GaMorNet, MC dropout), [`gampen_loss`] (covariance NLL),
//! [`gampen_data`] (FITS, catalogs, splits, simulator).
//!
//! GaMPEN's published PyTorch models are imported with [`import`] (see `docs/import.md`).
#![warn(missing_docs)]

pub mod allocator;
mod anchor;
pub mod calibration;
pub mod checkpoint;
mod config;
pub mod data;
pub mod device;
mod error;
pub mod evaluate;
mod host;
pub mod import;
mod linalg;
mod model;
pub mod posterior;
pub mod precision;
pub mod predictor;
pub mod stability;
pub mod train;
pub mod tune;
pub mod workers;

pub use anchor::FluxAnchor;
pub use config::{BackboneSpec, GampenConfig, Preset, StnChoice};
pub use error::GampenError;
pub use model::{Backbone, Gampen};
pub use posterior::{GalaxyPosterior, PosteriorOptions};
pub use precision::Precision;
pub use predictor::{PredictOptions, Predictor};

pub use gampen_backbone;
pub use gampen_data;
/// Atomic file and directory output (re-exported from [`gampen_data::atomic`]).
pub use gampen_data::atomic;
pub use gampen_loss;
pub use gampen_stn;
