//! Likelihoods for GaMPEN-style regression heads: full-covariance Gaussian NLL (Cholesky or
//! GaMPEN's LDL layout), diagonal Gaussian NLL and MSE, plus the predicted Gaussians for
//! sampling.
//!
//! | piece | file |
//! |---|---|
//! | [`LossKind`], [`CovarianceParam`], [`num_outputs`], [`GaussianLossConfig`] | `config.rs` |
//! | [`GaussianLoss`], the entry point | `loss.rs` |
//! | Cholesky layout and NLL ([`cholesky::CholeskyFactor`]) | `cholesky.rs` |
//! | GaMPEN's `L D L^T` layout and NLL ([`ldl::LdlFactor`]) | `ldl.rs` |
//! | diagonal (aleatoric) NLL | `diagonal.rs` |
//! | mean squared error | `mse.rs` |
//! | [`Gaussian`]: covariance, sampling, log-density | `gaussian.rs` |
//! | forward substitution and numerical guards | `triangular.rs` |
//! | [`LossError`] | `error.rs` |
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use gampen_loss::{GaussianLossConfig, LossKind};
//!
//! let device = Device::ndarray();
//! let loss = GaussianLossConfig::new(3).init(); // full covariance, Cholesky layout
//! assert_eq!(loss.num_outputs(), 9);
//! let outputs = Tensor::<2>::zeros([4, 9], &device); // mu = 0, L = I
//! let targets = Tensor::<2>::zeros([4, 3], &device);
//! let value = loss.forward(outputs.clone(), targets).unwrap();
//! assert_eq!(value.into_scalar::<f32>(), 0.0);
//!
//! let samples = loss.gaussian(outputs).unwrap().sample(100); // [4, 100, 3]
//! assert_eq!(samples.dims(), [4, 100, 3]);
//! ```
#![warn(missing_docs)]

pub mod cholesky;
mod config;
pub mod diagonal;
mod error;
mod gaussian;
pub mod ldl;
mod loss;
pub mod mse;
pub mod triangular;

pub use config::{num_outputs, CovarianceParam, GaussianLossConfig, LossKind};
pub use error::LossError;
pub use gaussian::Gaussian;
pub use loss::GaussianLoss;
