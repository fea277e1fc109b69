//! A flux label predicted as a correction to the cutout's own photometry.
//!
//! A convolutional network reads brightness badly: after the arsinh normalisation a galaxy's
//! flux is an offset of the log-like pixel values, and recovering `ln(sum of pixels)` from
//! them through ReLUs and max-pooling is an approximation the network never makes exactly.
//! On the simulator's test split the plain pixel sum of the cutout has a median relative
//! error of 1.9 % for isolated galaxies (2.8 % with neighbours), against 4.6 % for the
//! network's flux (docs/accuracy.md). With a [`FluxAnchor`] the model adds `ln S` (the
//! cutout's pixel sum, in the label's scaled units) to the network's output for the flux,
//! so the network learns only what the sum gets wrong: the light outside the cutout, a
//! neighbour's light inside it, the noise. The anchor is part of the model's configuration,
//! so every prediction path (forward pass, posterior, calibration, import) sees the same
//! outputs, and it is computed from the model's own input, so a checkpoint needs nothing
//! else at prediction time.

use burn::tensor::{Device, Tensor, TensorData};
use gampen_data::transform::label::{mean_and_population_std, ColumnTransform};
use gampen_data::{GalaxyDataset, LabelTransform, Preprocessing, Transform};
use serde::{Deserialize, Serialize};

use crate::error::GampenError;
use crate::host::to_f64_vec;
use crate::precision::to_f32;

/// How the model turns its input cutouts into `ln(flux)` for one parameter, in that
/// parameter's scaled label units: `(k * ln_soft(S) + shift - offset) / scale`, where `S`
/// is the cutout's pixel sum in the original pixel units (the arsinh normalisation undone,
/// the mean over channels), `ln_soft(S) = ln f + asinh(S / 2f)` equals `ln S` for `S >> f`
/// and stays finite for a sum at or below the noise, and `k` is 1 for a `ln` label and
/// `1 / ln 10` for a `log10` one.
///
/// [`FluxAnchor::fit`] builds it on a training set, and with it the label's scaling: the
/// label is scaled by the spread of what the sum gets wrong, not of the flux itself, so
/// the network's output for it is a standardised correction. Scaled by the flux's own
/// spread, that correction is a tenth of a unit, weighs nothing in the loss beside the
/// other labels, and is left unlearned: on the bench (docs/accuracy.md) every flux came out
/// 5 % low and neighbours stayed in the sum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FluxAnchor {
    /// Index of the anchored parameter in the model's parameters.
    pub parameter: usize,
    /// The softening `b` of the input's `asinh(x / b)`; `None` when the pixels are not
    /// arsinh-normalised.
    pub arsinh_softening: Option<f64>,
    /// `f` of the soft logarithm, in pixel units: the arsinh softening times the cutout
    /// side, which is the noise of the sum when the softening is the sky noise
    /// (`--arsinh-softening noise`).
    pub floor: f64,
    /// `k`: 1 for a natural-log label, `1 / ln 10` for a decimal one.
    pub log_factor: f64,
    /// The training set's mean of `label - k * ln_soft(S)`, in the label's (log) units.
    pub shift: f64,
    /// The label scaling's offset (`z = (y - offset) / scale`).
    pub offset: f64,
    /// The label scaling's scale.
    pub scale: f64,
}

impl FluxAnchor {
    /// The anchor of parameter `parameter`, whose label transform is `column` (`ln` or
    /// `log10`: a flux label) and whose cutouts are read with `preprocessing`, with no
    /// shift and `column`'s scaling.
    pub fn new(
        parameter: usize,
        column: &ColumnTransform,
        preprocessing: &Preprocessing,
    ) -> Result<Self, GampenError> {
        let log_factor = Self::log_factor(&column.column, column.transform)?;
        let b = preprocessing.arsinh_softening;
        let anchor = Self {
            parameter,
            arsinh_softening: preprocessing.arsinh.then_some(b),
            floor: if preprocessing.arsinh { b } else { 1.0 } * preprocessing.cutout_size as f64,
            log_factor,
            shift: 0.0,
            offset: column.scaling.offset,
            scale: column.scaling.scale,
        };
        anchor.validate(parameter + 1)?;
        Ok(anchor)
    }

    /// `k` for a label `column` with `transform`: 1 for `ln`, `1 / ln 10` for `log10`;
    /// any other transform is not a logarithm of a flux and is refused.
    pub fn log_factor(column: &str, transform: Transform) -> Result<f64, GampenError> {
        match transform {
            Transform::Ln => Ok(1.0),
            Transform::Log10 => Ok(std::f64::consts::LOG10_E),
            other => Err(GampenError::Config(format!(
                "flux anchor {column:?}: its label transform is {other:?}, not ln or log10"
            ))),
        }
    }

    /// Refuses a parameter index outside `0..num_params` and a non-positive or non-finite
    /// softening, floor, factor or scale (a config.json is user input).
    pub fn validate(&self, num_params: usize) -> Result<(), GampenError> {
        let bad = |msg: String| Err(GampenError::Config(format!("flux_anchor: {msg}")));
        if self.parameter >= num_params {
            return bad(format!(
                "parameter {} is not among the model's {num_params} parameters",
                self.parameter
            ));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        for (what, v) in [
            ("arsinh_softening", self.arsinh_softening.unwrap_or(1.0)),
            ("floor", self.floor),
            ("log_factor", self.log_factor),
            ("scale", self.scale),
        ] {
            if !positive(v) {
                return bad(format!("{what} = {v} must be a positive number"));
            }
        }
        for (what, v) in [("shift", self.shift), ("offset", self.offset)] {
            if !v.is_finite() {
                return bad(format!("{what} = {v} must be finite"));
            }
        }
        Ok(())
    }

    /// The anchored parameter's value from each cutout's pixel sum, in scaled label units.
    /// Computed in f32 whatever the input's precision.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` (as the model sees them) -> `[B, 1]`
    pub fn values(&self, images: Tensor<4>) -> Tensor<2> {
        let [b, c, h, w] = images.dims();
        let x = to_f32(images);
        let raw = match self.arsinh_softening {
            Some(soft) => x.sinh().mul_scalar(soft),
            None => x,
        };
        let sum = raw.reshape([b, c * h * w]).sum_dim(1).div_scalar(c as f64);
        let f = self.floor;
        let ln_soft = sum.div_scalar(2.0 * f).asinh().add_scalar(f.ln());
        ln_soft
            .mul_scalar(self.log_factor / self.scale)
            .add_scalar((self.shift - self.offset) / self.scale)
    }

    /// The anchor of parameter `parameter` fitted on `train` (labelled, read with
    /// `preprocessing`), and the label transform with that parameter's scaling refitted:
    /// `shift` and the new scale are the mean and population standard deviation of
    /// `label - k * ln_soft(S)` over the training galaxies (the offset stays). Apply the
    /// returned transform to every split the model sees.
    pub fn fit(
        parameter: usize,
        labels: &LabelTransform,
        preprocessing: &Preprocessing,
        train: &GalaxyDataset,
        device: &Device,
    ) -> Result<(Self, LabelTransform), GampenError> {
        let column = labels.columns.get(parameter).ok_or_else(|| {
            GampenError::Config(format!("flux anchor: no label column {parameter}"))
        })?;
        let mut unit = Self::new(parameter, column, preprocessing)?;
        (unit.offset, unit.scale) = (0.0, 1.0);
        let logs = unit.host_values(train, device)?;
        let residuals: Vec<f64> = train
            .catalog()
            .labels
            .iter()
            .zip(&logs)
            .map(|(raw, a)| Ok(column.transform.forward(raw[parameter], &column.column)? - a))
            .collect::<Result<_, gampen_data::DataError>>()?;
        let (shift, spread) = mean_and_population_std(&residuals);
        if !(spread.is_finite() && spread > 0.0) {
            return Err(GampenError::Config(format!(
                "flux anchor: the training labels of {:?} minus the pixel sums have no spread \
                 ({spread}); the anchor needs a few galaxies with noise",
                column.column
            )));
        }
        let mut refit = labels.clone();
        refit.columns[parameter].scaling.scale = spread;
        let anchor = Self {
            shift,
            offset: column.scaling.offset,
            scale: spread,
            ..unit
        };
        anchor.validate(labels.columns.len())?;
        Ok((anchor, refit))
    }

    /// [`values`](Self::values) of every galaxy of `data`, on the host, in batches.
    fn host_values(&self, data: &GalaxyDataset, device: &Device) -> Result<Vec<f64>, GampenError> {
        const BATCH: usize = 256;
        let mut out = Vec::with_capacity(data.len());
        let all: Vec<usize> = (0..data.len()).collect();
        for chunk in all.chunks(BATCH) {
            let images = data.batch(chunk, None, device).images;
            out.extend(to_f64_vec(self.values(images))?);
        }
        Ok(out)
    }

    /// What the model adds to its `k` raw outputs: the anchor's values in the anchored
    /// parameter's mean column, zero elsewhere (f32).
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> `[B, k]`
    pub fn offsets(&self, images: Tensor<4>, k: usize) -> Tensor<2> {
        let device = images.device();
        let values = self.values(images);
        let mut mask = vec![0f32; k];
        mask[self.parameter] = 1.0;
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [1, k]), &device);
        values.mul(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gampen_data::transform::label::Scaling;
    use gampen_testing::to_vec as host;

    fn column(transform: Transform) -> ColumnTransform {
        ColumnTransform {
            column: "total_flux".into(),
            transform,
            scaling: Scaling {
                offset: 6.0,
                scale: 1.5,
            },
        }
    }

    /// `[B, 1, 8, 8]` arsinh-normalised cutouts whose raw pixels sum to `sums`.
    fn cutouts(sums: &[f64], b: f64, device: &Device) -> Tensor<4> {
        let px: Vec<f32> = sums
            .iter()
            .flat_map(|s| {
                // One bright pixel, the rest spread evenly: the sum, not the shape, matters.
                let mut raw = vec![s * 0.5 / 63.0; 64];
                raw[27] = s * 0.5;
                raw.into_iter().map(move |v| (v / b).asinh() as f32)
            })
            .collect();
        Tensor::from_data(TensorData::new(px, [sums.len(), 1, 8, 8]), device)
    }

    #[test]
    fn the_anchor_is_the_scaled_log_of_the_pixel_sum() {
        let device = Device::flex();
        let mut prep = Preprocessing::new(8, 1);
        prep.arsinh_softening = 0.05;
        let anchor = FluxAnchor::new(2, &column(Transform::Ln), &prep).unwrap();
        assert!((anchor.floor - 0.4).abs() < 1e-12);
        let sums = [1500.0, 20.0, 0.0, -3.0];
        let got = host(anchor.offsets(cutouts(&sums, 0.05, &device), 4));
        let f: f64 = 0.4;
        for (g, s) in sums.iter().enumerate() {
            let ln_soft = f.ln() + (s / (2.0 * f)).asinh();
            let want = (ln_soft - 6.0) / 1.5;
            assert!((got[g * 4 + 2] as f64 - want).abs() < 1e-4, "{s}: {got:?}");
            assert_eq!([got[g * 4], got[g * 4 + 1], got[g * 4 + 3]], [0.0; 3]);
        }
        // Well above the floor the soft logarithm is the logarithm.
        assert!(((got[2] as f64) * 1.5 + 6.0 - 1500f64.ln()).abs() < 1e-4);
        // log10 labels get the decimal logarithm.
        let dec = FluxAnchor::new(0, &column(Transform::Log10), &prep).unwrap();
        let v = host(dec.values(cutouts(&[1500.0], 0.05, &device)));
        assert!(((v[0] as f64) * 1.5 + 6.0 - 1500f64.log10()).abs() < 1e-4);
    }

    #[test]
    fn unscaled_pixels_and_half_precision_inputs() {
        let device = Device::flex();
        let mut prep = Preprocessing::new(8, 1);
        prep.arsinh = false;
        let anchor = FluxAnchor::new(0, &column(Transform::Ln), &prep).unwrap();
        assert_eq!((anchor.arsinh_softening, anchor.floor), (None, 8.0));
        let raw = Tensor::<4>::ones([1, 1, 8, 8], &device).mul_scalar(10.0);
        let v = host(anchor.values(raw.clone()));
        let want = (8f64.ln() + (640.0f64 / 16.0).asinh() - 6.0) / 1.5;
        assert!((v[0] as f64 - want).abs() < 1e-5);
        let half = raw.cast(burn::tensor::FloatDType::BF16);
        let h = host(anchor.values(half));
        assert!((h[0] - v[0]).abs() < 1e-5);
    }

    #[test]
    fn anchors_refuse_what_they_cannot_read() {
        let prep = Preprocessing::new(8, 1);
        let err = FluxAnchor::new(0, &column(Transform::logit()), &prep).unwrap_err();
        assert!(err.to_string().contains("total_flux"), "{err}");
        let mut anchor = FluxAnchor::new(1, &column(Transform::Ln), &prep).unwrap();
        assert!(anchor
            .validate(1)
            .unwrap_err()
            .to_string()
            .contains("parameter 1"));
        anchor.scale = 0.0;
        assert!(anchor
            .validate(2)
            .unwrap_err()
            .to_string()
            .contains("scale"));
        anchor.scale = 1.0;
        anchor.floor = f64::NAN;
        assert!(anchor
            .validate(2)
            .unwrap_err()
            .to_string()
            .contains("floor"));
    }
}
