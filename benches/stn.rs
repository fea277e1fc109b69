//! Spatial transformer, forward + backward: the differentiable resampling alone
//! (`affine_sample`) and the whole transformer (localisation net + head + resampling).
//!
//! `cargo bench --bench stn`; `GAMPEN_BENCH_DEVICE` and `GAMPEN_BENCH_FULL` as in `common`.
mod common;

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use gampen_stn::{affine_sample, SpatialTransformerConfig};

/// A batch of random images and near-identity transforms, both requiring gradients.
fn inputs(device: &Device, batch: usize, channels: usize, size: usize) -> (Tensor<4>, Tensor<3>) {
    let images = Tensor::<4>::random([batch, channels, size, size], Distribution::Default, device);
    let identity = Tensor::<1>::from_floats([0.8, 0.0, 0.05, 0.0, 0.8, -0.05], device)
        .reshape([1, 2, 3])
        .repeat_dim(0, batch);
    let noise = Tensor::<3>::random([batch, 2, 3], Distribution::Normal(0.0, 0.01), device);
    (images.require_grad(), (identity + noise).require_grad())
}

fn affine_sample_fwd_bwd(c: &mut Criterion) {
    let mut group = c.benchmark_group("stn/affine_sample_fwd_bwd");
    for (name, device) in common::devices() {
        let device = device.autodiff();
        let batch = 16;
        for size in [64, 96] {
            let (images, theta) = inputs(&device, batch, 3, size);
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(
                BenchmarkId::new(name, format!("b{batch}_s{size}")),
                &size,
                |b, &s| {
                    b.iter(|| {
                        let out = affine_sample(images.clone(), theta.clone(), [s, s]);
                        let grads = out.sum().backward();
                        common::sync(&device);
                        grads
                    })
                },
            );
        }
    }
    group.finish();
}

fn transformer_fwd_bwd(c: &mut Criterion) {
    let mut group = c.benchmark_group("stn/transformer_fwd_bwd");
    group.sampling_mode(SamplingMode::Flat);
    // (label, channels, size, localisation conv channels): gampen_small's and GaMPEN's STN.
    let mut cases = vec![("small_c1", 1, 64, [8, 16]), ("gampen_c3", 3, 96, [64, 96])];
    if common::full() {
        cases.push(("gampen_c3", 3, 143, [64, 96]));
    }
    for (name, device) in common::devices() {
        let device = device.autodiff();
        let batch = 16;
        for &(label, channels, size, conv) in &cases {
            let stn = SpatialTransformerConfig::new(channels, [size, size])
                .with_conv_channels(conv)
                .init(&device);
            let (images, _) = inputs(&device, batch, channels, size);
            group.throughput(Throughput::Elements(batch as u64));
            let id = BenchmarkId::new(name, format!("{label}_b{batch}_s{size}"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let grads = stn.forward(images.clone()).sum().backward();
                    common::sync(&device);
                    grads
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = affine_sample_fwd_bwd, transformer_fwd_bwd
}
criterion_main!(benches);
