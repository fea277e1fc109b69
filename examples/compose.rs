//! Compose the three core crates into a custom morphology model and train it for a few
//! steps on random data, on the CPU.
//!
//! ```text
//! cargo run --release --example compose
//! ```
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use gampen_backbone::{Vgg, VggConfig, VggVariant};
use gampen_loss::{num_outputs, GaussianLossConfig, LossKind};
use gampen_stn::{SpatialTransformer, SpatialTransformerConfig, StnHead};

/// A spatial transformer in front of a narrow VGG-11: the model in a dozen lines.
#[derive(Module, Debug)]
struct Morphology {
    stn: SpatialTransformer,
    vgg: Vgg,
}

impl Morphology {
    fn new(params: usize, device: &Device) -> Self {
        let k = num_outputs(LossKind::Cov, params);
        Self {
            stn: SpatialTransformerConfig::new(1, [64, 64])
                .with_head(StnHead::Scale)
                .with_conv_channels([8, 16])
                .init(device),
            vgg: VggConfig::new(VggVariant::Vgg11, k)
                .with_in_channels(1)
                .with_width(0.125)
                .with_hidden(vec![64, 64])
                .with_dropout(0.1)
                .init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.vgg.forward(self.stn.forward(x))
    }
}

fn main() {
    let device = Device::flex().autodiff();
    device.seed(42);
    let n = 3; // e.g. bulge-to-total, effective radius, flux
    let mut model = Morphology::new(n, &device);
    let loss = GaussianLossConfig::new(n).with_kind(LossKind::Cov).init();
    let mut optim = AdamConfig::new().init();

    let images = Tensor::<4>::random([8, 1, 64, 64], Distribution::Normal(0.0, 1.0), &device);
    let targets = Tensor::<2>::random([8, n], Distribution::Normal(0.0, 1.0), &device);
    for step in 0..5 {
        let value = loss
            .forward(model.forward(images.clone()), targets.clone())
            .expect("output width matches the loss");
        println!(
            "step {step}: loss {:.4}",
            value.clone().into_scalar::<f32>()
        );
        let grads = GradientsParams::from_grads(value.backward(), &model);
        model = optim.step(1e-3, model, grads);
    }
    let theta = model.valid().stn.theta(images.inner());
    println!(
        "learned crop scale of the first galaxy: {:?}",
        theta.into_data().try_to_vec::<f32>().unwrap()[0]
    );
}
