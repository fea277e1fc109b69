//! Options of a [`super::Predictor`].

use gampen_data::Shard;

use crate::error::GampenError;
use crate::posterior::{Columns, IntervalMethod};

/// How a [`super::Predictor`] samples and summarises posteriors. The defaults are those of
/// `gampen predict`.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictOptions {
    /// Monte-Carlo dropout passes per galaxy (GaMPEN's catalogues: 500). Default 100.
    pub passes: usize,
    /// Draws from each pass's predicted normal. Default 10.
    pub samples_per_pass: usize,
    /// Galaxies per batch; memory grows with it. Default 64.
    pub batch_size: usize,
    /// Seed of the dropout masks and normal draws; each batch derives its own from it and
    /// the catalog row of its first galaxy, so a shard gives the rows the whole run would.
    pub seed: u64,
    /// Interval definition of the summaries.
    pub intervals: IntervalMethod,
    /// Column layout of a written CSV.
    pub columns: Columns,
    /// Monte-Carlo dropout rate to sample with, in [0, 1), instead of the checkpoint's.
    pub dropout: Option<f64>,
    /// Which catalog rows to predict.
    pub shard: Shard,
    /// Apply the predictor's calibration (the checkpoint's `calibration.json`, or one given
    /// with [`super::Predictor::with_calibration`]) when there is one. Default true.
    pub calibrate: bool,
    /// Keep every posterior's raw samples. Default false.
    pub keep_samples: bool,
}

impl Default for PredictOptions {
    fn default() -> Self {
        Self {
            passes: 100,
            samples_per_pass: 10,
            batch_size: 64,
            seed: 0,
            intervals: IntervalMethod::EqualTailed,
            columns: Columns::Default,
            dropout: None,
            shard: Shard::ALL,
            calibrate: true,
            keep_samples: false,
        }
    }
}

impl PredictOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `passes` Monte-Carlo dropout passes.
    pub fn with_passes(mut self, passes: usize) -> Self {
        self.passes = passes;
        self
    }

    /// With `k` draws per pass.
    pub fn with_samples_per_pass(mut self, k: usize) -> Self {
        self.samples_per_pass = k;
        self
    }

    /// With `n` galaxies per batch.
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// With seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// With interval method `method`.
    pub fn with_intervals(mut self, method: IntervalMethod) -> Self {
        self.intervals = method;
        self
    }

    /// With column layout `columns`.
    pub fn with_columns(mut self, columns: Columns) -> Self {
        self.columns = columns;
        self
    }

    /// Sampling with dropout rate `p` (`None`: the checkpoint's).
    pub fn with_dropout(mut self, p: Option<f64>) -> Self {
        self.dropout = p;
        self
    }

    /// Predicting only `shard` of a catalog.
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// Whether to apply the calibration.
    pub fn with_calibrate(mut self, calibrate: bool) -> Self {
        self.calibrate = calibrate;
        self
    }

    /// Whether to keep raw samples.
    pub fn with_keep_samples(mut self, keep: bool) -> Self {
        self.keep_samples = keep;
        self
    }

    /// Refuses counts of zero and a dropout rate outside [0, 1).
    pub fn check(&self) -> Result<(), GampenError> {
        if self.batch_size == 0 || self.passes == 0 || self.samples_per_pass == 0 {
            return Err(GampenError::Config(
                "batch size, passes and samples per pass must be at least 1".into(),
            ));
        }
        if let Some(p) = self.dropout.filter(|p| !(0.0..1.0).contains(p)) {
            return Err(GampenError::Config(format!(
                "the dropout rate must lie in [0, 1), got {p}"
            )));
        }
        Ok(())
    }

    /// The seed of the batch whose first galaxy is catalog row `first_row` (0-based).
    pub fn batch_seed(&self, first_row: usize) -> u64 {
        // Changing it would change every prediction file already written: the value is pinned
        // in gampen_data::seed's tests.
        gampen_data::seed::Seed(self.seed).predict_batch(first_row)
    }
}
