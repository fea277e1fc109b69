//! A training run as a command line describes it: option types that derive `clap::Args`
//! with the `clap` feature (so one doc comment serves rustdoc and `--help`), with the
//! library's defaults, turned into an [`Experiment`](super::Experiment) and its model.

mod experiment;
mod model;
mod train;

pub use experiment::ExperimentFlags;
pub use model::{ModelFlags, StartFlags, StartNote, Started};
pub use train::{LabelFlags, TrainFlags};
