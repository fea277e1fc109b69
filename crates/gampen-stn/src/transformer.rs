//! The spatial transformer: localisation network + head + affine resampling.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::{affine_sample, LocalisationNet, LocalisationNetConfig, StnError, StnHead};

/// Configuration of a [`SpatialTransformer`]. Defaults are GaMPEN's.
#[derive(Config, Debug)]
pub struct SpatialTransformerConfig {
    /// Image channels.
    pub channels: usize,
    /// Input `[height, width]`; the localisation network's linear layer depends on it.
    pub input_size: [usize; 2],
    /// Transform family the network predicts.
    #[config(default = "StnHead::Scale")]
    pub head: StnHead,
    /// `[height, width]` of the resampled images; `None` keeps the input size.
    #[config(default = "None")]
    pub output_size: Option<[usize; 2]>,
    /// Output channels of the localisation network's two convolutions.
    #[config(default = "[64, 96]")]
    pub conv_channels: [usize; 2],
    /// Kernel sizes of the localisation network's two convolutions.
    #[config(default = "[11, 9]")]
    pub kernel_sizes: [usize; 2],
    /// Width of the localisation network's hidden linear layer.
    #[config(default = "32")]
    pub hidden: usize,
}

/// Learns an affine transform per image and resamples the image through it.
///
/// A fresh transformer applies the identity transform (see [`LocalisationNet`]), so training
/// starts from the uncropped image. Build with [`SpatialTransformerConfig`].
#[derive(Module, Debug)]
pub struct SpatialTransformer {
    /// Predicts the transform parameters.
    pub loc: LocalisationNet,
    /// Turns parameters into `[2, 3]` matrices.
    #[module(skip)]
    pub head: StnHead,
    /// Expected input `[channels, height, width]`.
    pub input_shape: [usize; 3],
    /// `[height, width]` of the output images.
    pub output_size: [usize; 2],
}

impl SpatialTransformerConfig {
    /// The localisation network this configuration describes.
    pub fn localisation(&self) -> LocalisationNetConfig {
        LocalisationNetConfig::new(self.channels, self.input_size)
            .with_head(self.head)
            .with_conv_channels(self.conv_channels)
            .with_kernel_sizes(self.kernel_sizes)
            .with_hidden(self.hidden)
    }

    /// Checks the configuration: input large enough, no zero sizes.
    pub fn validate(&self) -> Result<(), StnError> {
        self.localisation().feature_size()?;
        if let Some([h, w]) = self.output_size {
            if h == 0 || w == 0 {
                return Err(StnError::Zero {
                    what: "output_size",
                });
            }
        }
        Ok(())
    }

    /// Input features of the localisation network's first linear layer.
    ///
    /// # Panics
    /// When the configuration is invalid (see [`validate`](Self::validate)).
    pub fn loc_in_features(&self) -> usize {
        self.localisation()
            .in_features()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the transformer, or says why the configuration cannot work.
    pub fn try_init(&self, device: &Device) -> Result<SpatialTransformer, StnError> {
        self.validate()?;
        Ok(SpatialTransformer {
            loc: self.localisation().try_init(device)?,
            head: self.head,
            input_shape: [self.channels, self.input_size[0], self.input_size[1]],
            output_size: self.output_size.unwrap_or(self.input_size),
        })
    }

    /// Builds the transformer.
    ///
    /// # Panics
    /// With [`StnError`]'s message when the configuration is invalid; use
    /// [`try_init`](Self::try_init) for a `Result`.
    pub fn init(&self, device: &Device) -> SpatialTransformer {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl SpatialTransformer {
    /// Resamples each image through its predicted transform.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]` (the configured sizes)
    /// - output: `[batch, channels, output_height, output_width]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_with_theta(x).0
    }

    /// The predicted affine matrices (normalised coordinates, output to input).
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - output: `[batch, 2, 3]`
    pub fn theta(&self, x: Tensor<4>) -> Tensor<3> {
        self.check_input(&x);
        self.head.theta(self.loc.forward(x))
    }

    /// The transformed images and the matrices that made them (for plotting crops).
    ///
    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - output: (`[batch, channels, output_height, output_width]`, `[batch, 2, 3]`)
    pub fn forward_with_theta(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<3>) {
        let theta = self.theta(x.clone());
        (affine_sample(x, theta.clone(), self.output_size), theta)
    }

    fn check_input(&self, x: &Tensor<4>) {
        let [_, c, h, w] = x.dims();
        assert_eq!(
            [c, h, w],
            self.input_shape,
            "spatial transformer built for [C, H, W] = {:?}, got {:?}",
            self.input_shape,
            [c, h, w]
        );
    }
}

#[cfg(test)]
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::testutil::assert_close;
    use crate::testutil::{generated, pair};
    use burn::module::Param;
    use burn::nn::conv::Conv2d;
    use burn::nn::Linear;
    use gampen_testing::{fixture, flat, to_vec, Value};

    fn load_conv(conv: &mut Conv2d, spec: &Value, device: &Device) {
        conv.weight = Param::from_tensor(generated::<4>(&spec["weight"], device));
        conv.bias = Some(Param::from_tensor(generated::<1>(&spec["bias"], device)));
    }

    /// torch stores `[out, in]`, Burn `[in, out]`.
    fn load_linear(lin: &mut Linear, spec: &Value, device: &Device) {
        lin.weight = Param::from_tensor(generated::<2>(&spec["weight"], device).transpose());
        let bias = match spec.get("bias") {
            Some(b) => generated::<1>(b, device),
            None => gampen_testing::tensor::<1>(&spec["bias_values"], device),
        };
        lin.bias = Some(Param::from_tensor(bias));
    }

    fn from_fixture(case: &Value, head: StnHead, device: &Device) -> SpatialTransformer {
        let hw = pair(&case["input_size"]);
        let config = SpatialTransformerConfig::new(case["channels"].as_u64().unwrap() as usize, hw)
            .with_head(head)
            .with_output_size(Some(pair(&case["output_size"])));
        assert_eq!(
            config.loc_in_features() as u64,
            case["in_features"].as_u64().unwrap()
        );
        let mut stn = config.init(device);
        let p = &case["params"];
        load_conv(&mut stn.loc.conv1, &p["conv1"], device);
        load_conv(&mut stn.loc.conv2, &p["conv2"], device);
        load_linear(&mut stn.loc.fc1, &p["fc1"], device);
        load_linear(&mut stn.loc.fc2, &p["fc2"], device);
        stn
    }

    /// Reference from PyTorch (`stn_net.json`): GaMPEN's localisation net at full width on a
    /// 2x1x40x44 batch. The 11x11 and 9x9 convolutions sum ~5000 products, so allow 1e-4.
    fn check_net(device: &Device, name: &str, head: StnHead) {
        let case = &fixture("stn_net")[name];
        let stn = from_fixture(case, head, device);
        let x = generated::<4>(&case["input"], device);
        let (y, theta) = stn.forward_with_theta(x);
        assert_close(&to_vec(theta), &flat(&case["theta"]), 1e-5, 1e-4, "theta");
        assert_close(
            &to_vec(y),
            &flat(&case["output"]),
            1e-4,
            1e-4,
            "transformed images",
        );

        // The gradient w.r.t. the input flows through both the sampler and the localisation
        // net (via theta).
        let ad = device.clone().autodiff();
        let stn = from_fixture(case, head, &ad);
        let x = generated::<4>(&case["input"], &ad).require_grad();
        let gout = generated::<4>(&case["grad_output"], &ad);
        let grads = (stn.forward(x.clone()) * gout).sum().backward();
        let gx = x.grad(&grads).expect("input gradient");
        assert_close(
            &to_vec(gx),
            &flat(&case["grad_input"]),
            1e-4,
            1e-3,
            "d/dinput",
        );
    }

    gampen_testing::backend_tests! {
        fn affine_net_matches_torch(device) {
            check_net(device, "affine", StnHead::Affine);
        }

        fn scale_net_matches_torch(device) {
            check_net(device, "scale", StnHead::Scale);
        }

        fn fresh_transformer_is_identity(device) {
            for head in [StnHead::Scale, StnHead::ScaleTranslate, StnHead::Affine] {
                let stn = SpatialTransformerConfig::new(2, [36, 40])
                    .with_head(head)
                    .with_conv_channels([4, 6])
                    .with_hidden(8)
                    .init(device);
                let x = Tensor::<4>::random(
                    [3, 2, 36, 40],
                    burn::tensor::Distribution::Uniform(-1.0, 1.0),
                    device,
                );
                let (y, theta) = stn.forward_with_theta(x.clone());
                // Zero weights times finite activations: theta is the identity bit for bit.
                assert_eq!(to_vec(theta), [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0].repeat(3));
                // The sampler re-derives pixel indices through normalised coordinates in
                // f32, so the images agree to rounding, not bit for bit.
                assert_close(&to_vec(y), &to_vec(x), 1e-5, 1e-5, "identity transform");
            }
        }

        fn output_size_defaults_to_input(device) {
            let stn = SpatialTransformerConfig::new(1, [34, 35])
                .with_conv_channels([2, 3])
                .with_hidden(4)
                .init(device);
            assert_eq!(stn.output_size, [34, 35]);
            let y = stn.forward(Tensor::<4>::zeros([2, 1, 34, 35], device));
            assert_eq!(y.dims(), [2, 1, 34, 35]);
        }
    }

    #[test]
    fn invalid_configs_are_errors() {
        let device = Device::flex();
        let err = SpatialTransformerConfig::new(3, [32, 32])
            .try_init(&device)
            .unwrap_err();
        assert!(matches!(err, StnError::InputTooSmall { .. }), "{err}");
        let err = SpatialTransformerConfig::new(3, [64, 64])
            .with_output_size(Some([0, 10]))
            .validate()
            .unwrap_err();
        assert_eq!(
            err,
            StnError::Zero {
                what: "output_size"
            }
        );
    }

    #[test]
    #[should_panic(expected = "built for [C, H, W]")]
    fn wrong_input_size_panics_clearly() {
        let device = Device::flex();
        let stn = SpatialTransformerConfig::new(1, [34, 34])
            .with_conv_channels([2, 3])
            .with_hidden(4)
            .init(&device);
        stn.forward(Tensor::<4>::zeros([1, 1, 40, 40], &device));
    }
}
