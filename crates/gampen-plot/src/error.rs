//! The crate's single error type.

use std::path::PathBuf;

/// Why a plot could not be written. Every variant names the output file it was meant for.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The input had no finite values to plot.
    #[error("{plot} plot for {path}: no finite data to plot")]
    Empty {
        /// Which plot was asked for, e.g. `"calibration"`.
        plot: &'static str,
        /// The output file.
        path: PathBuf,
    },
    /// Two inputs that must line up have different lengths.
    #[error("{plot} plot for {path}: {what} has length {found}, expected {expected}")]
    LengthMismatch {
        /// Which plot was asked for.
        plot: &'static str,
        /// The output file.
        path: PathBuf,
        /// The input whose length is wrong, e.g. `"coverage[1]"`.
        what: String,
        /// The length it should have had.
        expected: usize,
        /// The length it had.
        found: usize,
    },
    /// An input is malformed in some other way (zero columns, image data of the wrong size).
    #[error("{plot} plot for {path}: {reason}")]
    InvalidInput {
        /// Which plot was asked for.
        plot: &'static str,
        /// The output file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The embedded font could not be parsed; a build problem, not a data problem.
    #[error("plot {path}: the embedded font could not be loaded")]
    Font {
        /// The output file.
        path: PathBuf,
    },
    /// plotters failed while drawing.
    #[error("plot {path}: drawing failed: {message}")]
    Draw {
        /// The output file.
        path: PathBuf,
        /// plotters' error, as text (its error type borrows the backend).
        message: String,
    },
    /// The PNG could not be encoded.
    #[error("plot {path}: PNG encoding failed: {source}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// The encoder's error.
        source: png::EncodingError,
    },
    /// The output file could not be created or written.
    #[error("plot {path}: {source}")]
    Io {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
