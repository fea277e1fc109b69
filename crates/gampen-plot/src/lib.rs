//! PNG diagnostic plots for GaMPEN: plain slices in, one PNG file out.
//!
//! The crate knows nothing about models or tensors, so the CLI (or a notebook-free script) can
//! call it with whatever it has computed. Every function takes the output path first, skips
//! NaN/inf values, and returns a [`PlotError`] naming the file when the input cannot be drawn
//! (no finite data, lengths that do not line up).
//!
//! Text uses an embedded DejaVu Sans rendered in pure Rust, so plots look the same on a bare CI
//! machine with no system fonts.
//!
//! ```no_run
//! # fn main() -> Result<(), gampen_plot::PlotError> {
//! use std::path::Path;
//! gampen_plot::loss_curve(Path::new("loss.png"), &[1.0, 0.6, 0.4], &[1.1, 0.8, 0.7])?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod calibration;
mod corner;
mod crop;
mod error;
mod loss;
mod predicted;
mod residual;
mod style;

pub use calibration::calibration_plot;
pub use corner::corner_plot;
pub use crop::{crop_box_from_theta, crop_grid, Image2d};
pub use error::PlotError;
pub use loss::loss_curve;
pub use predicted::{predicted_vs_true, predicted_vs_true_grid};
pub use residual::residual_histograms;
