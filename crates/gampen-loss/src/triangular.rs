//! Forward substitution with unrolled tensor ops, and the numerical guards every
//! parameterisation shares.
//!
//! `n` (the number of predicted parameters) is small, so `L z = r` is solved one column at a
//! time with `[B, 1]` tensor ops: no matrix inverse, no linear-algebra crate, and the same code
//! runs (and differentiates) on every Burn backend.
//!
//! # Stability
//!
//! The loss must stay finite, with finite gradients, for any network output a diverging
//! training run can produce (any finite output, and residuals `abs(y - mu)` below `1e32`, past
//! which `(y - mu) / L_ii` itself overflows `f32`). Three guards make that so:
//!
//! | guard | applied to | bound | gradient |
//! |---|---|---|---|
//! | [`straight_through_clamp`] | `log L_ii` ([`crate::cholesky`]) | [`LOG_SCALE_BOUND`] (`+-15`, so `L_ii` in `[3.1e-7, 3.3e6]`) | identity |
//! | [`straight_through_clamp`] | `log D_i`, log-variances ([`crate::ldl`], [`crate::diagonal`]) | `2 LOG_SCALE_BOUND` (`+-30`, the same standard deviations) | identity |
//! | [`straight_through_clamp`] | off-diagonal outputs | [`OFF_DIAGONAL_BOUND`] (`+-1e6`) | identity |
//! | [`saturate`] | whitened residuals `z_i` | [`RESIDUAL_SATURATION`] (`1e6` standard deviations) | `C / abs(z)` beyond `C` |
//!
//! The clamps pass the gradient through unchanged (straight-through): a log-diagonal stuck
//! at `-30` still learns that it should grow when the residual is large, where a plain clamp
//! would give it a zero gradient forever. The saturation keeps the sign of the gradient and
//! bounds the residual that is fed into the next row of the substitution, so a huge
//! off-diagonal cannot overflow `f32` within the `n` unrolled steps. Inside the bounds all three
//! are the identity and the loss is the exact Gaussian NLL.

use burn::tensor::Tensor;

/// Bound on the log of a Cholesky diagonal entry, `abs(log L_ii) <= 15`.
///
/// Equivalently, variances (`L_ii^2`, GaMPEN's `D_i`, the diagonal loss's variances) are kept
/// within `exp(+-30)`, i.e. standard deviations between `3.1e-7` and `3.3e6` in label units.
pub const LOG_SCALE_BOUND: f32 = 15.0;

/// Bound on the magnitude of an off-diagonal network output (`1e6`).
pub const OFF_DIAGONAL_BOUND: f32 = 1.0e6;

/// Whitened residuals larger than this (in standard deviations) grow only logarithmically.
pub const RESIDUAL_SATURATION: f32 = 1.0e6;

/// Clamps `x` into `[min, max]` in the forward pass and passes the gradient through unchanged.
///
/// The forward value is exactly `clamp(x, min, max)`: it is built as
/// `clamp(x).detach() + (x - x.detach())`, and the second term is exactly zero.
///
/// # Shapes
///
/// - x: `[...]`
/// - output: `[...]`
pub fn straight_through_clamp<const D: usize>(x: Tensor<D>, min: f32, max: f32) -> Tensor<D> {
    let clamped = x.clone().clamp(min, max).detach();
    let zero_with_gradient = x.clone() - x.detach();
    clamped + zero_with_gradient
}

/// The identity for `abs(x) <= c`; beyond, `sign(x) c (1 + ln(abs(x) / c))`.
///
/// Continuous with a continuous derivative (`1` inside, `c / abs(x)` outside), odd, and
/// monotone, so it keeps the direction of every gradient while bounding what flows on.
/// Written as `x * (c / m) * (1 + ln(m / c))` with `m = max(abs(x), c)`, which is exactly `x`
/// inside the bound and needs neither a mask nor a branch whose unused side could be `inf`.
///
/// # Shapes
///
/// - x: `[...]`
/// - output: `[...]`
pub fn saturate<const D: usize>(x: Tensor<D>, c: f32) -> Tensor<D> {
    let m = x.clone().abs().clamp_min(c);
    let growth = m.clone().div_scalar(c).log().add_scalar(1.0);
    x * m.recip().mul_scalar(c) * growth
}

/// Solves `L z = r` for lower-triangular `L` by forward substitution.
///
/// Row by row, `z_i = (r_i - sum_{j<i} L_ij z_j) / L_ii`. `lower(i, j)` returns the column
/// `L_ij` for `j < i`, and `inv_diag` holds `1 / L_ii`. With `saturate_at = Some(c)` every
/// `z_i` goes through [`saturate`] before it is used by the rows below.
///
/// # Shapes
///
/// - r: `[B, n]`
/// - lower(i, j): `[B, 1]`
/// - inv_diag: `[B, n]`
/// - output: `[B, n]`
pub fn forward_substitution(
    r: Tensor<2>,
    lower: impl Fn(usize, usize) -> Tensor<2>,
    inv_diag: Tensor<2>,
    saturate_at: Option<f32>,
) -> Tensor<2> {
    let n = r.dims()[1];
    let mut z: Vec<Tensor<2>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut acc = r.clone().narrow(1, i, 1);
        for (j, z_j) in z.iter().enumerate() {
            acc = acc - lower(i, j) * z_j.clone();
        }
        let z_i = acc * inv_diag.clone().narrow(1, i, 1);
        z.push(match saturate_at {
            Some(c) => saturate(z_i, c),
            None => z_i,
        });
    }
    Tensor::cat(z, 1)
}

/// Position of the strictly-lower entry `(i, j)`, `j < i`, in row-major order
/// `(1,0), (2,0), (2,1), (3,0), ...`: `i (i - 1) / 2 + j`.
///
/// This is also the order of `torch.tril_indices(n, n, offset=-1)`.
pub fn lower_index(i: usize, j: usize) -> usize {
    debug_assert!(j < i, "({i}, {j}) is not strictly below the diagonal");
    i * (i - 1) / 2 + j
}

/// Number of strictly-lower entries of an `n x n` matrix, `n (n - 1) / 2`.
pub fn num_lower(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// Assembles `[B, n, n]` lower-triangular matrices from their diagonal and strictly-lower
/// columns.
///
/// # Shapes
///
/// - diag: `[B, n]`
/// - lower(i, j): `[B, 1]`
/// - output: `[B, n, n]`
pub fn assemble_lower(diag: Tensor<2>, lower: impl Fn(usize, usize) -> Tensor<2>) -> Tensor<3> {
    let [b, n] = diag.dims();
    let device = diag.device();
    let rows = (0..n)
        .map(|i| {
            let mut cols: Vec<Tensor<2>> = (0..i).map(|j| lower(i, j)).collect();
            cols.push(diag.clone().narrow(1, i, 1));
            if i + 1 < n {
                cols.push(Tensor::zeros([b, n - i - 1], &device));
            }
            Tensor::cat(cols, 1)
        })
        .collect();
    Tensor::stack(rows, 1)
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
mod tests {
    use super::*;
    use gampen_testing::{assert_close, to_vec};

    gampen_testing::backend_tests! {
        fn saturate_is_identity_inside_and_log_outside(device) {
            let x = Tensor::<1>::from_floats([-3.0, 0.0, 2.0, 10.0, -100.0], device);
            let got = to_vec(saturate(x, 10.0));
            let outside = 10.0 * (1.0 + (100.0f32 / 10.0).ln());
            assert_close(&got, &[-3.0, 0.0, 2.0, 10.0, -outside], 1e-5, 1e-6, "saturate");
        }

        fn straight_through_clamp_is_exact_forward_and_identity_backward(device) {
            let ad = device.clone().autodiff();
            let x = Tensor::<1>::from_floats([-30.0, 0.5, 1.0e30], &ad).require_grad();
            let y = straight_through_clamp(x.clone(), -15.0, 15.0);
            assert_eq!(to_vec(y.clone()), vec![-15.0, 0.5, 15.0]);
            let grads = y.sum().backward();
            let g = to_vec(x.grad(&grads).expect("x requires grad"));
            assert_eq!(g, vec![1.0, 1.0, 1.0]);
        }

        fn forward_substitution_solves_a_known_system(device) {
            // L = [[2, 0], [1, 4]], r = [2, 9] -> z = [1, 2].
            let r = Tensor::<2>::from_floats([[2.0, 9.0]], device);
            let inv = Tensor::<2>::from_floats([[0.5, 0.25]], device);
            let l10 = Tensor::<2>::from_floats([[1.0]], device);
            let z = forward_substitution(r, |_, _| l10.clone(), inv, None);
            assert_close(&to_vec(z), &[1.0, 2.0], 1e-6, 0.0, "z");
        }
    }

    #[test]
    fn lower_index_is_row_major() {
        let order: Vec<(usize, usize)> = (1..4).flat_map(|i| (0..i).map(move |j| (i, j))).collect();
        for (k, (i, j)) in order.into_iter().enumerate() {
            assert_eq!(lower_index(i, j), k);
        }
        assert_eq!(num_lower(1), 0);
        assert_eq!(num_lower(5), 10);
    }
}
