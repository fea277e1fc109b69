//! Coverage after a calibration fitted elsewhere (`--calibration`/`--model`), and the
//! calibration curve from posterior samples (`--samples`).

use std::path::{Path, PathBuf};

use gampen_data::CsvTable;
use serde::Serialize;

use super::Calibrated;
use crate::calibration::{curve_levels, CalibrationScale, MatchedPredictions, SampleCoverage};
use crate::checkpoint;
use crate::error::GampenError;
use crate::predictor::SampleTable;

/// Coverage after applying a calibration read from a file, beside the raw coverage.
#[derive(Clone, Debug, Serialize)]
pub struct Applied {
    /// The calibration file applied.
    pub source: PathBuf,
    /// Its factors and the coverage they give.
    #[serde(flatten)]
    pub after: Calibrated,
}

impl Applied {
    /// Coverage of `matched` after `scale`, read from `path`.
    pub fn new(path: &Path, scale: &CalibrationScale, matched: &MatchedPredictions) -> Self {
        Self {
            source: path.to_path_buf(),
            after: Calibrated::new(scale, matched),
        }
    }
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

/// The calibration the file `calibration`, or the checkpoint (or run: its best checkpoint)
/// `model`'s calibration.json names, for `parameters`, with its path.
pub fn read_scale(
    calibration: Option<&Path>,
    model: Option<&Path>,
    parameters: &[String],
) -> Result<Option<(PathBuf, CalibrationScale)>, GampenError> {
    let path = match (calibration, model) {
        (Some(file), _) => file.to_path_buf(),
        (None, Some(model)) => {
            let file = checkpoint::resolve(model)?.join(checkpoint::files::CALIBRATION);
            if !file.is_file() {
                return Err(GampenError::Flag(format!(
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
        .map_err(|m| GampenError::Flag(format!("{}: {m}", path.display())))?;
    Ok(Some((path, scale)))
}

impl SamplesReport {
    /// The report of the samples file `path` against `catalog`: the curve at
    /// [`curve_levels`] and the ellipsoid, raw and (with a calibration) after it; `warn`
    /// hears of sampled galaxies without a truth.
    pub fn new(
        path: &Path,
        catalog: &CsvTable,
        scale: Option<&CalibrationScale>,
        warn: &mut dyn FnMut(String),
    ) -> Result<Self, GampenError> {
        let table = SampleTable::read(path)?;
        let levels = curve_levels();
        let before = SampleCoverage::new(&table, catalog, &levels, None)?;
        if let Some(first) = before.unmatched.first() {
            warn(format!(
                "{} sampled galaxies of {} have no truth in {} (first: {first})",
                before.unmatched.len(),
                path.display(),
                catalog.path.display()
            ));
        }
        let after = match scale {
            Some(s) => {
                let s = s
                    .for_parameters(&table.parameters)
                    .map_err(|m| GampenError::Flag(format!("--samples {}: {m}", path.display())))?;
                Some(SampleCoverage::new(&table, catalog, &levels, Some(&s))?)
            }
            None => None,
        };
        Ok(Self {
            path: path.to_path_buf(),
            before,
            after,
        })
    }
}
