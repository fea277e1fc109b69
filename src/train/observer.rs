//! What a training run reports as it goes: an observer the trainer calls, so that the library
//! neither draws progress bars nor decides what is printed.

use std::path::Path;

use super::metrics::EpochMetrics;
use crate::model::Gampen;

/// Called by the trainer at each step of a run; every method does nothing by default.
///
/// The command line implements it with progress bars; [`EpochLines`] prints one line per
/// epoch on stderr; `()` observes nothing.
pub trait TrainObserver {
    /// An [`Experiment`](super::Experiment) starts reading `split` of `data`.
    fn on_load(&mut self, _data: &Path, _split: &str) {}

    /// An [`Experiment`](super::Experiment) starts training `model` on `sizes` (training,
    /// devel) galaxies for `epochs` epochs.
    fn on_start(&mut self, _model: &Gampen, _sizes: [usize; 2], _epochs: usize) {}

    /// A run in `run_dir` continues after `epoch` completed epochs.
    fn on_resume(&mut self, _run_dir: &Path, _epoch: usize) {}

    /// Epoch `epoch` (1-based) of `epochs` starts, with `batches` training batches.
    fn on_epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}

    /// Training batch `batch` (0-based) is done; `mean_loss` is the epoch's mean so far.
    fn on_batch(&mut self, _batch: usize, _mean_loss: f64) {}

    /// The epoch is done, evaluated and checkpointed (`metrics.epoch` of `epochs`).
    fn on_epoch(&mut self, _metrics: &EpochMetrics, _epochs: usize) {}

    /// The run stopped with an error in the epoch in progress.
    fn on_abort(&mut self) {}
}

/// Observes nothing.
impl TrainObserver for () {}

/// Prints what an experiment loads, a resumed run's starting point and one line per epoch on
/// stderr:
/// `epoch   3/12  train 1.2345  devel 1.1111 *  MAE 0.1 0.2`, where `*` marks a new best
/// epoch and `w` a warm-up epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct EpochLines;

impl TrainObserver for EpochLines {
    fn on_load(&mut self, data: &Path, split: &str) {
        eprintln!(
            "loading {split}-train and {split}-devel from {}",
            data.display()
        );
    }

    fn on_resume(&mut self, run_dir: &Path, epoch: usize) {
        eprintln!("resuming {} after epoch {epoch}", run_dir.display());
    }

    fn on_epoch(&mut self, metrics: &EpochMetrics, epochs: usize) {
        eprintln!("{}", epoch_line(metrics, epochs));
    }
}

/// The line [`EpochLines`] prints for `metrics`, for observers that print it their own way.
pub fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    let mark = if m.best {
        " *"
    } else if m.warmup {
        " w"
    } else {
        "  "
    };
    let mae: Vec<String> = m.devel_mae.iter().map(|x| format!("{x:.4}")).collect();
    format!(
        "epoch {:>3}/{epochs}  train {:.4}  devel {:.4}{mark}  MAE {}",
        m.epoch,
        m.train_loss,
        m.devel_loss,
        mae.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_line_marks_best_and_warmup_epochs() {
        let m = EpochMetrics {
            epoch: 3,
            train_loss: 1.5,
            warmup: false,
            devel_loss: 1.25,
            devel_mae: vec![0.1, 2.0],
            devel_mse: vec![0.0, 0.0],
            devel_scaled_mse: 0.5,
            train_mae: vec![0.0, 0.0],
            best: true,
            seconds: 1.0,
        };
        assert_eq!(
            epoch_line(&m, 12),
            "epoch   3/12  train 1.5000  devel 1.2500 *  MAE 0.1000 2.0000"
        );
        let warm = EpochMetrics {
            best: false,
            warmup: true,
            ..m
        };
        assert!(epoch_line(&warm, 12).contains("1.2500 w  MAE"));
    }
}
