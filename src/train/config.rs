//! Training options.

use burn::config::Config;
use burn::grad_clipping::GradientClipping;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

use super::objective::MeanLoss;

/// The optimiser and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Stochastic gradient descent, PyTorch semantics (no dampening). GaMPEN's choice.
    Sgd {
        /// Momentum factor (GaMPEN: 0.9).
        momentum: f64,
        /// Nesterov momentum (GaMPEN: off).
        nesterov: bool,
        /// L2 penalty (GaMPEN: 0).
        weight_decay: f64,
    },
    /// Adam.
    Adam {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// L2 penalty.
        weight_decay: f64,
    },
}

impl OptimizerKind {
    /// GaMPEN's defaults: SGD, momentum 0.9, no Nesterov, no weight decay.
    pub fn gampen_sgd() -> Self {
        Self::Sgd {
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Adam with the usual betas and no weight decay.
    pub fn adam() -> Self {
        Self::Adam {
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: 0.0,
        }
    }

    pub(crate) fn init(&self, clip_norm: Option<f64>) -> ModuleOptimizer {
        let optim = self.init_unclipped();
        match clip_norm {
            Some(norm) => optim.with_grad_clipping(GradientClipping::Norm(norm as f32)),
            None => optim,
        }
    }

    fn init_unclipped(&self) -> ModuleOptimizer {
        let decay = |wd: f64| (wd > 0.0).then(|| WeightDecayConfig::new(wd as f32));
        match *self {
            Self::Sgd {
                momentum,
                nesterov,
                weight_decay,
            } => {
                let momentum = (momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                        .with_nesterov(nesterov)
                });
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay(weight_decay))
                    .init()
            }
            Self::Adam {
                beta1,
                beta2,
                weight_decay,
            } => AdamConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_weight_decay(decay(weight_decay))
                .init(),
        }
    }
}

/// Options of [`train`](crate::train::train).
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Passes over the training set (GaMPEN: 40).
    #[config(default = 40)]
    pub epochs: usize,
    /// Galaxies per batch (GaMPEN: 32).
    #[config(default = 32)]
    pub batch_size: usize,
    /// Learning rate (GaMPEN: 0.005).
    #[config(default = 0.005)]
    pub lr: f64,
    /// Cosine decay of the learning rate over the run, per epoch: epoch `e` (1-based) of `E`
    /// trains at `lr_min + (lr - lr_min) (1 + cos(pi (e - 1) / E)) / 2`, where
    /// `lr_min = lr * final_lr_factor`. `None` keeps `lr` constant (GaMPEN).
    #[config(default = "None")]
    pub final_lr_factor: Option<f64>,
    /// Optimiser.
    #[config(default = "OptimizerKind::gampen_sgd()")]
    pub optimizer: OptimizerKind,
    /// Clip each parameter's gradient to this L2 norm (`None`: no clipping). A guard against
    /// the occasional huge step when a predicted variance collapses early in training.
    #[config(default = "None")]
    pub clip_grad_norm: Option<f64>,
    /// Epochs at the start that fit only the predicted means, with mean squared error, before
    /// the model's own likelihood takes over (0: none; must be below `epochs`).
    ///
    /// With a Gaussian likelihood the gradient on a mean is scaled by the inverse of the
    /// predicted (co)variance, so a network that first explains a hard parameter (B/T) with a
    /// large variance then learns its mean slowly or not at all (Seitzer et al. 2022, "On the
    /// pitfalls of heteroscedastic uncertainty estimation"). Fitting the means first avoids
    /// that. The covariance outputs get no gradient during the warm-up, and warm-up epochs
    /// are never picked as the best epoch, since their covariance is untrained.
    #[config(default = 0)]
    pub warmup_epochs: usize,
    /// How the means are fitted after the warm-up: by the model's likelihood (GaMPEN), or by
    /// squared error with the likelihood training only the covariance (see [`MeanLoss`]).
    #[config(default = "MeanLoss::Likelihood")]
    pub mean_loss: MeanLoss,
    /// Seed of shuffling, augmentation and dropout masks. Weight initialisation happens
    /// before training: seed the device (`device.seed(..)`) before building the model.
    #[config(default = 0)]
    pub seed: u64,
    /// Stop when the devel loss has not improved for this many epochs.
    #[config(default = "None")]
    pub patience: Option<usize>,
    /// Random flips and rotations of the training images.
    #[config(default = true)]
    pub augment: bool,
    /// Do not train the spatial transformer (fine-tuning).
    #[config(default = false)]
    pub freeze_stn: bool,
    /// Do not train the backbone's convolutional features (fine-tuning).
    #[config(default = false)]
    pub freeze_backbone: bool,
    /// Continue from the run directory's last checkpoint if there is one.
    #[config(default = true)]
    pub resume: bool,
    /// Draw a progress bar on stderr.
    #[config(default = true)]
    pub progress: bool,
    /// Keep this many most recent epoch checkpoints besides the best one.
    #[config(default = 2)]
    pub keep_last: usize,
}

impl TrainConfig {
    /// The learning rate of `epoch` (1-based), after [`final_lr_factor`](Self::final_lr_factor).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        let Some(factor) = self.final_lr_factor else {
            return self.lr;
        };
        let progress = epoch.saturating_sub(1) as f64 / self.epochs.max(1) as f64;
        let min = self.lr * factor;
        min + (self.lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_decay_runs_from_lr_towards_the_floor() {
        let constant = TrainConfig::new().with_lr(0.01).with_epochs(4);
        assert!((1..=4).all(|e| constant.lr_at(e) == 0.01));

        let cosine = constant.with_final_lr_factor(Some(0.1));
        let lrs: Vec<f64> = (1..=4).map(|e| cosine.lr_at(e)).collect();
        // (1 + cos(pi k / 4)) / 2 for k = 0..3, between 0.001 and 0.01.
        let expected = [0.01, 0.008682, 0.0055, 0.002318];
        for (got, want) in lrs.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{lrs:?}");
        }
    }
}
