//! Full-covariance Gaussian NLL, forward + backward, for n = 3 (GaMPEN's published models)
//! and n = 10, in both covariance layouts.
//!
//! `cargo bench --bench loss`; `GAMPEN_BENCH_DEVICE` as in `common`.
mod common;

use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gampen_loss::{num_outputs, CovarianceParam, GaussianLossConfig, LossKind};

fn covariance_nll_fwd_bwd(c: &mut Criterion) {
    let mut group = c.benchmark_group("loss/cov_nll_fwd_bwd");
    for (name, device) in common::devices() {
        let device = device.autodiff();
        for n in [3, 10] {
            for (layout, param) in [
                ("cholesky", CovarianceParam::Cholesky),
                ("ldl", CovarianceParam::Ldl),
            ] {
                let batch = 256;
                let loss = GaussianLossConfig::new(n)
                    .with_kind(LossKind::Cov)
                    .with_param(param)
                    .init();
                let k = num_outputs(LossKind::Cov, n);
                let outputs =
                    Tensor::<2>::random([batch, k], Distribution::Normal(0.0, 0.5), &device)
                        .require_grad();
                let targets =
                    Tensor::<2>::random([batch, n], Distribution::Normal(0.0, 1.0), &device);
                group.throughput(Throughput::Elements(batch as u64));
                let id = BenchmarkId::new(name, format!("{layout}_n{n}_b{batch}"));
                group.bench_function(id, |b| {
                    b.iter(|| {
                        let value = loss
                            .forward(outputs.clone(), targets.clone())
                            .expect("loss");
                        let grads = value.backward();
                        common::sync(&device);
                        grads
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = covariance_nll_fwd_bwd
}
criterion_main!(benches);
