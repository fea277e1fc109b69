//! Runs the built `gampen` binary on tiny inputs: help texts, the simulate -> splits ->
//! train -> predict (sharded) -> merge -> evaluate -> crop workflow, and bad inputs that
//! must fail with one `error:` line.

use std::path::Path;

mod common;
use common::*;

#[test]
fn help_of_every_subcommand() {
    ok(&["--help"]);
    for cmd in [
        "simulate", "splits", "train", "predict", "merge", "crop", "evaluate", "demo", "import",
    ] {
        let out = ok(&[cmd, "--help"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd}"
        );
    }
}

#[test]
fn sharded_predict_merge_evaluate_crop() {
    let (root, data, run) = fixture();
    let dir = root.join("predict");
    std::fs::create_dir_all(&dir).unwrap();
    let (merged, test_rows) = predict_two_shards_and_merge(&dir, data, run);
    let calib = evaluate_and_fit_calibration(&dir, data, &merged);
    predict_calibrated_with_samples(&dir, data, run, &calib, test_rows);
    shards_with_other_columns_do_not_merge(&dir);
    crop_with_grid(root, data, run);
}

/// Predicts tiny-test in two shards and merges them: every test galaxy once, with the
/// summary columns. Returns the merged file and the number of test galaxies.
fn predict_two_shards_and_merge(
    dir: &Path,
    data: &Path,
    run: &Path,
) -> (std::path::PathBuf, usize) {
    let shard = |k: &str| dir.join(format!("shard{k}.csv"));
    for k in ["1", "2"] {
        ok(&[
            "predict",
            "--model",
            s(run),
            "--data",
            s(data),
            "--split",
            "tiny-test",
            "--out",
            s(&shard(k)),
            "--passes",
            "3",
            "--samples-per-pass",
            "2",
            "--batch-size",
            "4",
            "--shard",
            &format!("{k}/2"),
            "--quiet",
        ]);
    }
    let merged = dir.join("all.csv");
    ok(&["merge", "--out", s(&merged), s(&shard("1")), s(&shard("2"))]);
    let text = std::fs::read_to_string(&merged).unwrap();
    let test_rows = std::fs::read_to_string(data.join("splits/tiny-test.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(text.lines().count() - 1, test_rows);
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("file_name,object_id,"), "{header}");
    for c in [
        "preds_bt_median",
        "preds_r_e_lo95",
        "preds_total_flux_kurtosis",
    ] {
        assert!(header.contains(c), "{c} missing from {header}");
    }
    (merged, test_rows)
}

/// Evaluates the merged predictions, fitting a calibration; returns the calibration file.
fn evaluate_and_fit_calibration(dir: &Path, data: &Path, merged: &Path) -> std::path::PathBuf {
    let eval = dir.join("eval");
    let calib = dir.join("calib.json");
    let out = ok(&[
        "evaluate",
        "--predictions",
        s(merged),
        "--data",
        s(data),
        "--out",
        s(&eval),
        "--fit-calibration",
        s(&calib),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("cov68"));
    for f in [
        "eval.json",
        "calibration.png",
        "predicted_vs_true.png",
        "residuals.png",
    ] {
        assert!(eval.join(f).is_file(), "{f}");
    }
    calib
}

/// Recalibrated intervals, with the raw samples: one row per draw.
fn predict_calibrated_with_samples(
    dir: &Path,
    data: &Path,
    run: &Path,
    calib: &Path,
    test_rows: usize,
) {
    let samples = dir.join("samples.csv");
    ok(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--split",
        "tiny-test",
        "--out",
        s(&dir.join("calibrated.csv")),
        "--passes",
        "2",
        "--samples-per-pass",
        "2",
        "--calibration",
        s(calib),
        "--samples-out",
        s(&samples),
        "--quiet",
    ]);
    let draws = std::fs::read_to_string(&samples).unwrap().lines().count() - 1;
    assert_eq!(draws, test_rows * 4);
}

/// Shards with different columns do not merge.
fn shards_with_other_columns_do_not_merge(dir: &Path) {
    let shard1 = dir.join("shard1.csv");
    let other = dir.join("other.csv");
    std::fs::write(&other, "file_name,x\na.fits,1\n").unwrap();
    let msg = fails(&[
        "merge",
        "--out",
        s(&dir.join("bad.csv")),
        s(&shard1),
        s(&other),
    ]);
    assert!(msg.contains("other.csv") && msg.contains("header"), "{msg}");
}

/// STN crops as FITS with their info.csv, and a grid image.
fn crop_with_grid(root: &Path, data: &Path, run: &Path) {
    let crops = root.join("crops");
    ok(&[
        "crop",
        "--model",
        s(run),
        "--data",
        s(data),
        "--split",
        "tiny-test",
        "--out",
        s(&crops),
        "--grid",
        s(&crops.join("grid.png")),
    ]);
    assert!(crops.join("info.csv").is_file() && crops.join("grid.png").is_file());
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let (root, data, run) = fixture();
    missing_inputs_fail_with_one_line(root, data, run);
    unreadable_cutouts_fail_with_one_line(root, run);
    bad_columns_and_syntax_fail_with_one_line(root, data);
}

/// Missing or empty data and model directories, and a shard beyond the count.
fn missing_inputs_fail_with_one_line(root: &Path, data: &Path, run: &Path) {
    let msg = fails(&[
        "predict",
        "--model",
        s(run),
        "--data",
        "/no/such/dir",
        "--out",
        "x.csv",
    ]);
    assert!(msg.contains("/no/such/dir"), "{msg}");

    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let msg = fails(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(&empty),
        "--out",
        "x.csv",
    ]);
    assert!(msg.contains("info.csv"), "{msg}");

    let msg = fails(&[
        "predict",
        "--model",
        s(&empty),
        "--data",
        s(data),
        "--out",
        "x.csv",
    ]);
    assert!(msg.contains("empty"), "{msg}");

    let msg = fails(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--out",
        "x.csv",
        "--shard",
        "3/2",
    ]);
    assert!(msg.contains("3/2"), "{msg}");
}

/// A corrupt FITS file, and cutouts smaller than the model input.
fn unreadable_cutouts_fail_with_one_line(root: &Path, run: &Path) {
    // A corrupt FITS file.
    let corrupt = root.join("corrupt");
    std::fs::create_dir_all(corrupt.join("cutouts")).unwrap();
    std::fs::write(
        corrupt.join("cutouts/bad.fits"),
        b"SIMPLE  = this is not a FITS file",
    )
    .unwrap();
    std::fs::write(corrupt.join("info.csv"), "file_name,bt\nbad.fits,0.5\n").unwrap();
    let out = root.join("corrupt.csv");
    let msg = fails(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(&corrupt),
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(msg.contains("bad.fits"), "{msg}");

    // Cutouts smaller than the model input (32 < 40).
    let small = root.join("small");
    ok(&[
        "simulate",
        "--out",
        s(&small),
        "--count",
        "2",
        "--size",
        "32",
        "--no-splits",
    ]);
    let msg = fails(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(&small),
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(
        msg.contains("sim_0000000.fits") && msg.contains("32x32"),
        "{msg}"
    );
}

/// A label column the catalog lacks, a truth column missing at evaluation, and a
/// command-line syntax error.
fn bad_columns_and_syntax_fail_with_one_line(root: &Path, data: &Path) {
    // A label column the catalog lacks.
    let msg = fails(&[
        "train",
        "--data",
        s(data),
        "--split",
        "tiny",
        "--labels",
        "bt,sersic_n",
        "--out",
        s(&root.join("run2")),
        "--epochs",
        "1",
        "--cutout-size",
        "40",
        "--quiet",
    ]);
    assert!(
        msg.contains("sersic_n") && msg.contains("tiny-train.csv"),
        "{msg}"
    );

    // Truth column missing at evaluation.
    let preds = root.join("nolabel.csv");
    std::fs::write(&preds, "file_name,x\na.fits,1\n").unwrap();
    let msg = fails(&[
        "evaluate",
        "--predictions",
        s(&preds),
        "--data",
        s(data),
        "--out",
        s(&root.join("e")),
    ]);
    assert!(msg.contains("preds_"), "{msg}");

    // Command-line syntax errors are one line too.
    let msg = fails(&["train", "--data", s(data)]);
    assert!(msg.contains("--out"), "{msg}");
}

/// Reads a CSV into its header and rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Mean over rows of the `preds_{param}_std` cells.
fn mean_std(path: &Path, param: &str) -> f64 {
    let (header, rows) = read_csv(path);
    let name = format!("preds_{param}_std");
    let c = header.iter().position(|h| *h == name).expect("std column");
    rows.iter()
        .map(|r| r[c].parse::<f64>().unwrap())
        .sum::<f64>()
        / rows.len() as f64
}

/// `preds_{param}_{stat}` of every row.
fn column_values(path: &Path, param: &str, stat: &str) -> Vec<f64> {
    let (header, rows) = read_csv(path);
    let name = format!("preds_{param}_{stat}");
    let c = header.iter().position(|h| *h == name).expect("column");
    rows.iter().map(|r| r[c].parse::<f64>().unwrap()).collect()
}

#[test]
fn predict_in_half_precision_agrees_with_f32() {
    let (root, data, run) = fixture();
    let dir = root.join("precision");
    std::fs::create_dir_all(&dir).unwrap();
    let predict = |out: &Path, extra: &[&str]| {
        let mut a = vec![
            "predict",
            "--model",
            s(run),
            "--data",
            s(data),
            "--split",
            "tiny-test",
            "--out",
            s(out),
            "--passes",
            "16",
            "--quiet",
        ];
        a.extend(extra);
        ok(&a);
    };
    let (full, half) = (dir.join("f32.csv"), dir.join("bf16.csv"));
    predict(&full, &[]);
    // A small --max-rows splits the passes into several network calls.
    predict(&half, &["--precision", "bf16", "--max-rows", "7"]);
    for p in ["bt", "r_e", "total_flux"] {
        let (a, b) = (
            column_values(&full, p, "median"),
            column_values(&half, p, "median"),
        );
        let shift = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64;
        let spread = mean_std(&full, p);
        // bf16 keeps 8 bits of mantissa and draws its own dropout masks: the medians move by
        // Monte-Carlo noise (about spread / 4 with 16 passes), not by whole posteriors.
        assert!(
            shift < 0.5 * spread,
            "{p}: medians moved {shift}, posterior std {spread}"
        );
    }
    let msg = fails(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--out",
        s(&dir.join("bad.csv")),
        "--precision",
        "f64",
    ]);
    assert!(msg.contains("--precision"), "{msg}");
}

#[test]
fn predict_reports_and_overrides_the_dropout_rate() {
    let (root, data, run) = fixture();
    let dir = root.join("dropout");
    std::fs::create_dir_all(&dir).unwrap();
    let predict = |out: &Path, dropout: Option<&str>| {
        let mut a = vec![
            "predict",
            "--model",
            s(run),
            "--data",
            s(data),
            "--split",
            "tiny-test",
            "--out",
            s(out),
            "--passes",
            "16",
            "--samples-per-pass",
            "1",
            "--quiet",
        ];
        if let Some(p) = dropout {
            a.extend(["--dropout", p]);
        }
        String::from_utf8_lossy(&ok(&a).stderr).to_string()
    };
    let stored = predict(&dir.join("stored.csv"), None);
    assert!(
        stored.contains("dropout rate") && stored.contains("from the checkpoint's config.json"),
        "{stored}"
    );
    let none = dir.join("p0.csv");
    let low = predict(&none, Some("0"));
    assert!(low.contains("dropout rate 0 (from --dropout)"), "{low}");
    let half = dir.join("p5.csv");
    let high = predict(&half, Some("0.5"));
    assert!(high.contains("dropout rate 0.5 (from --dropout)"), "{high}");
    // With dropout off the passes agree and only the predicted normals spread the draws;
    // dropout adds the epistemic spread. On this one-epoch model it shows in the flux (about
    // +60 %); B/T and radius posteriors are dominated by their wide predicted normals, which
    // dropout barely changes (within a few per cent either way), so they are not asserted.
    let (s0, s5) = (mean_std(&none, "total_flux"), mean_std(&half, "total_flux"));
    assert!(
        s5 > 1.2 * s0,
        "mean flux posterior std {s5} at 0.5 vs {s0} at 0"
    );
    for p in ["bt", "r_e"] {
        assert_ne!(
            mean_std(&none, p),
            mean_std(&half, p),
            "{p}: the rate is used"
        );
    }

    for bad in ["1", "-0.1", "1.5", "NaN"] {
        let msg = fails(&[
            "predict",
            "--model",
            s(run),
            "--data",
            s(data),
            "--out",
            s(&dir.join("bad.csv")),
            &format!("--dropout={bad}"),
        ]);
        assert!(msg.contains("--dropout") && msg.contains("[0, 1)"), "{msg}");
    }
}

#[test]
fn gampen_columns_and_intervals_are_what_evaluate_covers() {
    let (root, data, run) = fixture();
    let dir = root.join("gampen-columns");
    std::fs::create_dir_all(&dir).unwrap();
    let preds = dir.join("preds.csv");
    ok(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--split",
        "tiny-test",
        "--out",
        s(&preds),
        "--passes",
        "20",
        "--samples-per-pass",
        "5",
        "--intervals",
        "gampen",
        "--columns",
        "gampen",
        "--quiet",
    ]);
    gampen_intervals_are_nested_around_the_mode(&preds);
    evaluate_counts_the_ci_pairs(&dir, data, &preds);
    a_quantity_without_truth_is_skipped(&dir, data, &preds);
}

/// Column `name` of `header`.
fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{name} not in {header:?}"))
}

/// An interval cell of GaMPEN's layout, `(lo, hi)`.
fn ci_pair(cell: &str) -> (f64, f64) {
    let inner = cell.strip_prefix('(').unwrap().strip_suffix(')').unwrap();
    let (a, b) = inner.split_once(", ").unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// GaMPEN's columns are all there, without our interval columns or a magnitude, and its
/// windows grow around the KDE mode and are nested.
fn gampen_intervals_are_nested_around_the_mode(preds: &Path) {
    let (header, rows) = read_csv(preds);
    let col = |name: &str| column(&header, name);
    for p in ["bt", "r_e", "total_flux"] {
        for stat in ["mean", "median", "std", "skew", "kurtosis", "mode"] {
            col(&format!("preds_{p}_{stat}"));
        }
    }
    assert!(!header.iter().any(|h| h.ends_with("_lo68")), "{header:?}");
    // Model parameters without GaMPEN's published names: no magnitude column.
    assert!(
        !header.iter().any(|h| h.contains("total_mag")),
        "{header:?}"
    );
    // GaMPEN's windows grow around the KDE mode and are nested.
    for r in &rows {
        let mode: f64 = r[col("preds_bt_mode")].parse().unwrap();
        let one = ci_pair(&r[col("preds_bt_sig_ci")]);
        let three = ci_pair(&r[col("preds_bt_threesig_ci")]);
        assert!(one.0 <= mode && mode <= one.1, "{mode} {one:?}");
        assert!(three.0 <= one.0 && one.1 <= three.1, "{one:?} {three:?}");
    }
}

/// Coverage counted here from the *_ci pairs and info.csv equals evaluate's.
fn evaluate_counts_the_ci_pairs(dir: &Path, data: &Path, preds: &Path) {
    let (header, rows) = read_csv(preds);
    let col = |name: &str| column(&header, name);
    let eval = dir.join("eval");
    ok(&[
        "evaluate",
        "--predictions",
        s(preds),
        "--data",
        s(data),
        "--out",
        s(&eval),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval.join("eval.json")).unwrap()).unwrap();
    assert_eq!(report["columns"], "gampen");
    let (info_header, info_rows) = read_csv(&data.join("info.csv"));
    let truth_col = |name: &str| info_header.iter().position(|h| h == name).unwrap();
    let file = col("file_name");
    for (i, p) in ["bt", "r_e", "total_flux"].iter().enumerate() {
        assert_eq!(report["parameters"][i]["parameter"], *p);
        for (l, ci) in ["sig_ci", "twosig_ci", "threesig_ci"].iter().enumerate() {
            let inside = rows
                .iter()
                .filter(|r| {
                    let t: f64 = info_rows
                        .iter()
                        .find(|ir| ir[truth_col("file_name")] == r[file])
                        .map(|ir| ir[truth_col(p)].parse().unwrap())
                        .unwrap();
                    let (lo, hi) = ci_pair(&r[col(&format!("preds_{p}_{ci}"))]);
                    lo <= t && t <= hi
                })
                .count();
            let expected = inside as f64 / rows.len() as f64;
            let got = report["parameters"][i]["coverage"][l].as_f64().unwrap();
            assert_eq!(got, expected, "{p} {ci}");
        }
    }
}

/// A derived quantity without a truth column (GaMPEN's total_mag) is skipped, not an
/// error: add one by hand to the file.
fn a_quantity_without_truth_is_skipped(dir: &Path, data: &Path, preds: &Path) {
    let (header, rows) = read_csv(preds);
    let with_mag = dir.join("with_mag.csv");
    let mut w = csv::Writer::from_path(&with_mag).unwrap();
    let mut h = header.clone();
    let flux: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].starts_with("preds_total_flux_"))
        .collect();
    h.extend(
        flux.iter()
            .map(|&i| header[i].replace("total_flux", "total_mag")),
    );
    w.write_record(&h).unwrap();
    for r in &rows {
        let mut r2 = r.clone();
        r2.extend(flux.iter().map(|&i| r[i].clone()));
        w.write_record(&r2).unwrap();
    }
    w.flush().unwrap();
    let out = ok(&[
        "evaluate",
        "--predictions",
        s(&with_mag),
        "--data",
        s(data),
        "--out",
        s(&dir.join("eval2")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("total_mag"), "{stderr}");
}

/// The arsinh softening of a run's `dataset.json` and of its best checkpoint's
/// `preprocessing.json` (which must agree).
fn softening_of(run: &Path) -> f64 {
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let dataset = read(&run.join("dataset.json"))["arsinh_softening"]
        .as_f64()
        .unwrap();
    let best = read(&run.join("best.json"));
    let checkpoint = run.join(best["checkpoint"].as_str().unwrap());
    let saved = read(&checkpoint.join("preprocessing.json"))["arsinh_softening"]
        .as_f64()
        .unwrap();
    assert_eq!(dataset, saved, "{}", run.display());
    saved
}

#[test]
fn arsinh_softening_is_fitted_saved_and_inherited_by_from() {
    let (_, data, _) = fixture();
    let root = fixture_dir("softening");
    let train = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            s(data),
            "--split",
            "tiny",
            "--out",
            s(out),
            "--epochs",
            "1",
            "--batch-size",
            "10",
            "--no-resume",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        ok(&args);
    };
    let fitted = root.join("fitted");
    train(
        &fitted,
        &["--cutout-size", "40", "--arsinh-softening", "noise"],
    );
    let b = softening_of(&fitted);
    // The simulator's sky noise at its default settings is about 0.045 ADU per pixel.
    assert!((0.03..0.07).contains(&b), "fitted softening {b}");
    let inherited = root.join("inherited");
    train(&inherited, &["--from", s(&fitted)]);
    assert_eq!(softening_of(&inherited), b);
    let overridden = root.join("overridden");
    train(
        &overridden,
        &["--from", s(&fitted), "--arsinh-softening", "1"],
    );
    assert_eq!(softening_of(&overridden), 1.0);
}
