//! Runs the built `gampen` binary on tiny inputs: help texts, the simulate -> splits ->
//! train -> predict (sharded) -> merge -> evaluate -> crop workflow, and bad inputs that
//! must fail with one `error:` line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn gampen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gampen"))
        .args(args)
        .output()
        .expect("the gampen binary runs")
}

fn ok(args: &[&str]) -> Output {
    let out = gampen(args);
    assert!(
        out.status.success(),
        "gampen {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must fail; returns its single `error:` line.
fn fails(args: &[&str]) -> String {
    let out = gampen(args);
    assert!(!out.status.success(), "gampen {args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line for {args:?}, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A data directory of 40 simulated 48x48 galaxies with a custom split, and a model trained
/// on it for one epoch at 40x40: built once, shared by the tests.
fn fixture() -> &'static (PathBuf, PathBuf, PathBuf) {
    static FIXTURE: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = tempfile::tempdir().expect("temp dir").keep();
        let data = root.join("data");
        let run = root.join("run");
        ok(&[
            "simulate",
            "--out",
            s(&data),
            "--count",
            "40",
            "--size",
            "48",
            "--seed",
            "3",
        ]);
        assert!(data.join("cutouts/sim_0000039.fits").is_file());
        assert!(data.join("splits/balanced-dev-test.csv").is_file());
        ok(&[
            "splits",
            "--data",
            s(&data),
            "--fractions",
            "0.5,0.2,0.3",
            "--name",
            "tiny",
            "--unbalanced",
            "--seed",
            "1",
        ]);
        let out = ok(&[
            "train",
            "--data",
            s(&data),
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
            "--optimizer",
            "adam",
            "--lr",
            "1e-3",
            "--clip-grad-norm",
            "1",
            "--quiet",
        ]);
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(summary.contains("best checkpoint"), "{summary}");
        assert!(run.join("best.json").is_file() && run.join("dataset.json").is_file());
        (root, data, run)
    })
}

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

    let eval = dir.join("eval");
    let calib = dir.join("calib.json");
    let out = ok(&[
        "evaluate",
        "--predictions",
        s(&merged),
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

    // Recalibrated intervals, with the raw samples.
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
        s(&calib),
        "--samples-out",
        s(&samples),
        "--quiet",
    ]);
    let draws = std::fs::read_to_string(&samples).unwrap().lines().count() - 1;
    assert_eq!(draws, test_rows * 4);

    // Shards with different columns do not merge.
    let other = dir.join("other.csv");
    std::fs::write(&other, "file_name,x\na.fits,1\n").unwrap();
    let msg = fails(&[
        "merge",
        "--out",
        s(&dir.join("bad.csv")),
        s(&shard("1")),
        s(&other),
    ]);
    assert!(msg.contains("other.csv") && msg.contains("header"), "{msg}");

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
