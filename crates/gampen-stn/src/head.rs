//! How the localisation network's outputs become an affine matrix.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The family of affine transforms the spatial transformer may predict.
///
/// With `s` the scale and `(tx, ty)` the translation in normalised coordinates (`-1..1`):
///
/// | head             | `P` | theta                              |
/// |------------------|-----|------------------------------------|
/// | `Scale`          | 1   | `[[s, 0, 0], [0, s, 0]]`           |
/// | `ScaleTranslate` | 3   | `[[s, 0, tx], [0, s, ty]]`         |
/// | `Affine`         | 6   | the six outputs, row-major `[2, 3]`|
///
/// `Scale` is GaMPEN's default: a centred zoom, the crop that galaxy cutouts need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum StnHead {
    /// Isotropic zoom about the image centre (`P = 1`).
    Scale,
    /// Isotropic zoom plus a shift (`P = 3`).
    ScaleTranslate,
    /// Any affine transform (`P = 6`).
    Affine,
}

impl StnHead {
    /// Number of parameters `P` the localisation network predicts for this head.
    pub fn num_params(&self) -> usize {
        match self {
            StnHead::Scale => 1,
            StnHead::ScaleTranslate => 3,
            StnHead::Affine => 6,
        }
    }

    /// The parameters of the identity transform, used as the last layer's initial bias.
    pub fn identity_params(&self) -> Vec<f32> {
        match self {
            StnHead::Scale => vec![1.0],
            StnHead::ScaleTranslate => vec![1.0, 0.0, 0.0],
            StnHead::Affine => vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        }
    }

    /// Assembles affine matrices from predicted parameters.
    ///
    /// # Shapes
    /// - `params`: `[batch, P]` with `P = self.num_params()`
    /// - output: `[batch, 2, 3]`
    ///
    /// # Panics
    /// When `P` does not match the head: a wiring error, not a data error.
    pub fn theta(&self, params: Tensor<2>) -> Tensor<3> {
        let [batch, p] = params.dims();
        assert_eq!(
            p,
            self.num_params(),
            "{self:?} head expects {} parameters per image, got {p}",
            self.num_params()
        );
        let col = |i: usize| params.clone().narrow(1, i, 1);
        // `zeros_like` keeps the parameters' float type (f16/bf16 in mixed precision).
        let zero = || params.clone().narrow(1, 0, 1).zeros_like();
        let rows = match self {
            StnHead::Scale => vec![col(0), zero(), zero(), zero(), col(0), zero()],
            StnHead::ScaleTranslate => vec![col(0), zero(), col(1), zero(), col(0), col(2)],
            StnHead::Affine => return params.reshape([batch, 2, 3]),
        };
        Tensor::cat(rows, 1).reshape([batch, 2, 3])
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use gampen_testing::to_vec;

    gampen_testing::backend_tests! {
        fn heads_build_expected_matrices(device) {
            let p = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.5], [2, 1]), device);
            assert_eq!(
                to_vec(StnHead::Scale.theta(p)),
                vec![2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0]
            );
            let p = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.1, -0.2], [1, 3]), device);
            assert_eq!(
                to_vec(StnHead::ScaleTranslate.theta(p)),
                vec![2.0, 0.0, 0.1, 0.0, 2.0, -0.2]
            );
            let v: Vec<f32> = (0..6).map(|i| i as f32).collect();
            let p = Tensor::<2>::from_data(TensorData::new(v.clone(), [1, 6]), device);
            assert_eq!(to_vec(StnHead::Affine.theta(p)), v);
        }

        fn identity_params_give_identity(device) {
            for head in [StnHead::Scale, StnHead::ScaleTranslate, StnHead::Affine] {
                let id = head.identity_params();
                assert_eq!(id.len(), head.num_params());
                let p = Tensor::<2>::from_data(TensorData::new(id, [1, head.num_params()]), device);
                assert_eq!(to_vec(head.theta(p)), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
            }
        }
    }

    #[test]
    #[should_panic(expected = "expects 3 parameters")]
    fn wrong_param_count_panics() {
        let device = burn::tensor::Device::flex();
        StnHead::ScaleTranslate.theta(Tensor::<2>::zeros([1, 6], &device));
    }
}
