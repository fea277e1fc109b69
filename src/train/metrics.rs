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
    /// Training MAE per parameter (original units), from the training forward passes.
    pub train_mae: Vec<f64>,
    /// Whether this epoch set a new best devel loss.
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
}

/// Accumulates absolute and squared errors per parameter.
#[derive(Clone, Debug)]
pub(crate) struct ErrorAccumulator {
    abs: Vec<f64>,
    sq: Vec<f64>,
    count: usize,
}

impl ErrorAccumulator {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            abs: vec![0.0; n],
            sq: vec![0.0; n],
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

    pub(crate) fn mse(&self) -> Vec<f64> {
        let c = self.count.max(1) as f64;
        self.sq.iter().map(|v| v / c).collect()
    }
}
