//! What a run learns ([`LabelFlags`]) and how it trains ([`TrainFlags`]).

use gampen_data::flags::split_list;
use gampen_data::{ScalingKind, Transform};

use crate::precision::Precision;
use crate::train::{MeanLoss, OptimizerFamily, TrainConfig};

/// What `gampen train` learns to predict.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct LabelFlags {
    /// Label columns to predict, comma-separated.
    #[cfg_attr(feature = "clap", arg(long, default_value = "bt,r_e,total_flux"))]
    pub labels: String,
    /// Transform per label, comma-separated: logit, ln, log10, identity [default: logit for
    /// bt, ln for r_e and total_flux, identity otherwise].
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub transforms: Option<Vec<Transform>>,
    /// Label scaling fitted on the training split.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = ScalingKind::default()))]
    pub scaling: ScalingKind,
}

impl LabelFlags {
    /// The label column names.
    pub fn names(&self) -> Vec<String> {
        split_list(&self.labels)
    }
}

/// How to train: every field of [`TrainConfig`] a command line sets.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TrainFlags {
    /// Epochs.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainConfig::new().epochs, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub epochs: usize,
    /// Galaxies per batch.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainConfig::new().batch_size, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub batch_size: usize,
    /// Learning rate [default: 0.005 for sgd, 0.001 for adam].
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_f64, allow_negative_numbers = true))]
    pub lr: Option<f64>,
    /// Decay the learning rate along a cosine to this fraction of --lr by the last epoch
    /// [default: constant].
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::finite_non_negative_f64, allow_negative_numbers = true))]
    pub final_lr_factor: Option<f64>,
    /// Ramp the learning rate linearly up from zero over this many optimiser steps at the
    /// start of training [default: none].
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0, value_parser = gampen_data::flags::count_usize, allow_negative_numbers = true))]
    pub lr_warmup_steps: usize,
    /// The spatial transformer's learning rate as a fraction of --lr [default: 1, GaMPEN's].
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1.0, value_parser = gampen_data::flags::finite_non_negative_f64, allow_negative_numbers = true))]
    pub stn_lr_factor: f64,
    /// Optimiser.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = OptimizerFamily::default()))]
    pub optimizer: OptimizerFamily,
    /// SGD momentum.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = crate::train::OptimizerKind::SGD_MOMENTUM, value_parser = gampen_data::flags::probability, allow_negative_numbers = true))]
    pub momentum: f64,
    /// Nesterov momentum (SGD).
    #[cfg_attr(feature = "clap", arg(long))]
    pub nesterov: bool,
    /// L2 weight decay.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.0, value_parser = gampen_data::flags::finite_non_negative_f64, allow_negative_numbers = true))]
    pub weight_decay: f64,
    /// Stop when the devel loss has not improved for this many epochs.
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub patience: Option<usize>,
    /// Seed of initialisation, shuffling, augmentation and dropout.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainConfig::new().seed))]
    pub seed: u64,
    /// No random flips and rotations of the training images.
    #[cfg_attr(feature = "clap", arg(long))]
    pub no_augment: bool,
    /// Clip each parameter's gradient to this L2 norm.
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_f64, allow_negative_numbers = true))]
    pub clip_grad_norm: Option<f64>,
    /// Fit only the means (mean squared error) for this many epochs before the likelihood
    /// takes over; helps a Gaussian head learn hard parameters such as B/T.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = TrainConfig::new().warmup_epochs, value_parser = gampen_data::flags::count_usize, allow_negative_numbers = true))]
    pub warmup_epochs: usize,
    /// How the means are fitted: by the likelihood (GaMPEN), or by squared error with the
    /// likelihood fitting the covariance around them (after Stirn et al. 2023).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = MeanLoss::default()))]
    pub mean_loss: MeanLoss,
    /// Do not train the spatial transformer.
    #[cfg_attr(feature = "clap", arg(long))]
    pub freeze_stn: bool,
    /// Do not train the backbone's convolutions (the head stays trainable).
    #[cfg_attr(feature = "clap", arg(long))]
    pub freeze_backbone: bool,
    /// Start from scratch even if --out holds an interrupted run (its checkpoints are
    /// overwritten as training proceeds).
    #[cfg_attr(feature = "clap", arg(long))]
    pub no_resume: bool,
    /// The network's arithmetic in training steps: f32, or mixed precision f16/bf16 (f32
    /// master weights, optimiser and likelihood) where the device supports it.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Precision::F32))]
    pub precision: Precision,
}

impl TrainFlags {
    /// The training configuration, with progress lines when `progress`.
    pub fn config(&self, progress: bool) -> TrainConfig {
        let optimizer = self
            .optimizer
            .with(self.momentum, self.nesterov, self.weight_decay);
        TrainConfig::new()
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_lr(self.lr.unwrap_or(self.optimizer.default_lr()))
            .with_final_lr_factor(self.final_lr_factor)
            .with_lr_warmup_steps(self.lr_warmup_steps)
            .with_stn_lr_factor(self.stn_lr_factor)
            .with_optimizer(optimizer)
            .with_clip_grad_norm(self.clip_grad_norm)
            .with_warmup_epochs(self.warmup_epochs)
            .with_mean_loss(self.mean_loss)
            .with_seed(self.seed)
            .with_patience(self.patience)
            .with_augment(!self.no_augment)
            .with_freeze_stn(self.freeze_stn)
            .with_freeze_backbone(self.freeze_backbone)
            .with_resume(!self.no_resume)
            .with_progress(progress)
            .with_precision(self.precision)
    }
}
