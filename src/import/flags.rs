//! [`ImportFlags`]: an import as `gampen import` takes it (`clap::Args` with the `clap`
//! feature), turned into an [`ImportRequest`].

use std::path::PathBuf;

use gampen_data::flags::split_list;
use gampen_data::paths::{check_io, require_force};

use super::{ImportRequest, LabelScaling, OriginalArch, ScalingData};
use crate::device::ComputeDevice;
use crate::error::GampenError;

/// What to import, from where, to where.
///
/// Reads a state dict saved by the original GaMPEN code (`torch.save(model.state_dict())`,
/// with or without `nn.DataParallel`'s `module.` prefix); every tensor must match. The
/// checkpoint written to --out works with `gampen predict --model`.
///
/// A published model takes one flag: `--published NAME` sets the architecture, cutout size,
/// targets, dropout rate and scaling split. Any other model needs --arch, --cutout-size,
/// --labels and --dropout.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ImportFlags {
    /// The PyTorch state dict (.pt / .pth).
    #[cfg_attr(feature = "clap", arg(long))]
    pub state_dict: PathBuf,
    /// One of GaMPEN's six published models: g_0_025, r_025_050, i_050_075, sim_g_0_025,
    /// sim_r_025_050, sim_i_050_075 (docs/import.md has the table). Needs --scaling-data.
    #[cfg_attr(feature = "clap", arg(long, conflicts_with_all = ["cutout_size", "labels", "arch", "dropout", "label_scaling"], requires = "scaling_data"))]
    pub published: Option<String>,
    /// GaMPEN's scaling data directory distributed beside the model (info.csv + splits/):
    /// the label scaling is fitted on its splits/SLUG-train.csv exactly as GaMPEN does.
    #[cfg_attr(feature = "clap", arg(long, conflicts_with = "label_scaling"))]
    pub scaling_data: Option<PathBuf>,
    /// Split slug of --scaling-data (published models: set by the preset).
    #[cfg_attr(
        feature = "clap",
        arg(long, requires = "scaling_data", conflicts_with = "published")
    )]
    pub scaling_slug: Option<String>,
    /// Cutout side the model was trained on (published: 239, 143 or 96).
    #[cfg_attr(feature = "clap", arg(long, required_unless_present = "published", value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true))]
    pub cutout_size: Option<usize>,
    /// Predicted parameters in the order of the original --label_cols.
    #[cfg_attr(feature = "clap", arg(long))]
    pub labels: Option<String>,
    /// Model class of the original code: vgg16_w_stn_oc_drp, vgg16_w_stn_drp,
    /// vgg16_w_stn_at_drp or vgg16.
    #[cfg_attr(feature = "clap", arg(long))]
    pub arch: Option<String>,
    /// The dropout rate the model was trained with, which Monte-Carlo sampling uses. A state
    /// dict does not store it, so it must be given (published models: set by the preset).
    #[cfg_attr(feature = "clap", arg(long, required_unless_present = "published", value_parser = gampen_data::flags::probability, allow_negative_numbers = true))]
    pub dropout: Option<f64>,
    /// Label scaling file (CSV or JSON: parameter, mean, std[, transform, snap_lower,
    /// snap_upper]) so that predictions come back in original units; without it or
    /// --scaling-data they are in the network's scaled units.
    #[cfg_attr(feature = "clap", arg(long))]
    pub label_scaling: Option<PathBuf>,
    /// Checkpoint directory to write.
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: PathBuf,
    /// Device the weights are loaded on.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = ComputeDevice::Flex))]
    pub device: ComputeDevice,
    /// Replace an existing checkpoint (or other non-empty directory) at --out.
    #[cfg_attr(feature = "clap", arg(long))]
    pub force: bool,
}

impl ImportFlags {
    /// Refuses a missing state dict, an `out` that is, holds or lies inside an input, and
    /// (without `force`) an existing checkpoint there.
    pub fn check(&self) -> Result<(), GampenError> {
        if !self.state_dict.is_file() {
            return Err(GampenError::Flag(format!(
                "--state-dict {}: no such file",
                self.state_dict.display()
            )));
        }
        let mut inputs = vec![("--state-dict", self.state_dict.as_path())];
        inputs.extend(self.scaling_data.as_deref().map(|d| ("--scaling-data", d)));
        inputs.extend(
            self.label_scaling
                .as_deref()
                .map(|l| ("--label-scaling", l)),
        );
        check_io(&inputs, &[("--out", &self.out)])?;
        Ok(require_force("--out", &self.out, self.force)?)
    }

    /// The request the flags describe; `warn` hears when predictions will stay in the
    /// network's scaled units.
    pub fn request(&self, warn: &mut dyn FnMut(String)) -> Result<ImportRequest, GampenError> {
        let flag = |m: &str| GampenError::Flag(m.into());
        if let Some(name) = &self.published {
            let data = self.scaling_data.clone().ok_or_else(|| {
                flag("--published needs --scaling-data (GaMPEN's scaling_data_dir)")
            })?;
            return ImportRequest::published(name, data);
        }
        let arch = OriginalArch::from_name(self.arch.as_deref().unwrap_or("vgg16_w_stn_oc_drp"))?;
        let params = split_list(self.labels.as_deref().unwrap_or("bt,r_e,total_flux"));
        if params.is_empty() {
            return Err(flag("--labels is empty"));
        }
        let (Some(cutout), Some(dropout)) = (self.cutout_size, self.dropout) else {
            return Err(flag(
                "--cutout-size and --dropout are required without --published",
            ));
        };
        let scaling = match (&self.scaling_data, &self.label_scaling) {
            (Some(dir), _) => LabelScaling::DataDir(ScalingData {
                dir: dir.clone(),
                slug: self.scaling_slug.clone().ok_or_else(|| {
                    flag("--scaling-data without --published needs --scaling-slug (e.g. balanced-dev2)")
                })?,
            }),
            (None, Some(file)) => LabelScaling::File(file.clone()),
            (None, None) => {
                warn("no --label-scaling or --scaling-data; predictions will be in the \
                      network's scaled units"
                    .into());
                LabelScaling::None
            }
        };
        ImportRequest::custom(arch, cutout, params, dropout, scaling)
    }
}
