//! Monte-Carlo-dropout posterior inference.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::labels::LabelInverse;
use super::orientations::Orientations;
use super::summary::{IntervalMethod, MarginalSummary};
use crate::error::GampenError;
use crate::host::to_f32_vec;
use crate::linalg::mean_cov;
use crate::model::{add_offsets, Gampen};
use crate::precision::{to_f32, Precision};

/// The default of [`PosteriorOptions::max_rows`] for `device`: 256 rows keep a CPU's
/// activations near its caches; a GPU needs thousands of rows in flight to fill its cores.
pub fn default_max_rows(device: &Device) -> usize {
    if gampen_backbone::is_cpu(device) {
        256
    } else {
        4096
    }
}

/// Options of [`Gampen::predict_posterior`].
#[derive(Config, Debug)]
pub struct PosteriorOptions {
    /// Monte-Carlo dropout passes `T` per galaxy (GaMPEN: 500 for the published catalogues).
    #[config(default = 100)]
    pub passes: usize,
    /// Draws from each pass's predicted multivariate normal (the aleatoric part).
    #[config(default = 10)]
    pub samples_per_pass: usize,
    /// Keep the raw samples (in original units) in the result.
    #[config(default = false)]
    pub keep_samples: bool,
    /// Seed of the device RNG (dropout masks and normal draws), set once at the start of the
    /// call; `None` leaves it alone. Calls with the same seed reuse the same masks: when
    /// predicting a catalogue batch by batch, pass a different seed per batch.
    #[config(default = "Some(0)")]
    pub seed: Option<u64>,
    /// Most rows (galaxies x passes) sent through the stochastic network at once; bounds the
    /// activation memory whatever `T` is ([`default_max_rows`] picks one per device).
    #[config(default = 256)]
    pub max_rows: usize,
    /// How each marginal's mode and intervals are defined: equal-tailed (the default) or
    /// GaMPEN's mode-centred KDE windows, which cost `O(1000 T k)` per parameter and galaxy.
    #[config(default = "IntervalMethod::EqualTailed")]
    pub interval_method: IntervalMethod,
    /// The network's arithmetic: f32, or f16/bf16 where the device supports it (the
    /// likelihood and the draws stay f32; see [`crate::precision`]).
    #[config(default = "Precision::F32")]
    pub precision: Precision,
    /// Which orientations of each cutout the passes see: [`Orientations::Dihedral`] spreads
    /// them over the eight flips and quarter turns (test-time augmentation, at no extra cost
    /// beyond one deterministic prefix per orientation).
    #[config(default = "Orientations::One")]
    pub orientations: Orientations,
}

/// The posterior of one galaxy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GalaxyPosterior {
    /// One summary per parameter, in original units.
    pub marginals: Vec<MarginalSummary>,
    /// Sample covariance of the joint posterior in original units, `n x n` row-major.
    pub covariance: Vec<f64>,
    /// Raw samples `[param][draw]` in original units, when requested.
    pub samples: Option<Vec<Vec<f64>>>,
}

impl Gampen {
    /// Posterior of every galaxy in `images` by Monte-Carlo dropout: `T` stochastic passes,
    /// each sampled `samples_per_pass` times from its predicted normal, mapped to original
    /// units through `labels`, then summarised.
    ///
    /// The spatial transformer and the backbone up to its first dropout run once per batch,
    /// not `T` times; the `T` passes are batched together (at most `max_rows` rows at a time).
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]`, arsinh-normalised like the training data
    /// - result: `B` posteriors, each with `n` marginals
    pub fn predict_posterior(
        &self,
        images: Tensor<4>,
        options: &PosteriorOptions,
        labels: &dyn LabelInverse,
    ) -> Result<Vec<GalaxyPosterior>, GampenError> {
        let per_galaxy = self.posterior_samples(images, options)?;
        Ok(per_galaxy
            .into_iter()
            .map(|mut by_param| {
                for (p, draws) in by_param.iter_mut().enumerate() {
                    draws
                        .iter_mut()
                        .for_each(|v| *v = labels.to_original(p, *v));
                }
                let marginals = by_param
                    .iter()
                    .map(|d| {
                        MarginalSummary::from_samples_with(&mut d.clone(), options.interval_method)
                    })
                    .collect();
                let (_, covariance) = mean_cov(&by_param);
                GalaxyPosterior {
                    marginals,
                    covariance,
                    samples: options.keep_samples.then_some(by_param),
                }
            })
            .collect())
    }

    /// Raw posterior samples in the scaled label space, `[galaxy][param][draw]` with
    /// `T * samples_per_pass` draws each.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]`
    pub fn posterior_samples(
        &self,
        images: Tensor<4>,
        options: &PosteriorOptions,
    ) -> Result<Vec<Vec<Vec<f64>>>, GampenError> {
        self.check_input(images.dims())?;
        if options.passes == 0 || options.samples_per_pass == 0 {
            return Err(GampenError::Config(
                "`passes` and `samples_per_pass` must be at least 1".into(),
            ));
        }
        let device = images.device();
        options.precision.check(&device)?;
        if let Some(seed) = options.seed {
            device.seed(seed);
        }
        // Inference never needs a graph; MC dropout is switched on explicitly instead.
        let mut model = self.valid();
        model.set_mc_dropout(true);
        let model = options.precision.cast_module(model);
        // The anchor reads the pixel sum from the f32 cutouts, before any cast to half.
        let offsets = model.anchor_offsets(&images.clone().inner());
        let images = options.precision.cast(images.inner());
        let [b, ..] = images.dims();
        let n = self.config().num_params();
        let loss = model.loss();

        let mut out = Vec::with_capacity(b);
        // Galaxies in chunks, then passes in chunks: at most `max_rows` rows go through the
        // stochastic network at once, however many galaxies or passes are asked for.
        let per_chunk = options.max_rows.clamp(1, b.max(1));
        for start in (0..b).step_by(per_chunk) {
            let g = per_chunk.min(b - start);
            let chunk = images.clone().narrow(0, start, g);
            let offsets = offsets.as_ref().map(|o| o.clone().narrow(0, start, g));
            out.extend(chunk_samples(&model, &loss, chunk, offsets, n, options)?);
        }
        Ok(out)
    }
}

/// Samples of one chunk of `b` galaxies: per orientation, the deterministic prefix once,
/// then that orientation's share of the passes, their outputs shifted by the chunk's anchor
/// `offsets` (`[b, K]`; a pixel sum is the same in every orientation).
fn chunk_samples(
    model: &Gampen,
    loss: &gampen_loss::GaussianLoss,
    images: Tensor<4>,
    offsets: Option<Tensor<2>>,
    n: usize,
    options: &PosteriorOptions,
) -> Result<Vec<Vec<Vec<f64>>>, GampenError> {
    let b = images.dims()[0];
    let capacity = options.passes * options.samples_per_pass;
    let mut out = vec![vec![Vec::with_capacity(capacity); n]; b];
    let orientations = options.orientations;
    let sampler = Passes {
        model,
        loss,
        offsets: offsets.as_ref(),
        options,
    };
    for o in 0..orientations.count() {
        let passes = orientations.passes(o, options.passes);
        if passes > 0 {
            let stem = model.deterministic(orientations.apply(images.clone(), o));
            sampler.run(stem, passes, &mut out)?;
        }
    }
    Ok(out)
}

/// `x` stacked `t` times along the rows (no copy for `t = 1`).
fn repeat_rows<const D: usize>(x: &Tensor<D>, t: usize) -> Tensor<D> {
    if t == 1 {
        x.clone()
    } else {
        x.clone().repeat_dim(0, t)
    }
}

/// The stochastic passes over one deterministic prefix.
struct Passes<'a> {
    model: &'a Gampen,
    loss: &'a gampen_loss::GaussianLoss,
    offsets: Option<&'a Tensor<2>>,
    options: &'a PosteriorOptions,
}

impl Passes<'_> {
    /// Runs `passes` passes over `stem` (`[b, ...]`), at most `max_rows` rows at a time, and
    /// appends every draw to `out[galaxy][parameter]`.
    fn run(
        &self,
        stem: Tensor<4>,
        passes: usize,
        out: &mut [Vec<Vec<f64>>],
    ) -> Result<(), GampenError> {
        let b = stem.dims()[0];
        let k = self.options.samples_per_pass;
        let chunk = (self.options.max_rows / b).clamp(1, passes);
        let mut done = 0;
        while done < passes {
            let t = chunk.min(passes - done);
            // Rows are pass-major: row = pass * B + galaxy.
            let outputs = to_f32(self.model.stochastic(repeat_rows(&stem, t)));
            let outputs = add_offsets(outputs, self.offsets.map(|o| repeat_rows(o, t)));
            let draws = self.loss.gaussian(outputs)?.sample(k); // [t*B, k, n]
            let values = to_f32_vec(draws)?;
            for (row, per_row) in values.chunks(k * out[0].len()).enumerate() {
                let galaxy = &mut out[row % b];
                for draw in per_row.chunks(galaxy.len()) {
                    for (dst, v) in galaxy.iter_mut().zip(draw) {
                        dst.push(*v as f64);
                    }
                }
            }
            done += t;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GampenConfig;
    use burn::tensor::Distribution;

    /// With dropout off, each orientation's block of draws is centred on the network's
    /// mean for that orientation of the cutout, and the blocks come in orientation order.
    #[test]
    fn dihedral_passes_sample_each_orientation_in_turn() {
        let device = Device::flex();
        device.seed(3);
        let config = GampenConfig::gampen_small(vec!["a".into(), "b".into()])
            .with_stn(None)
            .with_dropout(0.0);
        let mut model = config.init(&device).unwrap();
        // Untrained, the means hardly depend on the image: amplify the mean columns' weights
        // (the covariance columns keep theirs) so the orientations tell apart.
        if let crate::Backbone::Vgg(vgg) = &mut model.backbone {
            let k = config.num_outputs();
            let gain: Vec<f32> = (0..k).map(|c| if c < 2 { 3000.0 } else { 1.0 }).collect();
            let gain = Tensor::<2>::from_data(burn::tensor::TensorData::new(gain, [1, k]), &device);
            vgg.head.weight = vgg.head.weight.clone().map(|w| w.mul(gain));
        }
        // A gradient from left to right over noise: no flip or turn leaves it unchanged.
        let ramp: Vec<f32> = (0..64 * 64).map(|i| (i % 64) as f32 / 16.0).collect();
        let ramp =
            Tensor::<4>::from_data(burn::tensor::TensorData::new(ramp, [1, 1, 64, 64]), &device);
        let images =
            Tensor::<4>::random([1, 1, 64, 64], Distribution::Uniform(0.0, 1.0), &device) + ramp;
        let per_pass = 20_000;
        let options = PosteriorOptions::new()
            .with_passes(8)
            .with_samples_per_pass(per_pass)
            .with_orientations(Orientations::Dihedral);
        let samples = model.posterior_samples(images.clone(), &options).unwrap();
        let draws = &samples[0][0];
        assert_eq!(draws.len(), 8 * per_pass);
        let mut means = Vec::new();
        for o in 0..8 {
            let x = Orientations::Dihedral.apply(images.clone(), o);
            let m = gampen_testing::to_vec(model.valid().forward(x.inner()))[0] as f64;
            let block = &draws[o * per_pass..(o + 1) * per_pass];
            let mean = block.iter().sum::<f64>() / per_pass as f64;
            let sd =
                (block.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / per_pass as f64).sqrt();
            let se = sd / (per_pass as f64).sqrt();
            assert!(
                (mean - m).abs() < 5.0 * se,
                "orientation {o}: {mean} vs {m} (se {se})"
            );
            means.push((m, se));
        }
        // The orientations differ by far more than the sampling error, so the test can tell
        // them apart.
        let spread = means
            .iter()
            .map(|(m, _)| (m - means[0].0).abs())
            .fold(0.0, f64::max);
        assert!(
            spread > 20.0 * means[0].1,
            "orientations too alike: {means:?}"
        );
    }
}
