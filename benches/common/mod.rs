//! What every benchmark shares: the devices from `GAMPEN_BENCH_DEVICE`, the `GAMPEN_BENCH_FULL`
//! switch and a Criterion tuned for workloads that take up to seconds per iteration.
#![allow(dead_code)] // each bench target uses a different part of this module

use std::time::Duration;

use burn::tensor::Device;
use criterion::Criterion;

/// The devices to run on: `GAMPEN_BENCH_DEVICE=flex|ndarray|wgpu` (comma-separated for
/// several), by default flex and ndarray.
#[allow(deprecated)] // the ndarray backend is deprecated in Burn 0.22 but still benchmarked
pub fn devices() -> Vec<(&'static str, Device)> {
    let names = std::env::var("GAMPEN_BENCH_DEVICE").unwrap_or_else(|_| "flex,ndarray".into());
    names
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| match name {
            "flex" => ("flex", Device::flex()),
            "ndarray" => ("ndarray", Device::ndarray()),
            "wgpu" => ("wgpu", Device::wgpu(Default::default())),
            other => panic!("GAMPEN_BENCH_DEVICE: unknown device {other:?} (flex, ndarray, wgpu)"),
        })
        .collect()
}

/// Whether `GAMPEN_BENCH_FULL=1` asks for the large sizes too.
pub fn full() -> bool {
    std::env::var("GAMPEN_BENCH_FULL").is_ok_and(|v| v == "1" || v == "true")
}

/// Ten samples, short warm-up and measurement: the heavy workloads take seconds per iteration
/// on a CPU, and Criterion always runs at least one iteration per sample.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// Waits for the device's queued work (a no-op on the eager CPU backends).
pub fn sync(device: &Device) {
    device.sync().expect("device sync");
}
