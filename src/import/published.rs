//! GaMPEN's six published models, in one table, and the one call that imports any of them.
//!
//! Source: GaMPEN's documentation, "Trained Model Parameters" (gampen.readthedocs.io, the
//! public `aritraghsh09/GaMPEN` repository), and Ghosh et al. 2022 (ApJ 935, 138; the
//! simulated models) and 2023 (ApJ 953, 134; the HSC-Wide models). Every published model is
//! `vgg16_w_stn_oc_drp` on 3-channel cutouts (one band repeated, `--repeat_dims`),
//! arsinh-normalised (`--normalize`), trained with the `aleatoric_cov` loss on the
//! standard-scaled (`--label_scaling std`) targets [`PUBLISHED_TARGETS`], with SGD, momentum
//! 0.99, no Nesterov, weight decay 1e-4, from torchvision's ImageNet VGG-16. The dropout rate
//! is the one each model was trained with and must be sampled with.
//!
//! ```no_run
//! use std::path::Path;
//! use burn::tensor::Device;
//! use gampen::import::{import_published, PublishedModel};
//!
//! let preset = PublishedModel::find("i_050_075")?;
//! let (model, labels) = import_published(
//!     preset,
//!     Path::new("trained_model.pt"),
//!     Path::new("scaling_data_dir"),
//!     &Device::flex(),
//! )?;
//! gampen::checkpoint::save(&model, Some(&labels), Path::new("gampen-hsc-i-high-z"))?;
//! # Ok::<(), gampen::GampenError>(())
//! ```

use std::path::Path;

use burn::tensor::Device;
use gampen_data::LabelTransform;

use super::scaling::{scaling_from_data_dir, ScalingData};
use super::{import_pytorch_with_config, OriginalArch};
use crate::config::GampenConfig;
use crate::error::GampenError;
use crate::model::Gampen;

/// The label columns every published model predicts, in output order: the custom logit of
/// the bulge-to-total light ratio, ln of the effective radius in arcsec, ln of the total flux
/// in ADU, each standard-scaled on the model's training split.
pub const PUBLISHED_TARGETS: [&str; 3] = ["custom_logit_bt", "ln_R_e_asec", "ln_total_flux_adus"];

/// One of GaMPEN's published models.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PublishedModel {
    /// The name GaMPEN's documentation gives it (`g_0_025`, `sim_i_050_075`, ...).
    pub name: &'static str,
    /// What it was trained on.
    pub description: &'static str,
    /// Side of the square input cutout, in pixels.
    pub cutout_size: usize,
    /// Dropout rate of every dropout layer, in training and in Monte-Carlo sampling.
    pub dropout: f64,
    /// SGD learning rate it was trained with (momentum 0.99, weight decay 1e-4).
    pub learning_rate: f64,
    /// The split slug whose `-train.csv` defines the label scaling.
    pub scaling_slug: &'static str,
}

impl PublishedModel {
    /// All six, real-data models first.
    pub const ALL: [PublishedModel; 6] = [
        Self::real("g_0_025", "HSC-Wide g band, z < 0.25", 239, 0.0004, 5e-8),
        Self::real(
            "r_025_050",
            "HSC-Wide r band, 0.25 < z < 0.50",
            143,
            0.0002,
            5e-8,
        ),
        Self::real(
            "i_050_075",
            "HSC-Wide i band, 0.50 < z < 0.75",
            96,
            0.0002,
            5e-6,
        ),
        Self::sim("sim_g_0_025", "simulated HSC g band, z < 0.25", 239, 0.0007),
        Self::sim(
            "sim_r_025_050",
            "simulated HSC r band, 0.25 < z < 0.50",
            143,
            0.0007,
        ),
        Self::sim(
            "sim_i_050_075",
            "simulated HSC i band, 0.50 < z < 0.75",
            96,
            0.0004,
        ),
    ];

    /// The architecture class of every published model.
    pub const ARCH: OriginalArch = OriginalArch::Vgg16WStnOcDrp;

    /// Input channels of every published model (one band repeated three times).
    pub const CHANNELS: usize = 3;

    const fn real(
        name: &'static str,
        description: &'static str,
        cutout_size: usize,
        dropout: f64,
        learning_rate: f64,
    ) -> Self {
        Self {
            name,
            description,
            cutout_size,
            dropout,
            learning_rate,
            scaling_slug: "balanced-dev2",
        }
    }

    const fn sim(
        name: &'static str,
        description: &'static str,
        cutout_size: usize,
        dropout: f64,
    ) -> Self {
        Self {
            name,
            description,
            cutout_size,
            dropout,
            learning_rate: 5e-7,
            scaling_slug: "balanced-dev",
        }
    }

    /// The published model called `name`, or an error listing the six names.
    pub fn find(name: &str) -> Result<&'static PublishedModel, GampenError> {
        Self::ALL.iter().find(|m| m.name == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|m| m.name).collect();
            GampenError::Config(format!(
                "unknown published GaMPEN model {name:?}; the published ones are {}",
                names.join(", ")
            ))
        })
    }

    /// The targets as owned strings, in output order.
    pub fn targets() -> Vec<String> {
        PUBLISHED_TARGETS.map(String::from).to_vec()
    }

    /// The network as published: `vgg16_w_stn_oc_drp` at this cutout size, 3 channels, full
    /// covariance in GaMPEN's LDL layout, this model's dropout rate.
    pub fn config(&self) -> GampenConfig {
        Self::ARCH
            .config(self.cutout_size, Self::targets())
            .with_dropout(self.dropout)
    }

    /// The label scaling data of this model in `dir` (GaMPEN's `scaling_data_dir`).
    pub fn scaling_data(&self, dir: &Path) -> ScalingData {
        ScalingData {
            dir: dir.to_path_buf(),
            slug: self.scaling_slug.to_string(),
        }
    }

    /// The label transform of this model: standard scaling fitted on the training split of
    /// `dir` as GaMPEN does, then `expit` (with `expit_custom`'s snapping) and `exp`.
    pub fn label_transform(&self, dir: &Path) -> Result<LabelTransform, GampenError> {
        scaling_from_data_dir(&self.scaling_data(dir), &Self::targets())
    }
}

impl std::fmt::Display for PublishedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}; {} px, dropout {})",
            self.name, self.description, self.cutout_size, self.dropout
        )
    }
}

/// Imports a published GaMPEN model: its state dict `state_dict` (as GaMPEN distributes it,
/// with or without `nn.DataParallel`'s `module.` prefix) into the network of
/// [`PublishedModel::config`], and its label transform from the scaling data `scaling_dir`
/// (`info.csv` + `splits/`), so that posteriors come back in GaMPEN's units (B/T, arcsec,
/// ADU) with the dropout rate the model was trained with.
///
/// A state dict of another cutout size (another preset) fails with the size named.
pub fn import_published(
    preset: &PublishedModel,
    state_dict: &Path,
    scaling_dir: &Path,
    device: &Device,
) -> Result<(Gampen, LabelTransform), GampenError> {
    import_published_with_config(preset, &preset.config(), state_dict, scaling_dir, device)
}

/// [`import_published`] into a model built from `config` instead of the published one: for
/// narrower test networks with the published key layout. The dropout rate, targets and
/// cutout size of `config` must be the preset's.
pub fn import_published_with_config(
    preset: &PublishedModel,
    config: &GampenConfig,
    state_dict: &Path,
    scaling_dir: &Path,
    device: &Device,
) -> Result<(Gampen, LabelTransform), GampenError> {
    if config.dropout != preset.dropout
        || config.cutout_size != preset.cutout_size
        || config.parameters != PublishedModel::targets()
    {
        return Err(GampenError::Config(format!(
            "the config does not describe {}: dropout, cutout size and targets must be the preset's",
            preset.name
        )));
    }
    // The scaling first: it is cheap, and a wrong directory should not cost a model load.
    let labels = preset.label_transform(scaling_dir)?;
    let model = import_pytorch_with_config(state_dict, PublishedModel::ARCH, config, device)
        .map_err(|e| match e {
            GampenError::Checkpoint { path, message } => GampenError::Checkpoint {
                path,
                message: format!("not the published {} model: {message}", preset.name),
            },
            other => other,
        })?;
    Ok((model, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_gampen_documentation() {
        let by = |n: &str| PublishedModel::find(n).unwrap();
        let sizes: Vec<usize> = PublishedModel::ALL.iter().map(|m| m.cutout_size).collect();
        assert_eq!(sizes, [239, 143, 96, 239, 143, 96]);
        assert_eq!(by("g_0_025").dropout, 0.0004);
        assert_eq!(by("r_025_050").dropout, 0.0002);
        assert_eq!(by("i_050_075").dropout, 0.0002);
        assert_eq!(by("sim_g_0_025").dropout, 0.0007);
        assert_eq!(by("sim_i_050_075").dropout, 0.0004);
        assert_eq!(by("i_050_075").scaling_slug, "balanced-dev2");
        assert_eq!(by("sim_r_025_050").scaling_slug, "balanced-dev");
        let cfg = by("sim_i_050_075").config();
        cfg.validate().unwrap();
        assert_eq!(
            (cfg.cutout_size, cfg.channels, cfg.dropout),
            (96, 3, 0.0004)
        );
        assert_eq!(cfg.num_outputs(), 9);
    }

    #[test]
    fn unknown_names_list_the_published_ones() {
        let err = PublishedModel::find("g_025").unwrap_err().to_string();
        assert!(
            err.contains("g_0_025") && err.contains("sim_i_050_075"),
            "{err}"
        );
    }
}
