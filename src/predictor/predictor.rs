//! [`Predictor`]: a trained model with everything needed to turn cutouts into posteriors.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use gampen_data::{Image, LabelTransform, Preprocessing};

use super::PredictOptions;
use crate::calibration::CalibrationScale;
use crate::checkpoint::{self, Checkpoint, PreprocessingSource};
use crate::error::GampenError;
use crate::posterior::default_max_rows;
use crate::posterior::PosteriorOptions;
use crate::{GalaxyPosterior, Gampen};

/// A checkpoint ready to predict: model, label transform, preprocessing, calibration and
/// [`PredictOptions`].
///
/// Outputs are reproducible for a seed as long as nothing else draws from the device's
/// random generator meanwhile: Burn keeps one per device per process, so two predictions
/// running at once in one process take turns on it.
///
/// ```no_run
/// use burn::tensor::Device;
/// use gampen::predictor::{PredictOptions, Predictor};
/// let predictor = Predictor::open("run".as_ref(), &Device::flex())?
///     .with_options(PredictOptions::new().with_passes(50))?;
/// let n = predictor.write_csv("sims".as_ref(), Some("balanced-dev-test"), "preds.csv".as_ref(), None, |_| {})?;
/// # Ok::<(), gampen::GampenError>(())
/// ```
#[derive(Debug)]
pub struct Predictor {
    checkpoint: Checkpoint,
    trained_dropout: f64,
    options: PredictOptions,
    device: Device,
}

impl Predictor {
    /// Opens a checkpoint directory, or a training run directory (its best checkpoint), on
    /// `device`, with the default options.
    pub fn open(path: &Path, device: &Device) -> Result<Self, GampenError> {
        Ok(Self::from_checkpoint(
            checkpoint::open(path, device)?,
            device,
        ))
    }

    /// A predictor for a loaded checkpoint whose model lives on `device`.
    pub fn from_checkpoint(checkpoint: Checkpoint, device: &Device) -> Self {
        Self {
            trained_dropout: checkpoint.model.config().dropout,
            checkpoint,
            options: PredictOptions::default(),
            device: device.clone(),
        }
    }

    /// With `options`, checked.
    pub fn with_options(mut self, options: PredictOptions) -> Result<Self, GampenError> {
        options.check()?;
        let rate = options.dropout.unwrap_or(self.trained_dropout);
        self.checkpoint.model.set_dropout(rate);
        self.options = options;
        Ok(self)
    }

    /// With `calibration` instead of the checkpoint's (`None`: none), checked against the
    /// model's parameters.
    pub fn with_calibration(
        mut self,
        calibration: Option<CalibrationScale>,
    ) -> Result<Self, GampenError> {
        if let Some(c) = &calibration {
            checkpoint::check_calibration(c, self.parameters()).map_err(GampenError::Config)?;
        }
        self.checkpoint.calibration = calibration;
        Ok(self)
    }

    /// The options.
    pub fn options(&self) -> &PredictOptions {
        &self.options
    }

    /// The model, with the dropout rate it samples with.
    pub fn model(&self) -> &Gampen {
        &self.checkpoint.model
    }

    /// The predicted parameters, in output order.
    pub fn parameters(&self) -> &[String] {
        &self.checkpoint.model.config().parameters
    }

    /// The label transform (`None`: predictions are in the network's units).
    pub fn labels(&self) -> Option<&LabelTransform> {
        self.checkpoint.labels.as_ref()
    }

    /// How cutouts become model input.
    pub fn preprocessing(&self) -> &Preprocessing {
        &self.checkpoint.preprocessing
    }

    /// Where the preprocessing came from.
    pub fn preprocessing_source(&self) -> &PreprocessingSource {
        &self.checkpoint.preprocessing_source
    }

    /// The calibration, applied when [`PredictOptions::calibrate`] is set.
    pub fn calibration(&self) -> Option<&CalibrationScale> {
        self.checkpoint.calibration.as_ref()
    }

    /// The checkpoint directory.
    pub fn dir(&self) -> &Path {
        &self.checkpoint.dir
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dropout rate the posteriors are sampled with, and whether it is the
    /// checkpoint's own.
    pub fn dropout(&self) -> (f64, bool) {
        (
            self.model().config().dropout,
            self.options.dropout.is_none(),
        )
    }

    /// Posteriors (original units, calibrated when asked) of a batch of prepared images
    /// whose first galaxy is row `first_row` of its catalog (which sets the batch's seed).
    ///
    /// # Shapes
    /// - images: `[B, channels, cutout_size, cutout_size]`, as [`Preprocessing::stack`] makes
    /// - result: `B` posteriors
    pub fn predict_batch(
        &self,
        images: Tensor<4>,
        first_row: usize,
    ) -> Result<Vec<GalaxyPosterior>, GampenError> {
        self.predict_batch_keeping(images, first_row, self.options.keep_samples)
    }

    /// [`Predictor::predict_batch`], keeping raw samples when `keep_samples`.
    pub(crate) fn predict_batch_keeping(
        &self,
        images: Tensor<4>,
        first_row: usize,
        keep_samples: bool,
    ) -> Result<Vec<GalaxyPosterior>, GampenError> {
        let o = &self.options;
        let options = PosteriorOptions::new()
            .with_passes(o.passes)
            .with_samples_per_pass(o.samples_per_pass)
            .with_keep_samples(keep_samples)
            .with_interval_method(o.intervals)
            .with_seed(Some(o.batch_seed(first_row)))
            .with_precision(o.precision)
            .with_orientations(o.orientations)
            .with_max_rows(o.max_rows.unwrap_or_else(|| default_max_rows(&self.device)));
        let inverse = self.labels();
        let mut posteriors = self.model().predict_posterior(images, &options, &inverse)?;
        if let Some(c) = self.calibration().filter(|_| o.calibrate) {
            if c.orientations != o.orientations {
                return Err(GampenError::Config(format!(
                    "the calibration was fitted on posteriors over --orientations {} but these \
                     are sampled over --orientations {}: use the same, or --no-calibration",
                    c.orientations, o.orientations
                )));
            }
            posteriors.iter_mut().for_each(|p| c.apply(p));
        }
        Ok(posteriors)
    }

    /// Posteriors of raw cutouts (as read from FITS, before preprocessing), one batch of
    /// [`PredictOptions::batch_size`] at a time: only one batch of images is held. Image `i`
    /// of the iterator counts as catalog row `i` for the seeds.
    pub fn predict_images<'a, I>(
        &'a self,
        images: I,
    ) -> impl Iterator<Item = Result<Vec<GalaxyPosterior>, GampenError>> + 'a
    where
        I: IntoIterator<Item = Image>,
        I::IntoIter: 'a,
    {
        let mut images = images.into_iter().enumerate().peekable();
        std::iter::from_fn(move || {
            let first = images.peek()?.0;
            let batch: Vec<(usize, Image)> =
                images.by_ref().take(self.options.batch_size).collect();
            Some(self.predict_raw(first, batch))
        })
    }

    /// Prepares raw images (named `image <i>` in errors) and predicts them.
    fn predict_raw(
        &self,
        first: usize,
        batch: Vec<(usize, Image)>,
    ) -> Result<Vec<GalaxyPosterior>, GampenError> {
        let prepared = batch
            .into_iter()
            .map(|(i, img)| {
                let name = PathBuf::from(format!("image {i}"));
                Ok(self.preprocessing().prepare(img, &name)?.0)
            })
            .collect::<Result<Vec<_>, GampenError>>()?;
        let tensor = self.preprocessing().stack(&prepared, &self.device);
        self.predict_batch(tensor, first)
    }
}
