//! Training: optimisers, the loop with checkpointing, early stopping and resume, metrics.

mod config;
mod metrics;
mod objective;
mod resume;
mod trainer;

pub use config::{OptimizerKind, TrainConfig};
pub use metrics::{EpochMetrics, Evaluation};
pub use objective::MeanLoss;
pub use trainer::{evaluate, train, TrainReport};
