//! What a training batch is scored with: the model's likelihood, the faithful split of it, or
//! the warm-up's squared error of the means.

use burn::tensor::Tensor;
use gampen_loss::{GaussianLoss, GaussianLossConfig, LossError, LossKind};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::metrics::Evaluation;
use crate::model::add_offsets;
use crate::precision::{to_f32, LossScaler};
use crate::Gampen;

/// How the predicted means are fitted during training.
///
/// With a Gaussian likelihood the gradient on each mean is `Sigma^-1 (y - mu)`: parameters the
/// network predicts tightly (flux) get a weight of `1 / sigma^2` that dwarfs the one of a hard
/// parameter (B/T), whose mean then stops improving or drifts back to the sample average while
/// the shared features serve the easy ones (Seitzer et al. 2022, "On the pitfalls of
/// heteroscedastic uncertainty estimation"). [`MeanLoss::SquaredError`] is the remedy of
/// Stirn et al. 2023 ("Faithful heteroscedastic regression with neural networks"): the means
/// are fitted by squared error, the likelihood trains the covariance around them. Unlike
/// their version, the shared features still receive the likelihood's gradient through the
/// covariance outputs: stopping it with the last layer alone as the covariance model gave
/// over-wide intervals (docs/training.md, "Fitting the means").
///
/// The training loss logged with [`MeanLoss::SquaredError`] includes the squared-error term;
/// the devel loss is the likelihood alone. Which epoch is kept as the best follows the mean
/// loss ([`MeanLoss::selection_score`]).
///
/// On a command line (the `clap` feature): `likelihood` or `mse`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MeanLoss {
    /// The model's likelihood trains the means and the covariance together (GaMPEN's choice).
    #[default]
    Likelihood,
    /// `0.5 |y - mu|^2 + NLL(y; stop_gradient(mu), Sigma)`: the means get exactly the squared
    /// error's gradient, the covariance exactly the likelihood's for the current means; the
    /// likelihood trains only the last layer's covariance weights, not the network the means
    /// share ([`Gampen::forward_covariance_detached`]), so the means are those squared-error
    /// training alone would give.
    #[cfg_attr(
        feature = "clap",
        value(
            name = "mse",
            alias = "squared-error",
            help = "Squared error fits the means, the likelihood the covariance around them"
        )
    )]
    SquaredError,
}

impl MeanLoss {
    /// The devel score the best epoch minimises: the likelihood for
    /// [`MeanLoss::Likelihood`]; for [`MeanLoss::SquaredError`] the squared error of the means
    /// in scaled label space, what those means are trained on. The devel likelihood moves
    /// with every change of the covariance head and picked epochs whose means were worse
    /// (docs/accuracy.md); the interval widths are then set by calibration on devel.
    pub fn selection_score(self, devel: &Evaluation) -> f64 {
        match self {
            Self::Likelihood => devel.loss,
            Self::SquaredError => devel.scaled_mse,
        }
    }
}

/// The objective of one training batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Objective {
    /// A warm-up epoch: mean squared error of the means only; the covariance outputs get no
    /// gradient.
    Warmup,
    /// After the warm-up.
    Train(MeanLoss),
}

impl Objective {
    /// The objective of `epoch` (1-based): the warm-up's for the first
    /// [`warmup_epochs`](TrainConfig::warmup_epochs), then the run's [`MeanLoss`].
    pub(crate) fn for_epoch(epoch: usize, config: &TrainConfig) -> Self {
        if epoch <= config.warmup_epochs {
            Self::Warmup
        } else {
            Self::Train(config.mean_loss)
        }
    }

    /// The batch-mean loss of `outputs` (laid out as `loss_fn` expects) against `targets`.
    ///
    /// # Shapes
    ///
    /// - outputs: `[B, loss_fn.num_outputs()]`
    /// - targets: `[B, n]`
    /// - output: `[1]`
    ///
    /// # Errors
    ///
    /// `loss_fn`'s errors, in its terms, for outputs or targets of the wrong shape.
    /// The model's outputs for this objective: with squared-error means, the covariance
    /// columns do not train the shared network
    /// ([`Gampen::forward_covariance_detached`]).
    ///
    /// In half precision the network (a cast of the f32 master weights, inside the graph,
    /// scaled as `scaler` says) and the images are cast, and the outputs come back as f32
    /// for the likelihood.
    pub(crate) fn outputs(
        self,
        model: &Gampen,
        images: Tensor<4>,
        scaler: &LossScaler,
    ) -> Tensor<2> {
        let precision = scaler.precision();
        if precision.is_full() {
            return self.outputs_f32(model, images);
        }
        // The anchor reads the pixel sum from the f32 cutouts: rounded to half, the bright
        // pixels' arsinh values would be off by percents once the sinh undoes them.
        let offsets = model.anchor_offsets(&images);
        let mut half = scaler.cast(model.clone());
        half.clear_flux_anchor();
        add_offsets(
            to_f32(self.outputs_f32(&half, precision.cast(images))),
            offsets,
        )
    }

    fn outputs_f32(self, model: &Gampen, images: Tensor<4>) -> Tensor<2> {
        let n = model.config().num_params();
        match self {
            Self::Train(MeanLoss::SquaredError) if model.config().num_outputs() > n => {
                model.forward_covariance_detached(images, n)
            }
            _ => model.forward(images),
        }
    }

    pub(crate) fn loss(
        self,
        loss_fn: &GaussianLoss,
        outputs: Tensor<2>,
        targets: Tensor<2>,
    ) -> Result<Tensor<1>, LossError> {
        let (n, width) = (loss_fn.n, outputs.dims()[1]);
        if matches!(self, Self::Train(MeanLoss::Likelihood))
            || loss_fn.kind == LossKind::Mse
            || width != loss_fn.num_outputs()
        {
            // A squared-error head, or a width the loss will report as an error.
            return loss_fn.forward(outputs, targets);
        }
        let squared = GaussianLossConfig::new(n).with_kind(LossKind::Mse).init();
        // The first n outputs are the means for every loss kind.
        let means = outputs.clone().narrow(1, 0, n);
        match self {
            Self::Warmup => squared.forward(means, targets),
            _ => {
                // `squared` averages over the n parameters; 0.5 |y - mu|^2 sums them.
                let fit = squared
                    .forward(means.clone(), targets.clone())?
                    .mul_scalar(0.5 * n as f64);
                let rest = outputs.narrow(1, n, width - n);
                let detached = Tensor::cat(vec![means.detach(), rest], 1);
                Ok(fit + loss_fn.forward(detached, targets)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    const OUTPUTS: [[f32; 5]; 2] = [[0.5, -1.0, 0.3, -0.2, 0.7], [2.0, 0.0, -0.5, 0.1, -0.4]];
    const TARGETS: [[f32; 2]; 2] = [[1.0, 0.0], [1.5, 0.5]];

    /// The loss value and its gradient with respect to the outputs.
    fn value_and_grad(objective: Objective, loss_fn: &GaussianLoss) -> (f32, Vec<f32>) {
        #[allow(deprecated)]
        let device = Device::ndarray().autodiff();
        let outputs = Tensor::<2>::from_floats(OUTPUTS, &device).require_grad();
        let targets = Tensor::<2>::from_floats(TARGETS, &device);
        let loss = objective.loss(loss_fn, outputs.clone(), targets).unwrap();
        let grad = outputs.grad(&loss.backward()).unwrap();
        (
            loss.into_scalar::<f32>(),
            grad.into_data().try_to_vec::<f32>().unwrap(),
        )
    }

    fn assert_all_close(got: &[f32], expected: &[f32], what: &str) {
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-5, "{what}: {got:?} vs {expected:?}");
        }
    }

    #[test]
    fn warmup_scores_the_means_only() {
        let loss_fn = GaussianLossConfig::new(2).init(); // mu (2), log-diagonal (2), lower (1)
        let (value, grad) = value_and_grad(Objective::Warmup, &loss_fn);
        // Per galaxy: mean of the squared residuals of the two means; then the batch mean.
        let expected = ((0.25 + 1.0) / 2.0 + (0.25 + 0.25) / 2.0) / 2.0;
        assert!((value - expected).abs() < 1e-6, "{value} vs {expected}");
        // d/dmu = 2 (mu - y) / (n B); the covariance columns get nothing.
        let expected_grad = [-0.25, -0.5, 0.0, 0.0, 0.0, 0.25, -0.25, 0.0, 0.0, 0.0];
        assert_all_close(&grad, &expected_grad, "warm-up gradient");
    }

    #[test]
    fn squared_error_means_split_the_gradient() {
        let loss_fn = GaussianLossConfig::new(2).init();
        let (nll, nll_grad) = value_and_grad(Objective::Train(MeanLoss::Likelihood), &loss_fn);
        let (value, grad) = value_and_grad(Objective::Train(MeanLoss::SquaredError), &loss_fn);
        // Value: the likelihood plus 0.5 |y - mu|^2 averaged over the batch.
        let half_sq = (0.5 * (0.25 + 1.0) + 0.5 * (0.25 + 0.25)) / 2.0;
        assert!(
            (value - (nll + half_sq)).abs() < 1e-5,
            "{value} vs {nll} + {half_sq}"
        );
        // Means: (mu - y) / B, whatever the covariance; covariance: the likelihood's gradient.
        for g in 0..2 {
            let row = &grad[g * 5..g * 5 + 5];
            let expected_mu: Vec<f32> = (0..2)
                .map(|p| (OUTPUTS[g][p] - TARGETS[g][p]) / 2.0)
                .collect();
            assert_all_close(&row[..2], &expected_mu, "mean gradient");
            assert_all_close(
                &row[2..],
                &nll_grad[g * 5 + 2..g * 5 + 5],
                "covariance gradient",
            );
        }
        // The likelihood's own mean gradient differs (it is scaled by Sigma^-1).
        assert!((nll_grad[0] - grad[0]).abs() > 1e-3, "{nll_grad:?}");
    }

    #[test]
    fn the_selection_score_follows_the_mean_loss() {
        let devel = Evaluation {
            loss: -1.5,
            mae: vec![0.1],
            mse: vec![0.02],
            scaled_mse: 0.25,
        };
        assert_eq!(MeanLoss::Likelihood.selection_score(&devel), -1.5);
        assert_eq!(MeanLoss::SquaredError.selection_score(&devel), 0.25);
    }

    #[test]
    fn wrong_widths_are_the_losses_errors() {
        #[allow(deprecated)]
        let device = Device::ndarray();
        let loss_fn = GaussianLossConfig::new(2).init();
        for objective in [Objective::Warmup, Objective::Train(MeanLoss::SquaredError)] {
            let narrow = Tensor::<2>::zeros([2, 2], &device);
            let targets = Tensor::<2>::zeros([2, 2], &device);
            assert!(matches!(
                objective.loss(&loss_fn, narrow, targets),
                Err(LossError::WrongWidth {
                    expected: 5,
                    got: 2,
                    ..
                })
            ));
        }
    }

    #[test]
    fn covariance_columns_do_not_train_the_shared_network() {
        use crate::GampenConfig;
        use burn::module::Module;
        #[allow(deprecated)]
        let device = Device::ndarray().autodiff();
        let config = GampenConfig::gampen_small(vec!["a".into(), "b".into()])
            .with_stn(None)
            .with_dropout(0.0);
        let model = config.init(&device).unwrap();
        let images =
            Tensor::<4>::random([2, 1, 64, 64], burn::tensor::Distribution::Default, &device);
        let full = model.forward(images.clone());
        let split = model.forward_covariance_detached(images, 2);
        let diff = (full.clone() - split.clone())
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(diff < 1e-6, "values differ by {diff}");
        // A loss on the covariance columns only: the head learns, the trunk does not.
        let grads = split.narrow(1, 2, 3).sum().backward();
        let grad_norm = |p: &burn::module::Param<Tensor<2>>| {
            p.val()
                .grad(&grads)
                .map(|g| g.abs().sum().into_scalar::<f32>())
        };
        let head = model.backbone.head();
        assert!(grad_norm(&head.weight).unwrap() > 0.0);
        let mut trained = 0;
        model.visit(&mut Trained(&grads, &mut trained));
        assert_eq!(trained, 2, "only the head's weight and bias get gradients");
    }

    /// In half precision the anchor is still read from the f32 cutouts: the anchored and
    /// the plain half network differ by exactly the f32 offsets, bright pixels included.
    #[test]
    fn half_precision_training_reads_the_anchor_in_f32() {
        use crate::precision::LossScaler;
        use crate::{FluxAnchor, GampenConfig, Precision};
        let device = Device::flex();
        let config = GampenConfig::gampen_small(vec!["a".into(), "flux".into()]).with_stn(None);
        let mut model = config.init(&device).unwrap();
        let anchor = FluxAnchor {
            parameter: 1,
            arsinh_softening: Some(0.05),
            floor: 3.2,
            log_factor: 1.0,
            shift: 0.02,
            offset: 7.0,
            scale: 0.15,
        };
        model.set_flux_anchor(Some(anchor)).unwrap();
        // Bright cutouts: arsinh values near 10, where bf16 keeps two decimals.
        let images = Tensor::<4>::random(
            [2, 1, 64, 64],
            burn::tensor::Distribution::Uniform(9.0, 11.0),
            &device,
        );
        let scaler = LossScaler::new(Precision::Bf16);
        let objective = Objective::Train(MeanLoss::SquaredError);
        let anchored = objective.outputs(&model, images.clone(), &scaler);
        let offsets = model.anchor_offsets(&images).unwrap();
        model.clear_flux_anchor();
        let plain = objective.outputs(&model, images, &scaler);
        let diff = (anchored - plain - offsets)
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(diff < 1e-5, "the half path's anchor is off by {diff}");
    }

    /// Counts the parameters with a non-zero gradient.
    struct Trained<'a>(&'a burn::tensor::Gradients, &'a mut usize);

    impl burn::module::ModuleVisitor for Trained<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let g = param.val().grad(self.0);
            if g.is_some_and(|g| g.abs().sum().into_scalar::<f32>() > 0.0) {
                *self.1 += 1;
            }
        }
    }
}
