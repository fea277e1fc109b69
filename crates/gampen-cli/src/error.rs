//! The CLI's error type: every message names the file, row, column or value at fault, and is
//! printed as one `error: ...` line.

use std::path::{Path, PathBuf};

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A bad command-line value or an inconsistent combination of options.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing data (FITS, catalogs, splits).
    #[error(transparent)]
    Data(#[from] gampen_data::DataError),
    /// Model building, training, checkpoints, inference.
    #[error(transparent)]
    Model(#[from] gampen::GampenError),
    /// Writing a plot.
    #[error(transparent)]
    Plot(#[from] gampen_plot::PlotError),
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON error on a named file.
    #[error("{path}: JSON error: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// Result of every command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A usage error with a message.
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError::Usage(msg.into())
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps a JSON error with its path.
    pub fn json(path: &Path, source: serde_json::Error) -> Self {
        CliError::Json {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The message as one line (multi-line library messages are joined with "; ").
    pub fn one_line(&self) -> String {
        self.to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Reads a JSON file into `T`, naming the file on failure.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| CliError::json(path, e))
}

/// Writes `value` as pretty JSON to `path` (complete or not at all), naming the file on
/// failure.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::json(path, e))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    Ok(gampen_data::atomic::write_atomic(
        path,
        (text + "\n").as_bytes(),
    )?)
}

/// Creates `dir` and its parents, naming it on failure.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))
}
