//! Helpers shared by the command-line tests: run the built `gampen` binary and check how it
//! ended.
// Each test binary uses its own subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
