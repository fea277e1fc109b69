//! Options of a [`super::Predictor`].

use gampen_data::Shard;

use crate::error::GampenError;
use crate::posterior::{Columns, IntervalMethod, Orientations};
use crate::precision::Precision;

/// How a [`super::Predictor`] samples and summarises posteriors. The defaults are those of
/// `gampen predict`, whose flags these are (`clap::Args` with the `clap` feature).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct PredictOptions {
    /// Monte-Carlo dropout passes per galaxy (GaMPEN's catalogues: 500).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 100, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub passes: usize,
    /// Draws from each pass's predicted normal.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 10, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub samples_per_pass: usize,
    /// Galaxies per batch (memory ~ batch size; at most --max-rows galaxy-passes go through
    /// the network at once).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 64, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub batch_size: usize,
    /// Seed of the dropout masks and normal draws (each batch derives its own from it and the
    /// catalog row of its first galaxy, so a shard gives the rows the whole run would).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
    /// Process only shard K of N: data rows i (0-based) with i % N == K - 1. K is 1-based
    /// (1/4, 2/4, 3/4, 4/4); join the outputs with `gampen merge`.
    #[cfg_attr(
        feature = "clap",
        arg(long, default_value = "1/1", hide_default_value = true)
    )]
    pub shard: Shard,
    /// Apply the predictor's calibration (the checkpoint's `calibration.json`, or one given
    /// with [`super::Predictor::with_calibration`]) when there is one. Default true.
    #[cfg_attr(feature = "clap", arg(long = "no-calibration", id = "no_calibration", action = clap::ArgAction::SetFalse, help = "Write the raw intervals: apply no calibration, not even the checkpoint's calibration.json (what `gampen evaluate --calibration/--model` expects)"))]
    pub calibrate: bool,
    /// Interval definition: `equal-tailed` (quantiles; binned-KDE mode) or `gampen` (GaMPEN's
    /// aggregator: KDE mode on a 1000-point grid, windows grown around it until their KDE
    /// mass is nearest 68.27/95.45/99.73 %, std over N; costs about 1000 x draws per
    /// parameter and galaxy).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = IntervalMethod::EqualTailed))]
    pub intervals: IntervalMethod,
    /// Column layout: `default` (`preds_{name}_{mean,median,mode,std,lo68,hi68,lo95,hi95,
    /// lo99,hi99,skew,kurtosis}`; lo/hi: the 68.27, 95.45, 99.73 % intervals; excess
    /// kurtosis) or `gampen` (GaMPEN's catalogue: `preds_{name}_{mean,median,std,skew,
    /// kurtosis,mode,sig_ci,twosig_ci,threesig_ci}` with `(low, high)` pairs, its names
    /// bt/R_e_asec/total_flux_adus and a derived total_mag; add `--intervals gampen` for its
    /// KDE mode and mode-centred intervals).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Columns::Default))]
    pub columns: Columns,
    /// Monte-Carlo dropout rate to sample with, in [0, 1), instead of the checkpoint's
    /// (config.json `dropout`). This changes the posterior: the epistemic spread grows with
    /// the rate, and a rate far from the training rate also shifts the network's outputs.
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::probability, allow_negative_numbers = true))]
    pub dropout: Option<f64>,
    /// The network's arithmetic: f32, or f16/bf16 where the device supports it (the
    /// likelihood and the draws stay f32).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Precision::F32))]
    pub precision: Precision,
    /// Most galaxy-passes sent through the network at once (default: 256 on a CPU, 4096 on
    /// a GPU). Larger fills a GPU better; memory grows in proportion.
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub max_rows: Option<usize>,
    /// Spread the passes over the cutout's orientations: `dihedral` gives each of the eight
    /// flips and quarter turns an eighth of them (test-time augmentation; no extra cost).
    /// A calibration is only applied to posteriors sampled as it was fitted.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Orientations::One))]
    pub orientations: Orientations,
    /// Keep every posterior's raw samples. Default false.
    #[cfg_attr(feature = "clap", arg(skip))]
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
            precision: Precision::F32,
            max_rows: None,
            orientations: Orientations::One,
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

    /// Running the network in `precision`.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// At most `rows` galaxy-passes through the network at once (`None`: the device's
    /// default, [`crate::posterior::default_max_rows`]).
    pub fn with_max_rows(mut self, rows: Option<usize>) -> Self {
        self.max_rows = rows;
        self
    }

    /// Sampling over `orientations` of each cutout.
    pub fn with_orientations(mut self, orientations: Orientations) -> Self {
        self.orientations = orientations;
        self
    }

    /// Whether to keep raw samples.
    pub fn with_keep_samples(mut self, keep: bool) -> Self {
        self.keep_samples = keep;
        self
    }

    /// Refuses counts of zero and a dropout rate outside [0, 1).
    pub fn check(&self) -> Result<(), GampenError> {
        if self.batch_size == 0
            || self.passes == 0
            || self.samples_per_pass == 0
            || self.max_rows == Some(0)
        {
            return Err(GampenError::Config(
                "batch size, passes, samples per pass and max rows must be at least 1".into(),
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
