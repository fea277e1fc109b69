//! `gampen train`'s model flags: a preset with overrides, or a checkpoint to start from.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen::checkpoint;
use gampen::gampen_loss::{CovarianceParam, LossKind};
use gampen::import::{init_backbone_from_torchvision, TorchvisionInit};
use gampen::{Gampen, GampenConfig, Preset, StnChoice};
use gampen_data::LabelTransform;

use crate::error::{CliError, Result};
use crate::flags::{positive_f64, positive_usize, probability};

/// The architecture: a preset and what to change in it.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Architecture preset.
    #[arg(long, value_enum, default_value_t = Preset::default())]
    pub preset: Preset,
    /// Model input side in pixels (centre crop of the cutouts) [default: 64 small, 239 original].
    #[arg(long, value_parser = positive_usize, allow_negative_numbers = true)]
    pub cutout_size: Option<usize>,
    /// Model input channels; single-band cutouts are repeated [default: 1 small, 3 original].
    #[arg(long, value_parser = positive_usize, allow_negative_numbers = true)]
    pub channels: Option<usize>,
    /// Likelihood [default: cov].
    #[arg(long, value_enum)]
    pub loss: Option<LossKind>,
    /// Covariance parameterisation [default: cholesky small, ldl original].
    #[arg(long, value_enum)]
    pub covariance: Option<CovarianceParam>,
    /// Spatial transformer head [default: scale].
    #[arg(long, value_enum)]
    pub stn: Option<StnChoice>,
    /// Dropout rate [default: 0.02 small, 0.5 original].
    #[arg(long, value_parser = probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Multiplier on the backbone's convolution widths [default: 0.125 small, 1.0 original].
    #[arg(long, value_parser = positive_f64, allow_negative_numbers = true)]
    pub width: Option<f64>,
    /// Hidden layer sizes of the backbone's classifier, comma-separated [default: 64,64 small,
    /// 4096,4096 original].
    #[arg(long, value_delimiter = ',', value_parser = positive_usize)]
    pub hidden: Option<Vec<usize>>,
}

/// Where the weights start: random, torchvision's VGG, or a checkpoint.
#[derive(clap::Args, Debug, Clone)]
pub struct StartArgs {
    /// Start the backbone's convolutions from torchvision's VGG weights: a state dict such as
    /// ImageNet's VGG-16 saved with torch.save (docs/training.md, "Starting from ImageNet
    /// weights"). The backbone must have the file's layout (ImageNet's VGG-16: --preset
    /// original). Not applied when the run directory holds a run to resume.
    #[arg(long, value_name = "FILE.pth", conflicts_with = "from")]
    pub init_backbone: Option<PathBuf>,
    /// With --init-backbone: also load the classifier's two hidden layers (they must have the
    /// file's sizes: 4096,4096 and width 1 for ImageNet's VGG-16).
    #[arg(long, requires = "init_backbone")]
    pub init_classifier: bool,
    /// Start from this checkpoint (or run directory) instead of random weights.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// With --from: a fresh last layer for --labels / --loss (transfer learning).
    #[arg(long)]
    pub new_head: bool,
}

impl ModelArgs {
    /// The preset's configuration for `labels` with the overrides.
    pub fn config(&self, labels: Vec<String>) -> GampenConfig {
        let mut config = self.preset.config(labels);
        if let Some(s) = self.cutout_size {
            config.cutout_size = s;
        }
        if let Some(c) = self.channels {
            config.channels = c;
        }
        if let Some(l) = self.loss {
            config.loss = l;
        }
        if let Some(c) = self.covariance {
            config.covariance = c;
        }
        if let Some(s) = self.stn {
            config.stn = s.into();
        }
        if let Some(d) = self.dropout {
            config.dropout = d;
        }
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

/// The model to train: `fresh` (initialised from torchvision's weights with
/// --init-backbone), or `--from` a checkpoint (with a new head if asked), with the label
/// transform to reuse, if any. `resuming` names the run directory when it holds a run to
/// continue; `quiet` keeps the note on --init-backbone to itself.
pub fn build(
    model: &ModelArgs,
    start: &StartArgs,
    fresh: &GampenConfig,
    resuming: Option<&Path>,
    quiet: bool,
    device: &Device,
) -> Result<(Gampen, Option<LabelTransform>)> {
    let labels = &fresh.parameters;
    let Some(from) = &start.from else {
        if start.new_head {
            return Err(CliError::usage("--new-head needs --from CHECKPOINT"));
        }
        let model = init_backbone(fresh.init(device)?, start, resuming, quiet)?;
        return Ok((model, None));
    };
    if let Some(flag) = model.architecture_flag() {
        return Err(CliError::usage(format!(
            "{flag} cannot change the architecture of the --from checkpoint"
        )));
    }
    let (mut checkpoint_model, saved) = checkpoint::load(from, device)?;
    if let Some(d) = model.dropout {
        checkpoint_model.set_dropout(d);
    }
    let own = checkpoint_model.config().clone();
    if start.new_head {
        let loss = model.loss.unwrap_or(own.loss);
        let replaced = checkpoint_model.replace_head(labels.clone(), loss, device)?;
        return Ok((replaced, None));
    }
    if &own.parameters != labels {
        return Err(CliError::usage(format!(
            "the --from checkpoint predicts {:?} but --labels is {:?}; add --new-head to retrain the last layer for new labels",
            own.parameters, labels
        )));
    }
    if model.loss.is_some_and(|l| l != own.loss) {
        return Err(CliError::usage(
            "--loss differs from the --from checkpoint's: add --new-head",
        ));
    }
    Ok((checkpoint_model, saved))
}

/// Applies --init-backbone to a fresh model. A run that will resume keeps its own weights,
/// so the file is then not read (and a note says so): rerunning the same command line is how
/// an interrupted run continues.
fn init_backbone(
    model: Gampen,
    start: &StartArgs,
    resuming: Option<&Path>,
    quiet: bool,
) -> Result<Gampen> {
    let Some(file) = &start.init_backbone else {
        return Ok(model);
    };
    if let Some(run) = resuming {
        eprintln!(
            "note: {} holds a run to resume, which keeps its weights: --init-backbone {} is \
             not applied",
            run.display(),
            file.display()
        );
        return Ok(model);
    }
    let options = TorchvisionInit::new().with_classifier(start.init_classifier);
    let model = init_backbone_from_torchvision(model, file, &options)?;
    if quiet {
        return Ok(model);
    }
    eprintln!(
        "backbone initialised from {} (convolutions{})",
        file.display(),
        if start.init_classifier {
            " and classifier hidden layers"
        } else {
            ""
        }
    );
    Ok(model)
}
