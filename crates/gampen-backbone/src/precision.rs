//! Layers that run in f32 inside a half-precision network.

use burn::tensor::{DType, FloatDType, Tensor};

/// `f(x)` computed in f32 and returned in `x`'s float type.
///
/// Batch normalisation and local response normalisation sum squares of activations: in f16
/// they overflow past |x| = 256 and lose the small variances to rounding, so (as PyTorch's
/// autocast does for its normalisation layers) they stay f32 when the rest of the network
/// runs in f16 or bf16. Their parameters and running statistics stay f32 too
/// (`gampen::Precision::cast_module` skips `BatchNorm`).
pub(crate) fn in_f32<const D: usize>(
    x: Tensor<D>,
    f: impl FnOnce(Tensor<D>) -> Tensor<D>,
) -> Tensor<D> {
    let dtype = x.dtype();
    if dtype == DType::F32 {
        return f(x);
    }
    f(x.cast(FloatDType::F32)).cast(FloatDType::from(dtype))
}
