//! The columns of a prediction CSV: the catalog's columns carried through, then summary
//! columns per parameter in original units, in one of two layouts ([`Columns`]).

use serde::{Deserialize, Serialize};

use super::catalogue::{self, GAMPEN_STATS};
use super::MarginalSummary;

/// Layout of the summary columns of a prediction CSV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Columns {
    /// Twelve numeric columns per parameter, [`STATS`]: intervals as `lo68`/`hi68`, ...
    #[default]
    Default,
    /// GaMPEN's catalogue layout ([`GAMPEN_STATS`]): intervals as `(low, high)` pairs in
    /// `sig_ci`, `twosig_ci`, `threesig_ci`; GaMPEN's names for its published targets and a
    /// derived `total_mag` (see [`catalogue`]).
    Gampen,
}

/// Summary columns written for each parameter `p`, as `preds_{p}_{stat}`. `lo99`/`hi99` are
/// the 99.73 % (3 sigma) interval, `lo95`/`hi95` 95.45 %, `lo68`/`hi68` 68.27 %;
/// `kurtosis` is the excess kurtosis.
pub const STATS: [&str; 12] = [
    "mean", "median", "mode", "std", "lo68", "hi68", "lo95", "hi95", "lo99", "hi99", "skew",
    "kurtosis",
];

/// The column name of `stat` for parameter `param`: `preds_{param}_{stat}` in both layouts.
pub fn column(param: &str, stat: &str) -> String {
    catalogue::column(param, stat)
}

/// The summary columns of every parameter, in output order.
pub fn summary_headers(params: &[String]) -> Vec<String> {
    params
        .iter()
        .flat_map(|p| STATS.iter().map(move |s| column(p, s)))
        .collect()
}

/// The values of a marginal summary in [`STATS`] order.
pub fn summary_values(m: &MarginalSummary) -> [f64; 12] {
    let [(l1, h1), (l2, h2), (l3, h3)] = m.intervals;
    [
        m.mean, m.median, m.mode, m.std, l1, h1, l2, h2, l3, h3, m.skew, m.kurtosis,
    ]
}

/// The values of a marginal summary as cells in [`GAMPEN_STATS`] order.
pub fn gampen_cells(m: &MarginalSummary) -> Vec<String> {
    let [i1, i2, i3] = m.intervals;
    let mut cells: Vec<String> = [m.mean, m.median, m.std, m.skew, m.kurtosis, m.mode]
        .iter()
        .map(|&v| cell(v))
        .collect();
    cells.extend([i1, i2, i3].map(interval_cell));
    debug_assert_eq!(cells.len(), GAMPEN_STATS.len());
    cells
}

/// An interval as GaMPEN's catalogues write it (pandas' text of a Python tuple):
/// `(low, high)`, shortest round-trip numbers, `nan` for NaN.
pub fn interval_cell((lo, hi): (f64, f64)) -> String {
    let num = |v: f64| {
        if v.is_nan() {
            "nan".to_string()
        } else if v.is_infinite() {
            (if v > 0.0 { "inf" } else { "-inf" }).to_string()
        } else {
            format!("{v:?}")
        }
    };
    format!("({}, {})", num(lo), num(hi))
}

/// Parses an [`interval_cell`] (or an empty cell, which is two NaNs).
pub fn parse_interval(text: &str) -> Option<(f64, f64)> {
    let text = text.trim();
    if text.is_empty() {
        return Some((f64::NAN, f64::NAN));
    }
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    let (lo, hi) = inner.split_once(',')?;
    Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?))
}

/// Formats a number for a CSV cell: shortest round-trip text, empty for NaN.
pub fn cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_cells_round_trip() {
        for iv in [(0.0, 1.0), (0.1, 2.5e-7), (-3.25, 1e300)] {
            assert_eq!(parse_interval(&interval_cell(iv)), Some(iv));
        }
        assert_eq!(interval_cell((0.0, 1.0)), "(0.0, 1.0)");
        let (a, b) = parse_interval(&interval_cell((f64::NAN, 2.0))).unwrap();
        assert!(a.is_nan() && b == 2.0);
        let (a, b) = parse_interval("").unwrap();
        assert!(a.is_nan() && b.is_nan());
        assert_eq!(parse_interval("0.1, 0.2"), None);
        assert_eq!(parse_interval("(0.1; 0.2)"), None);
    }
}
