//! Errors of the `gampen` facade.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in model building, training, checkpoints and inference because
/// of the user's data or configuration.
#[derive(Debug, thiserror::Error)]
pub enum GampenError {
    /// An invalid model or training configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint is missing, corrupt, or does not fit the model.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The loss could not be computed (wrong output width, ...).
    #[error(transparent)]
    Loss(#[from] gampen_loss::LossError),
    /// Loading data failed.
    #[error(transparent)]
    Data(#[from] gampen_data::DataError),
    /// The training loss became NaN or infinite.
    #[error(
        "non-finite training loss ({value}) at epoch {epoch}, batch {batch}; \
         training stopped, the last good checkpoint is kept{}",
        .checkpoint.as_ref().map(|p| format!(" at {}", p.display())).unwrap_or_default()
    )]
    NonFiniteLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The offending value.
        value: f64,
        /// Where the last good checkpoint lies, if one was written.
        checkpoint: Option<PathBuf>,
    },
    /// Options that contradict each other or what they act on, named as the command line
    /// names them (`--new-head needs --from CHECKPOINT`).
    #[error("{0}")]
    Flag(String),
    /// A compute device that this build or this machine cannot provide.
    #[error("{0}")]
    Device(String),
    /// Input tensors or data that do not fit the model.
    #[error("input does not fit the model: {0}")]
    Shape(String),
}

impl GampenError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn checkpoint(path: &Path, message: impl Into<String>) -> Self {
        Self::Checkpoint {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
