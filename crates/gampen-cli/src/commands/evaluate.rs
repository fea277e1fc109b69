//! `gampen evaluate`: prediction CSV against the catalog's true values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gampen::calibration::CalibrationScale;
use gampen::posterior::catalogue::GampenCatalogue;
use gampen::posterior::LEVELS;
use gampen::GalaxyPosterior;
use gampen_data::CsvTable;
use serde::Serialize;

use crate::error::{create_dir, write_json, CliError, Result};
use crate::labels::split_list;
use crate::paths::{check_io, write_via_temp};
use gampen::posterior::{Columns, PredictionTable};
use gampen_data::{catalog_path, FILE_NAME};

/// Options of `gampen evaluate`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Predictions written by `gampen predict` (or merged shards), in either column layout;
    /// coverage uses the intervals the file holds (lo68/hi68/... or the GaMPEN layout's
    /// *_sig_ci/*_twosig_ci/*_threesig_ci pairs), whichever way they were defined.
    #[arg(long)]
    pub predictions: PathBuf,
    /// Data directory whose info.csv holds the true values (joined on file_name).
    #[arg(long)]
    pub data: PathBuf,
    /// Parameters to evaluate, comma-separated [default: every preds_<name>_median column,
    /// except derived ones (total_mag) that info.csv has no column for].
    #[arg(long)]
    pub labels: Option<String>,
    /// Output directory: eval.json, calibration.png, predicted_vs_true.png, residuals.png.
    #[arg(long)]
    pub out: PathBuf,
    /// Also fit per-parameter interval scale factors that best calibrate these predictions
    /// and write them here (JSON, for `gampen predict --calibration`). Fit on devel
    /// predictions, not on the test set you report.
    #[arg(long)]
    pub fit_calibration: Option<PathBuf>,
    /// Replace eval.json and the plots when --out already holds them.
    #[arg(long)]
    pub force: bool,
}

/// Accuracy and calibration of one parameter.
#[derive(Clone, Debug, Serialize)]
pub struct ParameterReport {
    /// Parameter (catalog column).
    pub parameter: String,
    /// Galaxies with a finite median and truth.
    pub count: usize,
    /// Mean absolute error of the posterior median.
    pub mae: f64,
    /// Median absolute error of the posterior median.
    pub median_abs_error: f64,
    /// Median of |median - truth| / |truth| (useful for fluxes and radii).
    pub median_rel_error: f64,
    /// Root mean squared error of the median.
    pub rmse: f64,
    /// Mean of median minus truth.
    pub bias: f64,
    /// Mean predicted standard deviation.
    pub mean_std: f64,
    /// Fraction of true values inside the 68.27, 95.45, 99.73 % intervals.
    pub coverage: [f64; 3],
}

/// What `eval.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// The predictions file.
    pub predictions: PathBuf,
    /// Rows in it.
    pub rows: usize,
    /// Rows joined with a truth row.
    pub matched: usize,
    /// Column layout of the predictions file: the intervals were read from `lo68`/`hi68`/...
    /// (`default`) or from the `*_ci` pairs (`gampen`).
    pub columns: Columns,
    /// Nominal levels of the coverage columns.
    pub nominal: [f64; 3],
    /// Fraction of galaxies with every parameter inside its interval, per level.
    pub all_inside: [f64; 3],
    /// Per parameter.
    pub parameters: Vec<ParameterReport>,
}

/// Runs `gampen evaluate`: prints a table, writes eval.json and plots.
pub fn run(args: Args) -> Result<()> {
    let report = execute(&args)?;
    print_table(&report);
    println!("wrote {}", args.out.join("eval.json").display());
    Ok(())
}

/// The files `gampen evaluate` writes into --out.
const OUTPUT_FILES: [&str; 4] = [
    "eval.json",
    "calibration.png",
    "predicted_vs_true.png",
    "residuals.png",
];

/// Refuses outputs that are, or lie inside, an input, and (without --force) replacing
/// files a previous evaluation wrote.
fn check_outputs(args: &Args) -> Result<()> {
    let files: Vec<PathBuf> = OUTPUT_FILES.iter().map(|f| args.out.join(f)).collect();
    let mut outputs: Vec<(&str, &Path)> = files.iter().map(|f| ("--out", f.as_path())).collect();
    if let Some(c) = &args.fit_calibration {
        outputs.push(("--fit-calibration", c));
    }
    check_io(
        &[("--predictions", &args.predictions), ("--data", &args.data)],
        &outputs,
    )?;
    match files.iter().find(|f| f.exists()) {
        Some(f) if !args.force => Err(CliError::usage(format!(
            "--out {} already holds {}: pass --force to replace it, or choose another --out",
            args.out.display(),
            f.display()
        ))),
        _ => Ok(()),
    }
}

/// Splits matched `(prediction row, truth row)` pairs into those whose every prediction
/// statistic is finite and the file names of the others, so that MAE, coverage and every
/// other metric are computed over one row set (a NaN median used to be skipped by the
/// error metrics but counted as a miss by coverage).
fn finite_rows(
    preds: &PredictionTable,
    rows: Vec<(usize, usize)>,
) -> (Vec<(usize, usize)>, Vec<String>) {
    let (kept, dropped): (Vec<_>, Vec<_>) = rows.into_iter().partition(|&(i, _)| {
        preds
            .values
            .iter()
            .all(|stats| stats.iter().all(|column| column[i].is_finite()))
    });
    let names = dropped
        .iter()
        .map(|&(i, _)| preds.file_names[i].clone())
        .collect();
    (kept, names)
}

/// Evaluates as `args` say, writing eval.json and the plots.
pub fn execute(args: &Args) -> Result<EvalReport> {
    let info = catalog_path(&args.data, None)?;
    check_outputs(args)?;
    let wanted = args.labels.as_deref().map(split_list);
    let table = CsvTable::read(&info)?;
    let mut preds = PredictionTable::read(&args.predictions, wanted.as_deref())?;
    if wanted.is_none() {
        skip_derived_without_truth(&mut preds, &table)?;
    }
    let params = preds.parameters.clone();
    let truth_cols: Vec<Vec<f64>> = params
        .iter()
        .map(|p| table.numeric_column(p))
        .collect::<std::result::Result<_, _>>()?;
    // Checked keys: a galaxy listed twice in the truth catalog must not let one row win.
    let by_name: HashMap<String, usize> = table
        .key_column(FILE_NAME)?
        .iter()
        .enumerate()
        .map(|(i, k)| (gampen_data::canonical_key(k), i))
        .collect();
    // truth[param][matched row], pred row index per matched row.
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for (i, name) in preds.file_names.iter().enumerate() {
        match by_name.get(&gampen_data::canonical_key(name)) {
            Some(&t) => rows.push((i, t)),
            None => missing.push(name.clone()),
        }
    }
    let (rows, non_finite) = finite_rows(&preds, rows);
    if !non_finite.is_empty() {
        eprintln!(
            "warning: {} prediction rows of {} have a non-finite value and are left out of \
             every metric (first: {})",
            non_finite.len(),
            args.predictions.display(),
            non_finite[0]
        );
    }
    if rows.is_empty() {
        return Err(CliError::usage(format!(
            "no file_name of {} is in {}",
            args.predictions.display(),
            info.display()
        )));
    }
    if !missing.is_empty() {
        eprintln!(
            "warning: {} prediction rows have no truth in {} (first: {})",
            missing.len(),
            info.display(),
            missing[0]
        );
    }
    let truth: Vec<Vec<f64>> = (0..params.len())
        .map(|p| rows.iter().map(|&(_, t)| truth_cols[p][t]).collect())
        .collect();
    let pick = |p: usize, stat: &str| -> Vec<f64> {
        let col = preds.stat(p, stat);
        rows.iter().map(|&(i, _)| col[i]).collect()
    };

    let mut reports = Vec::new();
    let mut all = [0usize; 3];
    let mut every = vec![[true; 3]; rows.len()];
    for (p, name) in params.iter().enumerate() {
        let median = pick(p, "median");
        let std = pick(p, "std");
        let bounds = [("lo68", "hi68"), ("lo95", "hi95"), ("lo99", "hi99")]
            .map(|(l, h)| (pick(p, l), pick(p, h)));
        let mut inside = [0usize; 3];
        for (g, t) in truth[p].iter().enumerate() {
            for (l, (lo, hi)) in bounds.iter().enumerate() {
                let ok = *t >= lo[g] && *t <= hi[g];
                inside[l] += ok as usize;
                every[g][l] &= ok;
            }
        }
        let resid: Vec<f64> = median
            .iter()
            .zip(&truth[p])
            .map(|(m, t)| m - t)
            .filter(|r| r.is_finite())
            .collect();
        let n = resid.len().max(1) as f64;
        let mut abs: Vec<f64> = resid.iter().map(|r| r.abs()).collect();
        abs.sort_by(f64::total_cmp);
        let mut rel: Vec<f64> = median
            .iter()
            .zip(&truth[p])
            .map(|(m, t)| ((m - t) / t).abs())
            .filter(|r| r.is_finite())
            .collect();
        rel.sort_by(f64::total_cmp);
        let finite_std: Vec<f64> = std.iter().copied().filter(|v| v.is_finite()).collect();
        reports.push(ParameterReport {
            parameter: name.clone(),
            count: resid.len(),
            mae: abs.iter().sum::<f64>() / n,
            median_abs_error: gampen::posterior::quantile_sorted(&abs, 0.5),
            median_rel_error: gampen::posterior::quantile_sorted(&rel, 0.5),
            rmse: (resid.iter().map(|r| r * r).sum::<f64>() / n).sqrt(),
            bias: resid.iter().sum::<f64>() / n,
            mean_std: finite_std.iter().sum::<f64>() / finite_std.len().max(1) as f64,
            coverage: inside.map(|c| c as f64 / rows.len() as f64),
        });
    }
    for e in &every {
        for l in 0..3 {
            all[l] += e[l] as usize;
        }
    }
    let report = EvalReport {
        predictions: args.predictions.clone(),
        rows: preds.row_count(),
        matched: rows.len(),
        columns: preds.columns,
        nominal: LEVELS,
        all_inside: all.map(|c| c as f64 / rows.len() as f64),
        parameters: reports,
    };

    create_dir(&args.out)?;
    write_json(&args.out.join("eval.json"), &report)?;
    let coverage: Vec<Vec<f64>> = report
        .parameters
        .iter()
        .map(|r| r.coverage.to_vec())
        .collect();
    write_via_temp(&args.out.join("calibration.png"), |tmp| {
        Ok(gampen_plot::calibration_plot(
            tmp, &params, &LEVELS, &coverage,
        )?)
    })?;
    let medians: Vec<Vec<f64>> = (0..params.len()).map(|p| pick(p, "median")).collect();
    let lows: Vec<Vec<f64>> = (0..params.len()).map(|p| pick(p, "lo68")).collect();
    let highs: Vec<Vec<f64>> = (0..params.len()).map(|p| pick(p, "hi68")).collect();
    write_via_temp(&args.out.join("predicted_vs_true.png"), |tmp| {
        Ok(gampen_plot::predicted_vs_true_grid(
            tmp, &params, &truth, &medians, &lows, &highs,
        )?)
    })?;
    let residuals: Vec<Vec<f64>> = medians
        .iter()
        .zip(&truth)
        .map(|(m, t)| m.iter().zip(t).map(|(a, b)| a - b).collect())
        .collect();
    write_via_temp(&args.out.join("residuals.png"), |tmp| {
        Ok(gampen_plot::residual_histograms(tmp, &params, &residuals)?)
    })?;

    if let Some(path) = &args.fit_calibration {
        let posteriors: Vec<GalaxyPosterior> = rows
            .iter()
            .map(|&(i, _)| {
                let n = params.len();
                let marginals: Vec<_> = (0..n).map(|p| preds.marginal(p, i)).collect();
                let mut covariance = vec![0.0; n * n];
                for (p, m) in marginals.iter().enumerate() {
                    covariance[p * n + p] = m.std * m.std;
                }
                GalaxyPosterior {
                    marginals,
                    covariance,
                    samples: None,
                }
            })
            .collect();
        let truths: Vec<Vec<f64>> = (0..rows.len())
            .map(|g| (0..params.len()).map(|p| truth[p][g]).collect())
            .collect();
        let scale = CalibrationScale::fit(&params, &posteriors, &truths);
        write_json(path, &scale)?;
        eprintln!(
            "calibration scale factors {:?} written to {}",
            scale.scales,
            path.display()
        );
    }
    Ok(report)
}

/// Drops derived quantities (GaMPEN's total_mag) that `table` has no truth column for, with a
/// warning; fails if nothing is left.
fn skip_derived_without_truth(preds: &mut PredictionTable, table: &CsvTable) -> Result<()> {
    let skip: Vec<usize> = (0..preds.parameters.len())
        .filter(|&p| {
            let name = &preds.parameters[p];
            GampenCatalogue::is_derived(name) && !table.headers.contains(name)
        })
        .collect();
    for &p in skip.iter().rev() {
        eprintln!(
            "warning: {} has no {} column; not evaluating preds_{}_*",
            table.path.display(),
            preds.parameters[p],
            preds.parameters[p]
        );
        preds.parameters.remove(p);
        preds.values.remove(p);
    }
    if preds.parameters.is_empty() {
        return Err(CliError::usage(format!(
            "{}: no predicted parameter has a truth column",
            table.path.display()
        )));
    }
    Ok(())
}

/// Prints the per-parameter table.
pub fn print_table(r: &EvalReport) {
    println!(
        "{:<12} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "parameter", "n", "MAE", "MedAE", "MedRel", "bias", "mean std", "cov68", "cov95", "cov99.7"
    );
    for p in &r.parameters {
        println!(
            "{:<12} {:>6} {:>10.4} {:>10.4} {:>7.1}% {:>+10.4} {:>10.4} {:>8.3} {:>8.3} {:>8.3}",
            p.parameter,
            p.count,
            p.mae,
            p.median_abs_error,
            100.0 * p.median_rel_error,
            p.bias,
            p.mean_std,
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
        r.matched,
        "",
        "",
        "",
        "",
        "",
        r.all_inside[0],
        r.all_inside[1],
        r.all_inside[2]
    );
}
