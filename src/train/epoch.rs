//! One epoch: a seeded, shuffled pass over the training set that steps the optimiser, and the
//! evaluation of a model on a set.

use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor};
use gampen_data::seed::Seed;
use gampen_loss::GaussianLoss;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::config::TrainConfig;
use super::metrics::{ErrorAccumulator, Evaluation};
use super::objective::Objective;
use super::observer::TrainObserver;
use super::step::Step;
use crate::data::GalaxySet;
use crate::error::GampenError;
use crate::host::to_f64_vec;
use crate::model::{add_offsets, Gampen};
use crate::posterior::LabelInverse;
use crate::precision::LossScaler;

/// What one pass over the training set measured.
pub(crate) struct TrainPass {
    /// Mean loss over the batches.
    pub loss: f64,
    /// Mean absolute error per parameter, original units.
    pub mae: Vec<f64>,
}

/// Why an epoch stopped before its end.
pub(crate) enum Stop {
    /// A batch's loss was NaN or infinite.
    NonFinite {
        /// 0-based batch.
        batch: usize,
        /// The loss.
        value: f64,
    },
    /// Any other error.
    Error(GampenError),
}

impl From<GampenError> for Stop {
    fn from(e: GampenError) -> Self {
        Stop::Error(e)
    }
}

impl From<gampen_loss::LossError> for Stop {
    fn from(e: gampen_loss::LossError) -> Self {
        Stop::Error(e.into())
    }
}

/// What an epoch needs besides the model and the optimiser.
pub(crate) struct EpochContext<'a> {
    /// The training set.
    pub train: &'a dyn GalaxySet,
    /// The options of the run.
    pub config: &'a TrainConfig,
    /// Original units for the errors.
    pub inverse: &'a dyn LabelInverse,
    /// The autodiff device training runs on.
    pub autodiff: &'a Device,
    /// The model's loss.
    pub loss_fn: &'a GaussianLoss,
}

impl EpochContext<'_> {
    /// Trains `model` for `epoch` (1-based): the device, the shuffle and the augmentation are
    /// seeded from the epoch, so a resumed run draws what an uninterrupted one would.
    /// A non-finite batch loss ends the pass early with [`Stop::NonFinite`].
    pub(crate) fn train_epoch(
        &self,
        mut model: Gampen,
        optim: &mut ModuleOptimizer,
        epoch: usize,
        observer: &mut dyn TrainObserver,
    ) -> Result<(Gampen, TrainPass), Stop> {
        let config = self.config;
        let seed = Seed(config.seed);
        let objective = Objective::for_epoch(epoch, config);
        self.autodiff.seed(seed.epoch_dropout(epoch));
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
            seed.epoch_shuffle(epoch),
        ));
        let n = model.config().num_params();
        let (mut loss_sum, mut err) = (0.0, ErrorAccumulator::new(n));
        let mut scaler = LossScaler::new(config.precision);
        let batches = self.train.len().div_ceil(config.batch_size);
        for (b, idx) in order.chunks(config.batch_size).enumerate() {
            let augment = config.augment.then(|| seed.batch_augment(epoch, b));
            let (images, targets) = self.train.batch(idx, augment, self.autodiff)?;
            model.check_input(images.dims())?;
            let step = Step {
                objective: &objective,
                loss_fn: self.loss_fn,
                lr: config.lr_at_step(epoch, b, batches),
                stn_lr_factor: config.stn_lr_factor,
            };
            let (stepped, value, outputs) = crate::workers::on_cpu_pool(|| {
                step.run(model, optim, &mut scaler, images, targets.clone())
            })?;
            model = stepped;
            if !value.is_finite() {
                return Err(Stop::NonFinite { batch: b, value });
            }
            loss_sum += value;
            accumulate(&mut err, outputs.inner(), targets.inner(), n, self.inverse)?;
            observer.on_batch(b, loss_sum / (b + 1) as f64);
        }
        let pass = TrainPass {
            loss: loss_sum / batches.max(1) as f64,
            mae: err.mae(),
        };
        Ok((model, pass))
    }
}

/// Stochastic passes [`evaluate`] averages over when the model has dropout.
pub const EVALUATION_PASSES: usize = 4;

/// The seed [`evaluate`] gives the device when the model has dropout, so that the same
/// weights always get the same score (a resumed run picks the epoch an uninterrupted one
/// would).
const EVALUATION_SEED: u64 = 0x5eed_de7e1;

/// Mean loss per galaxy and errors (original units) of `model` on `set`, evaluated as
/// predictions are made: with dropout, Monte-Carlo dropout on and the outputs averaged over
/// [`EVALUATION_PASSES`] seeded passes (the loss is the mean over the passes).
///
/// Without dropout at inference, a network trained with dropout in front of batch-normalised
/// convolutions sees activations of another variance than its running statistics were taken
/// from (Li et al. 2019, "Understanding the disharmony between dropout and batch
/// normalization"): on the small preset that biased r_e by +0.16" where the Monte-Carlo
/// predictions were biased by +0.07", and the best epoch was picked on that
/// (docs/accuracy.md). Seeds the device when the model has dropout.
pub fn evaluate(
    model: &Gampen,
    set: &dyn GalaxySet,
    batch_size: usize,
    device: &Device,
    labels: &dyn LabelInverse,
) -> Result<Evaluation, GampenError> {
    let n = model.config().num_params();
    let loss_fn = model.loss();
    let mut model = model.clone();
    let passes = if model.config().dropout > 0.0 {
        model.set_mc_dropout(true);
        device.seed(EVALUATION_SEED);
        EVALUATION_PASSES
    } else {
        1
    };
    let mut err = ErrorAccumulator::new(n);
    let mut total = 0.0;
    let indices: Vec<usize> = (0..set.len()).collect();
    for idx in indices.chunks(batch_size.max(1)) {
        let (images, targets) = set.batch(idx, None, device)?;
        model.check_input(images.dims())?;
        // Bit for bit `model.forward(images)` per pass: the prefix draws no dropout masks.
        let stem = model.deterministic(images.clone());
        let offsets = model.anchor_offsets(&images);
        let mut sum: Option<Tensor<2>> = None;
        for _ in 0..passes {
            let outputs = add_offsets(model.stochastic(stem.clone()), offsets.clone());
            let per = loss_fn.forward_no_reduction(outputs.clone(), targets.clone())?;
            total += per.sum().into_scalar::<f32>() as f64 / passes as f64;
            sum = Some(sum.map_or(outputs.clone(), |s| s + outputs));
        }
        // `passes` is at least 1, so the sum exists.
        let mean = sum.expect("one pass").div_scalar(passes as f64);
        accumulate(&mut err, mean, targets, n, labels)?;
    }
    Ok(Evaluation {
        loss: total / set.len().max(1) as f64,
        mae: err.mae(),
        mse: err.mse(),
        scaled_mse: err.scaled_mse(n),
    })
}

/// Adds the errors of a batch's predicted means, in original units.
fn accumulate(
    err: &mut ErrorAccumulator,
    outputs: Tensor<2>,
    targets: Tensor<2>,
    n: usize,
    labels: &dyn LabelInverse,
) -> Result<(), GampenError> {
    let [b, k] = outputs.dims();
    let out = to_f64_vec(outputs)?;
    let tgt = to_f64_vec(targets)?;
    for g in 0..b {
        // The first n outputs are the predicted means for every loss kind.
        let pred: Vec<f64> = (0..n)
            .map(|p| labels.to_original(p, out[g * k + p]))
            .collect();
        let truth: Vec<f64> = (0..n)
            .map(|p| labels.to_original(p, tgt[g * n + p]))
            .collect();
        let scaled: f64 = (0..n)
            .map(|p| (out[g * k + p] - tgt[g * n + p]).powi(2))
            .sum();
        err.add_scaled(scaled);
        err.add(&pred, &truth);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchor::FluxAnchor;
    use crate::config::GampenConfig;
    use burn::tensor::Distribution;

    /// [`evaluate`] runs the deterministic prefix once per batch and only the rest per pass.
    /// That is whole forward passes, mask for mask, when (1) the prefix draws no dropout mask
    /// and (2) prefix, rest and anchor add up to `forward` exactly. Both are checked without
    /// comparing two runs' masks: the backend's generator is global, and other tests draw
    /// from it concurrently.
    #[test]
    fn the_prefix_and_the_rest_are_a_whole_forward_pass() {
        let device = Device::flex();
        let mut model = GampenConfig::gampen_small(vec!["bt".into(), "flux".into()])
            .with_dropout(0.3)
            .init(&device)
            .unwrap();
        let anchor = FluxAnchor {
            parameter: 1,
            arsinh_softening: Some(0.05),
            floor: 3.2,
            log_factor: 1.0,
            shift: 0.3,
            offset: 1.5,
            scale: 0.8,
        };
        model.set_flux_anchor(Some(anchor)).unwrap();
        let images = Tensor::<4>::random([3, 1, 64, 64], Distribution::Default, &device);
        let whole = |m: &Gampen| {
            let stem = m.deterministic(images.clone());
            add_offsets(m.stochastic(stem), m.anchor_offsets(&images))
        };

        model.set_mc_dropout(true);
        let first = model.deterministic(images.clone()).into_data();
        let second = model.deterministic(images.clone()).into_data();
        assert_eq!(first, second, "the prefix drew a dropout mask");
        let a = whole(&model).into_data();
        let b = whole(&model).into_data();
        assert_ne!(
            a, b,
            "the rest drew no dropout mask: the check above proves nothing"
        );

        model.set_mc_dropout(false);
        let forward = model.forward(images.clone()).into_data();
        assert_eq!(whole(&model).into_data(), forward);
    }
}
