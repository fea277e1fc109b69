//! The loss module: one entry point for every [`LossKind`] and [`CovarianceParam`].

use burn::module::Module;
use burn::nn::loss::Reduction;
use burn::tensor::Tensor;

use crate::cholesky::cholesky_factor;
use crate::config::{num_outputs, CovarianceParam, LossKind};
use crate::diagonal::diagonal_factor;
use crate::error::{check_outputs, LossError};
use crate::gaussian::{Gaussian, HALF_LN_TWO_PI};
use crate::ldl::ldl_factor;
use crate::mse::mse;

/// Gaussian negative log-likelihood (full covariance or diagonal) or MSE of a regression head,
/// built by [`GaussianLossConfig`](crate::GaussianLossConfig).
///
/// Per galaxy, for outputs laid out as described in [`crate::cholesky`], [`crate::ldl`],
/// [`crate::diagonal`] or [`crate::mse`]:
///
/// ```text
/// NLL = 0.5 (y - mu)^T Sigma^-1 (y - mu) + 0.5 log det Sigma   (+ 0.5 n ln(2 pi) if `full`)
/// ```
///
/// finite, with finite gradients, for any finite network output (see
/// [`crate::triangular`] for the guards, where they start to act, and the one limit:
/// residuals `abs(y - mu)` below `1e32`).
#[derive(Module, Debug)]
pub struct GaussianLoss {
    /// Number of predicted parameters.
    pub n: usize,
    /// Likelihood.
    #[module(skip)]
    pub kind: LossKind,
    /// Layout of a covariance head.
    #[module(skip)]
    pub param: CovarianceParam,
    /// Whether the `0.5 n ln(2 pi)` constant is added.
    pub full: bool,
    /// Reduction over the batch.
    #[module(skip)]
    pub reduction: Reduction,
}

impl GaussianLoss {
    /// Network outputs per galaxy this loss expects, [`num_outputs(kind, n)`](num_outputs).
    pub fn num_outputs(&self) -> usize {
        num_outputs(self.kind, self.n)
    }

    /// Per-galaxy losses reduced over the batch (`Mean`, `Auto` and `BatchMean` average,
    /// `Sum` adds).
    ///
    /// # Shapes
    ///
    /// - outputs: `[B, num_outputs]`
    /// - targets: `[B, n]`
    /// - output: `[1]`
    ///
    /// # Errors
    ///
    /// See [`GaussianLoss::forward_no_reduction`].
    pub fn forward(&self, outputs: Tensor<2>, targets: Tensor<2>) -> Result<Tensor<1>, LossError> {
        let per_galaxy = self.forward_no_reduction(outputs, targets)?;
        Ok(match self.reduction {
            Reduction::Sum => per_galaxy.sum(),
            // Per-galaxy losses are already summed over the parameters, so "sum over the
            // batch divided by the batch size" is the mean.
            Reduction::Mean | Reduction::Auto | Reduction::BatchMean => per_galaxy.mean(),
        })
    }

    /// One loss per galaxy.
    ///
    /// # Shapes
    ///
    /// - outputs: `[B, num_outputs]`
    /// - targets: `[B, n]`
    /// - output: `[B]`
    ///
    /// # Errors
    ///
    /// [`LossError::WrongWidth`] when `outputs` is not `num_outputs` wide,
    /// [`LossError::WrongTargetWidth`] / [`LossError::BatchMismatch`] when `targets` is not
    /// `[B, n]`, [`LossError::NoParameters`] when `n = 0`.
    pub fn forward_no_reduction(
        &self,
        outputs: Tensor<2>,
        targets: Tensor<2>,
    ) -> Result<Tensor<1>, LossError> {
        let nll = match self.kind {
            LossKind::Mse => return mse(outputs, targets, self.n),
            LossKind::Diag => diagonal_factor(outputs, self.n)?.nll(targets)?,
            LossKind::Cov => match self.param {
                CovarianceParam::Cholesky => cholesky_factor(outputs, self.n)?.nll(targets)?,
                CovarianceParam::Ldl => ldl_factor(outputs, self.n)?.nll(targets)?,
            },
        };
        Ok(if self.full {
            nll.add_scalar(HALF_LN_TWO_PI * self.n as f64)
        } else {
            nll
        })
    }

    /// The predicted Gaussians, for covariances, sampling and densities.
    ///
    /// The same guards as in the loss apply (clamped log-diagonals and off-diagonals), so the
    /// Gaussian is the one the loss scored. For [`LossKind::Mse`] its `scale_tril` is zero.
    ///
    /// # Shapes
    ///
    /// - outputs: `[B, num_outputs]`
    ///
    /// # Errors
    ///
    /// [`LossError::WrongWidth`], [`LossError::NoParameters`].
    pub fn gaussian(&self, outputs: Tensor<2>) -> Result<Gaussian, LossError> {
        let factor = match self.kind {
            LossKind::Mse => {
                let [b, width] = outputs.dims();
                check_outputs(width, self.n, LossKind::Mse)?;
                let scale_tril = Tensor::zeros([b, self.n, self.n], &outputs.device());
                return Ok(Gaussian {
                    mean: outputs,
                    scale_tril,
                });
            }
            LossKind::Diag => diagonal_factor(outputs, self.n)?,
            LossKind::Cov => match self.param {
                CovarianceParam::Cholesky => cholesky_factor(outputs, self.n)?,
                CovarianceParam::Ldl => return Ok(ldl_factor(outputs, self.n)?.into_gaussian()),
            },
        };
        Ok(factor.into_gaussian())
    }
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::GaussianLossConfig;
    use burn::tensor::Device;
    use gampen_testing::{assert_close, fixture, tensor, to_vec, Value};

    fn config(case: &Value, n: usize) -> GaussianLossConfig {
        let kind = match case["kind"].as_str().expect("kind") {
            "cov" => LossKind::Cov,
            "diag" => LossKind::Diag,
            "mse" => LossKind::Mse,
            other => panic!("unknown kind {other}"),
        };
        let param = match case["param"].as_str() {
            Some("ldl") => CovarianceParam::Ldl,
            _ => CovarianceParam::Cholesky,
        };
        GaussianLossConfig::new(n).with_kind(kind).with_param(param)
    }

    /// Largest `|actual - expected|`, relative to `1 + max |expected|` (the scale of the terms
    /// whose rounding errors end up in each element).
    fn worst(actual: &[f32], expected: &[f32]) -> f32 {
        let scale = 1.0 + expected.iter().fold(0.0f32, |m, e| m.max(e.abs()));
        actual
            .iter()
            .zip(expected)
            .map(|(a, e)| (a - e).abs() / scale)
            .fold(0.0, f32::max)
    }

    /// Compares every case of `fixtures/<name>.json` with PyTorch (float64 reference).
    fn check_fixture(name: &str, device: &Device) {
        let fixture = fixture(name);
        let cases = fixture["cases"].as_array().expect("cases");
        let (mut worst_loss, mut worst_grad, mut worst_abs) = (0.0f32, 0.0f32, 0.0f32);
        for (c, case) in cases.iter().enumerate() {
            let n = case["n"].as_u64().expect("n") as usize;
            let what = format!("{name} case {c} ({})", case["label"].as_str().unwrap_or(""));
            let compare = case["compare"].as_bool().unwrap_or(true);
            let outputs: Tensor<2> = tensor(&case["outputs"], device);
            let targets: Tensor<2> = tensor(&case["targets"], device);
            for full in [false, true] {
                let key = if full { "nll_full" } else { "nll" };
                let loss = config(case, n).with_full(full).init();
                let got = to_vec(
                    loss.forward_no_reduction(outputs.clone(), targets.clone())
                        .unwrap(),
                );
                assert!(got.iter().all(|v| v.is_finite()), "{what}: {got:?}");
                if compare {
                    let expected = gampen_testing::flat(&case[key]);
                    // f32 arithmetic on O(1) losses; large Mahalanobis terms scale with rtol.
                    assert_close(&got, &expected, 1e-4, 1e-4, &format!("{what} {key}"));
                    worst_loss = worst_loss.max(worst(&got, &expected));
                    worst_abs = got
                        .iter()
                        .zip(&expected)
                        .fold(worst_abs, |m, (a, e)| m.max((a - e).abs()));
                }
            }
            for (reduction, key) in [(Reduction::Mean, "mean"), (Reduction::Sum, "sum")] {
                let ad = device.clone().autodiff();
                let x: Tensor<2> = tensor::<2>(&case["outputs"], &ad).require_grad();
                let y: Tensor<2> = tensor(&case["targets"], &ad);
                let loss = config(case, n).with_reduction(reduction).init();
                let value = loss.forward(x.clone(), y).unwrap();
                let grads = value.backward();
                let value = to_vec(value);
                let grad = to_vec(x.grad(&grads).expect("outputs require grad"));
                assert!(value[0].is_finite(), "{what} {key}: {value:?}");
                assert!(
                    grad.iter().all(|g| g.is_finite()),
                    "{what} {key} grad: {grad:?}"
                );
                if compare {
                    let expected = gampen_testing::flat(&case[key]);
                    assert_close(&value, &expected, 1e-4, 1e-4, &format!("{what} {key}"));
                    let expected_grad = gampen_testing::flat(&case[&format!("grad_{key}")]);
                    // A gradient entry is a sum of products of up to n factors; its f32 rounding
                    // error scales with the largest terms of the case, not with the entry itself.
                    let scale = expected_grad.iter().fold(0.0f32, |m, g| m.max(g.abs()));
                    let atol = 1e-4 + 1e-5 * scale;
                    assert_close(
                        &grad,
                        &expected_grad,
                        atol,
                        1e-3,
                        &format!("{what} grad_{key}"),
                    );
                    worst_grad = worst_grad.max(worst(&grad, &expected_grad));
                }
            }
        }
        println!(
            "{name}: worst error vs torch relative to the case's scale: loss {worst_loss:e}, \
             grad {worst_grad:e}; worst absolute per-galaxy loss error {worst_abs:e}"
        );
    }

    gampen_testing::backend_tests! {
        fn cholesky_matches_torch(device) {
            check_fixture("loss_cholesky", device);
        }

        fn ldl_matches_torch(device) {
            check_fixture("loss_ldl", device);
        }

        fn diagonal_and_mse_match_torch(device) {
            check_fixture("loss_diagonal", device);
            check_fixture("loss_mse", device);
        }

        fn wrong_widths_are_errors(device) {
            let loss = GaussianLossConfig::new(3).init();
            let outputs = Tensor::<2>::zeros([2, 8], device);
            let targets = Tensor::<2>::zeros([2, 3], device);
            let err = loss.forward(outputs, targets.clone()).unwrap_err();
            assert_eq!(
                err,
                LossError::WrongWidth { expected: 9, got: 8, n: 3, kind: LossKind::Cov }
            );
            assert!(err.to_string().contains("expects 9"), "{err}");

            let outputs = Tensor::<2>::zeros([2, 9], device);
            let err = loss.forward(outputs.clone(), Tensor::zeros([2, 2], device)).unwrap_err();
            assert_eq!(err, LossError::WrongTargetWidth { expected: 3, got: 2 });
            let err = loss.forward(outputs.clone(), Tensor::zeros([3, 3], device)).unwrap_err();
            assert_eq!(err, LossError::BatchMismatch { outputs: 2, targets: 3 });

            let diag = GaussianLossConfig::new(3).with_kind(LossKind::Diag).init();
            assert!(matches!(
                diag.gaussian(outputs.clone()),
                Err(LossError::WrongWidth { expected: 6, .. })
            ));
            let mse = GaussianLossConfig::new(3).with_kind(LossKind::Mse).init();
            assert!(mse.forward(outputs.clone(), targets).is_err());
            let none = GaussianLossConfig::new(0).init();
            assert_eq!(none.gaussian(outputs).unwrap_err(), LossError::NoParameters);
        }
    }
}
