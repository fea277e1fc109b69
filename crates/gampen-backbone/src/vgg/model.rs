//! The VGG network.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::config::Layer;
use crate::error::{scaled, BackboneError};
use crate::precision::in_f32;
use crate::{McDropout, McDropoutConfig, VggConfig};

/// One convolution of VGG's feature extractor with what surrounds it:
/// `[dropout] -> conv 3x3 pad 1 -> [batch norm] -> ReLU -> [max-pool 2x2]`.
#[derive(Module, Debug)]
pub struct VggBlock {
    /// GaMPEN's dropout before the convolution; `None` for the first block.
    pub dropout: Option<McDropout>,
    /// The 3x3 convolution.
    pub conv: Conv2d,
    /// Batch normalisation (`vgg*_bn` only).
    pub norm: Option<BatchNorm>,
    /// Whether a 2x2, stride 2 max-pool follows.
    pub pool: bool,
}

/// VGG with Monte-Carlo-capable dropout. Build with [`VggConfig`].
#[derive(Module, Debug)]
pub struct Vgg {
    /// The convolutional feature extractor, in order.
    pub blocks: Vec<VggBlock>,
    /// The 2x2, stride 2 max-pool shared by the blocks.
    pub max_pool: MaxPool2d,
    /// `AdaptiveAvgPool2d(pool_size)`.
    pub avg_pool: AdaptiveAvgPool2d,
    /// Hidden linear layers of the classifier (Burn layout: weight `[in, out]`).
    pub hidden: Vec<Linear>,
    /// Dropout after each hidden layer's ReLU.
    pub hidden_dropout: Vec<McDropout>,
    /// The output layer.
    pub head: Linear,
}

/// torchvision's `Linear` init: `N(0, 0.01)` weights, zero bias.
fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: 0.01,
        })
        .init(device);
    layer.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
    layer
}

impl VggConfig {
    /// Builds the network, or says why the configuration cannot work.
    ///
    /// Initialisation follows torchvision: convolutions Kaiming-normal (fan-out, ReLU gain)
    /// with zero bias, batch norm `(1, 0)`, linear layers `N(0, 0.01)` with zero bias.
    pub fn try_init(&self, device: &Device) -> Result<Vgg, BackboneError> {
        self.validate()?;
        let dropout = McDropoutConfig::new(self.dropout).try_init()?;
        let mut blocks: Vec<VggBlock> = Vec::new();
        let mut channels = self.in_channels;
        for layer in self.variant.layers() {
            match layer {
                Layer::Pool => {
                    if let Some(last) = blocks.last_mut() {
                        last.pool = true;
                    }
                }
                Layer::Conv(c) => {
                    let out = scaled(c, self.width);
                    let mut conv = Conv2dConfig::new([channels, out], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .with_initializer(Initializer::KaimingNormal {
                            gain: std::f64::consts::SQRT_2,
                            fan_out_only: true,
                        })
                        .init(device);
                    conv.bias = Some(Param::from_tensor(Tensor::zeros([out], device)));
                    blocks.push(VggBlock {
                        dropout: (!blocks.is_empty()).then(|| dropout.clone()),
                        conv,
                        norm: self
                            .batch_norm
                            .then(|| BatchNormConfig::new(out).init(device)),
                        pool: false,
                    });
                    channels = out;
                }
            }
        }
        let mut d_in = channels * self.pool_size * self.pool_size;
        let mut hidden = Vec::new();
        for &h in &self.hidden {
            hidden.push(linear(d_in, h, device));
            d_in = h;
        }
        Ok(Vgg {
            blocks,
            max_pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            avg_pool: AdaptiveAvgPool2dConfig::new([self.pool_size, self.pool_size]).init(),
            hidden_dropout: vec![dropout; self.hidden.len()],
            hidden,
            head: linear(d_in, self.num_outputs, device),
        })
    }

    /// Builds the network.
    ///
    /// # Panics
    /// With [`BackboneError`]'s message when the configuration is invalid; use
    /// [`try_init`](Self::try_init) for a `Result`.
    pub fn init(&self, device: &Device) -> Vgg {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl VggBlock {
    fn forward(&self, x: Tensor<4>, max_pool: &MaxPool2d) -> Tensor<4> {
        let x = match &self.dropout {
            Some(d) => d.forward(x),
            None => x,
        };
        let x = self.conv.forward(x);
        let x = match &self.norm {
            Some(n) => in_f32(x, |x| n.forward(x)),
            None => x,
        };
        let x = relu(x);
        if self.pool {
            max_pool.forward(x)
        } else {
            x
        }
    }
}

impl Vgg {
    /// Predicts `K` outputs per image.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`, height and width at least
    ///   [`VggConfig::MIN_INPUT_SIZE`]
    /// - output: `[batch, num_outputs]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_from_stem(self.stem(x))
    }

    /// The deterministic prefix: everything before the first dropout, i.e. the first block
    /// (conv, [batch norm], ReLU and, for VGG-11, its max-pool). Monte-Carlo inference runs
    /// it once per image and only [`forward_from_stem`](Self::forward_from_stem) per sample.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, height, width]`
    /// - output: `[batch, c, h, w]`, the first block's output
    pub fn stem(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        assert!(
            h >= VggConfig::MIN_INPUT_SIZE && w >= VggConfig::MIN_INPUT_SIZE,
            "VGG needs inputs of at least {0}x{0}, got {h}x{w}",
            VggConfig::MIN_INPUT_SIZE
        );
        self.blocks[0].forward(x, &self.max_pool)
    }

    /// The rest of the network after [`stem`](Self::stem):
    /// `forward(x) == forward_from_stem(stem(x))`.
    ///
    /// # Shapes
    /// - `h`: the stem's output `[batch, c, h, w]`
    /// - output: `[batch, num_outputs]`
    pub fn forward_from_stem(&self, h: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.features_from_stem(h))
    }

    /// The classifier's last hidden activations, which [`head`](Self::head) maps to the
    /// outputs: `forward_from_stem(h) == head.forward(features_from_stem(h))`.
    ///
    /// # Shapes
    /// - `h`: the stem's output `[batch, c, h, w]`
    /// - output: `[batch, d]`, `d` the last hidden width (the pooled features without one)
    pub fn features_from_stem(&self, h: Tensor<4>) -> Tensor<2> {
        let h = self.blocks[1..]
            .iter()
            .fold(h, |h, block| block.forward(h, &self.max_pool));
        let mut z = self.avg_pool.forward(h).flatten::<2>(1, 3);
        for (layer, dropout) in self.hidden.iter().zip(&self.hidden_dropout) {
            z = dropout.forward(relu(layer.forward(z)));
        }
        z
    }

    /// Sets every dropout probability (feature and classifier).
    ///
    /// # Panics
    /// When `p` is not in `[0, 1)`.
    pub fn set_dropout(&mut self, p: f64) {
        self.dropouts_mut().for_each(|d| d.set_prob(p));
    }

    /// Switches Monte-Carlo dropout on or off in every dropout layer.
    pub fn set_mc_dropout(&mut self, on: bool) {
        self.dropouts_mut().for_each(|d| d.set_mc(on));
    }

    fn dropouts_mut(&mut self) -> impl Iterator<Item = &mut McDropout> {
        self.blocks
            .iter_mut()
            .filter_map(|b| b.dropout.as_mut())
            .chain(self.hidden_dropout.iter_mut())
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::testutil::assert_close;
    use crate::testutil::{generated, pair};
    use crate::VggVariant;
    use gampen_testing::{fixture, flat, to_vec, Value};

    fn load_conv(conv: &mut Conv2d, spec: &Value, device: &Device) {
        conv.weight = Param::from_tensor(generated::<4>(&spec["weight"], device));
        conv.bias = Some(Param::from_tensor(generated::<1>(&spec["bias"], device)));
    }

    /// torch stores `[out, in]`, Burn `[in, out]`.
    fn load_linear(lin: &mut Linear, spec: &Value, device: &Device) {
        lin.weight = Param::from_tensor(generated::<2>(&spec["weight"], device).transpose());
        lin.bias = Some(Param::from_tensor(generated::<1>(&spec["bias"], device)));
    }

    /// The torch VGG-11 of `vgg_vgg11.json` (width 1/8, hidden [32, 32], dropout 0.5).
    fn torch_vgg11(device: &Device) -> (Vgg, Tensor<4>, Vec<f32>) {
        let fx = fixture("vgg_vgg11");
        let mut vgg = VggConfig::new(VggVariant::Vgg11, 5)
            .with_width(fx["width"].as_f64().unwrap())
            .with_hidden(vec![32, 32])
            .init(device);
        let convs = fx["params"]["convs"].as_array().unwrap();
        assert_eq!(convs.len(), vgg.blocks.len());
        for (block, spec) in vgg.blocks.iter_mut().zip(convs) {
            load_conv(&mut block.conv, spec, device);
        }
        let linears = fx["params"]["linears"].as_array().unwrap();
        for (layer, spec) in vgg.hidden.iter_mut().zip(linears) {
            load_linear(layer, spec, device);
        }
        load_linear(&mut vgg.head, &linears[2], device);
        let x = generated::<4>(&fx["input"], device);
        (vgg, x, flat(&fx["output"]))
    }

    /// Reference from PyTorch, eval mode. Eight 3x3 convolutions in f32: 1e-4 abs/rel.
    const ATOL: f32 = 1e-4;
    const RTOL: f32 = 1e-4;

    gampen_testing::backend_tests! {
        fn vgg11_matches_torch_with_dropout_off(device) {
            let (vgg, x, expected) = torch_vgg11(device);
            assert_close(&to_vec(vgg.forward(x)), &expected, ATOL, RTOL, "vgg11");
        }

        fn mc_dropout_is_stochastic_then_deterministic_at_rate_zero(device) {
            let (mut vgg, x, expected) = torch_vgg11(device);
            vgg.set_mc_dropout(true);
            let a = to_vec(vgg.forward(x.clone()));
            let b = to_vec(vgg.forward(x.clone()));
            assert_ne!(a, b, "MC dropout must sample a new mask per pass");
            vgg.set_dropout(0.0);
            let c = to_vec(vgg.forward(x.clone()));
            assert_eq!(c, to_vec(vgg.forward(x)));
            assert_close(&c, &expected, ATOL, RTOL, "MC at rate 0");
        }

        fn dropout_is_active_on_autodiff_device(device) {
            let ad = device.clone().autodiff();
            let (vgg, x, _) = torch_vgg11(&ad);
            assert_ne!(to_vec(vgg.forward(x.clone())), to_vec(vgg.forward(x)));
        }

        fn stem_then_rest_equals_forward(device) {
            let (vgg, x, _) = torch_vgg11(device);
            let whole = to_vec(vgg.forward(x.clone()));
            let stem = vgg.stem(x);
            // VGG-11's first block ends with a max-pool: 64x48 -> 32x24, 8 channels.
            assert_eq!(stem.dims(), [2, 8, 32, 24]);
            assert_eq!(to_vec(vgg.forward_from_stem(stem)), whole);
        }

        fn vgg16_bn_shapes(device) {
            for batch_norm in [false, true] {
                let vgg = VggConfig::new(VggVariant::Vgg16, 9)
                    .with_width(1.0 / 16.0)
                    .with_batch_norm(batch_norm)
                    .with_hidden(vec![16, 8])
                    .init(device);
                assert_eq!(vgg.blocks.len(), 13);
                assert_eq!(vgg.blocks.iter().filter(|b| b.dropout.is_some()).count(), 12);
                assert_eq!(vgg.blocks.iter().filter(|b| b.pool).count(), 5);
                let x = Tensor::<4>::ones([2, 3, 64, 64], device);
                assert_eq!(vgg.stem(x.clone()).dims(), [2, 4, 64, 64]);
                let y = vgg.forward(x);
                assert_eq!(y.dims(), [2, 9]);
                assert!(to_vec(y).iter().all(|v| v.is_finite()));
            }
        }

        fn adaptive_avg_pool_matches_torch(device) {
            // Reference from PyTorch: F.adaptive_avg_pool2d(x, 7) for maps smaller than,
            // equal to and larger than 7, including non-divisible sizes.
            for case in fixture("vgg_adaptive_pool")["cases"].as_array().unwrap() {
                let x = generated::<4>(&case["input"], device);
                let what = format!("adaptive pool {:?}", x.dims());
                let pool = AdaptiveAvgPool2dConfig::new(pair(&case["output_size"])).init();
                assert_close(&to_vec(pool.forward(x)), &flat(&case["output"]), 1e-6, 1e-5, &what);
            }
        }
    }

    #[test]
    fn variants_have_torchvision_depths() {
        let depths: Vec<usize> = [
            VggVariant::Vgg11,
            VggVariant::Vgg13,
            VggVariant::Vgg16,
            VggVariant::Vgg19,
        ]
        .iter()
        .map(|v| v.num_convs())
        .collect();
        assert_eq!(depths, [8, 10, 13, 16]);
    }

    #[test]
    fn invalid_configs_are_errors() {
        let device = Device::flex();
        let c = VggConfig::new(VggVariant::Vgg11, 3);
        assert_eq!(
            c.clone().with_dropout(1.0).try_init(&device).unwrap_err(),
            BackboneError::Dropout(1.0)
        );
        assert_eq!(
            c.clone().with_width(0.0).validate(),
            Err(BackboneError::Width(0.0))
        );
        assert_eq!(
            c.clone().with_hidden(vec![8, 0]).validate(),
            Err(BackboneError::Zero { what: "hidden" })
        );
        assert_eq!(
            VggConfig::new(VggVariant::Vgg11, 0).validate(),
            Err(BackboneError::Zero {
                what: "num_outputs"
            })
        );
    }
}
