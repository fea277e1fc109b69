//! GaMPEN's localisation network: the small CNN that predicts the transform parameters.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::{StnError, StnHead};

/// Pooling window and stride of both max-pools (GaMPEN's `MaxPool2d(3, stride=2)`).
const POOL: usize = 3;
const POOL_STRIDE: usize = 2;

/// Configuration of a [`LocalisationNet`]:
/// `Conv2d(C, c0, k0) -> MaxPool(3, 2) -> ReLU -> Conv2d(c0, c1, k1) -> MaxPool(3, 2) -> ReLU
/// -> flatten -> Linear(., hidden) -> ReLU -> Linear(hidden, P)`, valid convolutions and
/// floor pooling, exactly as GaMPEN's `vgg16_w_stn_oc_drp`.
#[derive(Config, Debug)]
pub struct LocalisationNetConfig {
    /// Image channels `C`.
    pub channels: usize,
    /// Image `[height, width]`; fixes the first linear layer's input size.
    pub input_size: [usize; 2],
    /// Which transform the network predicts (sets `P`).
    #[config(default = "StnHead::Scale")]
    pub head: StnHead,
    /// Output channels of the two convolutions.
    #[config(default = "[64, 96]")]
    pub conv_channels: [usize; 2],
    /// Square kernel sizes of the two convolutions.
    #[config(default = "[11, 9]")]
    pub kernel_sizes: [usize; 2],
    /// Width of the hidden linear layer.
    #[config(default = "32")]
    pub hidden: usize,
}

/// Predicts `P` transform parameters per image. Build with [`LocalisationNetConfig`].
///
/// The last layer starts with zero weights and the head's identity parameters as bias, so a
/// fresh network predicts the identity transform for every input.
#[derive(Module, Debug)]
pub struct LocalisationNet {
    /// First convolution, `[c0, C, k0, k0]`.
    pub conv1: Conv2d,
    /// Second convolution, `[c1, c0, k1, k1]`.
    pub conv2: Conv2d,
    /// The 3x3, stride 2 max-pool used after both convolutions.
    pub pool: MaxPool2d,
    /// Hidden linear layer (Burn layout: weight `[in, hidden]`).
    pub fc1: Linear,
    /// Output linear layer, weight `[hidden, P]`.
    pub fc2: Linear,
}

/// Spatial size after a valid convolution then a 3/2 max-pool, or which layer runs short.
fn conv_pool(n: usize, kernel: usize) -> Result<usize, (&'static str, usize, usize)> {
    if n < kernel {
        return Err(("convolution", kernel, n));
    }
    let conv = n - kernel + 1;
    if conv < POOL {
        return Err(("max-pool", POOL + kernel - 1, n));
    }
    Ok((conv - POOL) / POOL_STRIDE + 1)
}

impl LocalisationNetConfig {
    /// Checks the configuration and returns the feature map `[height, width]` that reaches
    /// the first linear layer.
    pub fn feature_size(&self) -> Result<[usize; 2], StnError> {
        for (what, v) in [
            ("channels", self.channels),
            ("input height", self.input_size[0]),
            ("input width", self.input_size[1]),
            ("conv_channels[0]", self.conv_channels[0]),
            ("conv_channels[1]", self.conv_channels[1]),
            ("kernel_sizes[0]", self.kernel_sizes[0]),
            ("kernel_sizes[1]", self.kernel_sizes[1]),
            ("hidden", self.hidden),
        ] {
            if v == 0 {
                return Err(StnError::Zero { what });
            }
        }
        let mut out = [0; 2];
        for (axis_index, axis) in ["height", "width"].into_iter().enumerate() {
            let rename = |first: bool| {
                move |(stage, needed, got): (&'static str, usize, usize)| {
                    let stage = match (first, stage) {
                        (true, "convolution") => "first convolution",
                        (true, _) => "first max-pool",
                        (false, "convolution") => "second convolution",
                        (false, _) => "second max-pool",
                    };
                    (stage, needed, got)
                }
            };
            let both = conv_pool(self.input_size[axis_index], self.kernel_sizes[0])
                .map_err(rename(true))
                .and_then(|n| conv_pool(n, self.kernel_sizes[1]).map_err(rename(false)));
            out[axis_index] = both.map_err(|(stage, needed, got)| StnError::InputTooSmall {
                input_size: self.input_size,
                stage,
                axis,
                needed,
                got,
            })?;
        }
        Ok(out)
    }

    /// Input features of the first linear layer: `c1 * h * w` of the last feature map.
    pub fn in_features(&self) -> Result<usize, StnError> {
        let [h, w] = self.feature_size()?;
        Ok(self.conv_channels[1] * h * w)
    }

    /// Builds the network, or says why the configuration cannot work.
    pub fn try_init(&self, device: &Device) -> Result<LocalisationNet, StnError> {
        let in_features = self.in_features()?;
        let [c0, c1] = self.conv_channels;
        let [k0, k1] = self.kernel_sizes;
        let p = self.head.num_params();
        let mut fc2 = LinearConfig::new(self.hidden, p)
            .with_initializer(Initializer::Zeros)
            .init(device);
        fc2.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(self.head.identity_params(), [p]),
            device,
        )));
        Ok(LocalisationNet {
            conv1: Conv2dConfig::new([self.channels, c0], [k0, k0]).init(device),
            conv2: Conv2dConfig::new([c0, c1], [k1, k1]).init(device),
            pool: MaxPool2dConfig::new([POOL, POOL])
                .with_strides([POOL_STRIDE, POOL_STRIDE])
                .init(),
            fc1: LinearConfig::new(in_features, self.hidden).init(device),
            fc2,
        })
    }

    /// Builds the network.
    ///
    /// # Panics
    /// With [`StnError`]'s message when the configuration is invalid; use
    /// [`try_init`](Self::try_init) for a `Result`.
    pub fn init(&self, device: &Device) -> LocalisationNet {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl LocalisationNet {
    /// Predicts the transform parameters.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`, the configured size
    /// - output: `[batch, P]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let h = relu(self.pool.forward(self.conv1.forward(x)));
        let h = relu(self.pool.forward(self.conv2.forward(h)));
        let h = h.flatten::<2>(1, 3);
        self.fc2.forward(relu(self.fc1.forward(h)))
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;

    #[test]
    fn in_features_follow_valid_convs_and_floor_pools() {
        // 40x44: conv11 -> 30x34, pool -> 14x16, conv9 -> 6x8, pool -> 2x3 (torch agrees:
        // `in_features` in stn_net.json).
        let c = LocalisationNetConfig::new(1, [40, 44]);
        assert_eq!(c.feature_size(), Ok([2, 3]));
        assert_eq!(c.in_features(), Ok(96 * 6));
        // GaMPEN's smallest public cutout.
        assert_eq!(
            LocalisationNetConfig::new(3, [96, 96]).feature_size(),
            Ok([16, 16])
        );
        assert_eq!(
            LocalisationNetConfig::new(3, [33, 33]).feature_size(),
            Ok([1, 1])
        );
    }

    #[test]
    fn too_small_inputs_are_errors() {
        let err = LocalisationNetConfig::new(3, [33, 32])
            .feature_size()
            .unwrap_err();
        assert!(
            matches!(
                err,
                StnError::InputTooSmall {
                    axis: "width",
                    stage: "second max-pool",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = LocalisationNetConfig::new(3, [10, 40])
            .feature_size()
            .unwrap_err();
        assert!(matches!(
            err,
            StnError::InputTooSmall {
                axis: "height",
                stage: "first convolution",
                ..
            }
        ));
        let err = LocalisationNetConfig::new(0, [40, 40])
            .feature_size()
            .unwrap_err();
        assert_eq!(err, StnError::Zero { what: "channels" });
        assert!(err.to_string().contains("channels"));
        let device = Device::flex();
        assert!(LocalisationNetConfig::new(3, [20, 20])
            .try_init(&device)
            .is_err());
    }

    #[test]
    #[should_panic(expected = "too small")]
    fn init_panics_with_the_error_message() {
        LocalisationNetConfig::new(3, [20, 20]).init(&Device::flex());
    }
}
