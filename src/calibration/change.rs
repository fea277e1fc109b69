//! The coverage table before and after a calibration, as `gampen train --calibrate`, the
//! demo and `gampen evaluate` print it.

use std::fmt;

use super::{CalibrationScale, CoverageReport};

/// What the "(all inside)" row is, so that no one reads it against the marginal nominal.
pub const ALL_INSIDE_NOTE: &str = "(all inside: every parameter inside its interval at once; \
its nominal depends on the correlations, between 68.27^n and 68.27 % at 1 sigma for n \
parameters, so it is not the marginal nominal)";

/// Per parameter, the calibration factor and the coverage before -> after it at the three
/// levels, with the nominal levels in the header; displayed as a table of lines indented by
/// two spaces, each ending in a newline.
pub struct CoverageChange<'a> {
    /// The factor (or per-level factors) per parameter, as printed.
    pub factors: Vec<String>,
    /// Coverage of the raw intervals.
    pub before: &'a CoverageReport,
    /// Coverage with the factors applied.
    pub after: &'a CoverageReport,
}

impl<'a> CoverageChange<'a> {
    /// The change from `before` to `after` with calibration `scale`.
    pub fn new(
        scale: &CalibrationScale,
        before: &'a CoverageReport,
        after: &'a CoverageReport,
    ) -> Self {
        Self {
            factors: (0..before.parameters.len())
                .map(|p| scale.describe(p))
                .collect(),
            before,
            after,
        }
    }

    /// `report` with no calibration: factor 1, the same coverage on both sides.
    pub fn uncalibrated(report: &'a CoverageReport) -> Self {
        Self {
            factors: vec!["1.000".into(); report.parameters.len()],
            before: report,
            after: report,
        }
    }
}

impl fmt::Display for CoverageChange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (before, after) = (self.before, self.after);
        let n = before.nominal.map(|l| format!("{:.2}", 100.0 * l));
        writeln!(
            f,
            "  {:<12} {:>14}  coverage % before -> after (nominal {} / {} / {})",
            "parameter", "factor", n[0], n[1], n[2]
        )?;
        let cells = |b: &[f64; 3], a: &[f64; 3]| -> String {
            (0..3)
                .map(|l| format!("{:5.1} -> {:5.1}", 100.0 * b[l], 100.0 * a[l]))
                .collect::<Vec<_>>()
                .join("   ")
        };
        let rows = before.per_parameter.iter().zip(&after.per_parameter);
        for ((name, factor), (b, a)) in before.parameters.iter().zip(&self.factors).zip(rows) {
            writeln!(f, "  {name:<12} {factor:>14}  {}", cells(b, a))?;
        }
        writeln!(
            f,
            "  {:<12} {:>14}  {}",
            "(all inside)",
            "",
            cells(&before.all_inside, &after.all_inside)
        )
    }
}
