//! What a checkpoint carries besides its weights, config and label transform.

use gampen_data::Preprocessing;

use super::files;
use crate::calibration::CalibrationScale;
use crate::config::GampenConfig;
use crate::error::GampenError;

/// The optional parts of a checkpoint written by [`super::save_parts`]: preprocessing,
/// calibration and further files (optimiser and training state).
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras<'a> {
    /// How cutouts become model input (`preprocessing.json`); its crop size and channels
    /// must be the model's.
    pub preprocessing: Option<&'a Preprocessing>,
    /// Interval calibration applied at prediction (`calibration.json`), for the model's
    /// parameters in order.
    pub calibration: Option<&'a CalibrationScale>,
    /// Further files, as (name, bytes).
    pub files: &'a [(&'a str, Vec<u8>)],
}

impl<'a> Extras<'a> {
    /// Nothing extra.
    pub fn new() -> Self {
        Self::default()
    }

    /// With a `preprocessing.json`.
    pub fn with_preprocessing(mut self, preprocessing: &'a Preprocessing) -> Self {
        self.preprocessing = Some(preprocessing);
        self
    }

    /// With a `calibration.json`.
    pub fn with_calibration(mut self, calibration: &'a CalibrationScale) -> Self {
        self.calibration = Some(calibration);
        self
    }

    /// With further files (name, bytes).
    pub fn with_files(mut self, files: &'a [(&'a str, Vec<u8>)]) -> Self {
        self.files = files;
        self
    }

    /// Refuses parts that do not belong to a model built from `config`: a checkpoint is
    /// read back only if they do.
    pub(crate) fn check(&self, config: &GampenConfig) -> Result<(), GampenError> {
        if let Some(p) = self.preprocessing {
            check_preprocessing(p, config).map_err(GampenError::Config)?;
        }
        if let Some(c) = self.calibration {
            check_calibration(c, &config.parameters).map_err(GampenError::Config)?;
        }
        Ok(())
    }

    /// Every file to write, as (name, bytes).
    pub(crate) fn all_files(&self) -> Vec<(&'a str, Vec<u8>)> {
        let mut out = Vec::new();
        if let Some(p) = self.preprocessing {
            out.push((files::PREPROCESSING, (p.to_json() + "\n").into_bytes()));
        }
        if let Some(c) = self.calibration {
            let json = serde_json::to_string_pretty(c).expect("calibration serialises");
            out.push((files::CALIBRATION, (json + "\n").into_bytes()));
        }
        out.extend(self.files.iter().map(|(n, b)| (*n, b.clone())));
        out
    }
}

/// Why `p` cannot prepare input for a model built from `config`, if it cannot.
pub(crate) fn check_preprocessing(p: &Preprocessing, config: &GampenConfig) -> Result<(), String> {
    if p.cutout_size != config.cutout_size || p.channels != config.channels {
        return Err(format!(
            "preprocessing makes {}x{} crops with {} channel(s) but the model takes {}x{} with {}",
            p.cutout_size,
            p.cutout_size,
            p.channels,
            config.cutout_size,
            config.cutout_size,
            config.channels
        ));
    }
    Ok(())
}

/// Why `c` cannot calibrate a model predicting `parameters`, if it cannot.
pub(crate) fn check_calibration(c: &CalibrationScale, parameters: &[String]) -> Result<(), String> {
    let levels_ok = c.level_scales.is_empty() || c.level_scales.len() == parameters.len();
    if c.parameters != parameters || c.scales.len() != parameters.len() || !levels_ok {
        return Err(format!(
            "calibration is for {:?} but the model predicts {:?}",
            c.parameters, parameters
        ));
    }
    Ok(())
}
