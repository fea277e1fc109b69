//! VGG-16 (width 1.0, GaMPEN's backbone) inference forward pass.
//!
//! Default: 64 and 96 pixel cutouts at batch 16, which finish in a few minutes on two cores;
//! `GAMPEN_BENCH_FULL=1` adds 143 pixels and batch 64. `GAMPEN_BENCH_DEVICE` as in `common`.
mod common;

use burn::tensor::{Distribution, Tensor};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use gampen_backbone::{VggConfig, VggVariant};

fn vgg16_forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("backbone/vgg16_forward");
    group.sampling_mode(SamplingMode::Flat);
    let cases: Vec<(usize, usize)> = if common::full() {
        [64, 96, 143]
            .into_iter()
            .flat_map(|s| [16, 64].map(|b| (b, s)))
            .collect()
    } else {
        vec![(16, 64), (16, 96)]
    };
    for (name, device) in common::devices() {
        // 3 predicted parameters with full covariance: 9 outputs.
        let vgg = VggConfig::new(VggVariant::Vgg16, 9).init(&device);
        for &(batch, size) in &cases {
            let images =
                Tensor::<4>::random([batch, 3, size, size], Distribution::Default, &device);
            group.throughput(Throughput::Elements(batch as u64));
            let id = BenchmarkId::new(name, format!("b{batch}_s{size}"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let out = vgg.forward(images.clone());
                    common::sync(&device);
                    out
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = vgg16_forward
}
criterion_main!(benches);
