//! The whole model: one training step (forward, covariance NLL, backward, SGD with momentum)
//! and Monte-Carlo-dropout posterior throughput.
//!
//! Default: `gampen_small` (64x64, one band); `GAMPEN_BENCH_FULL=1` adds `gampen_original`
//! (VGG-16, 3 bands) at 96 pixels. `GAMPEN_BENCH_DEVICE` as in `common`.
mod common;

use burn::module::Module;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use gampen::posterior::Identity;
use gampen::{GampenConfig, PosteriorOptions};

fn labels() -> Vec<String> {
    vec!["bt".into(), "r_e".into(), "flux".into()]
}

/// (label, config): the models to benchmark at this run's size.
fn configs() -> Vec<(&'static str, GampenConfig)> {
    let mut configs = vec![("gampen_small", GampenConfig::gampen_small(labels()))];
    if common::full() {
        configs.push((
            "gampen_original",
            GampenConfig::gampen_original(96, labels()),
        ));
    }
    configs
}

fn images(config: &GampenConfig, batch: usize, device: &Device) -> Tensor<4> {
    let s = config.cutout_size;
    Tensor::<4>::random(
        [batch, config.channels, s, s],
        Distribution::Default,
        device,
    )
}

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("model/train_step");
    group.sampling_mode(SamplingMode::Flat);
    let batch = 16;
    for (name, device) in common::devices() {
        let device = device.autodiff();
        for (label, config) in configs() {
            device.seed(0);
            let mut model = Some(config.init(&device).expect("valid preset").train());
            let loss_fn = model.as_ref().expect("model").loss();
            // GaMPEN's optimiser: SGD, momentum 0.9, no dampening, lr 0.005.
            let momentum = MomentumConfig::new().with_momentum(0.9).with_dampening(0.0);
            let mut optim = SgdConfig::new().with_momentum(Some(momentum)).init();
            let x = images(&config, batch, &device);
            let y = Tensor::<2>::random([batch, 3], Distribution::Normal(0.0, 1.0), &device);
            group.throughput(Throughput::Elements(batch as u64));
            let id = BenchmarkId::new(name, format!("{label}_b{batch}_s{}", config.cutout_size));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let m = model.take().expect("model is put back every step");
                    let loss = loss_fn
                        .forward(m.forward(x.clone()), y.clone())
                        .expect("loss");
                    // Reading the loss back is what the training loop does, and syncs.
                    let value = loss.clone().into_scalar::<f32>();
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    model = Some(optim.step(0.005, m, grads));
                    common::sync(&device);
                    value
                })
            });
        }
    }
    group.finish();
}

fn posterior(c: &mut Criterion) {
    let mut group = c.benchmark_group("model/posterior_t100");
    group.sampling_mode(SamplingMode::Flat);
    let batch = 16;
    let options = PosteriorOptions::new()
        .with_passes(100)
        .with_samples_per_pass(10);
    for (name, device) in common::devices() {
        // Only gampen_small by default: gampen_original's 100 VGG-16 passes per galaxy take
        // minutes per batch on two cores.
        let configs = configs();
        let configs = if common::full() {
            &configs[..]
        } else {
            &configs[..1]
        };
        for (label, config) in configs {
            device.seed(0);
            let model = config.init(&device).expect("valid preset").valid();
            let x = images(config, batch, &device);
            group.throughput(Throughput::Elements(batch as u64));
            let id = BenchmarkId::new(name, format!("{label}_b{batch}_s{}", config.cutout_size));
            group.bench_function(id, |b| {
                b.iter(|| {
                    model
                        .predict_posterior(x.clone(), &options, &Identity)
                        .expect("posterior")
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = train_step, posterior
}
criterion_main!(benches);
