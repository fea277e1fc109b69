//! [`ExperimentFlags`]: a whole training run as `gampen train` takes it.

use std::path::PathBuf;

use burn::tensor::Device;
use gampen_data::paths::{check_io, is_occupied};
use gampen_data::prepare::DATASET_JSON;
use gampen_data::Softening;

use super::{LabelFlags, ModelFlags, StartFlags, Started, TrainFlags};
use crate::checkpoint;
use crate::error::GampenError;
use crate::train::{CalibrateOptions, Experiment, TRAIN_CONFIG_JSON};

/// Files and directories only a training run holds: an existing run directory with none of
/// them is not a run and is refused rather than written into.
const RUN_MARKERS: [&str; 5] = [
    TRAIN_CONFIG_JSON,
    DATASET_JSON,
    checkpoint::files::LAST,
    checkpoint::files::BEST,
    "checkpoints",
];

/// A training run: the data, what to learn, the architecture, where its weights start, how
/// to train, and whether to calibrate afterwards.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ExperimentFlags {
    /// Data directory (cutouts/, info.csv, splits/).
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: PathBuf,
    /// Split prefix: reads splits/SPLIT-train.csv and splits/SPLIT-devel.csv.
    #[cfg_attr(feature = "clap", arg(long, default_value = "balanced-dev"))]
    pub split: String,
    /// What to predict.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub labels: LabelFlags,
    /// Run directory (checkpoints/, best.json, last.json, metrics.jsonl, dataset.json,
    /// loss.png). An existing run is resumed unless --no-resume.
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: PathBuf,
    /// Softening b of the input normalisation asinh(x / b), in the cutouts' pixel units: a
    /// positive number (GaMPEN's: 1), or `noise` to fit it to the training split's sky noise,
    /// which keeps faint galaxies out of the linear regime (docs/accuracy.md). Saved in the
    /// checkpoints' preprocessing.json, so prediction normalises the same way [default: 1,
    /// or with --from the checkpoint's, since its network learned on that normalisation].
    #[cfg_attr(feature = "clap", arg(long, value_name = "B|noise"))]
    pub arsinh_softening: Option<Softening>,
    /// Random augmentation of the training images: `rotate` (GaMPEN's: flips and a
    /// bilinear rotation by any angle) or `dihedral` (flips and quarter turns, exact, so the
    /// images keep their noise; docs/accuracy.md). `--no-augment` turns both off.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = gampen_data::Augmentation::Rotate))]
    pub augment: gampen_data::Augmentation,
    /// Predict this flux label (a ln or log10 column, e.g. total_flux) as a correction to the
    /// cutout's pixel sum: the network learns what the sum misses or adds (light beyond the
    /// cutout, a neighbour's, noise) instead of the whole flux (docs/accuracy.md). Saved in
    /// the model's config.json, so prediction needs nothing else [default: none, or the
    /// --from checkpoint's].
    #[cfg_attr(feature = "clap", arg(long, value_name = "COLUMN"))]
    pub flux_anchor: Option<String>,
    /// The architecture.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub model: ModelFlags,
    /// Where the weights start.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub start: StartFlags,
    /// How to train.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub train: TrainFlags,
    /// After training, fit per-parameter interval factors on the devel split's Monte-Carlo
    /// dropout posteriors (the best model, the checkpoint's dropout rate) and save them as
    /// the best checkpoint's calibration.json, which `gampen predict` then applies by
    /// default. Refitted, to the same factors, when a finished run is resumed.
    #[cfg_attr(feature = "clap", arg(long))]
    pub calibrate: bool,
    /// Orientations the devel posteriors of --calibrate are sampled over (see `gampen
    /// predict --orientations`, which must then match).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = crate::posterior::Orientations::One))]
    pub calibration_orientations: crate::posterior::Orientations,
    /// Monte-Carlo dropout passes per devel galaxy for --calibrate (10 draws each).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = CalibrateOptions::new().passes, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub calibration_passes: usize,
}

impl ExperimentFlags {
    /// The library's description of the run, with progress lines when `progress`.
    pub fn experiment(&self, progress: bool) -> Result<Experiment, GampenError> {
        let model = self.model.config(self.labels.names());
        Ok(Experiment::new(&self.data, model)
            .with_split(&self.split)
            .with_transforms(self.labels.transforms.as_deref())?
            .with_scaling(self.labels.scaling)
            .with_softening(self.arsinh_softening.unwrap_or_default())
            .with_augmentation(self.augment.options())
            .with_train(self.train.config(progress))
            .with_flux_anchor(self.flux_anchor.clone())
            .with_calibrate(self.calibrate.then(|| {
                CalibrateOptions::new()
                    .with_passes(self.calibration_passes)
                    .with_orientations(self.calibration_orientations)
                    .with_seed(self.train.seed)
            })))
    }

    /// Refuses an `out` that is, holds or lies inside an input, and an existing non-empty
    /// `out` that is not a training run (an existing run is resumed, its normal use).
    pub fn check_run_dir(&self) -> Result<(), GampenError> {
        let mut inputs = vec![("--data", self.data.as_path())];
        inputs.extend(self.start.from.as_deref().map(|f| ("--from", f)));
        inputs.extend(
            self.start
                .init_backbone
                .as_deref()
                .map(|b| ("--init-backbone", b)),
        );
        check_io(&inputs, &[("--out", &self.out)])?;
        if is_occupied(&self.out) && !RUN_MARKERS.iter().any(|m| self.out.join(m).exists()) {
            return Err(GampenError::Flag(format!(
                "--out {} exists and is not a training run (no train_config.json, dataset.json \
                 or checkpoints/): choose a new or empty --out",
                self.out.display()
            )));
        }
        Ok(())
    }

    /// Whether `out` holds a run that training will resume.
    pub fn resuming(&self) -> bool {
        !self.train.no_resume && self.out.join(checkpoint::files::LAST).is_file()
    }

    /// The model `experiment` starts from on `device` ([`StartFlags::build`]). Without
    /// --arsinh-softening, a `--from` checkpoint's softening becomes the experiment's.
    pub fn start_model(
        &self,
        experiment: &mut Experiment,
        device: &Device,
    ) -> Result<Started, GampenError> {
        let resuming = self.resuming().then_some(self.out.as_path());
        let started = self
            .start
            .build(&self.model, &experiment.model, resuming, device)?;
        if let (None, Some(b)) = (self.arsinh_softening, started.softening) {
            experiment.dataset = experiment
                .dataset
                .clone()
                .with_softening(Softening::Value(b));
        }
        Ok(started)
    }
}
