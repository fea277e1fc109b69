//! Floating-point precision of the network's arithmetic: f32, or f16/bf16 where the backend
//! supports them (`--precision` in the CLI).
//!
//! Half precision applies to the network only. Parameters stay f32 (training updates f32
//! master weights; inference casts a copy), the images and every parameter are cast on the
//! way in, and the outputs are cast back to f32 before the likelihood: its Cholesky/LDL
//! algebra and the posterior draws are always f32. Casting inside the autodiff graph is what
//! makes training mixed precision: the backward pass of a cast converts the gradient back,
//! so the optimiser sees f32 gradients of the f32 weights.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, Device, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::GampenError;

mod scaler;

pub use scaler::LossScaler;

/// The network's floating-point type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision everywhere (the default).
    #[default]
    F32,
    /// IEEE half precision (10-bit mantissa, range +-65504); training scales the loss so
    /// that small gradients do not underflow.
    F16,
    /// bfloat16 (8-bit mantissa, f32's range); what tensor cores on recent GPUs run fastest
    /// without loss scaling.
    Bf16,
}

impl Precision {
    /// The Burn float type.
    pub fn dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::F16 => FloatDType::F16,
            Precision::Bf16 => FloatDType::BF16,
        }
    }

    /// Whether the network runs in f32 (nothing to cast).
    pub fn is_full(self) -> bool {
        self == Precision::F32
    }

    /// Fails unless `device` computes in this precision.
    pub fn check(self, device: &Device) -> Result<(), GampenError> {
        if self.is_full() || device.supports_dtype(DType::from(self.dtype())) {
            return Ok(());
        }
        Err(GampenError::Device(format!(
            "--precision {self}: this device does not support {:?} tensors; use --precision f32",
            self.dtype()
        )))
    }

    /// `module` with every float parameter and buffer cast to this precision, except those
    /// of batch normalisation, which runs in f32 (see `gampen_backbone`'s layers). On an
    /// autodiff device the casts are part of the graph, so gradients reach the original
    /// parameters.
    pub fn cast_module<M: Module>(self, module: M) -> M {
        self.cast_module_scaled(module, 1.0)
    }

    /// [`cast_module`](Self::cast_module) for a training step whose loss is multiplied by
    /// `loss_scale`: the gradient each original parameter receives is divided by it again, in
    /// f32, after the cast back (so the optimiser sees the true gradient).
    pub(crate) fn cast_module_scaled<M: Module>(self, module: M, loss_scale: f64) -> M {
        if self.is_full() {
            return module;
        }
        module.map(&mut CastFloats {
            dtype: self.dtype(),
            grad_factor: 1.0 / loss_scale,
            containers: Vec::new(),
        })
    }

    /// The loss scale a training step starts from ([`LossScaler`] adapts it). f16 keeps
    /// about 2^-24 as its smallest (subnormal) value, below which the gradients of small
    /// activations vanish; 2^10 lifts them while leaving gradients up to 64 (in units of the
    /// loss) inside f16's range. bf16 has f32's range and needs none.
    pub(crate) fn loss_scale(self) -> f64 {
        match self {
            Precision::F16 => 1024.0,
            Precision::F32 | Precision::Bf16 => 1.0,
        }
    }

    /// `x` in this precision.
    pub fn cast<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        if self.is_full() || x.dtype() == DType::from(self.dtype()) {
            return x;
        }
        x.cast(self.dtype())
    }
}

/// Back to f32 (outputs on their way to the likelihood).
pub fn to_f32<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.dtype() == DType::F32 {
        return x;
    }
    x.cast(FloatDType::F32)
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        })
    }
}

/// Casts every float parameter outside batch normalisation, keeping its id (so gradients and
/// optimiser state match), and scales the gradient that flows back through the cast.
struct CastFloats {
    dtype: FloatDType,
    grad_factor: f64,
    /// The struct types entered so far, innermost last (`"Struct:BatchNorm"`, ...).
    containers: Vec<String>,
}

impl ModuleMapper for CastFloats {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.containers.push(container_type.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.containers.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self
            .containers
            .last()
            .is_some_and(|c| c == "Struct:BatchNorm")
        {
            return param;
        }
        let (dtype, factor) = (self.dtype, self.grad_factor);
        param.map(|t| scale_gradient(t, factor).cast(dtype))
    }
}

/// `x` unchanged in value, with the gradient flowing back through it multiplied by `factor`.
fn scale_gradient<const D: usize>(x: Tensor<D>, factor: f64) -> Tensor<D> {
    if factor == 1.0 || !x.is_require_grad() {
        return x;
    }
    let scaled = x.clone().mul_scalar(factor);
    // Only `scaled` is differentiated; the detached rest restores the value.
    scaled.clone() + (x - scaled).detach()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackboneSpec, Gampen, GampenConfig, PosteriorOptions};
    use burn::tensor::Distribution;
    use gampen_backbone::VggVariant;

    /// 40-pixel cutouts, STN, VGG-11 at 1/16 width with batch norm, two parameters.
    fn model(device: &Device) -> Gampen {
        GampenConfig::new(40, 1, vec!["a".into(), "b".into()])
            .with_stn_channels([4, 4])
            .with_backbone(BackboneSpec::Vgg {
                variant: VggVariant::Vgg11,
                width: 0.0625,
                batch_norm: true,
                hidden: vec![16, 16],
            })
            .with_dropout(0.0)
            .init(device)
            .expect("a valid config")
    }

    fn images(device: &Device) -> Tensor<4> {
        Tensor::<4>::random([3, 1, 40, 40], Distribution::Normal(0.0, 1.0), device)
    }

    fn max_abs(x: Tensor<2>) -> f32 {
        x.abs().max().into_scalar::<f32>()
    }

    #[test]
    fn half_network_agrees_with_f32() {
        let device = Device::flex();
        let model = model(&device);
        let x = images(&device);
        let full = model.forward(x.clone());
        let scale = max_abs(full.clone()).max(1e-3);
        for (precision, tol) in [(Precision::F16, 0.01), (Precision::Bf16, 0.05)] {
            let half = precision.cast_module(model.clone());
            let out = to_f32(half.forward(precision.cast(x.clone())));
            assert_eq!(out.dtype(), DType::F32);
            let err = max_abs(out - full.clone()) / scale;
            assert!(err < tol, "{precision}: relative error {err} >= {tol}");
        }
    }

    #[test]
    fn batch_norm_stays_f32_and_the_master_is_untouched() {
        let device = Device::flex();
        let model = model(&device);
        let half = Precision::Bf16.cast_module(model.clone());
        let crate::Backbone::Vgg(vgg) = &half.backbone else {
            panic!("a VGG backbone")
        };
        let norm = vgg.blocks[0].norm.as_ref().expect("batch norm");
        assert_eq!(norm.gamma.val().dtype(), DType::F32);
        assert_eq!(norm.running_var.value().dtype(), DType::F32);
        assert_eq!(vgg.blocks[0].conv.weight.val().dtype(), DType::BF16);
        assert_eq!(model.backbone.head().weight.val().dtype(), DType::F32);
    }

    #[test]
    fn half_posterior_agrees_with_f32() {
        let device = Device::flex();
        let model = model(&device);
        let x = images(&device);
        // Dropout is off, so only the draws spread the samples; f32 and half consume the
        // generator differently (f32 draws its masks on the host), so their draws differ:
        // 4,000 of them put the Monte-Carlo noise of the mean near 0.02 sd.
        let options = PosteriorOptions::new()
            .with_passes(2)
            .with_samples_per_pass(2000);
        let full = model.posterior_samples(x.clone(), &options).unwrap();
        let half = model
            .posterior_samples(x, &options.clone().with_precision(Precision::F16))
            .unwrap();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let std = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        for (g, (a, b)) in full.iter().zip(&half).enumerate() {
            for (p, (a, b)) in a.iter().zip(b).enumerate() {
                let shift = (mean(a) - mean(b)).abs() / std(a);
                assert!(
                    shift < 0.1,
                    "galaxy {g} parameter {p}: mean moved {shift} sd"
                );
                let ratio = std(b) / std(a);
                assert!(
                    (ratio - 1.0).abs() < 0.1,
                    "galaxy {g} parameter {p}: width x{ratio}"
                );
            }
        }
    }

    #[test]
    fn mixed_precision_gradients_reach_the_f32_weights() {
        let device = Device::flex().autodiff();
        let model = model(&device);
        let x = images(&device);
        let grad_of = |precision: Precision| {
            let scale = precision.loss_scale();
            let net = precision.cast_module_scaled(model.clone(), scale);
            let out = to_f32(net.forward(precision.cast(x.clone())));
            let grads = out.square().sum().mul_scalar(scale).backward();
            let w = model.backbone.head().weight.val();
            w.grad(&grads).expect("the head weight has a gradient")
        };
        let full = grad_of(Precision::F32);
        let scale = max_abs(full.clone());
        // flex accumulates half-precision products in half precision (a GPU's tensor cores
        // accumulate in f32), hence the loose tolerances; a lost or doubled loss scale would
        // be off by a factor of 1024.
        for (precision, tol) in [(Precision::F16, 0.06), (Precision::Bf16, 0.15)] {
            let g = grad_of(precision);
            assert_eq!(g.dtype(), DType::F32);
            let err = max_abs(g - full.clone()) / scale;
            assert!(
                err < tol,
                "{precision}: gradient relative error {err} >= {tol}"
            );
        }
    }

    #[test]
    fn names_and_full_precision() {
        let device = Device::flex();
        let x = Tensor::<2>::ones([2, 2], &device);
        assert_eq!(Precision::F32.cast(x).dtype(), DType::F32);
        assert!(Precision::F32.check(&device).is_ok());
        assert_eq!(Precision::Bf16.to_string(), "bf16");
        assert_eq!(Precision::F16.loss_scale(), 1024.0);
    }
}
