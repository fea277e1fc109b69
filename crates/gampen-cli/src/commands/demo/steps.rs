//! The demo's steps that run other commands: simulating the data, predicting the test split
//! and evaluating the predictions.

use std::path::{Path, PathBuf};

use gampen_data::SimulatorConfig;

use super::Args;
use crate::commands::evaluate::{self, EvalReport};
use crate::commands::{predict, simulate};
use crate::error::Result;

/// Simulates `args.count` galaxies into `data` with the standard splits.
pub fn simulate(args: &Args, data: &Path) -> Result<()> {
    let sim = SimulatorConfig {
        seed: args.seed,
        ..SimulatorConfig::default()
    };
    simulate::simulate(data, &sim, args.count, true)?;
    gampen_data::splits::write_standard_splits(data, "bt", 5, args.seed)?;
    Ok(())
}

/// Predicts posteriors (`args.passes` passes x 10 draws) for the test split into
/// `predictions.csv`; returns its path and the number of galaxies.
pub fn predict(args: &Args, run_dir: &Path, data: &Path) -> Result<(PathBuf, usize)> {
    let predictions = args.out.join("predictions.csv");
    let predict_args = predict::Args {
        model: run_dir.to_path_buf(),
        data: data.to_path_buf(),
        split: Some("balanced-dev-test".into()),
        out: predictions.clone(),
        passes: args.passes,
        samples_per_pass: 10,
        batch_size: 64,
        seed: args.seed,
        device: args.device,
        samples_out: None,
        shard: None,
        calibration: None,
        intervals: Default::default(),
        columns: Default::default(),
        dropout: None,
        quiet: false,
    };
    let count = predict::execute(&predict_args)?;
    Ok((predictions, count))
}

/// Errors and coverage of `predictions` against the truth in `data`, written into `args.out`.
pub fn evaluate(args: &Args, data: &Path, predictions: &Path) -> Result<EvalReport> {
    evaluate::execute(&evaluate::Args {
        predictions: predictions.to_path_buf(),
        data: data.to_path_buf(),
        labels: None,
        out: args.out.clone(),
        fit_calibration: None,
        force: true,
    })
}
