//! `gampen evaluate` as a library: prediction CSV against the catalog's true values. Every
//! number is [`crate::calibration`]'s; this module gathers them into [`EvalReport`] (what
//! `eval.json` holds, printed by its `Display`), with the options a command line gives
//! ([`EvaluateFlags`], `clap::Args` with the `clap` feature).

use std::path::{Path, PathBuf};

use gampen_data::flags::split_list;
use gampen_data::paths::check_io;
use gampen_data::{catalog_path, CsvTable};

use crate::calibration::{skip_derived_without_truth, CalibrationScale, MatchedPredictions};
use crate::error::GampenError;
use crate::posterior::PredictionTable;

mod applied;
mod display;
mod report;

pub use applied::{read_scale, Applied, SamplesReport};
pub use report::{Calibrated, EvalReport, ParameterReport};

/// The files an evaluation writes into its output directory.
pub const OUTPUT_FILES: [&str; 5] = [
    "eval.json",
    "calibration_curve.png",
    "calibration.png",
    "predicted_vs_true.png",
    "residuals.png",
];

/// What to evaluate, against what, and where the results go.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct EvaluateFlags {
    /// Predictions written by `gampen predict` (or merged shards), in either column layout;
    /// coverage uses the intervals the file holds (lo68/hi68/... or the GaMPEN layout's
    /// *_sig_ci/*_twosig_ci/*_threesig_ci pairs), whichever way they were defined.
    #[cfg_attr(feature = "clap", arg(long))]
    pub predictions: PathBuf,
    /// Data directory whose info.csv holds the true values (joined on file_name); an empty
    /// or NaN cell is a value not known, left out of that parameter's metrics and counted.
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: PathBuf,
    /// Parameters to evaluate, comma-separated [default: every preds_NAME_median column,
    /// except derived ones (total_mag) that info.csv has no column for].
    #[cfg_attr(feature = "clap", arg(long))]
    pub labels: Option<String>,
    /// Output directory: eval.json, calibration.png, predicted_vs_true.png, residuals.png.
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: PathBuf,
    /// Also fit per-parameter interval scale factors that best calibrate these predictions
    /// and write them here (JSON, for `gampen predict --calibration`). Fit on devel
    /// predictions, not on the test set you report.
    #[cfg_attr(feature = "clap", arg(long))]
    pub fit_calibration: Option<PathBuf>,
    /// Also report coverage after applying this calibration (a checkpoint's
    /// calibration.json, or a --fit-calibration file) to the predictions. The predictions
    /// must be raw, written by `gampen predict --no-calibration`: a checkpoint's
    /// calibration.json is otherwise applied already, and would be applied twice.
    #[cfg_attr(feature = "clap", arg(long, conflicts_with = "model"))]
    pub calibration: Option<PathBuf>,
    /// As --calibration, with the calibration.json of this checkpoint, or of this training
    /// run's best checkpoint (written by `gampen train --calibrate`).
    #[cfg_attr(feature = "clap", arg(long))]
    pub model: Option<PathBuf>,
    /// Posterior samples of the same galaxies (`gampen predict --samples-out FILE.csv`,
    /// raw as well): coverage at 22 levels per parameter (calibration_curve.png), all
    /// parameters inside, and inside the ellipsoid of the samples' covariance, in eval.json
    /// (and after --calibration/--model too).
    #[cfg_attr(feature = "clap", arg(long))]
    pub samples: Option<PathBuf>,
    /// Replace eval.json and the plots when --out already holds them.
    #[cfg_attr(feature = "clap", arg(long))]
    pub force: bool,
}

/// An evaluation: the report, the predictions joined with their truth (what plots show),
/// and the calibration fitted with `fit_calibration`.
pub struct Evaluation {
    /// What `eval.json` holds.
    pub report: EvalReport,
    /// The predictions joined with the catalog.
    pub matched: MatchedPredictions,
    /// The factors fitted on these predictions, with `fit_calibration`.
    pub fitted: Option<CalibrationScale>,
}

impl EvaluateFlags {
    /// Refuses outputs that are, or lie inside, an input, and (without `force`) replacing
    /// files a previous evaluation wrote.
    pub fn check_outputs(&self) -> Result<(), GampenError> {
        let files: Vec<PathBuf> = OUTPUT_FILES.iter().map(|f| self.out.join(f)).collect();
        let mut outputs: Vec<(&str, &Path)> =
            files.iter().map(|f| ("--out", f.as_path())).collect();
        outputs.extend(
            self.fit_calibration
                .as_deref()
                .map(|c| ("--fit-calibration", c)),
        );
        let mut inputs = vec![
            ("--predictions", self.predictions.as_path()),
            ("--data", &self.data),
        ];
        inputs.extend(self.calibration.as_deref().map(|c| ("--calibration", c)));
        inputs.extend(self.model.as_deref().map(|m| ("--model", m)));
        inputs.extend(self.samples.as_deref().map(|s| ("--samples", s)));
        check_io(&inputs, &outputs)?;
        match files.iter().find(|f| f.exists()) {
            Some(f) if !self.force => Err(GampenError::Flag(format!(
                "--out {} already holds {}: pass --force to replace it, or choose another --out",
                self.out.display(),
                f.display()
            ))),
            _ => Ok(()),
        }
    }

    /// Reads the predictions and joins them with info.csv; `warn` hears what is left out.
    fn read(
        &self,
        warn: &mut dyn FnMut(String),
    ) -> Result<(PredictionTable, MatchedPredictions, CsvTable), GampenError> {
        let info = catalog_path(&self.data, None)?;
        self.check_outputs()?;
        let wanted = self.labels.as_deref().map(split_list);
        let catalog = CsvTable::read(&info)?;
        let mut preds = PredictionTable::read(&self.predictions, wanted.as_deref())?;
        if wanted.is_none() {
            for p in skip_derived_without_truth(&mut preds, &catalog)? {
                warn(format!(
                    "{} has no {p} column; not evaluating preds_{p}_*",
                    info.display()
                ));
            }
        }
        let matched = MatchedPredictions::new(&preds, &catalog)?;
        if let Some(first) = matched.unmatched.first() {
            warn(format!(
                "{} prediction rows have no truth in {} (first: {first})",
                matched.unmatched.len(),
                info.display()
            ));
        }
        Ok((preds, matched, catalog))
    }

    /// Evaluates as the flags say (checking the outputs first, writing nothing); `warn`
    /// hears of rows left out, as they are found.
    pub fn evaluate(&self, warn: &mut dyn FnMut(String)) -> Result<Evaluation, GampenError> {
        let (preds, matched, catalog) = self.read(warn)?;
        let coverage = matched.coverage();
        let partial: Vec<usize> = (0..matched.file_names.len())
            .filter(|&g| (0..matched.parameters.len()).any(|p| matched.counted(g, p).is_none()))
            .collect();
        if let Some(&first) = partial.first() {
            let per: Vec<String> = (matched.parameters.iter().zip(&coverage.skipped))
                .map(|(p, k)| format!("{p} {k}"))
                .collect();
            warn(format!(
                "{} prediction rows of {} have a non-finite prediction or truth, left out of the \
                 metrics of that parameter and of all_inside (skipped: {}; first: {})",
                partial.len(),
                self.predictions.display(),
                per.join(", "),
                matched.file_names[first]
            ));
        }
        let mut report = EvalReport::new(&self.predictions, &preds, &matched, &coverage);
        let fitted = self
            .fit_calibration
            .as_ref()
            .map(|_| matched.fit_calibration());
        report.calibrated = fitted.as_ref().map(|s| Calibrated::new(s, &matched));
        let given = read_scale(
            self.calibration.as_deref(),
            self.model.as_deref(),
            &matched.parameters,
        )?;
        if let Some((path, scale)) = &given {
            report.after_calibration = Some(Applied::new(path, scale, &matched));
        }
        if let Some(path) = &self.samples {
            let scale = given.as_ref().map(|(_, s)| s);
            report.samples = Some(SamplesReport::new(path, &catalog, scale, warn)?);
        }
        Ok(Evaluation {
            report,
            matched,
            fitted,
        })
    }
}
