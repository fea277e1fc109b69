//! Calibration on the command line (issue 15): `gampen train --calibrate` saves the factors
//! into the best checkpoint, `gampen predict` applies them by default and not with
//! `--no-calibration`, and `gampen evaluate --model/--samples` reports the library's
//! numbers before and after them.

use std::fs;
use std::path::{Path, PathBuf};

use gampen::calibration::{curve_levels, CalibrationScale, MatchedPredictions, SampleCoverage};
use gampen::checkpoint::{self, files};
use gampen::posterior::PredictionTable;
use gampen::predictor::SampleTable;
use gampen_data::CsvTable;
use serde_json::Value;

mod common;
use common::{fails, fixture, ok, s};

/// Trains a one-epoch run with `--calibrate` on the shared fixture's data; returns the run
/// directory and the stdout of `train`.
fn calibrated_run(root: &Path) -> (PathBuf, String) {
    let (_, data, _) = fixture();
    let run = root.join("run");
    let out = ok(&[
        "train",
        "--data",
        s(data),
        "--split",
        "tiny",
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--cutout-size",
        "40",
        "--batch-size",
        "10",
        "--calibrate",
        "--calibration-passes",
        "3",
        "--quiet",
    ]);
    (run, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `gampen predict` of the fixture's tiny-test split with `extra` flags; returns stderr.
fn predict(run: &Path, out: &Path, extra: &[&str]) -> String {
    let (_, data, _) = fixture();
    let mut args = vec!["predict", "--model", s(run), "--data", s(data)];
    args.extend([
        "--split",
        "tiny-test",
        "--passes",
        "3",
        "--quiet",
        "--out",
        s(out),
    ]);
    args.extend(extra);
    String::from_utf8_lossy(&ok(&args).stderr).into_owned()
}

/// `value` as eval.json holds it once read back: serde_json's default float parsing may
/// round a last digit, so both sides go through the same text.
fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

#[test]
fn train_calibrates_predict_applies_and_evaluate_reports_before_and_after() {
    let root = tempfile::tempdir().unwrap();
    let (run, summary) = calibrated_run(root.path());
    assert!(summary.contains("calibration fitted on"), "{summary}");
    assert!(
        summary.contains("nominal 68.27 / 95.45 / 99.73"),
        "{summary}"
    );
    let best = checkpoint::resolve(&run).unwrap();
    let file = best.join(files::CALIBRATION);
    let scale = CalibrationScale::read(&file).unwrap();

    let (raw, calibrated) = (root.path().join("raw.csv"), root.path().join("cal.csv"));
    let samples = root.path().join("samples.csv");
    let said = predict(&run, &calibrated, &[]);
    assert!(
        said.contains(&format!(
            "calibrated intervals: factors {} from {}",
            scale.summary(),
            file.display()
        )),
        "{said}"
    );
    let said = predict(
        &run,
        &raw,
        &["--no-calibration", "--samples-out", s(&samples)],
    );
    assert!(
        said.contains("raw intervals: --no-calibration leaves"),
        "{said}"
    );
    let (r, c) = (
        PredictionTable::read(&raw, None).unwrap(),
        PredictionTable::read(&calibrated, None).unwrap(),
    );
    for (p, factor) in scale.scales.iter().enumerate() {
        for g in 0..r.file_names.len() {
            let (a, b) = (r.marginal(p, g).std * factor, c.marginal(p, g).std);
            assert!((a - b).abs() <= 1e-6 * a.abs(), "{a} vs {b}");
        }
    }

    let (_, data, _) = fixture();
    let eval = root.path().join("eval");
    let args = [
        "evaluate",
        "--predictions",
        s(&raw),
        "--data",
        s(data),
        "--out",
        s(&eval),
    ];
    ok(&[&args[..], &["--model", s(&run), "--samples", s(&samples)]].concat());
    let report: Value =
        serde_json::from_str(&fs::read_to_string(eval.join("eval.json")).unwrap()).unwrap();
    let catalog = CsvTable::read(data.join("info.csv")).unwrap();
    let matched = MatchedPredictions::new(&r, &catalog).unwrap();
    let after = matched.calibrated(&scale).coverage();
    let applied = &report["after_calibration"];
    assert_eq!(applied["source"], s(&file));
    assert_eq!(applied["coverage"], json(&after.per_parameter));
    assert_eq!(applied["all_inside"], json(&after.all_inside));
    let table = SampleTable::read(&samples).unwrap();
    let curve = SampleCoverage::new(&table, &catalog, &curve_levels(), None).unwrap();
    assert_eq!(report["samples"]["before"], json(&curve));
    assert_eq!(curve.curve.levels.len(), 22);
    assert!(report["samples"]["after"].is_object());
    assert!(eval.join("calibration_curve.png").is_file());
}

#[test]
fn evaluate_refuses_a_malformed_samples_file_and_a_run_without_calibration() {
    let root = tempfile::tempdir().unwrap();
    let (_, data, run) = fixture();
    let preds = root.path().join("preds.csv");
    predict(run, &preds, &["--no-calibration"]);
    let bad = root.path().join("bad.csv");
    fs::write(
        &bad,
        "file_name,draw,bt,r_e\nsim_0000001.fits,0,0.5,1\nsim_0000001.fits,3,0.5,1\n",
    )
    .unwrap();
    let eval = root.path().join("eval");
    let args = [
        "evaluate",
        "--predictions",
        s(&preds),
        "--data",
        s(data),
        "--out",
        s(&eval),
    ];
    let e = fails(&[&args[..], &["--samples", s(&bad)]].concat());
    assert!(e.contains("bad.csv") && e.contains("row 2"), "{e}");
    let e = fails(&[&args[..], &["--model", s(run)]].concat());
    assert!(e.contains("no calibration.json"), "{e}");
}
