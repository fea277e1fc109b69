//! Helpers shared by the command-line tests: run the built `gampen` binary and check how it
//! ended.
// Each test binary uses its own subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Runs `gampen` with `args`.
pub fn gampen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gampen"))
        .args(args)
        .output()
        .expect("the gampen binary runs")
}

/// Runs a command that must succeed.
pub fn ok(args: &[&str]) -> Output {
    let out = gampen(args);
    assert!(
        out.status.success(),
        "gampen {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must fail; returns its single `error:` line.
pub fn fails(args: &[&str]) -> String {
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

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A directory for a fixture that outlives the test process's statics (which are never
/// dropped), under cargo's per-target temporary directory instead of /tmp. Directories of
/// test processes that have ended are removed first, so repeated runs do not fill the disk.
pub fn fixture_dir(tag: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{tag}-");
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        let ended = pid.is_some_and(|pid| {
            gampen::atomic::liveness_known() && !gampen::atomic::process_alive(pid)
        });
        if ended {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{tag}-{}-", std::process::id()))
        .tempdir_in(base)
        .expect("temp dir")
        .keep()
}

/// A data directory of 40 simulated 48x48 galaxies with a custom split, and a model trained
/// on it for one epoch at 40x40: built once, shared by the tests.
pub fn fixture() -> &'static (PathBuf, PathBuf, PathBuf) {
    static FIXTURE: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = fixture_dir("cli-fixture");
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
