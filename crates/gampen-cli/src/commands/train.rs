//! `gampen train`: fit a model on a split of a data directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use clap::ValueEnum;
use gampen::checkpoint;
use gampen::gampen_loss::{CovarianceParam, LossKind};
use gampen::gampen_stn::StnHead;
use gampen::import::{init_backbone_from_torchvision, TorchvisionInit};
use gampen::train::{train, MeanLoss, OptimizerKind, TrainConfig, TrainReport};
use gampen::{BackboneSpec, Gampen, GampenConfig};
use gampen_data::{DatasetOptions, GalaxyDataset, LabelTransform};

use crate::device::DeviceArg;
use crate::error::{write_json, CliError, Result};
use crate::labels::{label_spec, split_list, ScalingArg};
use crate::paths::{check_io, is_occupied, write_via_temp};
use gampen_data::catalog_path;
use gampen_data::prepare::DATASET_JSON;

/// Architecture preset, `--preset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum PresetArg {
    /// A narrow net that trains on a CPU in minutes: 64x64, 1 channel, VGG-11 at 1/8 width
    /// with batch norm, dropout 0.02 (GampenConfig::gampen_small).
    #[default]
    Small,
    /// GaMPEN as published (vgg16_w_stn_oc_drp): 239x239 (set --cutout-size for 143 or 96),
    /// 3 channels, VGG-16, dropout 0.5, LDL covariance (GampenConfig::gampen_original).
    Original,
}

/// Likelihood, `--loss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Full-covariance Gaussian NLL (GaMPEN's).
    Cov,
    /// Diagonal Gaussian NLL.
    Diag,
    /// Mean squared error (point estimates; posteriors come from dropout alone).
    Mse,
}

impl From<LossArg> for LossKind {
    fn from(l: LossArg) -> Self {
        match l {
            LossArg::Cov => LossKind::Cov,
            LossArg::Diag => LossKind::Diag,
            LossArg::Mse => LossKind::Mse,
        }
    }
}

/// Covariance parameterisation, `--covariance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CovarianceArg {
    /// Sigma = L L^T.
    Cholesky,
    /// Sigma = L D L^T, GaMPEN's layout.
    Ldl,
}

/// Spatial transformer head, `--stn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StnArg {
    /// One-crop zoom about the centre (GaMPEN's).
    Scale,
    /// Zoom plus shift.
    ScaleTranslate,
    /// Full affine.
    Affine,
    /// No spatial transformer.
    None,
}

/// Optimiser, `--optimizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum OptimizerArg {
    /// SGD with momentum (GaMPEN's).
    #[default]
    Sgd,
    /// Adam.
    Adam,
}

/// `--mean-loss`.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeanLossArg {
    /// The likelihood fits means and covariance together (GaMPEN's).
    #[default]
    Likelihood,
    /// Squared error fits the means, the likelihood the covariance around them.
    Mse,
}

impl From<MeanLossArg> for MeanLoss {
    fn from(arg: MeanLossArg) -> Self {
        match arg {
            MeanLossArg::Likelihood => MeanLoss::Likelihood,
            MeanLossArg::Mse => MeanLoss::SquaredError,
        }
    }
}

/// Options of `gampen train`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Data directory (cutouts/, info.csv, splits/).
    #[arg(long)]
    pub data: PathBuf,
    /// Split prefix: reads splits/<split>-train.csv and splits/<split>-devel.csv.
    #[arg(long, default_value = "balanced-dev")]
    pub split: String,
    /// Label columns to predict, comma-separated.
    #[arg(long, default_value = "bt,r_e,total_flux")]
    pub labels: String,
    /// Transform per label, comma-separated: logit, ln, log10, identity [default: logit for
    /// bt, ln for r_e and total_flux, identity otherwise].
    #[arg(long)]
    pub transforms: Option<String>,
    /// Label scaling fitted on the training split.
    #[arg(long, value_enum, default_value_t = ScalingArg::Standard)]
    pub scaling: ScalingArg,
    /// Run directory (checkpoints/, best.json, last.json, metrics.jsonl, dataset.json,
    /// loss.png). An existing run is resumed unless --no-resume.
    #[arg(long)]
    pub out: PathBuf,
    /// Architecture preset.
    #[arg(long, value_enum, default_value_t = PresetArg::Small)]
    pub preset: PresetArg,
    /// Model input side in pixels (centre crop of the cutouts) [default: 64 small, 239 original].
    #[arg(long, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub cutout_size: Option<usize>,
    /// Model input channels; single-band cutouts are repeated [default: 1 small, 3 original].
    #[arg(long, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub channels: Option<usize>,
    /// Likelihood [default: cov].
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Covariance parameterisation [default: cholesky small, ldl original].
    #[arg(long, value_enum)]
    pub covariance: Option<CovarianceArg>,
    /// Spatial transformer head [default: scale].
    #[arg(long, value_enum)]
    pub stn: Option<StnArg>,
    /// Dropout rate [default: 0.02 small, 0.5 original].
    #[arg(long, value_parser = crate::flags::probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Multiplier on the backbone's convolution widths [default: 0.125 small, 1.0 original].
    #[arg(long, value_parser = crate::flags::positive_f64, allow_negative_numbers = true)]
    pub width: Option<f64>,
    /// Hidden layer sizes of the backbone's classifier, comma-separated [default: 64,64 small,
    /// 4096,4096 original].
    #[arg(long)]
    pub hidden: Option<String>,
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
    /// Epochs.
    #[arg(long, default_value_t = 40, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub epochs: usize,
    /// Galaxies per batch.
    #[arg(long, default_value_t = 32, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Learning rate [default: 0.005 for sgd, 0.001 for adam].
    #[arg(long, value_parser = crate::flags::positive_f64, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Decay the learning rate along a cosine to this fraction of --lr by the last epoch
    /// [default: constant].
    #[arg(long, value_parser = crate::flags::finite_non_negative_f64, allow_negative_numbers = true)]
    pub final_lr_factor: Option<f64>,
    /// Optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd)]
    pub optimizer: OptimizerArg,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9, value_parser = crate::flags::probability, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0, value_parser = crate::flags::finite_non_negative_f64, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Stop when the devel loss has not improved for this many epochs.
    #[arg(long, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub patience: Option<usize>,
    /// Seed of initialisation, shuffling, augmentation and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No random flips and rotations of the training images.
    #[arg(long)]
    pub no_augment: bool,
    /// Clip each parameter's gradient to this L2 norm.
    #[arg(long, value_parser = crate::flags::positive_f64, allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f64>,
    /// Fit only the means (mean squared error) for this many epochs before the likelihood
    /// takes over; helps a Gaussian head learn hard parameters such as B/T.
    #[arg(long, default_value_t = 0, value_parser = crate::flags::count_usize, allow_negative_numbers = true)]
    pub warmup_epochs: usize,
    /// How the means are fitted: by the likelihood (GaMPEN), or by squared error with the
    /// likelihood fitting the covariance around them (after Stirn et al. 2023).
    #[arg(long, value_enum, default_value_t = MeanLossArg::Likelihood)]
    pub mean_loss: MeanLossArg,
    /// Start from this checkpoint (or run directory) instead of random weights.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Do not train the spatial transformer.
    #[arg(long)]
    pub freeze_stn: bool,
    /// Do not train the backbone's convolutions (the head stays trainable).
    #[arg(long)]
    pub freeze_backbone: bool,
    /// With --from: a fresh last layer for --labels / --loss (transfer learning).
    #[arg(long)]
    pub new_head: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Start from scratch even if --out holds an interrupted run (its checkpoints are
    /// overwritten as training proceeds).
    #[arg(long)]
    pub no_resume: bool,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

/// What a training run produced.
pub struct Outcome {
    /// The best epoch's model.
    pub model: Gampen,
    /// The label transform saved with the checkpoints.
    pub labels: Option<LabelTransform>,
    /// The trainer's report.
    pub report: TrainReport,
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Training and devel set sizes.
    pub sizes: [usize; 2],
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs `gampen train` and prints a summary.
pub fn run(args: Args) -> Result<()> {
    let outcome = execute(&args)?;
    print_summary(&args, &outcome);
    Ok(())
}

/// Files and directories only a training run holds: an existing --out with none of them is
/// not a run and is refused rather than written into.
const RUN_MARKERS: [&str; 5] = [
    "train_config.json",
    DATASET_JSON,
    "last.json",
    "best.json",
    "checkpoints",
];

/// Refuses an --out that is, holds or lies inside an input, and an existing non-empty --out
/// that is not a training run (an existing run is resumed, its normal use).
fn check_run_dir(args: &Args) -> Result<()> {
    let mut inputs = vec![("--data", args.data.as_path())];
    if let Some(f) = &args.from {
        inputs.push(("--from", f));
    }
    if let Some(b) = &args.init_backbone {
        inputs.push(("--init-backbone", b));
    }
    check_io(&inputs, &[("--out", &args.out)])?;
    if is_occupied(&args.out) && !RUN_MARKERS.iter().any(|m| args.out.join(m).exists()) {
        return Err(CliError::usage(format!(
            "--out {} exists and is not a training run (no train_config.json, dataset.json or \
             checkpoints/): choose a new or empty --out",
            args.out.display()
        )));
    }
    Ok(())
}

/// Trains as `args` say; writes the run directory, `dataset.json` and `loss.png`.
pub fn execute(args: &Args) -> Result<Outcome> {
    let started = Instant::now();
    let labels = split_list(&args.labels);
    let transforms = args.transforms.as_deref().map(split_list);
    let spec = label_spec(&labels, transforms.as_deref())?;
    catalog_path(&args.data, Some(&format!("{}-train", args.split)))?;
    catalog_path(&args.data, Some(&format!("{}-devel", args.split)))?;
    check_run_dir(args)?;
    let device = args.device.device()?;
    device.seed(args.seed);

    let (model, inherited) = build_model(args, &labels, &device)?;
    let config = model.config().clone();
    let options = DatasetOptions {
        labels: spec,
        scaling: args.scaling.into(),
        label_transform: inherited,
        cutout_size: config.cutout_size,
        channels: config.channels,
        ..DatasetOptions::default()
    };
    let load = |part: &str, lt: Option<LabelTransform>| {
        GalaxyDataset::load(
            &args.data,
            &DatasetOptions {
                split: Some(format!("{}-{part}", args.split)),
                label_transform: lt,
                ..options.clone()
            },
        )
    };
    if !args.quiet {
        eprintln!(
            "loading {}-train and {}-devel from {}",
            args.split,
            args.split,
            args.data.display()
        );
    }
    let train_set = load("train", options.label_transform.clone())?;
    let lt = train_set.label_transform().cloned();
    let devel_set = load("devel", lt.clone())?;
    for (name, set) in [("train", &train_set), ("devel", &devel_set)] {
        if set.is_empty() {
            return Err(CliError::usage(format!(
                "split {}-{name} of {} is empty: use a larger data set or other --fractions",
                args.split,
                args.data.display()
            )));
        }
    }

    crate::error::create_dir(&args.out)?;
    let saved = DatasetOptions {
        split: None,
        label_transform: None,
        ..options.clone()
    };
    write_json(&args.out.join(DATASET_JSON), &saved)?;

    let lr = args.lr.unwrap_or(match args.optimizer {
        OptimizerArg::Sgd => 0.005,
        OptimizerArg::Adam => 0.001,
    });
    let optimizer = match args.optimizer {
        OptimizerArg::Sgd => OptimizerKind::Sgd {
            momentum: args.momentum,
            nesterov: args.nesterov,
            weight_decay: args.weight_decay,
        },
        OptimizerArg::Adam => OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: args.weight_decay,
        },
    };
    let train_config = TrainConfig::new()
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_lr(lr)
        .with_final_lr_factor(args.final_lr_factor)
        .with_optimizer(optimizer)
        .with_clip_grad_norm(args.clip_grad_norm)
        .with_warmup_epochs(args.warmup_epochs)
        .with_mean_loss(args.mean_loss.into())
        .with_seed(args.seed)
        .with_patience(args.patience)
        .with_augment(!args.no_augment)
        .with_freeze_stn(args.freeze_stn)
        .with_freeze_backbone(args.freeze_backbone)
        .with_resume(!args.no_resume)
        .with_progress(!args.quiet);
    write_json(&args.out.join("train_config.json"), &train_config)?;
    if !args.quiet {
        eprintln!(
            "training {} parameters ({}) on {} galaxies, devel {}, {} epochs, device {}",
            model.num_params(),
            config.parameters.join(", "),
            train_set.len(),
            devel_set.len(),
            args.epochs,
            args.device
        );
    }
    let (model, report) = train(
        model,
        &train_set,
        &devel_set,
        lt.as_ref(),
        &train_config,
        &args.out,
        &device,
    )?;
    let train_loss: Vec<f64> = report.history.iter().map(|m| m.train_loss).collect();
    let devel_loss: Vec<f64> = report.history.iter().map(|m| m.devel_loss).collect();
    if !train_loss.is_empty() {
        write_via_temp(&args.out.join("loss.png"), |tmp| {
            Ok(gampen_plot::loss_curve(tmp, &train_loss, &devel_loss)?)
        })?;
    }
    Ok(Outcome {
        model,
        labels: lt,
        parameters: config.parameters.clone(),
        sizes: [train_set.len(), devel_set.len()],
        report,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The model to train: a fresh one from the preset and overrides (started from torchvision's
/// weights with --init-backbone), or `--from` a checkpoint (with a new head if asked). Also
/// returns the label transform to reuse, if any.
fn build_model(
    args: &Args,
    labels: &[String],
    device: &Device,
) -> Result<(Gampen, Option<LabelTransform>)> {
    let Some(from) = &args.from else {
        if args.new_head {
            return Err(CliError::usage("--new-head needs --from CHECKPOINT"));
        }
        let model = fresh_config(args, labels)?.init(device)?;
        return Ok((init_backbone(model, args)?, None));
    };
    for (flag, given) in [
        ("--cutout-size", args.cutout_size.is_some()),
        ("--channels", args.channels.is_some()),
        ("--covariance", args.covariance.is_some()),
        ("--stn", args.stn.is_some()),
        ("--width", args.width.is_some()),
        ("--hidden", args.hidden.is_some()),
    ] {
        if given {
            return Err(CliError::usage(format!(
                "{flag} cannot change the architecture of the --from checkpoint"
            )));
        }
    }
    let (mut model, saved) = checkpoint::load(from, device)?;
    if let Some(d) = args.dropout {
        model.set_dropout(d);
    }
    if args.new_head {
        let loss = args.loss.map_or(model.config().loss, LossKind::from);
        return Ok((model.replace_head(labels.to_vec(), loss, device)?, None));
    }
    if model.config().parameters != labels {
        return Err(CliError::usage(format!(
            "the --from checkpoint predicts {:?} but --labels is {:?}; add --new-head to retrain the last layer for new labels",
            model.config().parameters,
            labels
        )));
    }
    if args
        .loss
        .is_some_and(|l| LossKind::from(l) != model.config().loss)
    {
        return Err(CliError::usage(
            "--loss differs from the --from checkpoint's: add --new-head",
        ));
    }
    Ok((model, saved))
}

/// The preset's configuration with the command line's overrides.
fn fresh_config(args: &Args, labels: &[String]) -> Result<GampenConfig> {
    let mut config = match args.preset {
        PresetArg::Small => GampenConfig::gampen_small(labels.to_vec()),
        PresetArg::Original => GampenConfig::gampen_original(239, labels.to_vec()),
    };
    if let Some(s) = args.cutout_size {
        config.cutout_size = s;
    }
    if let Some(c) = args.channels {
        config.channels = c;
    }
    if let Some(l) = args.loss {
        config.loss = l.into();
    }
    if let Some(c) = args.covariance {
        config.covariance = match c {
            CovarianceArg::Cholesky => CovarianceParam::Cholesky,
            CovarianceArg::Ldl => CovarianceParam::Ldl,
        };
    }
    if let Some(s) = args.stn {
        config.stn = match s {
            StnArg::Scale => Some(StnHead::Scale),
            StnArg::ScaleTranslate => Some(StnHead::ScaleTranslate),
            StnArg::Affine => Some(StnHead::Affine),
            StnArg::None => None,
        };
    }
    if let Some(d) = args.dropout {
        config.dropout = d;
    }
    let (BackboneSpec::Vgg { width, hidden, .. } | BackboneSpec::GamorNet { width, hidden }) =
        &mut config.backbone;
    if let Some(w) = args.width {
        *width = w;
    }
    if let Some(h) = &args.hidden {
        *hidden = parse_hidden(h)?;
    }
    Ok(config)
}

/// `--hidden`: positive layer sizes, comma-separated.
fn parse_hidden(list: &str) -> Result<Vec<usize>> {
    split_list(list)
        .iter()
        .map(|v| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(CliError::usage(format!(
                "--hidden: {v:?} is not a positive layer size"
            ))),
        })
        .collect()
}

/// Applies --init-backbone to a fresh model. A run that will resume keeps its own weights,
/// so the file is then not read (and a note says so): rerunning the same command line is how
/// an interrupted run continues.
fn init_backbone(model: Gampen, args: &Args) -> Result<Gampen> {
    let Some(file) = &args.init_backbone else {
        return Ok(model);
    };
    if !args.no_resume && args.out.join(checkpoint::files::LAST).is_file() {
        eprintln!(
            "note: {} holds a run to resume, which keeps its weights: --init-backbone {} is \
             not applied",
            args.out.display(),
            file.display()
        );
        return Ok(model);
    }
    let options = TorchvisionInit::new().with_classifier(args.init_classifier);
    let model = init_backbone_from_torchvision(model, file, &options)?;
    if !args.quiet {
        eprintln!(
            "backbone initialised from {} (convolutions{})",
            file.display(),
            if args.init_classifier {
                " and classifier hidden layers"
            } else {
                ""
            }
        );
    }
    Ok(model)
}

/// Prints the summary of a finished run on stdout.
pub fn print_summary(args: &Args, o: &Outcome) {
    let r = &o.report;
    println!(
        "trained {} epochs{} in {:.1} s on {} (train {}, devel {})",
        r.epochs,
        if r.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        o.seconds,
        args.device,
        o.sizes[0],
        o.sizes[1]
    );
    println!(
        "best epoch {}: devel loss {:.4}",
        r.best_epoch, r.best_devel_loss
    );
    if let Some(best) = r.history.get(r.best_epoch.saturating_sub(1)) {
        for (p, name) in o.parameters.iter().enumerate() {
            println!(
                "  {name:<12} devel MAE {:.4}  RMSE {:.4}",
                best.devel_mae.get(p).copied().unwrap_or(f64::NAN),
                best.devel_mse.get(p).copied().unwrap_or(f64::NAN).sqrt()
            );
        }
    }
    println!("best checkpoint: {}", r.best_checkpoint.display());
    println!(
        "run directory:   {} (loss curve: loss.png)",
        display(&args.out)
    );
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
