//! `gampen train`'s training flags: a [`TrainConfig`] on the command line, with the library's
//! defaults.

use gampen::train::{MeanLoss, OptimizerFamily, OptimizerKind, TrainConfig};

use crate::flags::{
    count_usize, finite_non_negative_f64, positive_f64, positive_usize, probability,
};

/// How to train: every field of [`TrainConfig`] a command line sets.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Epochs.
    #[arg(long, default_value_t = TrainConfig::new().epochs, value_parser = positive_usize, allow_negative_numbers = true)]
    pub epochs: usize,
    /// Galaxies per batch.
    #[arg(long, default_value_t = TrainConfig::new().batch_size, value_parser = positive_usize, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Learning rate [default: 0.005 for sgd, 0.001 for adam].
    #[arg(long, value_parser = positive_f64, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Decay the learning rate along a cosine to this fraction of --lr by the last epoch
    /// [default: constant].
    #[arg(long, value_parser = finite_non_negative_f64, allow_negative_numbers = true)]
    pub final_lr_factor: Option<f64>,
    /// Optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerFamily::default())]
    pub optimizer: OptimizerFamily,
    /// SGD momentum.
    #[arg(long, default_value_t = OptimizerKind::SGD_MOMENTUM, value_parser = probability, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0, value_parser = finite_non_negative_f64, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Stop when the devel loss has not improved for this many epochs.
    #[arg(long, value_parser = positive_usize, allow_negative_numbers = true)]
    pub patience: Option<usize>,
    /// Seed of initialisation, shuffling, augmentation and dropout.
    #[arg(long, default_value_t = TrainConfig::new().seed)]
    pub seed: u64,
    /// No random flips and rotations of the training images.
    #[arg(long)]
    pub no_augment: bool,
    /// Clip each parameter's gradient to this L2 norm.
    #[arg(long, value_parser = positive_f64, allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f64>,
    /// Fit only the means (mean squared error) for this many epochs before the likelihood
    /// takes over; helps a Gaussian head learn hard parameters such as B/T.
    #[arg(long, default_value_t = TrainConfig::new().warmup_epochs, value_parser = count_usize, allow_negative_numbers = true)]
    pub warmup_epochs: usize,
    /// How the means are fitted: by the likelihood (GaMPEN), or by squared error with the
    /// likelihood fitting the covariance around them (after Stirn et al. 2023).
    #[arg(long, value_enum, default_value_t = MeanLoss::default())]
    pub mean_loss: MeanLoss,
    /// Do not train the spatial transformer.
    #[arg(long)]
    pub freeze_stn: bool,
    /// Do not train the backbone's convolutions (the head stays trainable).
    #[arg(long)]
    pub freeze_backbone: bool,
    /// Start from scratch even if --out holds an interrupted run (its checkpoints are
    /// overwritten as training proceeds).
    #[arg(long)]
    pub no_resume: bool,
}

impl TrainArgs {
    /// The training configuration; `progress` as the command's `--quiet` says.
    pub fn config(&self, progress: bool) -> TrainConfig {
        let optimizer = self
            .optimizer
            .with(self.momentum, self.nesterov, self.weight_decay);
        TrainConfig::new()
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_lr(self.lr.unwrap_or(self.optimizer.default_lr()))
            .with_final_lr_factor(self.final_lr_factor)
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
    }
}
