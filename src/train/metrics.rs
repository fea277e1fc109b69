//! Per-epoch metrics, written as JSON lines to `metrics.jsonl` in the run directory.

use serde::{Deserialize, Serialize};

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (mean squared error of the means in a
    /// warm-up epoch).
    pub train_loss: f64,
    /// Whether this was a warm-up epoch that fitted only the means
    /// ([`TrainConfig::warmup_epochs`](crate::train::TrainConfig::warmup_epochs)).
    #[serde(default)]
    pub warmup: bool,
    /// Mean devel loss per galaxy.
    pub devel_loss: f64,
    /// Devel mean absolute error of the predicted mean, per parameter, in original units.
    pub devel_mae: Vec<f64>,
    /// Devel mean squared error of the predicted mean, per parameter, in original units.
    pub devel_mse: Vec<f64>,
    /// Devel mean squared error of the predicted means in the model's scaled label space,
    /// averaged over the parameters (NaN in logs written before it was recorded).
    #[serde(default = "nan")]
    pub devel_scaled_mse: f64,
    /// Training MAE per parameter (original units), from the training forward passes.
    pub train_mae: Vec<f64>,
    /// Whether this epoch is the best so far by the run's selection score
    /// ([`MeanLoss::selection_score`](crate::train::MeanLoss::selection_score)).
    pub best: bool,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// Loss and errors of a model on a set, without dropout (see [`evaluate`](crate::train::evaluate)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss per galaxy.
    pub loss: f64,
    /// Mean absolute error of the predicted mean per parameter, original units.
    pub mae: Vec<f64>,
    /// Mean squared error of the predicted mean per parameter, original units.
    pub mse: Vec<f64>,
    /// Mean squared error of the predicted means in the model's scaled label space (where
    /// every parameter has unit variance over the training split), averaged over the
    /// parameters.
    #[serde(default = "nan")]
    pub scaled_mse: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// Accumulates absolute and squared errors per parameter.
#[derive(Clone, Debug)]
pub(crate) struct ErrorAccumulator {
    abs: Vec<f64>,
    sq: Vec<f64>,
    scaled_sq: f64,
    count: usize,
}

impl ErrorAccumulator {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            abs: vec![0.0; n],
            sq: vec![0.0; n],
            scaled_sq: 0.0,
            count: 0,
        }
    }

    pub(crate) fn add(&mut self, predicted: &[f64], truth: &[f64]) {
        for (p, (a, b)) in predicted.iter().zip(truth).enumerate() {
            let d = a - b;
            self.abs[p] += d.abs();
            self.sq[p] += d * d;
        }
        self.count += 1;
    }

    pub(crate) fn mae(&self) -> Vec<f64> {
        let c = self.count.max(1) as f64;
        self.abs.iter().map(|v| v / c).collect()
    }

    /// Adds one galaxy's squared error of the means in scaled label space, summed over the
    /// parameters.
    pub(crate) fn add_scaled(&mut self, squared: f64) {
        self.scaled_sq += squared;
    }

    /// The mean over galaxies and `n` parameters of what [`ErrorAccumulator::add_scaled`]
    /// collected.
    pub(crate) fn scaled_mse(&self, n: usize) -> f64 {
        self.scaled_sq / (self.count.max(1) * n.max(1)) as f64
    }

    pub(crate) fn mse(&self) -> Vec<f64> {
        let c = self.count.max(1) as f64;
        self.sq.iter().map(|v| v / c).collect()
    }
}
