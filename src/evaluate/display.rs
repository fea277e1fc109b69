//! The table `gampen evaluate` (and the demo) prints: [`EvalReport`]'s `Display`.

use std::fmt::{self, Display, Formatter};

use super::{Calibrated, EvalReport, SamplesReport};
use crate::calibration::{describe_factors, ALL_INSIDE_NOTE};

/// One row of the table: a name, the count, seven cells and three coverage values.
fn row(
    f: &mut Formatter<'_>,
    name: &str,
    n: &dyn Display,
    cells: [&dyn Display; 6],
    cov: [f64; 3],
) -> fmt::Result {
    writeln!(
        f,
        "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8.3} {:>8.3} {:>8.3}",
        name, n, cells[0], cells[1], cells[2], cells[3], cells[4], cov[0], cov[1], cov[2]
    )
}

impl Display for EvalReport {
    /// The per-parameter table, then the coverage after each calibration and of the samples.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8}",
            "parameter",
            "n",
            "MAE",
            "MedAE",
            "MedRel",
            "bias",
            "mean std",
            "cov68",
            "cov95",
            "cov99.7"
        )?;
        for p in &self.parameters {
            let r = &p.residuals;
            writeln!(
                f,
                "{:<12} {:>6} {:>10.4} {:>10.4} {:>7.1}% {:>+10.4} {:>10.4} {:>8.3} {:>8.3} {:>8.3}",
                r.parameter,
                r.count,
                r.mae,
                r.median_abs_error,
                100.0 * r.median_rel_error,
                r.bias,
                r.mean_std,
                p.coverage[0],
                p.coverage[1],
                p.coverage[2]
            )?;
        }
        let blank = [&"" as &dyn Display; 6];
        row(f, "(nominal)", &"", blank, self.nominal)?;
        row(
            f,
            "(all inside)",
            &self.all_inside_count,
            blank,
            self.all_inside,
        )?;
        writeln!(f, "{ALL_INSIDE_NOTE}")?;
        if let Some(c) = &self.calibrated {
            writeln!(f, "after the fitted calibration (in-sample):")?;
            self.fmt_calibrated(f, c)?;
        }
        if let Some(a) = &self.after_calibration {
            writeln!(f, "after the calibration of {}:", a.source.display())?;
            self.fmt_calibrated(f, &a.after)?;
        }
        match &self.samples {
            Some(s) => s.fmt(f),
            None => Ok(()),
        }
    }
}

impl EvalReport {
    /// The rows of coverage after a calibration, with each factor (per level:
    /// `x0.93/1.05/1.21`) right-aligned before the coverage columns.
    fn fmt_calibrated(&self, f: &mut Formatter<'_>, c: &Calibrated) -> fmt::Result {
        for ((p, lf), cov) in self.parameters.iter().zip(&c.level_scales).zip(&c.coverage) {
            let factor = format!("x{}", describe_factors(*lf));
            writeln!(
                f,
                "{:<12} {:>59} {:>8.3} {:>8.3} {:>8.3}",
                p.residuals.parameter, factor, cov[0], cov[1], cov[2]
            )?;
        }
        row(f, "(all inside)", &"", [&""; 6], c.all_inside)
    }
}

impl Display for SamplesReport {
    /// The samples' coverage at the three levels (nominal beside) and the ellipsoid, raw and
    /// after the calibration.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "from the samples of {} (calibration curve at {} levels in eval.json):",
            self.path.display(),
            self.before.curve.levels.len()
        )?;
        let after = self.after.iter().map(|a| ("calibrated", a));
        for (label, c) in std::iter::once(("raw", &self.before)).chain(after) {
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
                writeln!(f, "  {label:<10} {name:<12} {}", cells(cov))?;
            }
            let all = cells(&c.curve.all_inside);
            writeln!(f, "  {label:<10} {:<12} {all}", "(all inside)")?;
            let e = c.ellipsoid.map(|v| format!("{v:.3}"));
            writeln!(f, "  {label:<10} {:<12} {}", "(ellipsoid)", e.join(" / "))?;
        }
        let n = self.before.ellipsoid_nominal.map(|v| format!("{v:.3}"));
        writeln!(f, "  {:<10} {:<12} {}", "", "(nominal)", n.join(" / "))
    }
}
