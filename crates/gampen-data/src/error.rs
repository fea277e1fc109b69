//! The crate's error type: every variant names the file, row, column or value at fault.

use std::path::PathBuf;

/// Everything that a user's data or configuration can get wrong while reading, writing,
/// simulating or batching galaxies.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An operating-system I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A FITS file that is truncated, corrupt or uses a feature we do not read.
    #[error("{path}: invalid FITS: {reason}")]
    Fits {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// NaN or infinite pixels under [`crate::NanPolicy::Error`].
    #[error(
        "{path}: {count} non-finite pixel(s), first at (band {band}, row {row}, column {col})"
    )]
    NonFinitePixels {
        /// The file.
        path: PathBuf,
        /// How many pixels are NaN or infinite.
        count: usize,
        /// Band of the first one.
        band: usize,
        /// Row (y, 0-based) of the first one.
        row: usize,
        /// Column (x, 0-based) of the first one.
        col: usize,
    },
    /// A cutout smaller than the size the model needs.
    #[error("{path}: cutout is {height}x{width} pixels, smaller than the requested {size}x{size}")]
    CutoutTooSmall {
        /// The file.
        path: PathBuf,
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Requested crop size.
        size: usize,
    },
    /// A cutout whose band count cannot be turned into the requested channel count.
    #[error("{path}: {bands} band(s) cannot be turned into {channels} channel(s)")]
    Channels {
        /// The file.
        path: PathBuf,
        /// Bands in the file.
        bands: usize,
        /// Channels requested.
        channels: usize,
    },
    /// A CSV file that the csv parser rejects.
    #[error("{path}: CSV error: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: csv::Error,
    },
    /// A column that the catalog lacks.
    #[error("{path}: no column {column:?}; available columns: {available}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns the header has, comma-separated.
        available: String,
    },
    /// A label that is empty or not a number.
    #[error("{path}: data row {row} (1-based, header not counted), column {column:?}: {value:?} is not a number")]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// 1-based data row, the header line not counted.
        row: usize,
        /// The column.
        column: String,
        /// The text found.
        value: String,
    },
    /// A label outside the domain of its transform (e.g. `ln` of a negative radius).
    #[error("column {column:?}: value {value} is outside the domain of the {transform} transform")]
    LabelDomain {
        /// The column.
        column: String,
        /// The value.
        value: f64,
        /// The transform's name.
        transform: String,
    },
    /// A configuration value that makes no sense.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A JSON (de)serialisation error.
    #[error("{path}: JSON error: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl DataError {
    /// Wraps an I/O error with its path.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    /// A FITS format error for `path`.
    pub(crate) fn fits(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DataError::Fits {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
