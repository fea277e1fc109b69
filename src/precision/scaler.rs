//! Dynamic loss scaling for f16 training.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use super::Precision;

/// Steps without an overflow after which the scale doubles (PyTorch's `GradScaler` default).
const GROWTH_INTERVAL: usize = 2000;
/// The scale never drops below 1: below that, scaling would only lose range.
const MIN_SCALE: f64 = 1.0;

/// Keeps the f16 loss scale as large as the gradients allow, as PyTorch's `GradScaler` does:
/// a step whose gradients overflowed (inf or NaN after the cast back) is skipped and the scale
/// halved; after 2,000 good steps (`GROWTH_INTERVAL`) it doubles. f32 and bf16 (f32's range)
/// need no scaling: every step is taken.
///
/// The trainer starts a new scaler each epoch, so a resumed run scales as an uninterrupted
/// one would, with nothing more in the checkpoint.
#[derive(Clone, Debug)]
pub struct LossScaler {
    precision: Precision,
    scale: f64,
    good_steps: usize,
    skipped: usize,
}

impl LossScaler {
    /// A scaler for training in `precision`, starting at 2^10 for f16 (1 otherwise).
    pub fn new(precision: Precision) -> Self {
        Self {
            precision,
            scale: precision.loss_scale(),
            good_steps: 0,
            skipped: 0,
        }
    }

    /// The precision it scales for.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// What the loss is multiplied by before the backward pass.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Steps skipped so far because their gradients overflowed.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The network of one step: `model` cast to the precision inside the graph, each
    /// weight's gradient divided by the current scale on its way back.
    pub fn cast<M: Module>(&self, model: M) -> M {
        self.precision.cast_module_scaled(model, self.scale)
    }

    /// After the backward pass: whether the optimiser may take this step (every gradient
    /// of `model` finite), adapting the scale. Costs one scalar read per f16 step.
    pub fn update<M: Module>(&mut self, grads: &GradientsParams, model: &M) -> bool {
        if self.precision != Precision::F16 {
            return true;
        }
        if all_finite(grads, model) {
            self.good_steps += 1;
            if self.good_steps == GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.good_steps = 0;
            }
            true
        } else {
            self.scale = (self.scale / 2.0).max(MIN_SCALE);
            self.good_steps = 0;
            self.skipped += 1;
            false
        }
    }
}

/// Whether every gradient `grads` holds for `model`'s parameters is finite.
fn all_finite<M: Module>(grads: &GradientsParams, model: &M) -> bool {
    let mut largest = LargestGradients {
        grads,
        maxima: Vec::new(),
    };
    model.visit(&mut largest);
    if largest.maxima.is_empty() {
        return true;
    }
    // inf and NaN survive the sum: one read decides for all parameters.
    let total = Tensor::cat(largest.maxima, 0).sum().into_scalar::<f32>();
    total.is_finite()
}

/// The largest absolute gradient of each parameter, still on the device.
struct LargestGradients<'a> {
    grads: &'a GradientsParams,
    maxima: Vec<Tensor<1>>,
}

impl ModuleVisitor for LargestGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.maxima.push(g.abs().max());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    fn grads_of(linear: &Linear, factor: f32) -> GradientsParams {
        let device = linear.weight.val().device();
        let x = Tensor::<2>::ones([2, 3], &device).mul_scalar(factor);
        let loss = linear.forward(x).sum();
        GradientsParams::from_grads(loss.backward(), linear)
    }

    #[test]
    fn overflow_skips_the_step_and_halves_the_scale() {
        let device = Device::flex().autodiff();
        let linear: Linear = LinearConfig::new(3, 2).init(&device);
        let mut scaler = LossScaler::new(Precision::F16);
        assert_eq!(scaler.scale(), 1024.0);
        assert!(scaler.update(&grads_of(&linear, 1.0), &linear));
        assert!(!scaler.update(&grads_of(&linear, f32::INFINITY), &linear));
        assert_eq!((scaler.scale(), scaler.skipped()), (512.0, 1));
        assert!(!scaler.update(&grads_of(&linear, f32::NAN), &linear));
        assert_eq!(scaler.scale(), 256.0);
    }

    #[test]
    fn the_scale_grows_after_good_steps_and_bf16_never_checks() {
        let device = Device::flex().autodiff();
        let linear: Linear = LinearConfig::new(3, 2).init(&device);
        let grads = grads_of(&linear, 1.0);
        let mut scaler = LossScaler::new(Precision::F16);
        for _ in 0..GROWTH_INTERVAL {
            assert!(scaler.update(&grads, &linear));
        }
        assert_eq!(scaler.scale(), 2048.0);
        let mut bf16 = LossScaler::new(Precision::Bf16);
        assert!(bf16.update(&grads_of(&linear, f32::INFINITY), &linear));
        assert_eq!(bf16.scale(), 1.0);
    }
}
