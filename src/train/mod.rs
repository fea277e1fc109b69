//! Training: optimisers, the loop with checkpointing, early stopping and resume, metrics,
//! and [`Experiment`], a whole run from a data directory.

mod calibrate;
mod config;
mod epoch;
mod experiment;
mod flags;
mod metrics;
mod objective;
mod observer;
mod optimizer;
mod resume;
mod run_dir;
mod step;
mod trainer;

pub use calibrate::{
    calibrate_checkpoint, devel_summaries, CalibrateOptions, CalibrationOutcome, Summaries,
};
pub use config::TrainConfig;
pub use epoch::{evaluate, EVALUATION_PASSES};
pub use experiment::{Experiment, ExperimentOutcome, TRAIN_CONFIG_JSON};
pub use flags::{
    ExperimentFlags, LabelFlags, ModelFlags, StartFlags, StartNote, Started, TrainFlags,
};
pub use metrics::{EpochMetrics, Evaluation};
pub use objective::MeanLoss;
pub use observer::{epoch_line, EpochLines, TrainObserver};
pub use optimizer::{OptimizerFamily, OptimizerKind};
pub use run_dir::{RunDir, METRICS_JSONL};
pub use trainer::{train, TrainReport, Trainer};
