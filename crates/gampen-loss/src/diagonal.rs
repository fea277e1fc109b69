//! Diagonal (aleatoric) Gaussian NLL: independent errors, one variance per parameter.
//!
//! # Layout
//!
//! | columns | meaning |
//! |---|---|
//! | `0 .. n` | mean `mu_i` |
//! | `n .. 2n` | `log sigma_i^2`, the log-variance |
//!
//! # NLL
//!
//! ```text
//! NLL = 0.5 sum_i (log sigma_i^2 + (y_i - mu_i)^2 / sigma_i^2)   (+ 0.5 n ln(2 pi) if `full`)
//! ```
//!
//! the [Cholesky NLL](crate::cholesky) with `log L_ii = 0.5 log sigma_i^2` and no
//! off-diagonals. The log-variance is clamped to `+-30` (straight-through), like `log D` in
//! [`crate::ldl`].

use burn::tensor::Tensor;

use crate::cholesky::CholeskyFactor;
use crate::config::LossKind;
use crate::error::{check_outputs, LossError};
use crate::triangular::{straight_through_clamp, LOG_SCALE_BOUND};

/// Reads a head in the [diagonal layout](self) as a [`CholeskyFactor`] without off-diagonals.
///
/// # Shapes
///
/// - outputs: `[B, 2 n]`
///
/// # Errors
///
/// [`LossError::WrongWidth`] for any other width, [`LossError::NoParameters`] for `n = 0`.
pub fn diagonal_factor(outputs: Tensor<2>, n: usize) -> Result<CholeskyFactor, LossError> {
    check_outputs(outputs.dims()[1], n, LossKind::Diag)?;
    let mean = outputs.clone().narrow(1, 0, n);
    let log_var = straight_through_clamp(
        outputs.narrow(1, n, n),
        -2.0 * LOG_SCALE_BOUND,
        2.0 * LOG_SCALE_BOUND,
    );
    Ok(CholeskyFactor {
        mean,
        log_diag: log_var.mul_scalar(0.5),
        lower: Vec::new(),
    })
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
mod tests {
    use super::*;
    use burn::nn::loss::GaussianNLLLossConfig;
    use gampen_testing::{assert_close, to_vec};

    gampen_testing::backend_tests! {
        fn matches_burn_gaussian_nll(device) {
            let outputs = Tensor::<2>::from_floats(
                [[1.0, 2.0, 0.5f32.ln(), 0.0], [0.0, -1.0, 0.3, -2.0]],
                device,
            );
            let targets = Tensor::<2>::from_floats([[1.5, 1.0], [0.2, 0.0]], device);
            let ours = diagonal_factor(outputs.clone(), 2).unwrap().nll(targets.clone()).unwrap();
            // burn-nn's elementwise GaussianNLLLoss, summed over the parameters.
            let burn = GaussianNLLLossConfig::new().init().forward_no_reduction(
                outputs.clone().narrow(1, 0, 2),
                targets,
                outputs.narrow(1, 2, 2).exp(),
            );
            assert_close(&to_vec(ours), &to_vec(burn.sum_dim(1)), 1e-5, 1e-5, "nll");
        }

        fn extreme_log_variance_is_finite(device) {
            let ad = device.clone().autodiff();
            let outputs = Tensor::<2>::from_floats([[1.0e3, -1.0e3, -80.0, 80.0]], &ad)
                .require_grad();
            let targets = Tensor::<2>::from_floats([[-1.0e3, 1.0e3]], &ad);
            let nll = diagonal_factor(outputs.clone(), 2).unwrap().nll(targets).unwrap();
            let grads = nll.clone().sum().backward();
            assert!(to_vec(nll)[0].is_finite());
            let grad = to_vec(outputs.grad(&grads).unwrap());
            assert!(grad.iter().all(|g| g.is_finite()), "{grad:?}");
            assert!(grad[2] < 0.0, "a too-small variance must be pushed up");
        }
    }
}
