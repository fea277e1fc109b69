//! Dropout-rate search: the MC-dropout rate sets the epistemic spread, so it is a
//! calibration knob (Ghosh et al. 2022 chose theirs on the devel set).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::calibration::coverage;
use crate::error::GampenError;
use crate::model::Gampen;
use crate::posterior::{LabelInverse, PosteriorOptions};

/// Coverage deviation for one candidate rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DropoutTrial {
    /// The dropout rate tried.
    pub rate: f64,
    /// Mean absolute deviation of coverage from nominal over parameters and levels.
    pub deviation: f64,
}

/// Tries each rate on held-out `images` with known `truths[galaxy][param]` (original units)
/// and returns the trials, best (lowest deviation) first. The model is left unchanged.
///
/// # Shapes
/// - images: `[B, C, S, S]`
pub fn search_dropout(
    model: &Gampen,
    images: Tensor<4>,
    truths: &[Vec<f64>],
    rates: &[f64],
    options: &PosteriorOptions,
    labels: &dyn LabelInverse,
) -> Result<Vec<DropoutTrial>, GampenError> {
    let mut trials = Vec::with_capacity(rates.len());
    for &rate in rates {
        if !(0.0..1.0).contains(&rate) {
            return Err(GampenError::Config(format!(
                "dropout rate {rate} is outside [0, 1)"
            )));
        }
        let mut m = model.clone();
        m.set_dropout(rate);
        let post = m.predict_posterior(images.clone(), options, labels)?;
        let report = coverage(&model.config().parameters, &post, truths);
        trials.push(DropoutTrial {
            rate,
            deviation: report.mean_abs_deviation(),
        });
    }
    trials.sort_by(|a, b| a.deviation.total_cmp(&b.deviation));
    Ok(trials)
}
