//! Posteriors for every galaxy of a data directory from a trained run, streamed batch by
//! batch into the CSV `gampen predict` writes (same seed, same bytes).
//!
//! ```sh
//! cargo run --example predict_catalog -- RUN_DIR DATA_DIR OUT.csv [SPLIT]
//! ```

use std::path::Path;

use burn::tensor::Device;
use gampen::{GampenError, PredictOptions, Predictor};

/// Predicts the catalog of `data` (`info.csv`, or `splits/<split>.csv`) with the best
/// checkpoint of `run` and writes `out`; returns the number of galaxies.
pub fn predict_catalog(
    run: &Path,
    data: &Path,
    split: Option<&str>,
    out: &Path,
    passes: usize,
    seed: u64,
) -> Result<usize, GampenError> {
    // The checkpoint brings its preprocessing, label transform and calibration.
    let options = PredictOptions::new().with_passes(passes).with_seed(seed);
    let predictor = Predictor::open(run, &Device::flex())?.with_options(options)?;
    predictor.write_csv(data, split, out, None, |p| {
        eprint!(
            "\r{}/{} galaxies, {:.1}/s",
            p.done,
            p.total,
            p.galaxies_per_second()
        );
    })
}

#[allow(dead_code)]
fn main() -> Result<(), GampenError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: predict_catalog RUN_DIR DATA_DIR OUT.csv [SPLIT]");
        std::process::exit(2);
    }
    let (run, data, out) = (
        Path::new(&args[0]),
        Path::new(&args[1]),
        Path::new(&args[2]),
    );
    let n = predict_catalog(run, data, args.get(3).map(String::as_str), out, 100, 0)?;
    eprintln!("\nwrote {n} galaxies to {}", out.display());
    Ok(())
}
