//! Mean squared error, the point-estimate baseline.
//!
//! # Layout
//!
//! | columns | meaning |
//! |---|---|
//! | `0 .. n` | prediction `mu_i` |
//!
//! Per galaxy the loss is `(1 / n) sum_i (y_i - mu_i)^2`; with [`Reduction::Mean`] the batch
//! mean is then PyTorch's `mse_loss` over all elements.
//!
//! [`Reduction::Mean`]: burn::nn::loss::Reduction::Mean

use burn::tensor::Tensor;

use crate::config::LossKind;
use crate::error::{check_outputs, check_targets, LossError};

/// Per-galaxy mean squared error.
///
/// # Shapes
///
/// - outputs: `[B, n]`
/// - targets: `[B, n]`
/// - output: `[B]`
///
/// # Errors
///
/// [`LossError::WrongWidth`], [`LossError::WrongTargetWidth`], [`LossError::BatchMismatch`],
/// [`LossError::NoParameters`].
pub fn mse(outputs: Tensor<2>, targets: Tensor<2>, n: usize) -> Result<Tensor<1>, LossError> {
    let [b, width] = outputs.dims();
    check_outputs(width, n, LossKind::Mse)?;
    check_targets(targets.dims(), b, n)?;
    Ok((outputs - targets).square().mean_dim(1).reshape([b]))
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
mod tests {
    use super::*;
    use gampen_testing::{assert_close, to_vec};

    gampen_testing::backend_tests! {
        fn per_galaxy_mean(device) {
            let outputs = Tensor::<2>::from_floats([[1.0, 2.0], [0.0, 0.0]], device);
            let targets = Tensor::<2>::from_floats([[0.0, 0.0], [3.0, -1.0]], device);
            let got = to_vec(mse(outputs, targets, 2).unwrap());
            assert_close(&got, &[2.5, 5.0], 1e-6, 0.0, "mse");
        }
    }
}
