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
    /// A CSV file that the csv parser rejects (its message starts with "CSV error" or
    /// "CSV parse error" and names the record and line).
    #[error("{path}: {source}")]
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
    /// A column name that the header holds twice, so that the column asked for is ambiguous.
    #[error(
        "{path}: columns {first} and {second} (1-based) are both named {column:?}; rename one"
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The name.
        column: String,
        /// Position of its first occurrence, 1-based.
        first: usize,
        /// Position of its second occurrence, 1-based.
        second: usize,
    },
    /// A label that is empty, not a number, NaN or infinite.
    #[error("{path}: data row {row} (1-based, header not counted), column {column:?}: {value:?} is not a finite number")]
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
    /// A catalog key (the `file_name` of a galaxy) that is empty or appears in two rows.
    #[error("{path}: column {column:?}: {problem}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The key column.
        column: String,
        /// What is wrong, naming the 1-based data row(s) and the key.
        problem: String,
    },
    /// A catalog label outside the domain of its transform, located in its file.
    #[error("{path}: data row {row} (1-based, header not counted), column {column:?}: value {value} is outside the domain of the {transform} transform")]
    LabelOutOfDomain {
        /// The catalog file.
        path: PathBuf,
        /// 1-based data row, the header line not counted.
        row: usize,
        /// The column.
        column: String,
        /// The value.
        value: f64,
        /// The transform's name.
        transform: String,
    },
    /// A label outside the domain of its transform (e.g. `ln` of a negative radius), where
    /// no file is known (a value passed in memory); catalogs give [`DataError::LabelOutOfDomain`].
    #[error("column {column:?}: value {value} is outside the domain of the {transform} transform")]
    LabelDomain {
        /// The column.
        column: String,
        /// The value.
        value: f64,
        /// The transform's name.
        transform: String,
    },
    /// An input file or directory that is missing or unusable, with what to do about it.
    #[error("{path}: {message}")]
    Input {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong (with the 1-based data row when there is one).
        message: String,
    },
    /// An output path that is, or would overwrite, an input (the message names both), or
    /// that would replace what it holds without `--force`.
    #[error("{0}")]
    PathConflict(String),
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

    /// A [`DataError::Csv`] error on the file `path`.
    pub fn csv(path: impl Into<PathBuf>, source: csv::Error) -> Self {
        DataError::Csv {
            path: path.into(),
            source,
        }
    }

    /// Locates a [`DataError::LabelDomain`] of data row `row` (0-based) of the catalog
    /// `path`; any other error is returned as it is.
    pub(crate) fn at_row(self, path: &std::path::Path, row: usize) -> Self {
        match self {
            DataError::LabelDomain {
                column,
                value,
                transform,
            } => DataError::LabelOutOfDomain {
                path: path.to_path_buf(),
                row: row + 1,
                column,
                value,
                transform,
            },
            other => other,
        }
    }

    /// An [`DataError::Input`] error for `path`.
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Input {
            path: path.into(),
            message: message.into(),
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
