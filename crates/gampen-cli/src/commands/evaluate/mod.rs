//! `gampen evaluate`: prediction CSV against the catalog's true values. Every number is the
//! library's ([`gampen::calibration`]); this command reads, prints, plots and writes.

use std::path::{Path, PathBuf};

use gampen::calibration::{skip_derived_without_truth, MatchedPredictions};
use gampen::posterior::PredictionTable;
use gampen_data::{catalog_path, CsvTable};

use crate::error::{create_dir, write_json, CliError, Result};
use crate::labels::split_list;
use crate::paths::check_io;

mod applied;
mod plots;
mod print;
mod report;

pub use applied::{applied, Applied, SamplesReport};
pub use plots::write as write_plots;
pub use print::print_table;
pub use report::{Calibrated, EvalReport};

/// Options of `gampen evaluate`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Predictions written by `gampen predict` (or merged shards), in either column layout;
    /// coverage uses the intervals the file holds (lo68/hi68/... or the GaMPEN layout's
    /// *_sig_ci/*_twosig_ci/*_threesig_ci pairs), whichever way they were defined.
    #[arg(long)]
    pub predictions: PathBuf,
    /// Data directory whose info.csv holds the true values (joined on file_name); an empty
    /// or NaN cell is a value not known, left out of that parameter's metrics and counted.
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
    /// Also report coverage after applying this calibration (a checkpoint's
    /// calibration.json, or a --fit-calibration file) to the predictions. The predictions
    /// must be raw, written by `gampen predict --no-calibration`: a checkpoint's
    /// calibration.json is otherwise applied already, and would be applied twice.
    #[arg(long, conflicts_with = "model")]
    pub calibration: Option<PathBuf>,
    /// As --calibration, with the calibration.json of this checkpoint, or of this training
    /// run's best checkpoint (written by `gampen train --calibrate`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Posterior samples of the same galaxies (`gampen predict --samples-out FILE.csv`,
    /// raw as well): coverage at 22 levels per parameter (calibration_curve.png), all
    /// parameters inside, and inside the ellipsoid of the samples' covariance, in eval.json
    /// (and after --calibration/--model too).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Replace eval.json and the plots when --out already holds them.
    #[arg(long)]
    pub force: bool,
}

/// Runs `gampen evaluate`: prints a table, writes eval.json and plots.
pub fn run(args: Args) -> Result<()> {
    let report = execute(&args)?;
    print_table(&report);
    println!("wrote {}", args.out.join("eval.json").display());
    Ok(())
}

/// The files `gampen evaluate` writes into --out.
const OUTPUT_FILES: [&str; 5] = [
    "eval.json",
    "calibration_curve.png",
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
    let mut inputs = vec![
        ("--predictions", args.predictions.as_path()),
        ("--data", &args.data),
    ];
    inputs.extend(args.calibration.as_deref().map(|c| ("--calibration", c)));
    inputs.extend(args.model.as_deref().map(|m| ("--model", m)));
    inputs.extend(args.samples.as_deref().map(|s| ("--samples", s)));
    check_io(&inputs, &outputs)?;
    match files.iter().find(|f| f.exists()) {
        Some(f) if !args.force => Err(CliError::usage(format!(
            "--out {} already holds {}: pass --force to replace it, or choose another --out",
            args.out.display(),
            f.display()
        ))),
        _ => Ok(()),
    }
}

/// Reads the predictions and joins them with info.csv, warning about what is left out.
fn read(args: &Args) -> Result<(PredictionTable, MatchedPredictions, CsvTable)> {
    let info = catalog_path(&args.data, None)?;
    check_outputs(args)?;
    let wanted = args.labels.as_deref().map(split_list);
    let catalog = CsvTable::read(&info)?;
    let mut preds = PredictionTable::read(&args.predictions, wanted.as_deref())?;
    if wanted.is_none() {
        for p in skip_derived_without_truth(&mut preds, &catalog)? {
            eprintln!(
                "warning: {} has no {p} column; not evaluating preds_{p}_*",
                info.display()
            );
        }
    }
    let matched = MatchedPredictions::new(&preds, &catalog)?;
    if let Some(first) = matched.unmatched.first() {
        eprintln!(
            "warning: {} prediction rows have no truth in {} (first: {first})",
            matched.unmatched.len(),
            info.display()
        );
    }
    Ok((preds, matched, catalog))
}

/// Evaluates as `args` say, writing eval.json and the plots.
pub fn execute(args: &Args) -> Result<EvalReport> {
    let (preds, matched, catalog) = read(args)?;
    let coverage = matched.coverage();
    let partial: Vec<usize> = (0..matched.file_names.len())
        .filter(|&g| (0..matched.parameters.len()).any(|p| matched.counted(g, p).is_none()))
        .collect();
    if let Some(&first) = partial.first() {
        let per: Vec<String> = (matched.parameters.iter().zip(&coverage.skipped))
            .map(|(p, k)| format!("{p} {k}"))
            .collect();
        eprintln!(
            "warning: {} prediction rows of {} have a non-finite prediction or truth, left out \
             of the metrics of that parameter and of all_inside (skipped: {}; first: {})",
            partial.len(),
            args.predictions.display(),
            per.join(", "),
            matched.file_names[first]
        );
    }
    let mut report = EvalReport::new(&args.predictions, &preds, &matched, &coverage);
    let scale = args
        .fit_calibration
        .as_ref()
        .map(|_| matched.fit_calibration());
    if let Some(scale) = &scale {
        report.calibrated = Some(Calibrated::new(scale, &matched));
    }
    let given = applied::read_scale(args, &matched.parameters)?;
    if let Some((path, scale)) = &given {
        report.after_calibration = Some(applied::applied(path, scale, &matched));
    }
    if let Some(path) = &args.samples {
        let scale = given.as_ref().map(|(_, s)| s);
        report.samples = Some(applied::samples(path, &catalog, scale)?);
    }
    create_dir(&args.out)?;
    write_json(&args.out.join("eval.json"), &report)?;
    plots::write(&args.out, &matched, &report)?;
    if let (Some(path), Some(scale)) = (&args.fit_calibration, &scale) {
        write_json(path, scale)?;
        eprintln!(
            "calibration scale factors {:?} written to {}",
            scale.scales,
            path.display()
        );
    }
    Ok(report)
}
