//! The library's streaming prediction (`gampen::Predictor`, `examples/predict_catalog.rs`)
//! writes what `gampen predict` writes, byte for byte.

mod common;

#[path = "../../../examples/predict_catalog.rs"]
mod example;

use burn::tensor::Device;
use common::{fixture, ok, s};
use gampen::{PredictOptions, Predictor};
use gampen_data::Shard;

/// The device's random generator is one per process: two predictions running at once in
/// this test binary would draw from it in turns, so they take this lock.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_example_writes_the_csv_of_gampen_predict() {
    let (root, data, run) = fixture();
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = root.join("predict-library");
    let cli = dir.join("cli.csv");
    ok(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--split",
        "tiny-test",
        "--out",
        s(&cli),
        "--passes",
        "4",
        "--seed",
        "7",
        "--quiet",
    ]);
    let lib = dir.join("lib.csv");
    let n = example::predict_catalog(run, data, Some("tiny-test"), &lib, 4, 7).unwrap();
    let (a, b) = (read(&cli), read(&lib));
    assert!(n > 0 && a == b, "{n} rows; the CSVs differ:\n{a}\n{b}");
}

#[test]
fn shards_and_values_match_the_cli() {
    let (root, data, run) = fixture();
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = root.join("predict-library-shard");
    let cli = dir.join("cli.csv");
    let samples = dir.join("samples.csv");
    ok(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--out",
        s(&cli),
        "--passes",
        "3",
        "--batch-size",
        "4",
        "--shard",
        "2/3",
        "--columns",
        "gampen",
        "--samples-out",
        s(&samples),
        "--quiet",
    ]);
    let options = PredictOptions::new()
        .with_passes(3)
        .with_batch_size(4)
        .with_shard(Shard { index: 2, count: 3 })
        .with_columns(gampen::posterior::Columns::Gampen);
    let predictor = Predictor::open(run, &Device::flex())
        .unwrap()
        .with_options(options)
        .unwrap();
    let lib = dir.join("lib.csv");
    let lib_samples = dir.join("lib-samples.csv");
    let mut calls = Vec::new();
    let n = predictor
        .write_csv(data, None, &lib, Some(&lib_samples), |p| calls.push(*p))
        .unwrap();
    assert_eq!(std::fs::read(&cli).unwrap(), std::fs::read(&lib).unwrap());
    assert_eq!(
        std::fs::read(&samples).unwrap(),
        std::fs::read(&lib_samples).unwrap()
    );
    let last = calls.last().unwrap();
    assert_eq!((last.done, last.total), (n, n));
    // The values API streams the same rows and medians.
    let batches: Vec<_> = predictor
        .catalog_batches(data, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let rows: Vec<usize> = batches.iter().flat_map(|b| b.rows.clone()).collect();
    assert_eq!(rows.len(), n);
    assert!(rows.iter().all(|r| r % 3 == 1));
}

#[test]
fn images_and_checkpoint_calibration() {
    let (root, data, run) = fixture();
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let options = PredictOptions::new().with_passes(2).with_batch_size(3);
    let predictor = Predictor::open(run, &Device::flex()).unwrap();
    let ckpt = predictor.dir().to_path_buf();
    let predictor = predictor.with_options(options.clone()).unwrap();
    let first = predictor
        .catalog_batches(data, None)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    // Any iterator of raw images: the same galaxies give the same posteriors.
    let images = first
        .fields
        .iter()
        .map(|f| gampen_data::read_fits(data.join("cutouts").join(&f[0])).unwrap());
    let from_images = predictor.predict_images(images).next().unwrap().unwrap();
    let stds = |p: &[gampen::GalaxyPosterior]| -> Vec<f64> {
        p.iter().map(|g| g.marginals[0].std).collect()
    };
    assert_eq!(stds(&from_images), stds(&first.posteriors));
    // A calibration.json in the checkpoint is applied by default.
    let copy = root.join("calibrated-checkpoint");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&ckpt).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    let params = predictor.parameters().to_vec();
    let cal = serde_json::json!({ "parameters": params, "scales": vec![2.0; params.len()] });
    std::fs::write(copy.join("calibration.json"), cal.to_string()).unwrap();
    let calibrated = Predictor::open(&copy, &Device::flex())
        .unwrap()
        .with_options(options)
        .unwrap();
    let batch = calibrated
        .catalog_batches(data, None)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let doubled: Vec<f64> = stds(&first.posteriors).iter().map(|s| 2.0 * s).collect();
    for (a, b) in stds(&batch.posteriors).iter().zip(doubled) {
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{a} vs {b}");
    }
}

#[test]
fn library_outputs_that_are_inputs_are_refused_untouched() {
    let (root, data, run) = fixture();
    let predictor = Predictor::open(run, &Device::flex()).unwrap();
    let info = data.join("info.csv");
    let before = read(&info);
    // Another spelling of the catalog the predictor reads.
    let alias = data.join("cutouts/../info.csv");
    let err = predictor
        .write_csv(data, None, &alias, None, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("lies inside input data"), "{err}");
    let out = root.join("refused.csv");
    let err = predictor
        .write_csv(data, None, &out, Some(&info), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("samples_out"), "{err}");
    let inside = predictor.dir().join("crops");
    let err = predictor
        .write_crops(data, None, &inside, 0, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("lies inside input checkpoint"), "{err}");
    assert_eq!(read(&info), before);
    assert!(!out.exists() && !inside.exists());
}
