//! Training's optional last step: post-hoc calibration fitted on the devel split and saved
//! into the best checkpoint, so that `gampen predict` applies it by default.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen_data::{catalog_path, CsvTable};

use crate::atomic::write_json;
use crate::calibration::{
    summary_coverage, truth_column, CalibrationScale, CoverageChange, CoverageReport,
};
use crate::checkpoint::files;
use crate::error::GampenError;
use crate::posterior::{MarginalSummary, Orientations};
use crate::predictor::{PredictOptions, Predictor};

/// How the calibration step samples the devel posteriors (Monte-Carlo dropout at the
/// checkpoint's own rate, equal-tailed intervals).
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrateOptions {
    /// Monte-Carlo dropout passes per devel galaxy. Default 50.
    pub passes: usize,
    /// Draws from each pass's predicted normal. Default 10.
    pub samples_per_pass: usize,
    /// Galaxies per batch. Default 64.
    pub batch_size: usize,
    /// Seed of the dropout masks and draws: the same seed refits the same factors, so that
    /// running the step twice (a resumed, finished run) writes the same file. Default 0.
    pub seed: u64,
    /// The orientations the devel posteriors are sampled over; predictions must use the
    /// same for the factors to apply. Default [`Orientations::One`].
    pub orientations: Orientations,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        Self {
            passes: 50,
            samples_per_pass: 10,
            batch_size: 64,
            seed: 0,
            orientations: Orientations::One,
        }
    }
}

impl CalibrateOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `passes` Monte-Carlo dropout passes.
    pub fn with_passes(mut self, passes: usize) -> Self {
        self.passes = passes;
        self
    }

    /// With seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sampling over `orientations` of each cutout.
    pub fn with_orientations(mut self, orientations: Orientations) -> Self {
        self.orientations = orientations;
        self
    }

    /// The prediction options the step samples with: never calibrated, since the factors
    /// are fitted to the raw intervals.
    pub fn predict_options(&self) -> PredictOptions {
        PredictOptions::new()
            .with_passes(self.passes)
            .with_samples_per_pass(self.samples_per_pass)
            .with_batch_size(self.batch_size)
            .with_seed(self.seed)
            .with_orientations(self.orientations)
            .with_calibrate(false)
    }
}

/// What the calibration step fitted, and the devel coverage before and after it.
#[derive(Clone, Debug)]
pub struct CalibrationOutcome {
    /// The fitted factors, as saved in the checkpoint's `calibration.json`.
    pub scale: CalibrationScale,
    /// Devel coverage of the raw intervals (with its nominal levels).
    pub before: CoverageReport,
    /// Devel coverage with the factors applied (in-sample: they were fitted on it).
    pub after: CoverageReport,
    /// The checkpoint directory `calibration.json` was written into.
    pub checkpoint: PathBuf,
    /// Devel galaxies predicted.
    pub galaxies: usize,
}

impl CalibrationOutcome {
    /// The devel coverage before and after the fitted factors, as a table.
    pub fn coverage_change(&self) -> CoverageChange<'_> {
        CoverageChange::new(&self.scale, &self.before, &self.after)
    }
}

/// Marginal summaries and true values of one catalog's galaxies, `[galaxy][param]`.
#[derive(Clone, Debug, Default)]
pub struct Summaries {
    /// Each galaxy's marginals, in the predictor's parameter order.
    pub marginals: Vec<Vec<MarginalSummary>>,
    /// Each galaxy's true values (NaN where the catalog leaves one out).
    pub truths: Vec<Vec<f64>>,
}

/// The marginals of `predictor` (with its options) for catalog `split` of `data`, with
/// the catalog's true values.
pub fn devel_summaries(
    predictor: &Predictor,
    data: &Path,
    split: &str,
) -> Result<Summaries, GampenError> {
    let catalog = CsvTable::read(&catalog_path(data, Some(split))?)?;
    let columns: Vec<Vec<f64>> = predictor
        .parameters()
        .iter()
        .map(|p| truth_column(&catalog, p))
        .collect::<Result<_, _>>()?;
    let (mut marginals, mut truths) = (Vec::new(), Vec::new());
    for batch in predictor.catalog_batches(data, Some(split))? {
        let batch = batch?;
        for (row, post) in batch.rows.iter().zip(batch.posteriors) {
            truths.push(columns.iter().map(|c| c[*row]).collect());
            marginals.push(post.marginals);
        }
    }
    Ok(Summaries { marginals, truths })
}

/// Fits [`CalibrationScale`] on the posteriors of the checkpoint (or run: its best
/// checkpoint) `checkpoint` for catalog `split` of `data` (the devel split: never the test
/// split you report) and writes it, atomically, as the checkpoint's `calibration.json`.
///
/// The factors are fitted to the raw intervals, whatever calibration the checkpoint
/// already holds; with the same options the step is idempotent.
pub fn calibrate_checkpoint(
    checkpoint: &Path,
    data: &Path,
    split: &str,
    options: &CalibrateOptions,
    device: &Device,
) -> Result<CalibrationOutcome, GampenError> {
    let predictor = Predictor::open(checkpoint, device)?.with_options(options.predict_options())?;
    let Summaries { marginals, truths } = devel_summaries(&predictor, data, split)?;
    let parameters = predictor.parameters().to_vec();
    let before = summary_coverage(&parameters, &marginals, &truths);
    if before.count == 0 {
        return Err(GampenError::Config(format!(
            "no galaxy of {split} in {} has a finite truth and prediction for every parameter: \
             nothing to calibrate on",
            data.display()
        )));
    }
    let mut scale = CalibrationScale::fit_summaries(&parameters, &marginals, &truths);
    scale.orientations = options.orientations;
    let mut calibrated = marginals;
    calibrated.iter_mut().for_each(|m| scale.apply_marginals(m));
    let after = summary_coverage(&parameters, &calibrated, &truths);
    let dir = predictor.dir().to_path_buf();
    let path = dir.join(files::CALIBRATION);
    write_json(&path, &scale)?;
    Ok(CalibrationOutcome {
        scale,
        before,
        after,
        checkpoint: dir,
        galaxies: truths.len(),
    })
}
