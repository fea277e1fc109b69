//! Dropout that can stay on at inference, for Monte-Carlo dropout.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Distribution, Tensor};

use crate::error::{check_prob, BackboneError};
use crate::mask::host_mask;

/// Configuration of a [`McDropout`] layer.
#[derive(Config, Debug)]
pub struct McDropoutConfig {
    /// Probability of zeroing each element, in `[0, 1)`.
    pub prob: f64,
}

/// Dropout whose sampling can be switched on at inference, on any device.
///
/// burn-nn's `Dropout` (0.22) drops only on autodiff devices, which rules out Monte-Carlo
/// dropout on a plain inference device. This layer drops when **either** the input lives on an
/// autodiff device (training, as burn-nn's) **or** MC mode is on ([`set_mc`](Self::set_mc)),
/// and passes its input through otherwise or when the probability is 0. Kept elements are
/// scaled by `1 / (1 - p)` (inverted dropout, like PyTorch), so expectations match the
/// deterministic pass.
#[derive(Module, Debug)]
pub struct McDropout {
    prob: f64,
    mc: bool,
}

impl McDropoutConfig {
    /// Builds the layer, MC mode off, or reports an invalid probability.
    pub fn try_init(&self) -> Result<McDropout, BackboneError> {
        check_prob(self.prob)?;
        Ok(McDropout {
            prob: self.prob,
            mc: false,
        })
    }

    /// Builds the layer, MC mode off.
    ///
    /// # Panics
    /// When `prob` is not in `[0, 1)`; use [`try_init`](Self::try_init) for a `Result`.
    pub fn init(&self) -> McDropout {
        self.try_init().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl McDropout {
    /// Drops elements when active (see the type docs), otherwise returns `x` unchanged.
    ///
    /// # Shapes
    /// - `x`: any shape
    /// - output: same shape
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.prob == 0.0 || !(self.mc || x.device().is_autodiff()) {
            return x;
        }
        let keep = 1.0 - self.prob;
        match host_mask(&x, keep) {
            Some(scaled) => x * scaled,
            None => {
                let mask = x.random_like(Distribution::Bernoulli(keep));
                x * mask / keep
            }
        }
    }

    /// Changes the dropout probability (e.g. the MC rate at inference).
    ///
    /// # Panics
    /// When `p` is not in `[0, 1)`: rates come from code or from an already validated config.
    pub fn set_prob(&mut self, p: f64) {
        check_prob(p).unwrap_or_else(|e| panic!("{e}"));
        self.prob = p;
    }

    /// The dropout probability.
    pub fn prob(&self) -> f64 {
        self.prob
    }

    /// Switches Monte-Carlo mode: when on, the layer drops on any device.
    pub fn set_mc(&mut self, on: bool) {
        self.mc = on;
    }

    /// Whether Monte-Carlo mode is on.
    pub fn is_mc(&self) -> bool {
        self.mc
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use gampen_testing::to_vec;

    gampen_testing::backend_tests! {
        fn off_on_plain_device_without_mc(device) {
            let x = Tensor::<2>::ones([8, 16], device);
            let d = McDropoutConfig::new(0.5).init();
            assert_eq!(to_vec(d.forward(x.clone())), to_vec(x));
        }

        fn mc_mode_drops_and_rescales(device) {
            let x = Tensor::<2>::ones([64, 64], device);
            let mut d = McDropoutConfig::new(0.25).init();
            d.set_mc(true);
            assert!(d.is_mc());
            let y = to_vec(d.forward(x));
            let kept = y.iter().filter(|v| **v != 0.0).count() as f64 / y.len() as f64;
            assert!(y.iter().all(|v| *v == 0.0 || (*v - 1.0 / 0.75).abs() < 1e-6));
            // 4096 Bernoulli(0.75) draws: 6 standard deviations is 0.04.
            assert!((kept - 0.75).abs() < 0.04, "kept fraction {kept}");
        }

        fn drops_on_autodiff_device(device) {
            let x = Tensor::<2>::ones([32, 32], &device.clone().autodiff());
            let d = McDropoutConfig::new(0.5).init();
            let y = to_vec(d.forward(x));
            assert!(y.contains(&0.0) && y.contains(&2.0));
        }

        fn zero_rate_is_identity_even_in_mc(device) {
            let x = Tensor::<2>::random([8, 8], Distribution::Default, device);
            let mut d = McDropoutConfig::new(0.5).init();
            d.set_mc(true);
            d.set_prob(0.0);
            assert_eq!(d.prob(), 0.0);
            assert_eq!(to_vec(d.forward(x.clone())), to_vec(x));
        }
    }

    #[test]
    fn invalid_rates_are_errors() {
        assert_eq!(
            McDropoutConfig::new(1.0).try_init().unwrap_err(),
            BackboneError::Dropout(1.0)
        );
        assert!(McDropoutConfig::new(-0.1).try_init().is_err());
        assert!(McDropoutConfig::new(f64::NAN).try_init().is_err());
    }

    #[test]
    #[should_panic(expected = "dropout probability")]
    fn set_prob_rejects_one() {
        McDropoutConfig::new(0.5).init().set_prob(1.0);
    }
}
