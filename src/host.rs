//! Tensor values read back to the host, the one place a failed read becomes a
//! [`GampenError`].

use burn::tensor::Tensor;

use crate::error::GampenError;

/// `t`'s values as `f32`, row-major.
pub(crate) fn to_f32_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, GampenError> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| GampenError::Shape(format!("cannot read tensor data: {e:?}")))
}

/// `t`'s values as `f64`, row-major.
pub(crate) fn to_f64_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>, GampenError> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .map_err(|e| GampenError::Shape(format!("cannot read tensor data: {e:?}")))
}
