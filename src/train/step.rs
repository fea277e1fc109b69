//! One optimiser step on one batch: forward, loss, backward, and the update, with the
//! spatial transformer's parameters stepped at their own rate.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use gampen_loss::GaussianLoss;

use super::objective::Objective;
use crate::error::GampenError;
use crate::model::Gampen;
use crate::precision::LossScaler;

/// One optimiser step, with what it needs besides the model, the optimiser and the batch.
pub(crate) struct Step<'a> {
    /// What the step minimises.
    pub objective: &'a Objective,
    /// The model's likelihood.
    pub loss_fn: &'a GaussianLoss,
    /// The learning rate of this step.
    pub lr: f64,
    /// The spatial transformer's rate as a fraction of `lr`.
    pub stn_lr_factor: f64,
}

impl Step<'_> {
    /// Steps `model` on one batch; returns it with the batch's loss and the network outputs.
    /// A non-finite loss leaves the model as it was (the caller stops the epoch).
    pub(crate) fn run(
        &self,
        model: Gampen,
        optim: &mut ModuleOptimizer,
        scaler: &mut LossScaler,
        images: Tensor<4>,
        targets: Tensor<2>,
    ) -> Result<(Gampen, f64, Tensor<2>), GampenError> {
        let outputs = self.objective.outputs(&model, images, scaler);
        settle_running_stats(&model);
        let loss = self
            .objective
            .loss(self.loss_fn, outputs.clone(), targets)?;
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Ok((model, value, outputs));
        }
        // Mixed precision: the cast back divides each weight's gradient by the same scale;
        // a step whose f16 gradients overflowed is skipped.
        let scaled = loss.mul_scalar(scaler.scale());
        let mut grads = GradientsParams::from_grads(scaled.backward(), &model);
        if !scaler.update(&grads, &model) {
            return Ok((model, value, outputs));
        }
        let stn_grads = match &model.stn {
            Some(stn) if self.stn_lr_factor != 1.0 => Some(take_grads(&mut grads, stn)),
            _ => None,
        };
        let mut model = optim.step(self.lr, model, grads);
        if let Some(stn_grads) = stn_grads {
            model = optim.step(self.lr * self.stn_lr_factor, model, stn_grads);
        }
        Ok((model, value, outputs))
    }
}

/// Makes the batch-norm running statistics that this thread's forward pass just updated the
/// model's value.
///
/// Burn's `RunningState` keeps one pending value per thread and, when a thread updates again,
/// replaces the value with the average of every thread's pending one (meant for data-parallel
/// replicas). The trainer runs each step on whichever rayon thread takes it
/// ([`on_cpu_pool`](crate::workers::on_cpu_pool)), so without this, successive steps on two
/// threads averaged a stale statistic with a new one: the running statistics differed from the
/// exponential average, and from run to run (docs/accuracy.md, "Reproducibility run to run").
/// `valid()` syncs every running state; with one pending value, that value is the result.
fn settle_running_stats(model: &Gampen) {
    let _ = model.valid();
}

/// Moves the gradients of `module`'s parameters out of `grads` into their own set.
fn take_grads<M: Module>(grads: &mut GradientsParams, module: &M) -> GradientsParams {
    struct Take<'a> {
        from: &'a mut GradientsParams,
        to: GradientsParams,
    }
    impl ModuleVisitor for Take<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.from.remove::<D>(param.id) {
                self.to.register::<D>(param.id, g);
            }
        }
    }
    let mut take = Take {
        from: grads,
        to: GradientsParams::new(),
    };
    module.visit(&mut take);
    take.to
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GampenConfig;
    use crate::train::{MeanLoss, OptimizerKind};
    use burn::tensor::{Device, Distribution, TensorData};

    /// Every float `module` holds, in visiting order (running statistics as last synced).
    fn floats<M: Module>(module: &M) -> Vec<f32> {
        struct All(Vec<f32>);
        impl ModuleVisitor for All {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let data = param.val().into_data().convert::<f32>();
                self.0.extend(data.try_to_vec::<f32>().unwrap());
            }
        }
        let mut all = All(Vec::new());
        module.visit(&mut all);
        all.0
    }

    /// The sum of every float parameter of `module`.
    fn weight_sum<M: Module>(module: &M) -> f64 {
        floats(module).iter().map(|&v| v as f64).sum()
    }

    /// One Adam step with the transformer's rate at `factor`: how far the transformer's and
    /// the backbone's weights moved (their sums).
    fn moved(factor: f64) -> (f64, f64) {
        let device = Device::flex().autodiff();
        device.seed(3);
        let model = GampenConfig::gampen_small(vec!["a".into(), "b".into()])
            .init(&device)
            .unwrap();
        let before = (
            weight_sum(model.stn.as_ref().unwrap()),
            weight_sum(&model.backbone),
        );
        let images = Tensor::<4>::random([2, 1, 64, 64], Distribution::Default, &device);
        let targets = Tensor::<2>::random([2, 2], Distribution::Default, &device);
        let step = Step {
            objective: &Objective::Train(MeanLoss::Likelihood),
            loss_fn: &model.loss(),
            lr: 1e-2,
            stn_lr_factor: factor,
        };
        let mut optim = OptimizerKind::adam().init(None);
        let mut scaler = LossScaler::new(crate::Precision::F32);
        let (model, ..) = step
            .run(model, &mut optim, &mut scaler, images, targets)
            .unwrap();
        let after = (
            weight_sum(model.stn.as_ref().unwrap()),
            weight_sum(&model.backbone),
        );
        ((after.0 - before.0).abs(), (after.1 - before.1).abs())
    }

    /// Two steps of the small preset (no dropout, so no generator is involved), the second on
    /// `other_thread` or on the first step's thread; returns every float of the result.
    fn two_steps(start: &Gampen, device: &Device, other_thread: bool) -> Vec<f32> {
        // A model of its own: clones share their running state.
        let config = start.config().clone();
        let model = config
            .init(device)
            .unwrap()
            .load_record(start.clone().into_record());
        let mut optim = OptimizerKind::adam().init(None);
        let mut scaler = LossScaler::new(crate::Precision::F32);
        let values: Vec<f32> = (0..2 * 64 * 64)
            .map(|i| ((i * 37) % 101) as f32 / 50.0)
            .collect();
        let images = Tensor::<4>::from_data(TensorData::new(values, [2, 1, 64, 64]), device);
        let targets = Tensor::<2>::from_data(
            TensorData::new(vec![0.1f32, -0.2, 0.3, 0.4], [2, 2]),
            device,
        );
        let loss_fn = model.loss();
        let objective = Objective::Train(MeanLoss::Likelihood);
        let step = Step {
            objective: &objective,
            loss_fn: &loss_fn,
            lr: 1e-3,
            stn_lr_factor: 1.0,
        };
        let mut once = |model: Gampen| {
            step.run(
                model,
                &mut optim,
                &mut scaler,
                images.clone(),
                targets.clone(),
            )
            .unwrap()
            .0
        };
        // Each scope's thread is a new one.
        let model = if other_thread {
            let model = std::thread::scope(|s| s.spawn(|| once(model)).join().unwrap());
            std::thread::scope(|s| s.spawn(|| once(model)).join().unwrap())
        } else {
            std::thread::scope(|s| {
                s.spawn(|| {
                    let model = once(model);
                    once(model)
                })
                .join()
                .unwrap()
            })
        };
        // `valid()` syncs the running statistics first.
        floats(&model.valid())
    }

    #[test]
    fn steps_on_different_threads_keep_the_running_statistics_exact() {
        let device = Device::flex().autodiff();
        let start = GampenConfig::gampen_small(vec!["a".into(), "b".into()])
            .with_dropout(0.0)
            .init(&device)
            .unwrap();
        let one = two_steps(&start, &device, false);
        let two = two_steps(&start, &device, true);
        assert_eq!(one.len(), two.len());
        let differ = one.iter().zip(&two).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ, 0,
            "{differ} floats differ when the steps ran on two threads"
        );
    }

    #[test]
    fn the_spatial_transformer_steps_at_its_own_rate() {
        let (stn_frozen, backbone) = moved(0.0);
        assert_eq!(stn_frozen, 0.0);
        assert!(backbone > 0.0);
        let (stn_full, _) = moved(1.0);
        let (stn_tenth, _) = moved(0.1);
        assert!(stn_full > 0.0 && stn_tenth > 0.0 && stn_tenth < stn_full);
    }
}
