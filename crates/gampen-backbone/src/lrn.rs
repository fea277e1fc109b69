//! Local response normalisation across channels (Krizhevsky et al. 2012), TensorFlow's form.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;

/// Configuration of a [`Lrn`] layer. Defaults are TensorFlow's / TFLearn's
/// `local_response_normalization`, which GaMorNet used.
///
/// `y_c = x_c / (bias + alpha * sum_{|c' - c| <= depth_radius} x_c'^2)^beta`
///
/// Unlike PyTorch's `LocalResponseNorm(size, alpha, beta, k)`, `alpha` is **not** divided by
/// the window size: TF's `(r, alpha)` equals torch's `(size = 2r + 1, alpha * (2r + 1))`.
#[derive(Config, Debug)]
pub struct LrnConfig {
    /// Channels on each side of the centre that enter the sum.
    #[config(default = 5)]
    pub depth_radius: usize,
    /// Additive constant (torch's `k`).
    #[config(default = 1.0)]
    pub bias: f64,
    /// Scale of the sum of squares.
    #[config(default = 1e-4)]
    pub alpha: f64,
    /// Exponent.
    #[config(default = 0.75)]
    pub beta: f64,
}

/// Local response normalisation across channels, built from tensor ops.
#[derive(Module, Debug)]
pub struct Lrn {
    /// See [`LrnConfig::depth_radius`].
    pub depth_radius: usize,
    /// See [`LrnConfig::bias`].
    pub bias: f64,
    /// See [`LrnConfig::alpha`].
    pub alpha: f64,
    /// See [`LrnConfig::beta`].
    pub beta: f64,
}

impl LrnConfig {
    /// Builds the layer (it has no parameters).
    pub fn init(&self) -> Lrn {
        Lrn {
            depth_radius: self.depth_radius,
            bias: self.bias,
            alpha: self.alpha,
            beta: self.beta,
        }
    }
}

impl Lrn {
    /// Normalises each channel by its neighbours' energy; channels beyond the edges count as
    /// zero (as in TF and torch).
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - output: same shape
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, channels, _, _] = x.dims();
        let r = self.depth_radius;
        let squares = x.clone().square().pad([(r, r), (0, 0), (0, 0)], 0.0);
        // A sliding sum as 2r + 1 shifted slices: r is small (5) and this stays one
        // differentiable expression on every backend.
        let sum = (0..=2 * r)
            .map(|offset| squares.clone().narrow(1, offset, channels))
            .reduce(|a, b| a + b)
            .expect("the window holds at least the centre channel");
        let denom = (sum * self.alpha + self.bias).powf_scalar(self.beta);
        x / denom
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::testutil::assert_close;
    use crate::testutil::generated;
    use gampen_testing::{fixture, flat, to_vec};

    gampen_testing::backend_tests! {
        fn matches_torch_local_response_norm(device) {
            // Reference from PyTorch: nn.LocalResponseNorm(5, alpha=0.5 * 5, beta=0.75, k=2).
            let fx = fixture("gamornet_lrn");
            let lrn = LrnConfig::new()
                .with_depth_radius(fx["depth_radius"].as_u64().unwrap() as usize)
                .with_bias(fx["bias"].as_f64().unwrap())
                .with_alpha(fx["alpha"].as_f64().unwrap())
                .with_beta(fx["beta"].as_f64().unwrap())
                .init();
            let x = generated::<4>(&fx["input"], device);
            assert_close(&to_vec(lrn.forward(x)), &flat(&fx["output"]), 1e-6, 1e-5, "lrn");
        }

        fn gradient_matches_torch_and_finite_differences(device) {
            let fx = fixture("gamornet_lrn");
            let lrn = LrnConfig::new()
                .with_depth_radius(2)
                .with_bias(2.0)
                .with_alpha(0.5)
                .init();
            let ad = device.clone().autodiff();
            let x = generated::<4>(&fx["input"], &ad).require_grad();
            let gout = generated::<4>(&fx["grad_output"], &ad);
            let grads = (lrn.forward(x.clone()) * gout).sum().backward();
            let analytic = to_vec(x.grad(&grads).expect("input gradient"));
            // Reference from PyTorch autograd.
            assert_close(&analytic, &flat(&fx["grad_input"]), 1e-5, 1e-4, "d/dx vs torch");

            // Central differences on every 5th element; LRN is smooth, so only f32
            // cancellation (~1e-6 * |loss| / h) limits the agreement.
            let x0 = to_vec(generated::<4>(&fx["input"], device));
            let shape = [2, 7, 3, 4];
            let loss = |v: &[f32]| -> f32 {
                let x = Tensor::<4>::from_data(burn::tensor::TensorData::new(v.to_vec(), shape), device);
                (lrn.forward(x) * generated::<4>(&fx["grad_output"], device))
                    .sum()
                    .into_scalar::<f32>()
            };
            let h = 1e-2;
            let picked: Vec<usize> = (0..x0.len()).step_by(5).collect();
            let numeric: Vec<f32> = picked
                .iter()
                .map(|&i| {
                    let (mut plus, mut minus) = (x0.clone(), x0.clone());
                    plus[i] += h;
                    minus[i] -= h;
                    (loss(&plus) - loss(&minus)) / (2.0 * h)
                })
                .collect();
            let analytic: Vec<f32> = picked.iter().map(|&i| analytic[i]).collect();
            assert_close(&analytic, &numeric, 5e-3, 1e-2, "d/dx vs finite differences");
        }
    }
}
