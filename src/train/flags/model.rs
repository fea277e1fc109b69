//! The architecture ([`ModelFlags`]: a preset with overrides) and where its weights start
//! ([`StartFlags`]: random, torchvision's VGG, or a checkpoint).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen_data::LabelTransform;

use crate::checkpoint;
use crate::error::GampenError;
use crate::gampen_loss::{CovarianceParam, LossKind};
use crate::import::{init_backbone_from_torchvision, TorchvisionInit};
use crate::{Gampen, GampenConfig, Preset, StnChoice};

/// The architecture: a preset and what to change in it.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ModelFlags {
    /// Architecture preset.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Preset::default()))]
    pub preset: Preset,
    /// Model input side in pixels (centre crop of the cutouts) [default: 64 small, 239 original].
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub cutout_size: Option<usize>,
    /// Model input channels; single-band cutouts are repeated [default: 1 small, 3 original].
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub channels: Option<usize>,
    /// Likelihood [default: cov].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub loss: Option<LossKind>,
    /// Covariance parameterisation [default: cholesky small, ldl original].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub covariance: Option<CovarianceParam>,
    /// Spatial transformer head [default: scale].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub stn: Option<StnChoice>,
    /// Dropout rate [default: 0.02 small, 0.5 original].
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::probability, allow_negative_numbers = true))]
    pub dropout: Option<f64>,
    /// Multiplier on the backbone's convolution widths [default: 0.125 small, 1.0 original].
    #[cfg_attr(feature = "clap", arg(long, value_parser = gampen_data::flags::positive_f64, allow_negative_numbers = true))]
    pub width: Option<f64>,
    /// Hidden layer sizes of the backbone's classifier, comma-separated [default: 64,64 small,
    /// 4096,4096 original].
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', value_parser = gampen_data::flags::positive_usize))]
    pub hidden: Option<Vec<usize>>,
}

/// Where the weights start: random, torchvision's VGG, or a checkpoint.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct StartFlags {
    /// Start the backbone's convolutions from torchvision's VGG weights: a state dict such as
    /// ImageNet's VGG-16 saved with torch.save (docs/training.md, "Starting from ImageNet
    /// weights"). The backbone must have the file's layout (ImageNet's VGG-16: --preset
    /// original). Not applied when the run directory holds a run to resume.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "FILE.pth", conflicts_with = "from")
    )]
    pub init_backbone: Option<PathBuf>,
    /// With --init-backbone: also load the classifier's two hidden layers (they must have the
    /// file's sizes: 4096,4096 and width 1 for ImageNet's VGG-16).
    #[cfg_attr(feature = "clap", arg(long, requires = "init_backbone"))]
    pub init_classifier: bool,
    /// Start from this checkpoint (or run directory) instead of random weights.
    #[cfg_attr(feature = "clap", arg(long))]
    pub from: Option<PathBuf>,
    /// With --from: a fresh last layer for --labels / --loss (transfer learning).
    #[cfg_attr(feature = "clap", arg(long))]
    pub new_head: bool,
}

/// What [`StartFlags::build`] did with the weights that a user should hear about.
#[derive(Clone, Debug, PartialEq)]
pub enum StartNote {
    /// `--init-backbone` was not applied: the run directory holds a run to resume, which keeps
    /// its own weights (rerunning the same command line is how an interrupted run continues).
    NotApplied {
        /// The run directory.
        run: PathBuf,
        /// The torchvision state dict.
        file: PathBuf,
    },
    /// The backbone was initialised from torchvision's weights.
    Initialised {
        /// The torchvision state dict.
        file: PathBuf,
        /// Whether the classifier's hidden layers were loaded too.
        classifier: bool,
    },
}

impl std::fmt::Display for StartNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotApplied { run, file } => write!(
                f,
                "note: {} holds a run to resume, which keeps its weights: --init-backbone {} is \
                 not applied",
                run.display(),
                file.display()
            ),
            Self::Initialised { file, classifier } => write!(
                f,
                "backbone initialised from {} (convolutions{})",
                file.display(),
                if *classifier {
                    " and classifier hidden layers"
                } else {
                    ""
                }
            ),
        }
    }
}

/// The model [`StartFlags::build`] starts a run from.
pub struct Started {
    /// The model.
    pub model: Gampen,
    /// The label transform of the `--from` checkpoint, to reuse (`None`: fitted on the data).
    pub labels: Option<LabelTransform>,
    /// What was done with `--init-backbone`, if given.
    pub note: Option<StartNote>,
    /// The arsinh softening the `--from` checkpoint's network was trained on.
    pub softening: Option<f64>,
}

impl ModelFlags {
    /// The preset's configuration for `labels` with the overrides.
    pub fn config(&self, labels: Vec<String>) -> GampenConfig {
        let mut config = self.preset.config(labels);
        config.cutout_size = self.cutout_size.unwrap_or(config.cutout_size);
        config.channels = self.channels.unwrap_or(config.channels);
        config.loss = self.loss.unwrap_or(config.loss);
        config.covariance = self.covariance.unwrap_or(config.covariance);
        if let Some(s) = self.stn {
            config.stn = s.into();
        }
        config.dropout = self.dropout.unwrap_or(config.dropout);
        if let Some(w) = self.width {
            config = config.with_backbone_width(w);
        }
        if let Some(h) = &self.hidden {
            config = config.with_backbone_hidden(h.clone());
        }
        config
    }

    /// The first flag given that would change a checkpoint's architecture.
    fn architecture_flag(&self) -> Option<&'static str> {
        [
            ("--cutout-size", self.cutout_size.is_some()),
            ("--channels", self.channels.is_some()),
            ("--covariance", self.covariance.is_some()),
            ("--stn", self.stn.is_some()),
            ("--width", self.width.is_some()),
            ("--hidden", self.hidden.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

impl StartFlags {
    /// The model to train: `fresh` (initialised from torchvision's weights with
    /// `init_backbone`), or `from` a checkpoint (with a new head if asked, else with its label
    /// transform), checked against `model`'s flags. `resuming` names the run directory when
    /// it holds a run to continue.
    pub fn build(
        &self,
        model: &ModelFlags,
        fresh: &GampenConfig,
        resuming: Option<&Path>,
        device: &Device,
    ) -> Result<Started, GampenError> {
        let flag = |m: String| GampenError::Flag(m);
        let labels = &fresh.parameters;
        let Some(from) = &self.from else {
            if self.new_head {
                return Err(flag("--new-head needs --from CHECKPOINT".into()));
            }
            return self.init_backbone(fresh.init(device)?, resuming);
        };
        if let Some(f) = model.architecture_flag() {
            return Err(flag(format!(
                "{f} cannot change the architecture of the --from checkpoint"
            )));
        }
        let opened = checkpoint::open(from, device)?;
        let softening = Some(opened.preprocessing.arsinh_softening);
        let (mut checkpoint_model, saved) = (opened.model, opened.labels);
        if let Some(d) = model.dropout {
            checkpoint_model.set_dropout(d);
        }
        let own = checkpoint_model.config().clone();
        let started = |model, labels| Started {
            model,
            labels,
            note: None,
            softening,
        };
        if self.new_head {
            let loss = model.loss.unwrap_or(own.loss);
            let replaced = checkpoint_model.replace_head(labels.clone(), loss, device)?;
            return Ok(started(replaced, None));
        }
        if &own.parameters != labels {
            return Err(flag(format!(
                "the --from checkpoint predicts {:?} but --labels is {:?}; add --new-head to retrain the last layer for new labels",
                own.parameters, labels
            )));
        }
        if model.loss.is_some_and(|l| l != own.loss) {
            return Err(flag(
                "--loss differs from the --from checkpoint's: add --new-head".into(),
            ));
        }
        Ok(started(checkpoint_model, saved))
    }

    /// Applies `init_backbone` to a fresh model, unless a run will resume with its own weights.
    fn init_backbone(
        &self,
        model: Gampen,
        resuming: Option<&Path>,
    ) -> Result<Started, GampenError> {
        let mut started = Started {
            model,
            labels: None,
            note: None,
            softening: None,
        };
        let Some(file) = &self.init_backbone else {
            return Ok(started);
        };
        let file = file.clone();
        if let Some(run) = resuming {
            started.note = Some(StartNote::NotApplied {
                run: run.to_path_buf(),
                file,
            });
            return Ok(started);
        }
        let options = TorchvisionInit::new().with_classifier(self.init_classifier);
        started.model = init_backbone_from_torchvision(started.model, &file, &options)?;
        started.note = Some(StartNote::Initialised {
            file,
            classifier: self.init_classifier,
        });
        Ok(started)
    }
}
