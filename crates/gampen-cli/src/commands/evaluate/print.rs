//! The table `gampen evaluate` (and the demo) prints.

use super::EvalReport;

/// Prints the per-parameter table.
pub fn print_table(r: &EvalReport) {
    println!(
        "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "parameter", "n", "MAE", "MedAE", "MedRel", "bias", "mean std", "cov68", "cov95", "cov99.7"
    );
    for p in &r.parameters {
        println!(
            "{:<12} {:>6} {:>10.4} {:>10.4} {:>7.1}% {:>+10.4} {:>10.4} {:>8.3} {:>8.3} {:>8.3}",
            p.residuals.parameter,
            p.residuals.count,
            p.residuals.mae,
            p.residuals.median_abs_error,
            100.0 * p.residuals.median_rel_error,
            p.residuals.bias,
            p.residuals.mean_std,
            p.coverage[0],
            p.coverage[1],
            p.coverage[2]
        );
    }
    println!(
        "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8.3} {:>8.3} {:>8.3}",
        "(nominal)", "", "", "", "", "", "", r.nominal[0], r.nominal[1], r.nominal[2]
    );
    println!(
        "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8.3} {:>8.3} {:>8.3}",
        "(all inside)",
        r.all_inside_count,
        "",
        "",
        "",
        "",
        "",
        r.all_inside[0],
        r.all_inside[1],
        r.all_inside[2]
    );
    if let Some(c) = &r.calibrated {
        println!("after the fitted calibration (in-sample):");
        for ((p, scale), cov) in r.parameters.iter().zip(&c.scales).zip(&c.coverage) {
            println!(
                "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8.3} {:>8.3} {:>8.3}",
                p.residuals.parameter,
                "",
                format!("x{scale:.3}"),
                "",
                "",
                "",
                "",
                cov[0],
                cov[1],
                cov[2]
            );
        }
    }
}
