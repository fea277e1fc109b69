//! The demo's closing table: errors of the test split, and its coverage before and after
//! the calibration fitted on devel, with the nominal levels beside.

use gampen::calibration::CoverageReport;
use gampen::train::CalibrationOutcome;

use super::steps::TestReport;
use crate::commands::train::{print_coverage_change, ALL_INSIDE_NOTE};

/// Prints the errors (B/T: MAE; r_e and flux: median relative error), then the coverage
/// of the test split and of devel, before -> after the calibration.
pub fn print(test: &TestReport, devel: Option<&CalibrationOutcome>) {
    println!(
        "{:<12} {:>6} {:>8} {:>8} {:>9}",
        "parameter", "n", "MAE", "MedRel", "mean std"
    );
    for p in &test.eval.parameters {
        let r = &p.residuals;
        println!(
            "{:<12} {:>6} {:>8.4} {:>7.1}% {:>9.4}",
            r.parameter,
            r.count,
            r.mae,
            100.0 * r.median_rel_error,
            r.mean_std
        );
    }
    println!();
    match (&test.after, devel) {
        (Some(after), Some(devel)) => {
            println!("test coverage, raw -> calibrated on devel:");
            print_coverage_change(&devel.scale.scales, &test.before, after);
            println!(
                "devel coverage ({} galaxies, the fit's own data):",
                devel.galaxies
            );
            print_coverage_change(&devel.scale.scales, &devel.before, &devel.after);
        }
        _ => {
            println!("test coverage (no calibration):");
            print_coverage_change(
                &vec![1.0; test.before.parameters.len()],
                &test.before,
                &test.before,
            );
        }
    }
    println!("{ALL_INSIDE_NOTE}");
}

/// Whether every parameter's coverage at every level lies within `points` percentage points
/// of nominal.
pub fn within(c: &CoverageReport, points: f64) -> bool {
    c.deviation()
        .iter()
        .flatten()
        .all(|d| d.abs() * 100.0 <= points)
}
