//! Data throughput: the Sersic bulge+disk simulator (64x64, all cores) and FITS loading,
//! file by file and as a whole dataset (parallel read, arsinh, centre crop).
//!
//! FITS files are read from the page cache after the first iteration, so this measures
//! decoding, not the disk.
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gampen_data::{
    read_fits, simulate_images, simulate_to_dir, DatasetOptions, GalaxyDataset, SimulatorConfig,
};

fn simulator(c: &mut Criterion) {
    let mut group = c.benchmark_group("data/simulate_64");
    let config = SimulatorConfig::default();
    let n = 64;
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("galaxies", |b| {
        b.iter(|| simulate_images(&config, n).expect("simulate"))
    });
    group.finish();
}

fn fits(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = 256;
    simulate_to_dir(dir.path(), &SimulatorConfig::default(), n).expect("simulate to dir");
    let files: Vec<_> = (0..n as u64)
        .map(|i| {
            dir.path()
                .join("cutouts")
                .join(gampen_data::simulate::file_name(i))
        })
        .collect();

    let mut group = c.benchmark_group("data/fits_64");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("read_fits", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|f| read_fits(f).expect("read"))
                .collect::<Vec<_>>()
        })
    });
    let options = DatasetOptions {
        channels: 1,
        ..Default::default()
    };
    group.bench_function("dataset_load", |b| {
        b.iter(|| GalaxyDataset::load(dir.path(), &options).expect("load"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = simulator, fits
}
criterion_main!(benches);
