//! A prediction CSV read back, in either column layout: what `evaluate` and `merge` read.

use std::path::{Path, PathBuf};

use gampen_data::stream::{column_index, open_csv, FILE_NAME};
use gampen_data::DataError;

use super::columns::{column, parse_interval, Columns, STATS};
use super::MarginalSummary;

type Result<T> = std::result::Result<T, DataError>;

/// A prediction CSV read back: file names and, per parameter, the summary columns.
#[derive(Clone, Debug)]
pub struct PredictionTable {
    /// The file it was read from (named in errors about its rows).
    pub path: PathBuf,
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
            return Err(DataError::input(
                path,
                format!(
                    "file_name {name:?} in data row {} repeats data row {} (1-based, header \
                     not counted): every galaxy must appear once",
                    row + 1,
                    first + 1
                ),
            ));
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
            return Err(DataError::input(path, "predictions file not found"));
        }
        let (mut reader, headers) = open_csv(path)?;
        let file_col = column_index(path, &headers, FILE_NAME)?;
        let parameters: Vec<String> = match parameters {
            Some(p) => p.to_vec(),
            None => headers
                .iter()
                .filter_map(|h| h.strip_prefix("preds_")?.strip_suffix("_median"))
                .map(str::to_string)
                .collect(),
        };
        if parameters.is_empty() {
            return Err(DataError::input(
                path,
                "no prediction columns (preds_<name>_median); is this a `gampen predict` output?",
            ));
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
            let record = record.map_err(|e| DataError::csv(path, e))?;
            file_names.push(record[file_col].to_string());
            for (p, srcs) in sources.iter().enumerate() {
                for (s, &src) in srcs.iter().enumerate() {
                    values[p][s].push(read_cell(path, &headers, &record, row, src)?);
                }
            }
        }
        check_unique(path, &file_names)?;
        Ok(Self {
            path: path.to_path_buf(),
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
    let index = |stat: &str| column_index(path, headers, &column(p, stat));
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
        DataError::input(
            path,
            format!(
                "data row {} (1-based), column {:?}: {text:?} is not {what}",
                row + 1,
                headers[c]
            ),
        )
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
    use crate::posterior::catalogue;
    use crate::posterior::columns::{cell, gampen_cells, summary_headers, summary_values};

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
