//! The coverage table before and after a calibration, as `gampen train --calibrate`, the
//! demo and `gampen evaluate` print it.

use std::fmt;

use super::CoverageReport;

/// What the "(all inside)" row is, so that no one reads it against the marginal nominal.
pub const ALL_INSIDE_NOTE: &str = "(all inside: every parameter inside its interval at once; \
its nominal depends on the correlations, between 68.27^n and 68.27 % at 1 sigma for n \
parameters, so it is not the marginal nominal)";

/// Per parameter, the calibration factor and the coverage before -> after it at the three
/// levels, with the nominal levels in the header; displayed as a table of lines indented by
/// two spaces, each ending in a newline.
pub struct CoverageChange<'a> {
    /// The factor per parameter.
    pub scales: &'a [f64],
    /// Coverage of the raw intervals.
    pub before: &'a CoverageReport,
    /// Coverage with the factors applied.
    pub after: &'a CoverageReport,
}

impl<'a> CoverageChange<'a> {
    /// The change from `before` to `after` with factors `scales`.
    pub fn new(scales: &'a [f64], before: &'a CoverageReport, after: &'a CoverageReport) -> Self {
        Self {
            scales,
            before,
            after,
        }
    }
}

impl fmt::Display for CoverageChange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (before, after) = (self.before, self.after);
        let n = before.nominal.map(|l| format!("{:.2}", 100.0 * l));
        writeln!(
            f,
            "  {:<12} {:>7}  coverage % before -> after (nominal {} / {} / {})",
            "parameter", "factor", n[0], n[1], n[2]
        )?;
        let cells = |b: &[f64; 3], a: &[f64; 3]| -> String {
            (0..3)
                .map(|l| format!("{:5.1} -> {:5.1}", 100.0 * b[l], 100.0 * a[l]))
                .collect::<Vec<_>>()
                .join("   ")
        };
        let rows = before.per_parameter.iter().zip(&after.per_parameter);
        for ((name, scale), (b, a)) in before.parameters.iter().zip(self.scales).zip(rows) {
            writeln!(f, "  {name:<12} {scale:>7.3}  {}", cells(b, a))?;
        }
        writeln!(
            f,
            "  {:<12} {:>7}  {}",
            "(all inside)",
            "",
            cells(&before.all_inside, &after.all_inside)
        )
    }
}
