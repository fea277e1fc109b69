//! The training loop: epochs of training, evaluation on the devel set, a checkpoint each,
//! early stopping, and resuming where a killed run stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use gampen_data::{LabelTransform, Preprocessing};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::epoch::{evaluate, EpochContext, Stop, TrainPass};
use super::metrics::{EpochMetrics, Evaluation};
use super::objective::Objective;
use super::observer::{EpochLines, TrainObserver};
use super::run_dir::{RunDir, TrainState};
use crate::checkpoint::{self, files};
use crate::data::GalaxySet;
use crate::error::GampenError;
use crate::model::Gampen;
use crate::posterior::LabelInverse;

/// What a training run did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs completed in total (including those before a resume).
    pub epochs: usize,
    /// Epoch with the lowest selection score
    /// ([`MeanLoss::selection_score`](crate::train::MeanLoss::selection_score)).
    pub best_epoch: usize,
    /// The devel loss of the best epoch.
    pub best_devel_loss: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Per-epoch metrics, first to last.
    pub history: Vec<EpochMetrics>,
    /// Checkpoint directory of the best epoch.
    pub best_checkpoint: PathBuf,
}

/// Trains models as a [`TrainConfig`] says, saving with every checkpoint the label transform
/// the targets were scaled with.
///
/// ```no_run
/// # use gampen::train::{RunDir, TrainConfig, Trainer, EpochLines};
/// # fn f(model: gampen::Gampen, set: &gampen::data::InMemorySet) -> Result<(), gampen::GampenError> {
/// let device = burn::tensor::Device::flex();
/// let run = RunDir::open("run")?;
/// let trainer = Trainer::new(TrainConfig::new().with_epochs(3));
/// let (best, report) = trainer.fit(model, set, set, &run, &device, &mut EpochLines)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Trainer {
    config: TrainConfig,
    labels: Option<LabelTransform>,
    preprocessing: Option<Preprocessing>,
}

impl Trainer {
    /// A trainer with `config` and no label transform (targets in original units).
    pub fn new(config: TrainConfig) -> Self {
        Self {
            config,
            labels: None,
            preprocessing: None,
        }
    }

    /// The label transform fitted on the training split: saved with every checkpoint and
    /// used to report errors in original units.
    pub fn with_labels(mut self, labels: Option<LabelTransform>) -> Self {
        self.labels = labels;
        self
    }

    /// How the training cutouts were read: saved with every checkpoint
    /// (`preprocessing.json`), so that prediction reads cutouts the same way. It must match
    /// the model's input size and channels.
    pub fn with_preprocessing(mut self, preprocessing: Option<Preprocessing>) -> Self {
        self.preprocessing = preprocessing;
        self
    }

    /// The options.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Checks the options and that both sets are non-empty with the model's parameters.
    pub fn check(
        &self,
        model: &Gampen,
        train: &dyn GalaxySet,
        devel: &dyn GalaxySet,
    ) -> Result<(), GampenError> {
        check_sets(model.config().num_params(), train, devel)?;
        self.config.validate()
    }

    /// Trains `model` on `train`, evaluating on `devel` after every epoch, in `run`
    /// (see [`RunDir`] for what it holds). With [`TrainConfig::resume`], a run directory that
    /// already holds a checkpoint continues from it: an interrupted run loses at most the
    /// epoch in progress. Returns the model of the **best** epoch (on `device`, without
    /// autodiff) and the report.
    ///
    /// A NaN or infinite loss stops training with [`GampenError::NonFiniteLoss`], naming the
    /// batch; nothing is written for the failing epoch, so the last good checkpoint survives.
    pub fn fit(
        &self,
        model: Gampen,
        train: &dyn GalaxySet,
        devel: &dyn GalaxySet,
        run: &RunDir,
        device: &Device,
        observer: &mut dyn TrainObserver,
    ) -> Result<(Gampen, TrainReport), GampenError> {
        self.check(&model, train, devel)?;
        self.config.precision.check(device)?;
        let config = &self.config;
        let inverse: &dyn LabelInverse = &self.labels;
        let autodiff = device.clone().autodiff();
        let (mut model, mut optim, mut state) = self.start(model, run, &autodiff, observer)?;
        let loss_fn = model.loss();
        let mut log = run.metrics_log(&state.history)?;
        let epochs = EpochContext {
            train,
            config,
            inverse,
            autodiff: &autodiff,
            loss_fn: &loss_fn,
        };
        let batches = train.len().div_ceil(config.batch_size);
        let mut stopped_early = false;
        while state.epoch < config.epochs {
            let epoch = state.epoch + 1;
            let started = Instant::now();
            observer.on_epoch_start(epoch, config.epochs, batches);
            let pass = match epochs.train_epoch(model, &mut optim, epoch, observer) {
                Ok((trained, pass)) => {
                    model = trained;
                    pass
                }
                Err(stop) => {
                    observer.on_abort();
                    return Err(stop_error(stop, epoch, run));
                }
            };
            let devel_eval = evaluate(&model.valid(), devel, config.batch_size, device, inverse)?;
            let warmup = Objective::for_epoch(epoch, config) == Objective::Warmup;
            let seconds = started.elapsed().as_secs_f64();
            let score = config.mean_loss.selection_score(&devel_eval);
            let metrics = state.record(epoch, pass, devel_eval, score, warmup, seconds);
            let optimizer = optim.into_bytes().map_err(|e| {
                let dir = run.checkpoint_dir(epoch);
                GampenError::checkpoint(&dir, format!("cannot serialise optimiser: {e}"))
            })?;
            run.save_epoch(
                &model.valid(),
                self.labels.as_ref(),
                self.preprocessing.as_ref(),
                optimizer.to_vec(),
                &state,
                config.keep_last,
            )?;
            log.append(&metrics)?;
            observer.on_epoch(&metrics, config.epochs);
            if config.patience.is_some_and(|p| state.since_best >= p) {
                stopped_early = true;
                break;
            }
        }
        let best_checkpoint = run.checkpoint_dir(state.best_epoch);
        let best_model = checkpoint::load_weights(model.valid(), &best_checkpoint)?;
        let report = TrainReport {
            epochs: state.epoch,
            best_epoch: state.best_epoch,
            best_devel_loss: state.best_devel_loss,
            stopped_early,
            history: state.history,
            best_checkpoint,
        };
        Ok((best_model, report))
    }

    /// The model on the autodiff device (frozen as configured), its optimiser and the
    /// progress so far: fresh, or the run directory's last checkpoint's when resuming.
    fn start(
        &self,
        model: Gampen,
        run: &RunDir,
        autodiff: &Device,
        observer: &mut dyn TrainObserver,
    ) -> Result<(Gampen, ModuleOptimizer, TrainState), GampenError> {
        let config = &self.config;
        let mut model = model.fork(autodiff).train();
        if config.freeze_stn {
            model = model.freeze_stn();
        }
        if config.freeze_backbone {
            model = model.freeze_backbone();
        }
        let mut optim = config.optimizer.init(config.clip_grad_norm);
        let resume = if config.resume {
            run.resume_point()?
        } else {
            None
        };
        let Some((dir, state)) = resume else {
            return Ok((model, optim, TrainState::fresh()));
        };
        model = checkpoint::load_weights(model, &dir)?;
        let opt_path = dir.join(files::OPTIMIZER);
        if opt_path.is_file() {
            optim = optim.load(&opt_path).map_err(|e| {
                GampenError::checkpoint(&opt_path, format!("cannot read optimiser state: {e}"))
            })?;
        }
        observer.on_resume(run.path(), state.epoch);
        Ok((model, optim, state))
    }
}

impl TrainState {
    /// Records epoch `epoch`: a new best unless it is a warm-up epoch (whose covariance is
    /// untrained), and the patience count.
    fn record(
        &mut self,
        epoch: usize,
        train: TrainPass,
        devel: Evaluation,
        score: f64,
        warmup: bool,
        seconds: f64,
    ) -> EpochMetrics {
        let best = !warmup && score < self.best_score;
        if best {
            self.best_score = score;
            self.best_devel_loss = devel.loss;
            self.best_epoch = epoch;
            self.since_best = 0;
        } else if !warmup {
            self.since_best += 1;
        }
        let metrics = EpochMetrics {
            epoch,
            train_loss: train.loss,
            warmup,
            devel_loss: devel.loss,
            devel_mae: devel.mae,
            devel_mse: devel.mse,
            devel_scaled_mse: devel.scaled_mse,
            train_mae: train.mae,
            best,
            seconds,
        };
        self.history.push(metrics.clone());
        self.epoch = epoch;
        metrics
    }
}

/// Trains `model` on `train`, evaluating on `devel` after every epoch, in `run_dir`: a
/// [`Trainer`] with `labels`, and one line per epoch on stderr when `config.progress`
/// ([`EpochLines`]).
///
/// `labels` (the transform fitted on the training split) is saved with every checkpoint and
/// used to report errors in original units. Returns the model of the **best** epoch (on
/// `device`, without autodiff) and the report.
pub fn train(
    model: Gampen,
    train: &dyn GalaxySet,
    devel: &dyn GalaxySet,
    labels: Option<&LabelTransform>,
    config: &TrainConfig,
    run_dir: &Path,
    device: &Device,
) -> Result<(Gampen, TrainReport), GampenError> {
    let trainer = Trainer::new(config.clone()).with_labels(labels.cloned());
    trainer.check(&model, train, devel)?;
    let run = RunDir::open(run_dir)?;
    let observer: &mut dyn TrainObserver = if config.progress {
        &mut EpochLines
    } else {
        &mut ()
    };
    trainer.fit(model, train, devel, &run, device, observer)
}

/// The error an epoch stopped with; a non-finite loss names the last good checkpoint.
fn stop_error(stop: Stop, epoch: usize, run: &RunDir) -> GampenError {
    match stop {
        Stop::NonFinite { batch, value } => GampenError::NonFiniteLoss {
            epoch,
            batch,
            value,
            checkpoint: run.last_checkpoint().ok().flatten(),
        },
        Stop::Error(e) => e,
    }
}

fn check_sets(n: usize, train: &dyn GalaxySet, devel: &dyn GalaxySet) -> Result<(), GampenError> {
    for (name, set) in [("training", train), ("devel", devel)] {
        if set.is_empty() {
            return Err(GampenError::Config(format!("the {name} set is empty")));
        }
        if set.num_params() != n {
            return Err(GampenError::Config(format!(
                "the {name} set has {} target parameters but the model predicts {n}",
                set.num_params()
            )));
        }
    }
    Ok(())
}
