//! GaMorNet (Ghosh et al. 2020): the AlexNet-like galaxy morphology network.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};

use crate::error::{check_prob, check_width, scaled, BackboneError};
use crate::precision::in_f32;
use crate::{Lrn, LrnConfig, McDropout, McDropoutConfig};

/// `(output channels, kernel, stride)` of GaMorNet's five convolutions.
const CONVS: [(usize, usize, usize); 5] = [
    (96, 11, 4),
    (256, 5, 1),
    (384, 3, 1),
    (384, 3, 1),
    (256, 3, 1),
];
/// Convolutions followed by a 3x3 / 2 max-pool and LRN.
const POOLED: [bool; 5] = [true, true, false, false, true];

/// Configuration of a [`GamorNet`].
///
/// The network is GaMorNet's Keras/TFLearn model: convolutions with TensorFlow `'same'`
/// padding and ReLU, `max-pool 3 / 2 ('same') -> LRN` after the 1st, 2nd and 5th
/// convolution, then `FC -> tanh -> dropout` twice and a linear output layer. Departures,
/// all documented here: the output layer is linear (GaMorNet ends in a softmax over three
/// classes; here it is a regression head), and an adaptive average pool to `pool_size`
/// sits before the first FC layer so the network accepts any input size (for GaMorNet's
/// 167x167 SDSS cutouts the map is already 6x6 and the pool is the identity; 64x64 inputs
/// give a 2x2 map that the pool repeats to 6x6).
#[derive(Config, Debug)]
pub struct GamorNetConfig {
    /// Outputs `K` of the last layer.
    pub num_outputs: usize,
    /// Input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Multiplies the convolution widths (96, 256, 384, 384, 256), rounded, at least 1.
    #[config(default = 1.0)]
    pub width: f64,
    /// Dropout probability after each hidden FC layer.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Hidden FC widths (each followed by tanh and dropout).
    #[config(default = "vec![4096, 4096]")]
    pub hidden: Vec<usize>,
    /// Side of the adaptive average pool before the FC layers.
    #[config(default = 6)]
    pub pool_size: usize,
    /// Local response normalisation (TF defaults: radius 5, bias 1, alpha 1e-4, beta 0.75).
    #[config(default = "LrnConfig::new()")]
    pub lrn: LrnConfig,
}

/// GaMorNet with Monte-Carlo-capable dropout. Build with [`GamorNetConfig`].
#[derive(Module, Debug)]
pub struct GamorNet {
    /// The five convolutions (`'same'` padding is applied in `forward`).
    pub convs: Vec<Conv2d>,
    /// The 3x3, stride 2 max-pool.
    pub max_pool: MaxPool2d,
    /// Local response normalisation after each pool.
    pub lrn: Lrn,
    /// Adaptive average pool before the FC layers.
    pub avg_pool: AdaptiveAvgPool2d,
    /// Hidden FC layers (Burn layout: weight `[in, out]`).
    pub hidden: Vec<Linear>,
    /// Dropout after each hidden layer's tanh.
    pub hidden_dropout: Vec<McDropout>,
    /// The output layer.
    pub head: Linear,
}

/// Pads like TensorFlow's `'SAME'`: output `ceil(n / stride)`, the odd pixel at the end.
fn pad_same(x: Tensor<4>, kernel: [usize; 2], stride: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let pad = |n: usize, k: usize, s: usize| {
        let total = ((n.div_ceil(s) - 1) * s + k).saturating_sub(n);
        (total / 2, total - total / 2)
    };
    x.pad(
        [pad(h, kernel[0], stride[0]), pad(w, kernel[1], stride[1])],
        0.0,
    )
}

impl GamorNetConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), BackboneError> {
        check_prob(self.dropout)?;
        check_width(self.width)?;
        for (what, v) in [
            ("num_outputs", self.num_outputs),
            ("in_channels", self.in_channels),
            ("pool_size", self.pool_size),
        ] {
            if v == 0 {
                return Err(BackboneError::Zero { what });
            }
        }
        if self.hidden.contains(&0) {
            return Err(BackboneError::Zero { what: "hidden" });
        }
        Ok(())
    }

    /// Builds the network, or says why the configuration cannot work.
    pub fn try_init(&self, device: &Device) -> Result<GamorNet, BackboneError> {
        self.validate()?;
        let dropout = McDropoutConfig::new(self.dropout).try_init()?;
        let mut channels = self.in_channels;
        let mut convs = Vec::new();
        for (c, k, s) in CONVS {
            let out = scaled(c, self.width);
            let mut conv = Conv2dConfig::new([channels, out], [k, k])
                .with_stride([s, s])
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device);
            conv.bias = Some(Param::from_tensor(Tensor::zeros([out], device)));
            convs.push(conv);
            channels = out;
        }
        let linear = |d_in: usize, d_out: usize| {
            let mut layer = LinearConfig::new(d_in, d_out)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device);
            layer.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
            layer
        };
        let mut d_in = channels * self.pool_size * self.pool_size;
        let mut hidden = Vec::new();
        for &h in &self.hidden {
            hidden.push(linear(d_in, h));
            d_in = h;
        }
        Ok(GamorNet {
            convs,
            max_pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init(),
            lrn: self.lrn.init(),
            avg_pool: AdaptiveAvgPool2dConfig::new([self.pool_size, self.pool_size]).init(),
            hidden_dropout: vec![dropout; self.hidden.len()],
            hidden,
            head: linear(d_in, self.num_outputs),
        })
    }

    /// Builds the network.
    ///
    /// # Panics
    /// With [`BackboneError`]'s message when the configuration is invalid; use
    /// [`try_init`](Self::try_init) for a `Result`.
    pub fn init(&self, device: &Device) -> GamorNet {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl GamorNet {
    /// Predicts `K` outputs per image.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`, any size
    /// - output: `[batch, num_outputs]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_from_stem(self.stem(x))
    }

    /// The deterministic prefix: the whole convolutional part (GaMorNet's first dropout
    /// follows the first FC layer). Monte-Carlo inference runs it once per image.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`
    /// - output: `[batch, c5, ceil(h / 32), ceil(w / 32)]`
    pub fn stem(&self, x: Tensor<4>) -> Tensor<4> {
        self.convs.iter().zip(POOLED).fold(x, |x, (conv, pooled)| {
            let x = relu(conv.forward(pad_same(x, conv.kernel_size, conv.stride)));
            if pooled {
                // Padding with zeros equals TF's -inf padding here: after the ReLU every
                // window holds a value >= 0.
                let pooled = self.max_pool.forward(pad_same(x, [3, 3], [2, 2]));
                in_f32(pooled, |x| self.lrn.forward(x))
            } else {
                x
            }
        })
    }

    /// The rest of the network after [`stem`](Self::stem):
    /// `forward(x) == forward_from_stem(stem(x))`.
    ///
    /// # Shapes
    /// - `h`: the stem's output `[batch, c5, h, w]`
    /// - output: `[batch, num_outputs]`
    pub fn forward_from_stem(&self, h: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.features_from_stem(h))
    }

    /// The last hidden activations, which [`head`](Self::head) maps to the outputs:
    /// `forward_from_stem(h) == head.forward(features_from_stem(h))`.
    ///
    /// # Shapes
    /// - `h`: the stem's output `[batch, c5, h, w]`
    /// - output: `[batch, d]`, `d` the last hidden width
    pub fn features_from_stem(&self, h: Tensor<4>) -> Tensor<2> {
        let mut z = self.avg_pool.forward(h).flatten::<2>(1, 3);
        for (layer, dropout) in self.hidden.iter().zip(&self.hidden_dropout) {
            z = dropout.forward(tanh(layer.forward(z)));
        }
        z
    }

    /// Sets every dropout probability.
    ///
    /// # Panics
    /// When `p` is not in `[0, 1)`.
    pub fn set_dropout(&mut self, p: f64) {
        self.hidden_dropout.iter_mut().for_each(|d| d.set_prob(p));
    }

    /// Switches Monte-Carlo dropout on or off.
    pub fn set_mc_dropout(&mut self, on: bool) {
        self.hidden_dropout.iter_mut().for_each(|d| d.set_mc(on));
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::testutil::assert_close;
    use crate::testutil::generated;
    use gampen_testing::{fixture, flat, to_vec, Value};

    fn load_linear(lin: &mut Linear, spec: &Value, device: &Device) {
        // torch stores `[out, in]`, Burn `[in, out]`.
        lin.weight = Param::from_tensor(generated::<2>(&spec["weight"], device).transpose());
        lin.bias = Some(Param::from_tensor(generated::<1>(&spec["bias"], device)));
    }

    /// The torch GaMorNet of `gamornet_net.json` (width 1/16, hidden [16, 16], K = 3).
    fn torch_gamornet(device: &Device) -> (GamorNet, Tensor<4>, Value) {
        let fx = fixture("gamornet_net");
        let mut net = GamorNetConfig::new(3)
            .with_width(fx["width"].as_f64().unwrap())
            .with_hidden(vec![16, 16])
            .init(device);
        for (conv, spec) in net
            .convs
            .iter_mut()
            .zip(fx["params"]["convs"].as_array().unwrap())
        {
            conv.weight = Param::from_tensor(generated::<4>(&spec["weight"], device));
            conv.bias = Some(Param::from_tensor(generated::<1>(&spec["bias"], device)));
        }
        let linears = fx["params"]["linears"].as_array().unwrap();
        for (layer, spec) in net.hidden.iter_mut().zip(linears) {
            load_linear(layer, spec, device);
        }
        load_linear(&mut net.head, &linears[2], device);
        let x = generated::<4>(&fx["input"], device);
        (net, x, fx)
    }

    gampen_testing::backend_tests! {
        fn matches_torch_with_same_padding_and_lrn(device) {
            // Reference from PyTorch (explicit TF-'same' padding, nn.LocalResponseNorm with
            // TF's parameters) on a 2x3x67x61 batch: odd sizes make the padding asymmetric.
            let (net, x, fx) = torch_gamornet(device);
            let stem = net.stem(x.clone());
            assert_eq!(stem.dims().to_vec(), gampen_testing::flat(&fx["features_shape"]).iter().map(|v| *v as usize).collect::<Vec<_>>());
            assert_close(&to_vec(net.forward(x)), &flat(&fx["output"]), 1e-5, 1e-4, "gamornet");
        }

        fn mc_dropout_switches(device) {
            let (mut net, x, fx) = torch_gamornet(device);
            let stem = net.stem(x);
            assert_eq!(to_vec(net.forward_from_stem(stem.clone())), to_vec(net.forward_from_stem(stem.clone())));
            net.set_mc_dropout(true);
            assert_ne!(to_vec(net.forward_from_stem(stem.clone())), to_vec(net.forward_from_stem(stem.clone())));
            net.set_dropout(0.0);
            assert_close(&to_vec(net.forward_from_stem(stem)), &flat(&fx["output"]), 1e-5, 1e-4, "rate 0");
        }

        fn full_width_shapes_on_small_inputs(device) {
            let net = GamorNetConfig::new(5).with_width(0.25).with_hidden(vec![32, 32]).init(device);
            let x = Tensor::<4>::ones([2, 3, 64, 64], device);
            assert_eq!(net.stem(x.clone()).dims(), [2, 64, 2, 2]);
            assert_eq!(net.forward(x).dims(), [2, 5]);
        }
    }

    #[test]
    fn invalid_configs_are_errors() {
        assert_eq!(
            GamorNetConfig::new(3).with_dropout(1.5).validate(),
            Err(BackboneError::Dropout(1.5))
        );
        assert_eq!(
            GamorNetConfig::new(0).validate(),
            Err(BackboneError::Zero {
                what: "num_outputs"
            })
        );
        assert!(GamorNetConfig::new(3)
            .with_width(-1.0)
            .try_init(&Device::flex())
            .is_err());
    }
}
