//! `gampen import`: a GaMPEN PyTorch model (published or not) as a gampen checkpoint.

use std::path::PathBuf;

use gampen::checkpoint;
use gampen::import::{ImportRequest, Imported, LabelScaling, OriginalArch, ScalingData};

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
    let request = match &args.published {
        Some(name) => ImportRequest::published(
            name,
            args.scaling_data.clone().ok_or_else(|| {
                CliError::usage("--published needs --scaling-data (GaMPEN's scaling_data_dir)")
            })?,
        )?,
        None => custom_request(&args)?,
    };
    let Imported {
        model,
        labels,
        description,
    } = request.import(&args.state_dict, &device)?;
    checkpoint::save(&model, labels.as_ref(), &args.out)?;
    let cfg = model.config();
    println!(
        "imported {description} into {}: {}x{} input, {} channels, dropout {}, predicting {}{}",
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

/// The request for a model imported without a preset (clap has made sure of --cutout-size
/// and --dropout, and checked the rate).
fn custom_request(args: &Args) -> Result<ImportRequest> {
    let arch = OriginalArch::from_name(args.arch.as_deref().unwrap_or("vgg16_w_stn_oc_drp"))?;
    let params = split_list(args.labels.as_deref().unwrap_or("bt,r_e,total_flux"));
    if params.is_empty() {
        return Err(CliError::usage("--labels is empty"));
    }
    let (Some(cutout), Some(dropout)) = (args.cutout_size, args.dropout) else {
        return Err(CliError::usage(
            "--cutout-size and --dropout are required without --published",
        ));
    };
    let scaling = match (&args.scaling_data, &args.label_scaling) {
        (Some(dir), _) => LabelScaling::DataDir(ScalingData {
            dir: dir.clone(),
            slug: args.scaling_slug.clone().ok_or_else(|| {
                CliError::usage(
                    "--scaling-data without --published needs --scaling-slug (e.g. balanced-dev2)",
                )
            })?,
        }),
        (None, Some(file)) => LabelScaling::File(file.clone()),
        (None, None) => {
            eprintln!(
                "warning: no --label-scaling or --scaling-data; predictions will be in the \
                 network's scaled units"
            );
            LabelScaling::None
        }
    };
    Ok(ImportRequest::custom(
        arch, cutout, params, dropout, scaling,
    )?)
}
