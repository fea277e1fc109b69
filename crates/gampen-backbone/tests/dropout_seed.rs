//! `Device::seed` makes Monte-Carlo dropout masks repeatable.
//!
//! Its own test binary with one test: Burn's CPU backends keep one generator per process, so a
//! test running beside it could draw between the seed and the masks.
#![allow(deprecated)] // `Device::ndarray` is deprecated in Burn 0.22 but still supported

use burn::tensor::{Device, Tensor};
use gampen_backbone::McDropoutConfig;

fn masks(device: &Device) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = Tensor::<2>::ones([64, 64], device);
    let mut dropout = McDropoutConfig::new(0.3).init();
    dropout.set_mc(true);
    let read = |t: Tensor<2>| t.into_data().try_into_vec::<f32>().expect("f32");
    device.seed(11);
    let a = read(dropout.forward(x.clone()));
    let b = read(dropout.forward(x.clone()));
    device.seed(11);
    let c = read(dropout.forward(x));
    (a, b, c)
}

#[test]
fn seeded_devices_repeat_their_masks() {
    for (name, device) in [("flex", Device::flex()), ("ndarray", Device::ndarray())] {
        for device in [device.clone(), device.autodiff()] {
            let (a, b, c) = masks(&device);
            assert_ne!(a, b, "{name}: consecutive masks must differ");
            assert_eq!(a, c, "{name}: the same seed must give the same masks");
        }
    }
}
