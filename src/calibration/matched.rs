//! A prediction table joined with a catalog's true values on `file_name`: what `gampen
//! evaluate` computes its metrics from.

use std::collections::HashMap;

use gampen_data::stream::FILE_NAME;
use gampen_data::{canonical_key, CsvTable, DataError};

use super::{summary_coverage, summary_residuals, CalibrationScale, CoverageReport, ResidualStats};
use crate::posterior::catalogue::GampenCatalogue;
use crate::posterior::{MarginalSummary, PredictionTable};

/// The prediction rows that have a row in the truth catalog, as marginal summaries and true
/// values `[galaxy][param]`.
#[derive(Clone, Debug)]
pub struct MatchedPredictions {
    /// Parameters, in the prediction table's order.
    pub parameters: Vec<String>,
    /// `file_name` of each matched galaxy, in the prediction table's order.
    pub file_names: Vec<String>,
    /// `[galaxy][param]` summaries.
    pub marginals: Vec<Vec<MarginalSummary>>,
    /// `[galaxy][param]` true values; NaN where the catalog leaves the value out.
    pub truths: Vec<Vec<f64>>,
    /// `file_name` of each prediction row the catalog has no row for.
    pub unmatched: Vec<String>,
}

impl MatchedPredictions {
    /// Joins `preds` with `catalog` on `file_name` (spelled either way: `./a.fits` is
    /// `a.fits`). Every parameter needs a truth column ([`truth_column`]); a catalog key
    /// listed twice, or no prediction row matching, is an error.
    pub fn new(preds: &PredictionTable, catalog: &CsvTable) -> Result<Self, DataError> {
        let truth_cols: Vec<Vec<f64>> = preds
            .parameters
            .iter()
            .map(|p| truth_column(catalog, p))
            .collect::<Result<_, _>>()?;
        // Checked keys: a galaxy listed twice in the catalog must not let one row win.
        let by_name: HashMap<String, usize> = catalog
            .key_column(FILE_NAME)?
            .iter()
            .enumerate()
            .map(|(i, k)| (canonical_key(k), i))
            .collect();
        let mut matched = Self {
            parameters: preds.parameters.clone(),
            file_names: Vec::new(),
            marginals: Vec::new(),
            truths: Vec::new(),
            unmatched: Vec::new(),
        };
        let n = preds.parameters.len();
        for (i, name) in preds.file_names.iter().enumerate() {
            let Some(&t) = by_name.get(&canonical_key(name)) else {
                matched.unmatched.push(name.clone());
                continue;
            };
            matched.file_names.push(name.clone());
            matched
                .marginals
                .push((0..n).map(|p| preds.marginal(p, i)).collect());
            matched
                .truths
                .push(truth_cols.iter().map(|c| c[t]).collect());
        }
        if matched.file_names.is_empty() {
            return Err(DataError::input(
                &catalog.path,
                format!("no file_name of {} is in it", preds.path.display()),
            ));
        }
        Ok(matched)
    }

    /// Coverage of the matched predictions ([`summary_coverage`]).
    pub fn coverage(&self) -> CoverageReport {
        summary_coverage(&self.parameters, &self.marginals, &self.truths)
    }

    /// Residual statistics of the matched predictions ([`summary_residuals`]).
    pub fn residuals(&self) -> Vec<ResidualStats> {
        summary_residuals(&self.parameters, &self.marginals, &self.truths)
    }

    /// Per-parameter interval factors fitted on the matched predictions
    /// ([`CalibrationScale::fit_summaries`]).
    pub fn fit_calibration(&self) -> CalibrationScale {
        CalibrationScale::fit_summaries(&self.parameters, &self.marginals, &self.truths)
    }

    /// The matched predictions with `scale` applied to every galaxy.
    pub fn calibrated(&self, scale: &CalibrationScale) -> Self {
        let mut out = self.clone();
        out.marginals
            .iter_mut()
            .for_each(|m| scale.apply_marginals(m));
        out
    }

    /// Galaxy `g`'s true value of parameter `p` and its summary, when they count (module
    /// documentation); what plots should show to agree with the metrics.
    pub fn counted(&self, g: usize, p: usize) -> Option<(&MarginalSummary, f64)> {
        super::counted(&self.marginals, &self.truths, g, p)
    }
}

/// The true values in `column` of `catalog`: an empty cell or NaN is a galaxy whose value is
/// not known (skipped by every metric, and counted); an infinite value or text that is not a
/// number is an error naming the file, row and column.
pub fn truth_column(catalog: &CsvTable, column: &str) -> Result<Vec<f64>, DataError> {
    let c = catalog.column(column)?;
    catalog
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let text = row.get(c).map_or("", String::as_str);
            let value = if text.is_empty() {
                Some(f64::NAN)
            } else {
                text.parse::<f64>().ok().filter(|v| !v.is_infinite())
            };
            value.ok_or_else(|| {
                DataError::input(
                    &catalog.path,
                    format!(
                        "data row {} (1-based, header not counted), column {column:?}: \
                         {text:?} is not a finite number (leave the cell empty for a galaxy \
                         whose value is not known)",
                        i + 1
                    ),
                )
            })
        })
        .collect()
}

/// Drops from `preds` the derived quantities (GaMPEN's `total_mag`) that `catalog` has no
/// truth column for and returns their names; fails if no parameter is left.
pub fn skip_derived_without_truth(
    preds: &mut PredictionTable,
    catalog: &CsvTable,
) -> Result<Vec<String>, DataError> {
    let mut skipped = Vec::new();
    for p in (0..preds.parameters.len()).rev() {
        let name = &preds.parameters[p];
        if GampenCatalogue::is_derived(name) && !catalog.headers.contains(name) {
            skipped.insert(0, preds.parameters.remove(p));
            preds.values.remove(p);
        }
    }
    if preds.parameters.is_empty() {
        return Err(DataError::input(
            &catalog.path,
            "no predicted parameter has a truth column",
        ));
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(text: &str) -> CsvTable {
        CsvTable::from_reader(text.as_bytes(), std::path::Path::new("info.csv")).unwrap()
    }

    #[test]
    fn empty_and_nan_truths_are_unknown_infinite_ones_are_errors() {
        let t = catalog("file_name,bt\na,0.5\nb,\nc,NaN\nd,inf\ne,x\n");
        let rows = CsvTable {
            rows: t.rows[..3].to_vec(),
            ..t.clone()
        };
        let v = truth_column(&rows, "bt").unwrap();
        assert!(v[0] == 0.5 && v[1].is_nan() && v[2].is_nan(), "{v:?}");
        let msg = truth_column(&t, "bt").unwrap_err().to_string();
        assert!(
            msg.contains("info.csv") && msg.contains("data row 4"),
            "{msg}"
        );
        assert!(msg.contains("\"bt\"") && msg.contains("inf"), "{msg}");
    }
}
