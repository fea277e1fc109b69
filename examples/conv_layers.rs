//! Times each convolution of the small preset (`GampenConfig::gampen_small`: the localisation
//! net and VGG-11 at 1/8 width, 64x64, batch 16) on flex, pass by pass, and a square matmul as
//! the machine's reference peak, and prints one JSON line per row with its GFLOP/s.
//!
//! ```text
//! cargo build --workspace --examples
//! RAYON_NUM_THREADS=1 target/debug/examples/conv_layers
//! target/debug/examples/conv_layers --layers loc1,vgg4 --reps 21
//! ```
//!
//! Rows: `forward` (`conv2d` with its bias), `weight_grad` (`conv2d_weight_backward` alone) and
//! `training` (forward and every gradient through autodiff; its GFLOP/s counts three passes,
//! two for the first layer). Each time is the median of `--reps` calls (default 11) after 3
//! warm-up calls; every call reads its result back. `matmul` is the reference peak.
use std::time::Instant;

use burn::tensor::module::{conv2d, conv2d_weight_backward};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};

/// `(name, C_in, C_out, kernel, input side, padding)` of every convolution of the small
/// preset at 64x64 (the localisation net's are valid, VGG's padded by 1).
const LAYERS: [(&str, usize, usize, usize, usize, usize); 10] = [
    ("loc1", 1, 8, 11, 64, 0),
    ("loc2", 8, 16, 9, 26, 0),
    ("vgg1", 1, 8, 3, 64, 1),
    ("vgg2", 8, 16, 3, 32, 1),
    ("vgg3", 16, 32, 3, 16, 1),
    ("vgg4", 32, 32, 3, 16, 1),
    ("vgg5", 32, 64, 3, 8, 1),
    ("vgg6", 64, 64, 3, 8, 1),
    ("vgg7", 64, 64, 3, 4, 1),
    ("vgg8", 64, 64, 3, 4, 1),
];
const BATCH: usize = 16;
/// Side of the reference matmul.
const MATMUL: usize = 1024;

/// Median milliseconds of `reps` calls of `f` after three warm-up calls.
fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn print_row(layer: &str, pass: &str, ms: f64, gflop: f64) {
    println!(
        "{{\"layer\":\"{layer}\",\"pass\":\"{pass}\",\"ms\":{ms:.3},\"gflop_per_s\":{:.1}}}",
        gflop / ms * 1e3
    );
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Default, device)
}

/// Times one layer's forward pass, its weight gradient alone, and a whole training pass
/// (forward, then the input, weight and bias gradients through Burn's autodiff, as in a
/// training step; the localisation net's first layer has no input gradient, since the image is
/// not a parameter's function).
fn layer(
    (name, c_in, c_out, k, side, pad): (&str, usize, usize, usize, usize, usize),
    reps: usize,
    device: &Device,
) {
    let out = side + 2 * pad - k + 1;
    let x = random([BATCH, c_in, side, side], device);
    let w = random([c_out, c_in, k, k], device);
    let b = random([c_out], device);
    let dy = random([BATCH, c_out, out, out], device);
    let options = ConvOptions::new([1, 1], [pad, pad], [1, 1], 1);
    let gflop = 2.0 * (BATCH * c_out * c_in * k * k * out * out) as f64 / 1e9;
    let ms = median_ms(reps, || {
        conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone()).into_data();
    });
    print_row(name, "forward", ms, gflop);
    let ms = median_ms(reps, || {
        conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), options.clone()).into_data();
    });
    print_row(name, "weight_grad", ms, gflop);
    let input_grad = name != "loc1";
    let (x, w, b, dy) = (x.autodiff(), w.autodiff(), b.autodiff(), dy.autodiff());
    let ms = median_ms(reps, || {
        let x = if input_grad {
            x.clone().require_grad()
        } else {
            x.clone()
        };
        let (w, b) = (w.clone().require_grad(), b.clone().require_grad());
        let y = conv2d(x.clone(), w.clone(), Some(b), options.clone());
        let grads = (y * dy.clone()).sum().backward();
        w.grad(&grads).expect("weight gradient").into_data();
    });
    let passes = if input_grad { 3.0 } else { 2.0 };
    print_row(name, "training", ms, passes * gflop);
}

/// `MATMUL x MATMUL` times itself: the reference peak.
fn matmul(reps: usize, device: &Device) {
    let a = random([MATMUL, MATMUL], device);
    let b = random([MATMUL, MATMUL], device);
    let ms = median_ms(reps, || {
        a.clone().matmul(b.clone()).into_data();
    });
    print_row(
        "matmul",
        &format!("{MATMUL}x{MATMUL}"),
        ms,
        2.0 * (MATMUL as f64).powi(3) / 1e9,
    );
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut reps, mut only) = (11, None::<Vec<String>>);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--reps" => reps = value.parse().map_err(|e| format!("--reps {value}: {e}"))?,
            "--layers" => only = Some(value.split(',').map(str::to_string).collect()),
            _ => return Err(format!("unknown flag {flag} (--reps N, --layers a,b)")),
        }
    }
    let device = Device::flex();
    matmul(reps, &device);
    for spec in LAYERS {
        if only
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == spec.0))
        {
            layer(spec, reps, &device);
        }
    }
    Ok(())
}
