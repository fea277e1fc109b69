//! The table `gampen evaluate` (and the demo) prints.

use super::{Calibrated, EvalReport, SamplesReport};

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
    println!("{}", crate::commands::train::ALL_INSIDE_NOTE);
    if let Some(c) = &r.calibrated {
        println!("after the fitted calibration (in-sample):");
        print_calibrated(r, c);
    }
    if let Some(a) = &r.after_calibration {
        println!("after the calibration of {}:", a.source.display());
        print_calibrated(r, &a.after);
    }
    if let Some(s) = &r.samples {
        print_samples(s);
    }
}

/// The rows of coverage after a calibration, with each factor.
fn print_calibrated(r: &EvalReport, c: &Calibrated) {
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
    let a = c.all_inside;
    println!(
        "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8.3} {:>8.3} {:>8.3}",
        "(all inside)", "", "", "", "", "", "", a[0], a[1], a[2]
    );
}

/// The samples' coverage at the three levels (nominal beside) and the ellipsoid, raw and
/// after the calibration.
fn print_samples(s: &SamplesReport) {
    println!(
        "from the samples of {} (calibration curve at {} levels in eval.json):",
        s.path.display(),
        s.before.curve.levels.len()
    );
    let rows = std::iter::once(("raw", &s.before)).chain(s.after.iter().map(|a| ("calibrated", a)));
    for (label, c) in rows {
        let at = |level: f64| c.curve.levels.iter().position(|l| *l == level);
        let three: Vec<Option<usize>> = c.ellipsoid_nominal.iter().map(|l| at(*l)).collect();
        let cells = |values: &[f64]| -> String {
            three
                .iter()
                .map(|i| format!("{:.3}", i.map_or(f64::NAN, |i| values[i])))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        for (name, cov) in c.curve.parameters.iter().zip(&c.curve.per_parameter) {
            println!("  {label:<10} {name:<12} {}", cells(cov));
        }
        println!(
            "  {label:<10} {:<12} {}",
            "(all inside)",
            cells(&c.curve.all_inside)
        );
        let e = c.ellipsoid.map(|v| format!("{v:.3}"));
        println!("  {label:<10} {:<12} {}", "(ellipsoid)", e.join(" / "));
    }
    let n = s.before.ellipsoid_nominal.map(|v| format!("{v:.3}"));
    println!("  {:<10} {:<12} {}", "", "(nominal)", n.join(" / "));
}
