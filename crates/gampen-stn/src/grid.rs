//! Differentiable affine resampling: PyTorch's `affine_grid` + `grid_sample` with
//! `align_corners=True`, bilinear interpolation and zero padding.

use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{DType, FloatDType, Tensor, TensorData};

/// Normalised sample positions along one axis of `n` pixels, PyTorch's `align_corners=True`
/// convention: `-1` and `1` are the centres of the first and last pixels.
fn linspace_neg_one(n: usize) -> Vec<f32> {
    // torch places the only sample of a unit-size axis at the centre, not at -1.
    if n == 1 {
        return vec![0.0];
    }
    let step = 2.0 / (n - 1) as f64;
    (0..n).map(|i| (-1.0 + step * i as f64) as f32).collect()
}

/// Sampling grid of an affine transform, like `torch.nn.functional.affine_grid(theta,
/// [B, C, H, W], align_corners=True)`.
///
/// Burn's `affine_grid_2d` divides by `size - 1` and so breaks on unit-size outputs; this one
/// follows torch there too. It is a matrix product, so gradients reach `theta`.
///
/// # Shapes
/// - `theta`: `[batch, 2, 3]`, mapping output `(x, y, 1)` to input `(x, y)` in `-1..1`
/// - output: `[batch, height, width, 2]`, last axis `(x, y)`
pub fn affine_grid(theta: Tensor<3>, output_size: [usize; 2]) -> Tensor<4> {
    let [batch, rows, cols] = theta.dims();
    assert_eq!(
        [rows, cols],
        [2, 3],
        "theta must be [batch, 2, 3], got {:?}",
        theta.dims()
    );
    let [height, width] = output_size;
    let xs = linspace_neg_one(width);
    let ys = linspace_neg_one(height);
    let mut base = Vec::with_capacity(height * width * 3);
    for y in &ys {
        for x in &xs {
            base.extend_from_slice(&[*x, *y, 1.0]);
        }
    }
    let mut base = Tensor::<3>::from_data(
        TensorData::new(base, [1, height * width, 3]),
        &theta.device(),
    );
    // Backends do not promote mixed float types: a half-precision theta needs a half grid.
    if theta.dtype() != DType::F32 {
        base = base.cast(FloatDType::from(theta.dtype()));
    }
    let base = base.expand([batch, height * width, 3]);
    base.matmul(theta.swap_dims(1, 2))
        .reshape([batch, height, width, 2])
}

/// Resamples `images` through the affine maps `theta`.
///
/// Equals `F.grid_sample(images, F.affine_grid(theta, [B, C, Ho, Wo], align_corners=True),
/// mode='bilinear', padding_mode='zeros', align_corners=True)`: the output pixel `(i, j)` reads
/// the input at `theta @ (x_j, y_i, 1)` in normalised coordinates, and positions outside the
/// image read zeros. Differentiable with respect to both `images` and `theta`.
///
/// # Shapes
/// - `images`: `[batch, channels, height_in, width_in]`
/// - `theta`: `[batch, 2, 3]`
/// - output: `[batch, channels, output_size[0], output_size[1]]`
pub fn affine_sample(images: Tensor<4>, theta: Tensor<3>, output_size: [usize; 2]) -> Tensor<4> {
    let [batch, ..] = images.dims();
    assert_eq!(
        theta.dims()[0],
        batch,
        "one theta per image: {} images, {} thetas",
        batch,
        theta.dims()[0]
    );
    let grid = affine_grid(theta, output_size);
    // A diverged localisation net (NaN/inf theta) must not reach the backends' float->index
    // cast, which panics: NaN becomes a far-outside position and +-inf is clamped, so such
    // images sample zeros and the divergence shows up as a non-finite loss downstream. The
    // clamp is far outside [-1, 1], so it never changes a sample or gradient that matters.
    let grid = grid.clone().mask_fill(grid.is_nan(), 4.0).clamp(-4.0, 4.0);
    // Burn defaults to align_corners=false; GaMPEN (and torch's STN tutorial) use true.
    let options = GridSampleOptions::new(InterpolateMode::Bilinear)
        .with_padding_mode(GridSamplePaddingMode::Zeros)
        .with_align_corners(true);
    images.grid_sample_2d(grid, options)
}

#[cfg(test)]
mod nan_tests {
    use super::*;
    use burn::tensor::TensorData;

    gampen_testing::backend_tests! {
        fn non_finite_theta_gives_zeros_not_a_panic(device) {
            let images = Tensor::<4>::ones([2, 1, 5, 5], device);
            let theta = Tensor::<3>::from_data(
                TensorData::new(
                    vec![f32::NAN, 0.0, 0.0, 0.0, 1.0, 0.0, f32::INFINITY, 0.0, 0.0, 0.0, 1.0, 0.0],
                    [2, 2, 3],
                ),
                device,
            );
            let out = gampen_testing::to_vec(affine_sample(images, theta, [5, 5]));
            assert!(out.iter().all(|v| *v == 0.0), "{out:?}");
        }
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::testutil::assert_close;
    use crate::testutil::{generated, pair};
    use burn::tensor::Device;
    use gampen_testing::{fixture, flat, tensor, to_vec};

    /// Forward values: reference from PyTorch (`stn_grid.json`). Bilinear sampling of O(1)
    /// values in f32 agrees to rounding.
    const ATOL: f32 = 1e-5;
    const RTOL: f32 = 1e-5;
    /// Gradients sum many products (scatter-add into the image): slightly looser.
    const GRAD_ATOL: f32 = 5e-5;
    const GRAD_RTOL: f32 = 1e-4;

    fn check_forward(device: &Device, name: &str) {
        let c = &fixture("stn_grid")[name];
        let images = generated::<4>(&c["images"], device);
        let theta = tensor::<3>(&c["theta"], device);
        let out = affine_sample(images, theta, pair(&c["output_size"]));
        assert_eq!(out.dims().to_vec(), gampen_testing::shape_of(&c["output"]));
        assert_close(&to_vec(out), &flat(&c["output"]), ATOL, RTOL, name);
    }

    fn check_grads(device: &Device, name: &str) {
        let c = &fixture("stn_grid")[name];
        let ad = device.clone().autodiff();
        let images = generated::<4>(&c["images"], &ad).require_grad();
        let theta = tensor::<3>(&c["theta"], &ad).require_grad();
        let gout = generated::<4>(&c["grad_output"], &ad);
        let out = affine_sample(images.clone(), theta.clone(), pair(&c["output_size"]));
        let grads = (out * gout).sum().backward();
        let gi = images.grad(&grads).expect("gradient reaches the images");
        let gt = theta.grad(&grads).expect("gradient reaches theta");
        assert_close(
            &to_vec(gi),
            &flat(&c["grad_images"]),
            GRAD_ATOL,
            GRAD_RTOL,
            "d/dimages",
        );
        assert_close(
            &to_vec(gt),
            &flat(&c["grad_theta"]),
            GRAD_ATOL,
            GRAD_RTOL,
            "d/dtheta",
        );
    }

    /// Central differences of `sum(sample(images, theta) * gout)` w.r.t. theta, on the plain
    /// device; compared with the autodiff gradient.
    fn check_finite_differences(device: &Device) {
        let c = &fixture("stn_grid")["outside"];
        let size = pair(&c["output_size"]);
        // Every sample of this theta lies >= 0.031 px from a pixel boundary (checked below), so
        // a step of 1e-3 (at most 0.006 px) never crosses a kink of the bilinear interpolant.
        let theta0 = vec![
            1.3932f32, 0.3036, 0.2825, -0.1672, 0.8689, -0.271, 0.6476, 0.0771, 0.0855, -0.0259,
            0.7317, -0.052,
        ];
        let grid = to_vec(affine_grid(
            Tensor::<3>::from_data(TensorData::new(theta0.clone(), [2, 2, 3]), device),
            size,
        ));
        let min_gap = grid
            .chunks(2)
            .flat_map(|p| [(p[0] + 1.0) * 5.0, (p[1] + 1.0) * 4.0])
            .map(|v| (v - v.round()).abs())
            .fold(f32::INFINITY, f32::min);
        assert!(min_gap > 0.03, "{min_gap}");
        let loss = |theta: &[f32]| -> f32 {
            let t = Tensor::<3>::from_data(TensorData::new(theta.to_vec(), [2, 2, 3]), device);
            let images = generated::<4>(&c["images"], device);
            let gout = generated::<4>(&c["grad_output"], device);
            (affine_sample(images, t, size) * gout)
                .sum()
                .into_scalar::<f32>()
        };
        let ad = device.clone().autodiff();
        let theta =
            Tensor::<3>::from_data(TensorData::new(theta0.clone(), [2, 2, 3]), &ad).require_grad();
        let images = generated::<4>(&c["images"], &ad);
        let gout = generated::<4>(&c["grad_output"], &ad);
        let grads = (affine_sample(images, theta.clone(), size) * gout)
            .sum()
            .backward();
        let analytic = to_vec(theta.grad(&grads).expect("theta grad"));
        // f32 cancellation costs ~1e-6 * |loss| / h, about 2e-3.
        let h = 1e-3;
        let numeric: Vec<f32> = (0..theta0.len())
            .map(|i| {
                let mut plus = theta0.clone();
                let mut minus = theta0.clone();
                plus[i] += h;
                minus[i] -= h;
                (loss(&plus) - loss(&minus)) / (2.0 * h)
            })
            .collect();
        assert_close(
            &analytic,
            &numeric,
            1e-2,
            1e-2,
            "finite differences d/dtheta",
        );
    }

    gampen_testing::backend_tests! {
        fn matches_torch_partly_outside(device) {
            check_forward(device, "outside");
        }

        fn matches_torch_unit_height_output(device) {
            check_forward(device, "single_row");
        }

        fn grads_match_torch_partly_outside(device) {
            check_grads(device, "outside");
        }

        fn grads_match_torch_unit_height_output(device) {
            check_grads(device, "single_row");
        }

        fn theta_grad_matches_finite_differences(device) {
            check_finite_differences(device);
        }

        fn identity_theta_reproduces_image(device) {
            let images = crate::testutil::generated::<4>(
                &fixture("stn_grid")["outside"]["images"],
                device,
            );
            let theta = Tensor::<3>::from_data(
                TensorData::new(vec![1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0], [1, 2, 3]),
                device,
            )
            .repeat_dim(0, 2);
            let out = affine_sample(images.clone(), theta, [9, 11]);
            // Not bit-exact: normalising and un-normalising a pixel index rounds in f32.
            assert_close(&to_vec(out), &to_vec(images), 1e-5, 1e-5, "identity");
        }
    }
}
