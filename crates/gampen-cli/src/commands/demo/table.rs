//! The demo's closing table: errors of the test split, and its coverage before and after
//! the calibration fitted on devel, with the nominal levels beside.

use gampen::calibration::{CoverageChange, ALL_INSIDE_NOTE};
use gampen::train::CalibrationOutcome;

use super::steps::TestReport;

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
            print!("{}", CoverageChange::new(&devel.scale, &test.before, after));
            println!(
                "devel coverage ({} galaxies, the fit's own data):",
                devel.galaxies
            );
            print!("{}", devel.coverage_change());
        }
        _ => {
            println!("test coverage (no calibration):");
            print!("{}", CoverageChange::uncalibrated(&test.before));
        }
    }
    println!("{ALL_INSIDE_NOTE}");
}
