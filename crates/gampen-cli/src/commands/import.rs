//! `gampen import`: a GaMPEN PyTorch model (published or not) as a gampen checkpoint.

use std::path::PathBuf;

use gampen::checkpoint;
use gampen::import::published::import_published_with_config;
use gampen::import::{
    gampen_label_transform, import_pytorch_with_config, scaling_from_data_dir, OriginalArch,
    PublishedModel, ScalingData,
};
use gampen::GampenConfig;
use gampen_data::LabelTransform;

use crate::device::DeviceArg;
use crate::error::{CliError, Result};
use crate::labels::split_list;
use crate::paths::{check_io, require_force};

/// Options of `gampen import`.
///
/// Reads a state dict saved by the original GaMPEN code (`torch.save(model.state_dict())`,
/// with or without `nn.DataParallel`'s `module.` prefix); every tensor must match. The
/// checkpoint written to --out works with `gampen predict --model`.
///
/// A published model takes one flag: `--published NAME` sets the architecture, cutout size,
/// targets, dropout rate and scaling split. Any other model needs --arch, --cutout-size,
/// --labels and --dropout.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The PyTorch state dict (.pt / .pth).
    #[arg(long)]
    pub state_dict: PathBuf,
    /// One of GaMPEN's six published models: g_0_025, r_025_050, i_050_075, sim_g_0_025,
    /// sim_r_025_050, sim_i_050_075 (docs/import.md has the table). Needs --scaling-data.
    #[arg(long, conflicts_with_all = ["cutout_size", "labels", "arch", "dropout", "label_scaling"], requires = "scaling_data")]
    pub published: Option<String>,
    /// GaMPEN's scaling data directory distributed beside the model (info.csv + splits/):
    /// the label scaling is fitted on its splits/<slug>-train.csv exactly as GaMPEN does.
    #[arg(long, conflicts_with = "label_scaling")]
    pub scaling_data: Option<PathBuf>,
    /// Split slug of --scaling-data (published models: set by the preset).
    #[arg(long, requires = "scaling_data", conflicts_with = "published")]
    pub scaling_slug: Option<String>,
    /// Cutout side the model was trained on (published: 239, 143 or 96).
    #[arg(long, required_unless_present = "published", value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub cutout_size: Option<usize>,
    /// Predicted parameters in the order of the original --label_cols.
    #[arg(long)]
    pub labels: Option<String>,
    /// Model class of the original code: vgg16_w_stn_oc_drp, vgg16_w_stn_drp,
    /// vgg16_w_stn_at_drp or vgg16.
    #[arg(long)]
    pub arch: Option<String>,
    /// The dropout rate the model was trained with, which Monte-Carlo sampling uses. A state
    /// dict does not store it, so it must be given (published models: set by the preset).
    #[arg(long, required_unless_present = "published", value_parser = crate::flags::probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Label scaling file (CSV or JSON: parameter, mean, std[, transform, snap_lower,
    /// snap_upper]) so that predictions come back in original units; without it or
    /// --scaling-data they are in the network's scaled units.
    #[arg(long)]
    pub label_scaling: Option<PathBuf>,
    /// Checkpoint directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Device the weights are loaded on.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Replace an existing checkpoint (or other non-empty directory) at --out.
    #[arg(long)]
    pub force: bool,
}

/// Runs `gampen import`.
pub fn run(args: Args) -> Result<()> {
    if !args.state_dict.is_file() {
        return Err(CliError::usage(format!(
            "--state-dict {}: no such file",
            args.state_dict.display()
        )));
    }
    check_outputs(&args)?;
    let device = args.device.device()?;
    let (model, labels, what) = match &args.published {
        Some(name) => {
            let preset = PublishedModel::find(name)?;
            let dir = args.scaling_data.as_ref().ok_or_else(|| {
                CliError::usage("--published needs --scaling-data (GaMPEN's scaling_data_dir)")
            })?;
            let (model, labels) = import_published_with_config(
                preset,
                &preset.config(),
                &args.state_dict,
                dir,
                &device,
            )?;
            (model, Some(labels), format!("published model {preset}"))
        }
        None => {
            let (arch, config) = custom_config(&args)?;
            let labels = custom_labels(&args, &config.parameters)?;
            let model = import_pytorch_with_config(&args.state_dict, arch, &config, &device)?;
            (model, labels, arch.name().to_string())
        }
    };
    checkpoint::save(&model, labels.as_ref(), &args.out)?;
    let cfg = model.config();
    println!(
        "imported {what} into {}: {}x{} input, {} channels, dropout {}, predicting {}{}",
        args.out.display(),
        cfg.cutout_size,
        cfg.cutout_size,
        cfg.channels,
        cfg.dropout,
        cfg.parameters.join(", "),
        if labels.is_some() {
            " (in original units)"
        } else {
            " (in the network's scaled units)"
        }
    );
    Ok(())
}

/// Refuses an --out that is, holds or lies inside an input, and (without --force) an
/// existing checkpoint there; the checkpoint itself is swapped in only when complete.
fn check_outputs(args: &Args) -> Result<()> {
    let mut inputs = vec![("--state-dict", args.state_dict.as_path())];
    if let Some(d) = &args.scaling_data {
        inputs.push(("--scaling-data", d));
    }
    if let Some(l) = &args.label_scaling {
        inputs.push(("--label-scaling", l));
    }
    check_io(&inputs, &[("--out", &args.out)])?;
    require_force("--out", &args.out, args.force)
}

/// The architecture and config of a model imported without a preset.
fn custom_config(args: &Args) -> Result<(OriginalArch, GampenConfig)> {
    let arch = OriginalArch::from_name(args.arch.as_deref().unwrap_or("vgg16_w_stn_oc_drp"))?;
    let params = split_list(args.labels.as_deref().unwrap_or("bt,r_e,total_flux"));
    if params.is_empty() {
        return Err(CliError::usage("--labels is empty"));
    }
    let dropout = args.dropout.ok_or_else(|| {
        CliError::usage(
            "--dropout is required without --published: a state dict does not store the rate \
             the model was trained with (GaMPEN's published models: 0.0002-0.0007)",
        )
    })?;
    if !(0.0..1.0).contains(&dropout) {
        return Err(CliError::usage(format!(
            "--dropout {dropout}: must be in [0, 1)"
        )));
    }
    let cutout = args
        .cutout_size
        .ok_or_else(|| CliError::usage("--cutout-size is required without --published"))?;
    Ok((arch, arch.config(cutout, params).with_dropout(dropout)))
}

/// The label transform of a model imported without a preset, if any was given.
fn custom_labels(args: &Args, params: &[String]) -> Result<Option<LabelTransform>> {
    if let Some(dir) = &args.scaling_data {
        let slug = args.scaling_slug.clone().ok_or_else(|| {
            CliError::usage(
                "--scaling-data without --published needs --scaling-slug (e.g. balanced-dev2)",
            )
        })?;
        let data = ScalingData {
            dir: dir.clone(),
            slug,
        };
        return Ok(Some(scaling_from_data_dir(&data, params)?));
    }
    match &args.label_scaling {
        Some(p) => Ok(Some(gampen_label_transform(p, params)?)),
        None => {
            eprintln!(
                "warning: no --label-scaling or --scaling-data; predictions will be in the \
                 network's scaled units"
            );
            Ok(None)
        }
    }
}
