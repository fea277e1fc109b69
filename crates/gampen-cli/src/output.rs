//! The prediction table: catalog columns carried through, then twelve GaMPEN-style summary
//! columns per parameter, in original units.

use std::path::Path;

use gampen::posterior::MarginalSummary;

use crate::error::{CliError, Result};

/// Summary columns written for each parameter `p`, as `preds_{p}_{stat}`. `lo99`/`hi99` are
/// the 99.73 % (3 sigma) interval, `lo95`/`hi95` 95.45 %, `lo68`/`hi68` 68.27 %;
/// `kurtosis` is the excess kurtosis.
pub const STATS: [&str; 12] = [
    "mean", "median", "mode", "std", "lo68", "hi68", "lo95", "hi95", "lo99", "hi99", "skew",
    "kurtosis",
];

/// The column name of `stat` for parameter `param`.
pub fn column(param: &str, stat: &str) -> String {
    format!("preds_{param}_{stat}")
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
    /// `file_name` of each row.
    pub file_names: Vec<String>,
    /// `[param][stat][row]`, stats in [`STATS`] order; empty cells are NaN.
    pub values: Vec<Vec<Vec<f64>>>,
}

impl PredictionTable {
    /// Reads `path`; with `parameters` those must all be present, otherwise every
    /// parameter with a `preds_{p}_median` column is read.
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
        let idx: Vec<Vec<usize>> = parameters
            .iter()
            .map(|p| {
                STATS
                    .iter()
                    .map(|s| crate::cutouts::column_index(path, &headers, &column(p, s)))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let mut file_names = Vec::new();
        let mut values = vec![vec![Vec::new(); STATS.len()]; parameters.len()];
        for (row, record) in reader.records().enumerate() {
            let record = record.map_err(|e| CliError::csv(path, e))?;
            file_names.push(record[file_col].to_string());
            for (p, cols) in idx.iter().enumerate() {
                for (s, &c) in cols.iter().enumerate() {
                    let text = &record[c];
                    let v = if text.is_empty() {
                        f64::NAN
                    } else {
                        text.parse::<f64>().map_err(|_| {
                            CliError::usage(format!(
                                "{}: data row {} (1-based), column {:?}: {text:?} is not a number",
                                path.display(),
                                row + 1,
                                headers[c]
                            ))
                        })?
                    };
                    values[p][s].push(v);
                }
            }
        }
        Ok(Self {
            parameters,
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
