//! `gampen evaluate`'s numbers are the library's: the same predictions and truths given to
//! `gampen::calibration` directly give the same eval.json and calibration factors, also when
//! some truths and predictions are non-finite and a prediction has no truth row.

use std::fs;
use std::path::Path;

use gampen::calibration::{
    coverage, residuals, CalibrationScale, CoverageReport, MatchedPredictions, ResidualStats,
};
use gampen::posterior::columns::{cell, summary_headers, summary_values};
use gampen::posterior::{MarginalSummary, PredictionTable};
use gampen::GalaxyPosterior;
use gampen_data::CsvTable;
use serde_json::Value;

mod common;
use common::{fails, ok, s};

const GALAXIES: usize = 40;

/// A skewed summary around `centre` with half-widths `w`, `2w`, `3w` (a little asymmetric).
fn summary(centre: f64, w: f64) -> MarginalSummary {
    MarginalSummary {
        mean: centre + 0.1 * w,
        median: centre,
        mode: centre - 0.05 * w,
        std: w,
        intervals: [1.0, 2.0, 3.0].map(|k| (centre - k * w, centre + 1.2 * k * w)),
        skew: 0.3,
        kurtosis: 0.1,
    }
}

/// Writes `dir/preds.csv` (default layout, bt and r_e, one row without a truth) and
/// `dir/data/info.csv`, with galaxy 5's bt truth empty, galaxy 11's r_e truth NaN and
/// galaxy 9's r_e median empty.
fn write_inputs(dir: &Path) {
    let params = vec!["bt".to_string(), "r_e".to_string()];
    let mut preds = csv::Writer::from_path(dir.join("preds.csv")).unwrap();
    let mut header = vec!["file_name".to_string()];
    header.extend(summary_headers(&params));
    preds.write_record(&header).unwrap();
    let data = dir.join("data");
    fs::create_dir_all(&data).unwrap();
    let mut info = String::from("file_name,bt,r_e,other\n");
    for g in 0..GALAXIES {
        // Deterministic scatter: truths off the median by up to about two widths.
        let x = ((g * 7919) % 101) as f64 / 101.0 - 0.5;
        let bt = summary(0.02 * g as f64, 0.05);
        let mut r_e = summary(1.0 + 0.1 * g as f64, 0.1 + 0.01 * g as f64);
        if g == 9 {
            r_e.median = f64::NAN;
        }
        let mut row = vec![format!("g{g}.fits")];
        for m in [&bt, &r_e] {
            row.extend(summary_values(m).iter().map(|&v| cell(v)));
        }
        preds.write_record(&row).unwrap();
        let t_bt = if g == 5 {
            String::new()
        } else {
            format!("{}", bt.median + 4.0 * x * bt.std)
        };
        let t_re = if g == 11 {
            "NaN".to_string()
        } else {
            format!("{}", r_e.median.max(1.0) + 3.0 * x * x.signum() * r_e.std)
        };
        info.push_str(&format!("./g{g}.fits,{t_bt},{t_re},x\n"));
    }
    let mut orphan = vec!["orphan.fits".to_string()];
    orphan.extend((0..2).flat_map(|_| summary_values(&summary(0.0, 1.0)).map(cell)));
    preds.write_record(&orphan).unwrap();
    preds.flush().unwrap();
    fs::write(data.join("info.csv"), info).unwrap();
}

/// Equal within what a JSON round trip may lose; both NaN (JSON null) counts as equal.
fn same(json: &Value, expected: f64, what: &str) {
    match json.as_f64() {
        Some(v) => assert!(
            (v - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "{what}: eval.json {v}, library {expected}"
        ),
        None => assert!(json.is_null() && expected.is_nan(), "{what}: {json}"),
    }
}

/// One parameter of eval.json against the library's residuals and coverage.
fn same_parameter(json: &Value, r: &ResidualStats, coverage: &[f64; 3]) {
    assert_eq!(json["parameter"], r.parameter.as_str());
    assert_eq!(json["count"].as_u64(), Some(r.count as u64));
    assert_eq!(json["skipped"].as_u64(), Some(r.skipped as u64));
    for (key, v) in [
        ("mae", r.mae),
        ("median_abs_error", r.median_abs_error),
        ("median_rel_error", r.median_rel_error),
        ("rmse", r.rmse),
        ("bias", r.bias),
        ("median_residual", r.median_residual),
        ("mad", r.mad),
        ("mean_std", r.mean_std),
    ] {
        same(&json[key], v, &format!("{} {key}", r.parameter));
    }
    for l in 0..3 {
        same(&json["coverage"][l], coverage[l], "coverage");
    }
    // The scatter is chosen so that the 68 % intervals miss some truths.
    assert!((0.3..0.95).contains(&coverage[0]), "{coverage:?}");
}

/// eval.json's `calibrated` section against the library's coverage after the factors.
fn same_calibrated(json: &Value, after: &CoverageReport) {
    for (p, c) in after.per_parameter.iter().enumerate() {
        for l in 0..3 {
            same(&json["coverage"][p][l], c[l], "calibrated coverage");
        }
    }
    for l in 0..3 {
        same(&json["all_inside"][l], after.all_inside[l], "calibrated");
    }
}

#[test]
fn evaluate_numbers_are_the_library_functions_including_non_finite_truths() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let (preds, data, out, calib) = (
        dir.path().join("preds.csv"),
        dir.path().join("data"),
        dir.path().join("eval"),
        dir.path().join("calib.json"),
    );
    let run = ok(&[
        "evaluate",
        "--predictions",
        s(&preds),
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--fit-calibration",
        s(&calib),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("warning: 1 prediction rows have no truth"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: 3 prediction rows") && stderr.contains("bt 1, r_e 2"),
        "{stderr}"
    );
    let report: Value =
        serde_json::from_str(&fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();

    // The library on the same files.
    let table = PredictionTable::read(&preds, None).unwrap();
    let catalog = CsvTable::read(data.join("info.csv")).unwrap();
    let matched = MatchedPredictions::new(&table, &catalog).unwrap();
    assert_eq!(matched.unmatched, ["orphan.fits"]);
    let cov = matched.coverage();
    let res = matched.residuals();
    assert_eq!(
        (report["rows"].as_u64(), report["matched"].as_u64()),
        (Some(41), Some(40))
    );
    assert_eq!(report["all_inside_count"].as_u64(), Some(37));
    assert_eq!(
        (cov.counts.clone(), cov.skipped.clone()),
        (vec![39, 38], vec![1, 2])
    );
    for l in 0..3 {
        same(&report["all_inside"][l], cov.all_inside[l], "all_inside");
    }
    for (p, r) in res.iter().enumerate() {
        same_parameter(&report["parameters"][p], r, &cov.per_parameter[p]);
    }

    // The posterior path of the library agrees with the summary path on these galaxies.
    let posteriors: Vec<GalaxyPosterior> = (matched.marginals.iter())
        .map(|m| GalaxyPosterior {
            marginals: m.clone(),
            covariance: vec![0.0; 4],
            samples: None,
        })
        .collect();
    let by_posterior = coverage(&matched.parameters, &posteriors, &matched.truths);
    assert_eq!(by_posterior.per_parameter, cov.per_parameter);
    assert_eq!(by_posterior.all_inside, cov.all_inside);
    assert_eq!(
        residuals(&matched.parameters, &posteriors, &matched.truths),
        res
    );

    let fitted: CalibrationScale =
        serde_json::from_str(&fs::read_to_string(&calib).unwrap()).unwrap();
    let library = CalibrationScale::fit(&matched.parameters, &posteriors, &matched.truths);
    assert_eq!(fitted.parameters, library.parameters);
    for (a, b) in fitted.scales.iter().zip(&library.scales) {
        assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
    }
    same_calibrated(
        &report["calibrated"],
        &matched.calibrated(&library).coverage(),
    );
}

#[test]
fn an_infinite_truth_is_an_error_naming_the_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let info = dir.path().join("data/info.csv");
    let mut lines: Vec<String> = fs::read_to_string(&info)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // Data row 4 is galaxy 3: its bt truth becomes infinite.
    let cells: Vec<&str> = lines[4].split(',').collect();
    lines[4] = format!("{},inf,{},{}", cells[0], cells[2], cells[3]);
    fs::write(&info, lines.join("\n") + "\n").unwrap();
    let msg = fails(&[
        "evaluate",
        "--predictions",
        s(&dir.path().join("preds.csv")),
        "--data",
        s(&dir.path().join("data")),
        "--out",
        s(&dir.path().join("eval")),
    ]);
    assert!(
        msg.contains("info.csv") && msg.contains("data row 4") && msg.contains("\"bt\""),
        "{msg}"
    );
}
