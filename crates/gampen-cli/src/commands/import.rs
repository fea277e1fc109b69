//! `gampen import`: a published GaMPEN PyTorch model as a gampen checkpoint.

use std::path::PathBuf;

use burn::module::Module;
use gampen::checkpoint;
use gampen::import::{gampen_label_transform, import_pytorch, OriginalArch};

use crate::device::DeviceArg;
use crate::error::{CliError, Result};
use crate::labels::split_list;

/// Options of `gampen import`.
///
/// Reads a state dict saved by the original GaMPEN code (`torch.save(model.state_dict())`,
/// with or without `nn.DataParallel`'s `module.` prefix); every tensor must match. The
/// checkpoint written to --out works with `gampen predict --model`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The PyTorch state dict (.pt / .pth).
    #[arg(long)]
    pub state_dict: PathBuf,
    /// Cutout side the model was trained on (published: 239, 143 or 96).
    #[arg(long)]
    pub cutout_size: usize,
    /// Predicted parameters in the order of the original --label_cols.
    #[arg(long, default_value = "bt,r_e,total_flux")]
    pub labels: String,
    /// Model class of the original code: vgg16_w_stn_oc_drp, vgg16_w_stn_drp,
    /// vgg16_w_stn_at_drp or vgg16.
    #[arg(long, default_value = "vgg16_w_stn_oc_drp")]
    pub arch: String,
    /// Label scaling (CSV or JSON: parameter, mean, std[, transform, snap_lower, snap_upper])
    /// so that predictions come back in original units; without it they are in the
    /// network's scaled units.
    #[arg(long)]
    pub label_scaling: Option<PathBuf>,
    /// Checkpoint directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Device the weights are loaded on.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
}

/// Runs `gampen import`.
pub fn run(args: Args) -> Result<()> {
    if !args.state_dict.is_file() {
        return Err(CliError::usage(format!(
            "state dict {} not found",
            args.state_dict.display()
        )));
    }
    let arch = OriginalArch::from_name(&args.arch)?;
    let params = split_list(&args.labels);
    if params.is_empty() {
        return Err(CliError::usage("--labels is empty"));
    }
    let device = args.device.device();
    let model = import_pytorch(
        &args.state_dict,
        arch,
        args.cutout_size,
        params.clone(),
        &device,
    )?;
    let labels = match &args.label_scaling {
        Some(p) => Some(gampen_label_transform(p, &params)?),
        None => {
            eprintln!(
                "warning: no --label-scaling; predictions will be in the network's scaled units"
            );
            None
        }
    };
    checkpoint::save(&model, labels.as_ref(), &args.out)?;
    println!(
        "imported {} ({} parameters, {}x{} input, predicting {}) into {}",
        arch.name(),
        model.num_params(),
        args.cutout_size,
        args.cutout_size,
        params.join(", "),
        args.out.display()
    );
    Ok(())
}
