//! Training options.

use burn::config::Config;

use super::objective::MeanLoss;
use super::optimizer::OptimizerKind;
use crate::error::GampenError;
use crate::precision::Precision;

/// Options of a training run ([`Trainer`](crate::train::Trainer), [`train`](crate::train::train)).
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
    /// Optimiser steps over which the learning rate ramps linearly up to its schedule at the
    /// start of training (0: none, GaMPEN). Step `s` (0-based, counted over the whole run)
    /// trains at `(s + 1) / lr_warmup_steps` of the scheduled rate. Adam's first steps take
    /// full-size updates from second-moment estimates made of a handful of batches; on the
    /// small preset such a start sometimes switched off every unit for good (the network then
    /// predicts the mean for the rest of the run).
    #[config(default = 0)]
    pub lr_warmup_steps: usize,
    /// The spatial transformer's learning rate as a fraction of the rest's (1: the same,
    /// GaMPEN). Adam moves every weight by about the learning rate whatever its gradient, so
    /// the localisation net's last layer, whose hundreds of weights all feed the one scale,
    /// can move the crop by a large step at once; on the small preset a crop that left the
    /// galaxy gave the backbone an empty image and no gradient back, for the rest of the run
    /// (docs/accuracy.md). Jaderberg et al. (2015) trained their localisation nets slower too.
    #[config(default = 1.0)]
    pub stn_lr_factor: f64,
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
    /// Print one line per epoch on stderr from [`train`](crate::train::train)
    /// ([`EpochLines`](crate::train::EpochLines)); a [`Trainer`](crate::train::Trainer)
    /// reports to the observer it is given instead.
    #[config(default = true)]
    pub progress: bool,
    /// Keep this many most recent epoch checkpoints besides the best one.
    #[config(default = 2)]
    pub keep_last: usize,
    /// The network's arithmetic in training steps: f32, or mixed precision (f16/bf16
    /// forward and backward, f32 master weights and optimiser, f32 likelihood; see
    /// [`crate::precision`]). Devel evaluation runs in f32.
    #[config(default = "Precision::F32")]
    pub precision: Precision,
}

impl TrainConfig {
    /// Checks every field that a config file or a caller can set, naming the field: no value
    /// reachable from a file may make training panic, diverge by construction or never start.
    pub fn validate(&self) -> Result<(), GampenError> {
        let bad = |msg: String| Err(GampenError::Config(msg));
        if self.epochs == 0 {
            return bad("`epochs` must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("`batch_size` must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("`lr` = {} must be finite and positive", self.lr));
        }
        if let Some(f) = self.final_lr_factor {
            if !(f.is_finite() && f >= 0.0) {
                return bad(format!("`final_lr_factor` = {f} must be finite and >= 0"));
            }
        }
        if !(self.stn_lr_factor.is_finite() && self.stn_lr_factor >= 0.0) {
            return bad(format!(
                "`stn_lr_factor` = {} must be finite and >= 0",
                self.stn_lr_factor
            ));
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c.is_finite() && c > 0.0) {
                return bad(format!(
                    "`clip_grad_norm` = {c} must be finite and positive"
                ));
            }
        }
        if self.patience == Some(0) {
            return bad("`patience` must be at least 1 (omit it to never stop early)".into());
        }
        if self.warmup_epochs > 0 && self.warmup_epochs >= self.epochs {
            return bad(format!(
                "`warmup_epochs` ({}) must be below `epochs` ({}): the covariance is trained \
                 only after the warm-up",
                self.warmup_epochs, self.epochs
            ));
        }
        self.optimizer.validate()
    }

    /// The learning rate of `epoch` (1-based), after [`final_lr_factor`](Self::final_lr_factor).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        let Some(factor) = self.final_lr_factor else {
            return self.lr;
        };
        let progress = epoch.saturating_sub(1) as f64 / self.epochs.max(1) as f64;
        let min = self.lr * factor;
        min + (self.lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }

    /// The learning rate of batch `batch` (0-based) of `epoch` (1-based) when an epoch has
    /// `batches` batches: [`lr_at`](Self::lr_at) times the warm-up ramp
    /// ([`lr_warmup_steps`](Self::lr_warmup_steps)).
    pub fn lr_at_step(&self, epoch: usize, batch: usize, batches: usize) -> f64 {
        let step = epoch.saturating_sub(1) * batches + batch;
        let ramp = match self.lr_warmup_steps {
            0 => 1.0,
            w => ((step + 1) as f64 / w as f64).min(1.0),
        };
        self.lr_at(epoch) * ramp
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

    #[test]
    fn warm_up_ramps_the_schedule_over_the_first_steps() {
        let cfg = TrainConfig::new().with_lr(0.01).with_epochs(2);
        assert_eq!(cfg.lr_at_step(1, 0, 5), 0.01);
        let warm = cfg.with_lr_warmup_steps(8);
        // Steps 0..4 of epoch 1, then 5..9 (epoch 2 starts at step 5).
        let lrs: Vec<f64> = (1..=2)
            .flat_map(|e| (0..5).map(move |b| (e, b)))
            .map(|(e, b)| warm.lr_at_step(e, b, 5))
            .collect();
        let expected = [1, 2, 3, 4, 5, 6, 7, 8, 8, 8].map(|k| 0.01 * k as f64 / 8.0);
        for (got, want) in lrs.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{lrs:?}");
        }
    }

    #[test]
    fn validate_names_every_bad_field() {
        let ok = TrainConfig::new();
        ok.validate().unwrap();
        let sgd = |momentum: f64, weight_decay: f64| OptimizerKind::Sgd {
            momentum,
            nesterov: false,
            weight_decay,
        };
        for (cfg, field) in [
            (ok.clone().with_epochs(0), "epochs"),
            (ok.clone().with_batch_size(0), "batch_size"),
            (ok.clone().with_lr(f64::NAN), "lr"),
            (ok.clone().with_lr(-1.0), "lr"),
            (
                ok.clone().with_final_lr_factor(Some(f64::INFINITY)),
                "final_lr_factor",
            ),
            (ok.clone().with_clip_grad_norm(Some(-1.0)), "clip_grad_norm"),
            (ok.clone().with_stn_lr_factor(f64::NAN), "stn_lr_factor"),
            (ok.clone().with_stn_lr_factor(-0.1), "stn_lr_factor"),
            (ok.clone().with_patience(Some(0)), "patience"),
            (ok.clone().with_warmup_epochs(40), "warmup_epochs"),
            (ok.clone().with_optimizer(sgd(f64::NAN, 0.0)), "momentum"),
            (ok.clone().with_optimizer(sgd(0.9, -1.0)), "weight_decay"),
        ] {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}
