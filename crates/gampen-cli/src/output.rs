//! The prediction table: catalog columns carried through, then summary columns per parameter
//! in original units, in one of two layouts ([`Columns`]).

use std::path::Path;

use gampen::posterior::catalogue::{self, GAMPEN_STATS};
use gampen::posterior::MarginalSummary;
use serde::Serialize;

use crate::error::{CliError, Result};

/// Layout of the summary columns of a prediction CSV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Columns {
    /// Twelve numeric columns per parameter, [`STATS`]: intervals as `lo68`/`hi68`, ...
    #[default]
    Default,
    /// GaMPEN's catalogue layout ([`GAMPEN_STATS`]): intervals as `(low, high)` pairs in
    /// `sig_ci`, `twosig_ci`, `threesig_ci`; GaMPEN's names for its published targets and a
    /// derived `total_mag` (see `gampen::posterior::catalogue`).
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

/// A prediction CSV read back: file names and, per parameter, the summary columns.
#[derive(Clone, Debug)]
pub struct PredictionTable {
    /// Parameters found (columns `preds_{p}_median`), in file order.
    pub parameters: Vec<String>,
    /// The layout the file was written in; the intervals are read from its interval columns.
    pub columns: Columns,
    /// `file_name` of each row.
    pub file_names: Vec<String>,
    /// `[param][stat][row]`, stats in [`STATS`] order whatever the layout; empty cells are NaN.
    pub values: Vec<Vec<Vec<f64>>>,
}

/// A galaxy predicted twice (a shard merged twice, or two runs concatenated) would count
/// twice in every metric, or one row would silently win: refuse, naming both rows.
pub fn check_unique(path: &Path, file_names: &[String]) -> Result<()> {
    let mut seen = std::collections::HashMap::with_capacity(file_names.len());
    for (row, name) in file_names.iter().enumerate() {
        if let Some(first) = seen.insert(gampen_data::canonical_key(name), row) {
            return Err(CliError::usage(format!(
                "{}: file_name {name:?} in data row {} repeats data row {} (1-based, header \
                 not counted): every galaxy must appear once",
                path.display(),
                row + 1,
                first + 1
            )));
        }
    }
    Ok(())
}

/// Where each [`STATS`] entry of a parameter comes from in a file: a numeric column, or one
/// end of an interval-pair column.
#[derive(Clone, Copy, Debug)]
enum Source {
    Number(usize),
    Low(usize),
    High(usize),
}

impl PredictionTable {
    /// Reads `path`, in either layout (told apart by its `preds_{p}_lo68` or
    /// `preds_{p}_sig_ci` columns); with `parameters` those must all be present, otherwise
    /// every parameter with a `preds_{p}_median` column is read.
    pub fn read(path: &Path, parameters: Option<&[String]>) -> Result<Self> {
        if !path.is_file() {
            return Err(CliError::usage(format!(
                "predictions file {} not found",
                path.display()
            )));
        }
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| CliError::csv(path, e))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| CliError::csv(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        let file_col = crate::cutouts::column_index(path, &headers, crate::cutouts::FILE_NAME)?;
        let parameters: Vec<String> = match parameters {
            Some(p) => p.to_vec(),
            None => headers
                .iter()
                .filter_map(|h| h.strip_prefix("preds_")?.strip_suffix("_median"))
                .map(str::to_string)
                .collect(),
        };
        if parameters.is_empty() {
            return Err(CliError::usage(format!(
                "{}: no prediction columns (preds_<name>_median); is this a `gampen predict` output?",
                path.display()
            )));
        }
        let columns = if headers.contains(&column(&parameters[0], "lo68"))
            || !headers.contains(&column(&parameters[0], "sig_ci"))
        {
            Columns::Default
        } else {
            Columns::Gampen
        };
        let sources: Vec<Vec<Source>> = parameters
            .iter()
            .map(|p| sources(path, &headers, p, columns))
            .collect::<Result<_>>()?;
        let mut file_names = Vec::new();
        let mut values = vec![vec![Vec::new(); STATS.len()]; parameters.len()];
        for (row, record) in reader.records().enumerate() {
            let record = record.map_err(|e| CliError::csv(path, e))?;
            file_names.push(record[file_col].to_string());
            for (p, srcs) in sources.iter().enumerate() {
                for (s, &src) in srcs.iter().enumerate() {
                    values[p][s].push(read_cell(path, &headers, &record, row, src)?);
                }
            }
        }
        check_unique(path, &file_names)?;
        Ok(Self {
            parameters,
            columns,
            file_names,
            values,
        })
    }

    /// Number of rows.
    pub fn row_count(&self) -> usize {
        self.file_names.len()
    }

    /// Column `stat` (a name from [`STATS`]) of parameter index `p`.
    pub fn stat(&self, p: usize, stat: &str) -> &[f64] {
        let s = STATS
            .iter()
            .position(|x| *x == stat)
            .expect("stat is one of STATS");
        &self.values[p][s]
    }

    /// Row `row` as a [`MarginalSummary`] of parameter `p`.
    pub fn marginal(&self, p: usize, row: usize) -> MarginalSummary {
        let v = |s: usize| self.values[p][s][row];
        MarginalSummary {
            mean: v(0),
            median: v(1),
            mode: v(2),
            std: v(3),
            intervals: [(v(4), v(5)), (v(6), v(7)), (v(8), v(9))],
            skew: v(10),
            kurtosis: v(11),
        }
    }
}

/// The file columns behind each [`STATS`] entry of parameter `p`.
fn sources(path: &Path, headers: &[String], p: &str, columns: Columns) -> Result<Vec<Source>> {
    let index = |stat: &str| crate::cutouts::column_index(path, headers, &column(p, stat));
    match columns {
        Columns::Default => STATS.iter().map(|s| index(s).map(Source::Number)).collect(),
        Columns::Gampen => {
            let ci = [index("sig_ci")?, index("twosig_ci")?, index("threesig_ci")?];
            let mut out = vec![
                Source::Number(index("mean")?),
                Source::Number(index("median")?),
                Source::Number(index("mode")?),
                Source::Number(index("std")?),
            ];
            for c in ci {
                out.extend([Source::Low(c), Source::High(c)]);
            }
            out.extend([
                Source::Number(index("skew")?),
                Source::Number(index("kurtosis")?),
            ]);
            Ok(out)
        }
    }
}

/// One value of a data row (`row` 0-based) from `src`; empty cells are NaN.
fn read_cell(
    path: &Path,
    headers: &[String],
    record: &csv::StringRecord,
    row: usize,
    src: Source,
) -> Result<f64> {
    let (Source::Number(c) | Source::Low(c) | Source::High(c)) = src;
    let text = &record[c];
    let bad = |what: &str| {
        CliError::usage(format!(
            "{}: data row {} (1-based), column {:?}: {text:?} is not {what}",
            path.display(),
            row + 1,
            headers[c]
        ))
    };
    match src {
        Source::Number(_) if text.is_empty() => Ok(f64::NAN),
        Source::Number(_) => text.parse::<f64>().map_err(|_| bad("a number")),
        Source::Low(_) | Source::High(_) => {
            let (lo, hi) = parse_interval(text).ok_or_else(|| bad("an interval (low, high)"))?;
            Ok(if matches!(src, Source::Low(_)) {
                lo
            } else {
                hi
            })
        }
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

    #[test]
    fn both_layouts_read_back_to_the_same_table() {
        let m = MarginalSummary {
            mean: 0.5,
            median: 0.4,
            mode: 0.3,
            std: 0.1,
            intervals: [(0.2, 0.6), (0.1, 0.8), (0.0, 1.0)],
            skew: 0.7,
            kurtosis: -0.2,
        };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, headers: Vec<String>, cells: Vec<String>| {
            let path = dir.path().join(name);
            let mut w = csv::Writer::from_path(&path).unwrap();
            let mut h = vec!["file_name".to_string()];
            h.extend(headers);
            w.write_record(&h).unwrap();
            let mut r = vec!["a.fits".to_string()];
            r.extend(cells);
            w.write_record(&r).unwrap();
            w.flush().unwrap();
            path
        };
        let names = vec!["bt".to_string()];
        let default = write(
            "d.csv",
            summary_headers(&names),
            summary_values(&m).iter().map(|&v| cell(v)).collect(),
        );
        let g = catalogue::GampenCatalogue::new(&names, None);
        let gampen = write("g.csv", g.headers(), gampen_cells(&m));
        let a = PredictionTable::read(&default, None).unwrap();
        let b = PredictionTable::read(&gampen, None).unwrap();
        assert_eq!((a.columns, b.columns), (Columns::Default, Columns::Gampen));
        assert_eq!(a.marginal(0, 0), m);
        assert_eq!(b.marginal(0, 0), m);
        assert_eq!(b.stat(0, "lo95"), [0.1]);
    }
}
