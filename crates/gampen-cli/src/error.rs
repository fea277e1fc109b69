//! The CLI's error type: every message names the file, row, column or value at fault, and is
//! printed as one `error: ...` line.

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Reading or writing data (FITS, catalogs, splits).
    #[error(transparent)]
    Data(#[from] gampen_data::DataError),
    /// Model building, training, checkpoints, inference.
    #[error(transparent)]
    Model(#[from] gampen::GampenError),
    /// Writing a plot.
    #[error(transparent)]
    Plot(#[from] gampen_plot::PlotError),
}

/// Result of every command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
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
