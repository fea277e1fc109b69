//! A whole training run from a data directory: load the training and devel splits, fit the
//! label transform on the training split, record how the data were read, train.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen_data::prepare::DATASET_JSON;
use gampen_data::stream::catalog_path;
use gampen_data::transform::label::label_columns;
use gampen_data::{
    DatasetOptions, GalaxyDataset, LabelTransform, Preprocessing, ScalingKind, Softening, Transform,
};

use super::calibrate::{calibrate_checkpoint, CalibrateOptions, CalibrationOutcome};
use super::config::TrainConfig;
use super::observer::TrainObserver;
use super::run_dir::RunDir;
use super::trainer::{TrainReport, Trainer};
use crate::anchor::FluxAnchor;
use crate::atomic::write_json;
use crate::config::GampenConfig;
use crate::error::GampenError;
use crate::model::Gampen;

/// The options of the training configuration, saved in the run directory.
pub const TRAIN_CONFIG_JSON: &str = "train_config.json";

/// A training run from a data directory (`cutouts/`, `info.csv`, `splits/`).
///
/// [`run`](Self::run) reads `splits/<split>-train.csv` and `splits/<split>-devel.csv`, fits
/// the label transform on the training split, writes `dataset.json` (how the cutouts and
/// labels were read) and `train_config.json` into the run directory, and trains there.
///
/// ```no_run
/// use gampen::train::{EpochLines, Experiment, TrainConfig};
/// use gampen::GampenConfig;
/// # fn main() -> Result<(), gampen::GampenError> {
/// let model = GampenConfig::gampen_small(vec!["bt".into(), "r_e".into()]);
/// let experiment = Experiment::new("sims", model)
///     .with_train(TrainConfig::new().with_epochs(3));
/// let device = burn::tensor::Device::flex();
/// let outcome = experiment.run("run".as_ref(), &device, &mut EpochLines)?;
/// println!("best epoch {}", outcome.report.best_epoch);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The data directory.
    pub data: PathBuf,
    /// Split prefix (GaMPEN's `balanced-dev` by default).
    pub split: String,
    /// How cutouts and labels are read: the label columns with their transforms (in the
    /// model's parameter order), the scaling, and the reading options. The split, the
    /// cutout size and the channels are the experiment's and the model's.
    pub dataset: DatasetOptions,
    /// The model to build and train.
    pub model: GampenConfig,
    /// How to train it.
    pub train: TrainConfig,
    /// With options: after training, fit the post-hoc calibration on the devel split with
    /// the best model and save it into the best checkpoint ([`calibrate_checkpoint`]).
    pub calibrate: Option<CalibrateOptions>,
    /// The label to predict as a correction to the cutout's pixel sum ([`FluxAnchor`]);
    /// with `None`, a model that already has an anchor (resumed, or from a checkpoint)
    /// keeps it, fitted again to this run's labels.
    pub flux_anchor: Option<String>,
}

/// What an [`Experiment`] produced.
pub struct ExperimentOutcome {
    /// The best epoch's model.
    pub model: Gampen,
    /// The label transform saved with the checkpoints.
    pub labels: Option<LabelTransform>,
    /// The trainer's report.
    pub report: TrainReport,
    /// Training and devel set sizes.
    pub sizes: [usize; 2],
    /// The calibration step's factors and devel coverage, when it ran.
    pub calibration: Option<CalibrationOutcome>,
}

impl Experiment {
    /// Trains `model` on the `balanced-dev` split of `data`, each parameter with its default
    /// transform ([`Transform::default_for`]), standard scaling, [`TrainConfig::new`].
    pub fn new(data: impl Into<PathBuf>, model: GampenConfig) -> Self {
        let dataset = DatasetOptions {
            labels: model
                .parameters
                .iter()
                .map(|p| (p.clone(), Transform::default_for(p)))
                .collect(),
            scaling: ScalingKind::Standard,
            ..DatasetOptions::default()
        };
        Self {
            data: data.into(),
            split: "balanced-dev".into(),
            dataset,
            model,
            train: TrainConfig::new(),
            calibrate: None,
            flux_anchor: None,
        }
    }

    /// Predicts the label `column` (a `ln` or `log10` flux) as a correction to the cutout's
    /// pixel sum ([`FluxAnchor`]).
    pub fn with_flux_anchor(mut self, column: Option<String>) -> Self {
        self.flux_anchor = column;
        self
    }

    /// Reads `splits/<split>-train.csv` and `splits/<split>-devel.csv`.
    pub fn with_split(mut self, split: impl Into<String>) -> Self {
        self.split = split.into();
        self
    }

    /// One transform per model parameter, in order (`None`: the defaults).
    pub fn with_transforms(
        mut self,
        transforms: Option<&[Transform]>,
    ) -> Result<Self, GampenError> {
        self.dataset.labels = label_columns(&self.model.parameters, transforms)?;
        Ok(self)
    }

    /// The label scaling fitted on the training split.
    pub fn with_scaling(mut self, scaling: ScalingKind) -> Self {
        self.dataset.scaling = scaling;
        self
    }

    /// The arsinh softening of the cutouts: a value, or fitted to the training split's sky
    /// noise; saved in the checkpoints' preprocessing either way.
    pub fn with_softening(mut self, softening: Softening) -> Self {
        self.dataset = self.dataset.with_softening(softening);
        self
    }

    /// The training images' random augmentations (GaMPEN's by default; only drawn when the
    /// training config's `augment` is on).
    pub fn with_augmentation(mut self, augment: gampen_data::AugmentOptions) -> Self {
        self.dataset.augment = augment;
        self
    }

    /// How to train.
    pub fn with_train(mut self, train: TrainConfig) -> Self {
        self.train = train;
        self
    }

    /// Whether (`Some`: with these options) to calibrate on devel after training.
    pub fn with_calibrate(mut self, calibrate: Option<CalibrateOptions>) -> Self {
        self.calibrate = calibrate;
        self
    }

    /// Checks what can be checked before anything is read or built: the labels, the training
    /// options, and that both split catalogs exist.
    pub fn check(&self) -> Result<(), GampenError> {
        let names: Vec<String> = self.dataset.labels.iter().map(|(n, _)| n.clone()).collect();
        label_columns(&names, None)?;
        self.train.validate()?;
        if let Some(c) = &self.calibrate {
            c.predict_options().check()?;
        }
        if let Some(name) = &self.flux_anchor {
            match self.dataset.labels.iter().find(|(n, _)| n == name) {
                Some((_, t)) => {
                    FluxAnchor::log_factor(name, *t)?;
                }
                None => {
                    return Err(GampenError::Config(format!(
                        "flux anchor {name:?} is not among the labels {names:?}"
                    )))
                }
            }
        }
        for part in ["train", "devel"] {
            catalog_path(&self.data, Some(&format!("{}-{part}", self.split)))?;
        }
        Ok(())
    }

    /// Builds the model (the device seeded with the training seed first, so the initial
    /// weights are reproducible) and trains it in `run_dir`.
    pub fn run(
        &self,
        run_dir: &Path,
        device: &Device,
        observer: &mut dyn TrainObserver,
    ) -> Result<ExperimentOutcome, GampenError> {
        device.seed(self.train.seed);
        let model = self.model.init(device)?;
        self.run_model(model, None, run_dir, device, observer)
    }

    /// Trains `model` (built elsewhere: from a checkpoint, or with imported weights) in
    /// `run_dir`; its own configuration, not [`model`](Self::model), sets the cutout size
    /// and channels, and its parameters must be the label columns. `labels` reuses a label
    /// transform fitted before instead of fitting one on the training split.
    pub fn run_model(
        &self,
        model: Gampen,
        labels: Option<LabelTransform>,
        run_dir: &Path,
        device: &Device,
        observer: &mut dyn TrainObserver,
    ) -> Result<ExperimentOutcome, GampenError> {
        self.check()?;
        let options = self.options_for(&model, labels)?;
        observer.on_load(&self.data, &self.split);
        let mut train_set = self.load("train", &options, options.label_transform.clone())?;
        let (model, labels) = self.anchored(model, &mut train_set, device)?;
        // The training split's fitted values (the arsinh softening) serve devel and the
        // saved preprocessing.
        let options = train_set.options().clone();
        let devel_set = self.load("devel", &options, labels.clone())?;
        let sizes = [train_set.len(), devel_set.len()];
        for (part, size) in ["train", "devel"].iter().zip(sizes) {
            if size == 0 {
                return Err(GampenError::Config(format!(
                    "split {}-{part} of {} is empty: use a larger data set or other split \
                     fractions",
                    self.split,
                    self.data.display()
                )));
            }
        }
        std::fs::create_dir_all(run_dir).map_err(|e| GampenError::io(run_dir, e))?;
        let saved = DatasetOptions {
            split: None,
            label_transform: None,
            ..options
        };
        write_json(&run_dir.join(DATASET_JSON), &saved)?;
        write_json(&run_dir.join(TRAIN_CONFIG_JSON), &self.train)?;
        observer.on_start(&model, sizes, self.train.epochs);
        let trainer = Trainer::new(self.train.clone())
            .with_labels(labels.clone())
            .with_preprocessing(Some(Preprocessing::from_options(&saved)));
        let run = RunDir::open(run_dir)?;
        let (model, report) = trainer.fit(model, &train_set, &devel_set, &run, device, observer)?;
        // Fitted afresh on every run, resumed or not: the same seed refits the same factors.
        let calibration = match &self.calibrate {
            Some(options) => Some(calibrate_checkpoint(
                &report.best_checkpoint,
                &self.data,
                &format!("{}-devel", self.split),
                options,
                device,
            )?),
            None => None,
        };
        Ok(ExperimentOutcome {
            model,
            labels,
            report,
            sizes,
            calibration,
        })
    }

    /// `model` with its flux anchor fitted on `train` ([`FluxAnchor::fit`]), and the label
    /// transform with the anchored label's scaling refitted (applied to `train` here): the
    /// experiment's anchor, or the one the model came with (a resumed run or a checkpoint
    /// fitted on other data). Without either, both come back unchanged.
    fn anchored(
        &self,
        mut model: Gampen,
        train: &mut GalaxyDataset,
        device: &Device,
    ) -> Result<(Gampen, Option<LabelTransform>), GampenError> {
        let labels = train.label_transform().cloned();
        let config = model.config();
        let name = match (&self.flux_anchor, &config.flux_anchor) {
            (Some(name), _) => name.clone(),
            (None, Some(a)) => config.parameters[a.parameter].clone(),
            (None, None) => return Ok((model, labels)),
        };
        let parameter = config.parameters.iter().position(|p| *p == name);
        let (Some(parameter), Some(labels)) = (parameter, labels) else {
            return Err(GampenError::Config(format!(
                "flux anchor {name:?}: the model predicts no such labelled parameter"
            )));
        };
        let preprocessing = Preprocessing::from_options(train.options());
        let (anchor, labels) = FluxAnchor::fit(parameter, &labels, &preprocessing, train, device)?;
        train.set_label_transform(labels.clone())?;
        model.set_flux_anchor(Some(anchor))?;
        Ok((model, Some(labels)))
    }

    /// The dataset options for `model`: its input size and channels, and `labels` to reuse.
    fn options_for(
        &self,
        model: &Gampen,
        labels: Option<LabelTransform>,
    ) -> Result<DatasetOptions, GampenError> {
        let config = model.config();
        let names: Vec<&String> = self.dataset.labels.iter().map(|(n, _)| n).collect();
        if config.parameters.iter().collect::<Vec<_>>() != names {
            return Err(GampenError::Config(format!(
                "the model predicts {:?} but the labels are {names:?}",
                config.parameters
            )));
        }
        Ok(DatasetOptions {
            label_transform: labels,
            cutout_size: config.cutout_size,
            channels: config.channels,
            ..self.dataset.clone()
        })
    }

    /// Loads `<split>-<part>` with `labels` (`None`: fitted on it).
    fn load(
        &self,
        part: &str,
        options: &DatasetOptions,
        labels: Option<LabelTransform>,
    ) -> Result<GalaxyDataset, GampenError> {
        let options = DatasetOptions {
            split: Some(format!("{}-{part}", self.split)),
            label_transform: labels,
            ..options.clone()
        };
        Ok(GalaxyDataset::load(&self.data, &options)?)
    }
}
