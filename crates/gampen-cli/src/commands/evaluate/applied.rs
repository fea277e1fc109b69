//! `gampen evaluate --calibration/--model/--samples`: coverage after a calibration fitted
//! elsewhere, and the calibration curve from posterior samples.

use std::path::{Path, PathBuf};

use gampen::calibration::{curve_levels, CalibrationScale, MatchedPredictions, SampleCoverage};
use gampen::checkpoint;
use gampen::predictor::SampleTable;
use gampen_data::CsvTable;
use serde::Serialize;

use super::{Args, Calibrated};
use crate::error::{CliError, Result};

/// Coverage after applying a calibration read from a file, beside the raw coverage.
#[derive(Clone, Debug, Serialize)]
pub struct Applied {
    /// The calibration file applied.
    pub source: PathBuf,
    /// Its factors and the coverage they give.
    #[serde(flatten)]
    pub after: Calibrated,
}

/// What `--samples` measured.
#[derive(Clone, Debug, Serialize)]
pub struct SamplesReport {
    /// The samples file.
    pub path: PathBuf,
    /// Coverage of the raw samples.
    pub before: SampleCoverage,
    /// Coverage with the `--calibration`/`--model` factors applied to every draw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<SampleCoverage>,
}

/// The calibration `--calibration FILE` or `--model RUN` (its best checkpoint's
/// calibration.json) names, for the predictions' parameters, with its path.
pub fn read_scale(
    args: &Args,
    parameters: &[String],
) -> Result<Option<(PathBuf, CalibrationScale)>> {
    let path = match (&args.calibration, &args.model) {
        (Some(file), _) => file.clone(),
        (None, Some(model)) => {
            let file = checkpoint::resolve(model)?.join(checkpoint::files::CALIBRATION);
            if !file.is_file() {
                return Err(CliError::usage(format!(
                    "--model {}: the checkpoint has no calibration.json (train with --calibrate, \
                     or give --calibration FILE)",
                    model.display()
                )));
            }
            file
        }
        (None, None) => return Ok(None),
    };
    let scale = CalibrationScale::read(&path)?
        .for_parameters(parameters)
        .map_err(|m| CliError::usage(format!("{}: {m}", path.display())))?;
    Ok(Some((path, scale)))
}

/// Coverage of `matched` after `scale`, read from `path`.
pub fn applied(path: &Path, scale: &CalibrationScale, matched: &MatchedPredictions) -> Applied {
    Applied {
        source: path.to_path_buf(),
        after: Calibrated::new(scale, matched),
    }
}

/// The `--samples` report: the curve at [`curve_levels`] and the ellipsoid, raw and (with a
/// calibration) after it.
pub fn samples(
    path: &Path,
    catalog: &CsvTable,
    scale: Option<&CalibrationScale>,
) -> Result<SamplesReport> {
    let table = SampleTable::read(path)?;
    let levels = curve_levels();
    let before = SampleCoverage::new(&table, catalog, &levels, None)?;
    if let Some(first) = before.unmatched.first() {
        eprintln!(
            "warning: {} sampled galaxies of {} have no truth in {} (first: {first})",
            before.unmatched.len(),
            path.display(),
            catalog.path.display()
        );
    }
    let after = match scale {
        Some(s) => {
            let s = s
                .for_parameters(&table.parameters)
                .map_err(|m| CliError::usage(format!("--samples {}: {m}", path.display())))?;
            Some(SampleCoverage::new(&table, catalog, &levels, Some(&s))?)
        }
        None => None,
    };
    Ok(SamplesReport {
        path: path.to_path_buf(),
        before,
        after,
    })
}
