//! The run directory: where a training run keeps its checkpoints, their pointers, its log and
//! what it needs to resume.
//!
//! | path                     | content                                                    |
//! |--------------------------|------------------------------------------------------------|
//! | `checkpoints/epoch-NNNN` | a [`checkpoint`](crate::checkpoint) (with `preprocessing.json` when the trainer knows it) plus `optimizer.bin` and `state.json` |
//! | `best.json`, `last.json` | `{"checkpoint": "checkpoints/epoch-NNNN", "epoch": N}`      |
//! | `metrics.jsonl`          | one [`EpochMetrics`] per line                              |

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use gampen_data::{LabelTransform, Preprocessing};
use serde::{Deserialize, Serialize};

use super::metrics::EpochMetrics;
use super::resume;
use crate::checkpoint::{self, files, write_atomic, Extras};
use crate::error::GampenError;
use crate::model::Gampen;

/// Subdirectory of the epoch checkpoints.
const CHECKPOINTS: &str = "checkpoints";
/// The per-epoch log.
pub const METRICS_JSONL: &str = "metrics.jsonl";

/// Training progress saved with every checkpoint (`state.json`): what a resumed run
/// continues from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    pub best_devel_loss: f64,
    /// The best epoch's selection score; a state written before scores were kept reads as
    /// infinite, so the first epoch after resuming it becomes the best.
    #[serde(default = "infinity")]
    pub best_score: f64,
    pub best_epoch: usize,
    /// Epochs since the best one (patience).
    pub since_best: usize,
    pub history: Vec<EpochMetrics>,
}

fn infinity() -> f64 {
    f64::INFINITY
}

impl TrainState {
    /// A run that has not started.
    pub fn fresh() -> Self {
        Self {
            best_devel_loss: f64::INFINITY,
            best_score: f64::INFINITY,
            ..Self::default()
        }
    }
}

/// A training run's directory, opened: it exists, with `checkpoints/`, and temporaries of
/// killed runs are gone.
#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `path` and its `checkpoints/` if needed and cleans up what a killed run left
    /// (half-written checkpoints, a checkpoint swapped out of sight).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, GampenError> {
        let path = path.into();
        let checkpoints = path.join(CHECKPOINTS);
        fs::create_dir_all(&checkpoints).map_err(|e| GampenError::io(&checkpoints, e))?;
        resume::clean_stale_temporaries(&path)?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checkpoint directory of `epoch` (1-based), whether or not it exists.
    pub fn checkpoint_dir(&self, epoch: usize) -> PathBuf {
        self.path.join(CHECKPOINTS).join(epoch_name(epoch))
    }

    /// The checkpoint `last.json` points at, if the run has saved one.
    pub fn last_checkpoint(&self) -> Result<Option<PathBuf>, GampenError> {
        let pointer = self.path.join(files::LAST);
        if !pointer.is_file() {
            return Ok(None);
        }
        checkpoint::resolve_pointer(&pointer).map(Some)
    }

    /// The checkpoint and training state to resume from, if the run has saved one.
    pub(crate) fn resume_point(&self) -> Result<Option<(PathBuf, TrainState)>, GampenError> {
        let Some(dir) = self.last_checkpoint()? else {
            return Ok(None);
        };
        let path = dir.join(files::STATE);
        let text = fs::read_to_string(&path).map_err(|e| GampenError::io(&path, e))?;
        let state = serde_json::from_str(&text)
            .map_err(|e| GampenError::checkpoint(&path, format!("corrupt state: {e}")))?;
        Ok(Some((dir, state)))
    }

    /// Rewrites `metrics.jsonl` to exactly `history` (a resumed checkpoint's) and opens it
    /// for the epochs to come.
    pub(crate) fn metrics_log(&self, history: &[EpochMetrics]) -> Result<MetricsLog, GampenError> {
        Ok(MetricsLog {
            file: resume::open_metrics_log(&self.path, history)?,
            path: self.path.join(METRICS_JSONL),
        })
    }

    /// Saves the model of `state.epoch` with its label transform and preprocessing, the
    /// optimiser and `state`, moves `last.json` (and `best.json` when `state.best_epoch` is
    /// this epoch) to it, then prunes all but the best and the `keep_last` latest checkpoints.
    pub(crate) fn save_epoch(
        &self,
        model: &Gampen,
        labels: Option<&LabelTransform>,
        preprocessing: Option<&Preprocessing>,
        optimizer: Vec<u8>,
        state: &TrainState,
        keep_last: usize,
    ) -> Result<(), GampenError> {
        let epoch = state.epoch;
        let dir = self.checkpoint_dir(epoch);
        let state_bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| GampenError::checkpoint(&dir, format!("cannot serialise state: {e}")))?;
        let files = [(files::OPTIMIZER, optimizer), (files::STATE, state_bytes)];
        let mut extras = Extras::new().with_files(&files);
        if let Some(p) = preprocessing {
            extras = extras.with_preprocessing(p);
        }
        checkpoint::save_parts(model, labels, &extras, &dir)?;
        let pointer = serde_json::to_vec(&serde_json::json!({
            "checkpoint": format!("{CHECKPOINTS}/{}", epoch_name(epoch)),
            "epoch": epoch,
        }))
        .map_err(|e| GampenError::io(&dir, e.into()))?;
        if state.best_epoch == epoch {
            write_atomic(&self.path.join(files::BEST), &pointer)?;
        }
        write_atomic(&self.path.join(files::LAST), &pointer)?;
        self.prune(state.best_epoch, epoch, keep_last)
    }

    /// Removes the checkpoints of epochs other than `best` that are older than the
    /// `keep_last` (at least 1) latest up to `last`.
    fn prune(&self, best: usize, last: usize, keep_last: usize) -> Result<(), GampenError> {
        let dir = self.path.join(CHECKPOINTS);
        let entries = fs::read_dir(&dir).map_err(|e| GampenError::io(&dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(epoch) = name
                .strip_prefix("epoch-")
                .and_then(|e| e.parse::<usize>().ok())
            else {
                continue;
            };
            if epoch != best && epoch + keep_last.max(1) <= last {
                // Out of sight first: a kill during the removal must not leave a half-deleted
                // checkpoint under its own name. The temporary name is one a resume cleans up.
                let doomed = crate::atomic::tmp_sibling(&entry.path());
                fs::rename(entry.path(), &doomed).map_err(|e| GampenError::io(&entry.path(), e))?;
                fs::remove_dir_all(&doomed).map_err(|e| GampenError::io(&doomed, e))?;
            }
        }
        Ok(())
    }
}

/// `metrics.jsonl`, open for appending.
pub(crate) struct MetricsLog {
    file: File,
    path: PathBuf,
}

impl MetricsLog {
    /// Appends one epoch's line.
    pub(crate) fn append(&mut self, metrics: &EpochMetrics) -> Result<(), GampenError> {
        let line =
            serde_json::to_string(metrics).map_err(|e| GampenError::io(&self.path, e.into()))?;
        writeln!(self.file, "{line}").map_err(|e| GampenError::io(&self.path, e))
    }
}

fn epoch_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_best_and_the_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::open(tmp.path().join("run")).unwrap();
        for e in 1..=5 {
            fs::create_dir_all(run.checkpoint_dir(e)).unwrap();
        }
        run.prune(2, 5, 2).unwrap();
        let left: Vec<bool> = (1..=5).map(|e| run.checkpoint_dir(e).is_dir()).collect();
        assert_eq!(left, [false, true, false, true, true]);
        assert_eq!(run.last_checkpoint().unwrap(), None);
    }
}
