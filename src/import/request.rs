//! What to import: one of the published models by name, or any other model of the original
//! code described by hand, with where its label scaling comes from.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen_data::LabelTransform;

use super::{
    gampen_label_transform, import_published, import_pytorch_with_config, scaling_from_data_dir,
    OriginalArch, PublishedModel, ScalingData,
};
use crate::error::GampenError;
use crate::{Gampen, GampenConfig};

/// Where the label scaling of a model imported by hand comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelScaling {
    /// None: predictions stay in the network's scaled units.
    None,
    /// Fitted on a GaMPEN scaling data directory, as GaMPEN does ([`scaling_from_data_dir`]).
    DataDir(ScalingData),
    /// Read from a scaling file ([`gampen_label_transform`]).
    File(PathBuf),
}

/// A model to import from a PyTorch state dict.
#[derive(Clone, Debug)]
pub enum ImportRequest {
    /// One of GaMPEN's published models, its scaling fitted on the scaling data directory
    /// distributed beside it.
    Published {
        /// The preset.
        model: &'static PublishedModel,
        /// GaMPEN's scaling data directory (info.csv + splits/).
        scaling_data: PathBuf,
    },
    /// Any other model of the original code.
    Custom {
        /// The original model class.
        arch: OriginalArch,
        /// The model, with the dropout rate it was trained with.
        config: GampenConfig,
        /// Where its label scaling comes from.
        scaling: LabelScaling,
    },
}

/// An imported model, its label transform (when one was given) and what it was imported as.
#[derive(Debug)]
pub struct Imported {
    /// The model.
    pub model: Gampen,
    /// The inverse of its label scaling; `None` leaves predictions in scaled units.
    pub labels: Option<LabelTransform>,
    /// "published model NAME" or the original class name.
    pub description: String,
}

impl ImportRequest {
    /// A published model by name (an error lists the published names).
    pub fn published(name: &str, scaling_data: impl Into<PathBuf>) -> Result<Self, GampenError> {
        Ok(Self::Published {
            model: PublishedModel::find(name)?,
            scaling_data: scaling_data.into(),
        })
    }

    /// A model of class `arch` on `cutout_size` cutouts predicting `parameters` (in the
    /// order of the original `--label_cols`), trained with dropout rate `dropout`, which a
    /// state dict does not store and Monte-Carlo sampling needs.
    pub fn custom(
        arch: OriginalArch,
        cutout_size: usize,
        parameters: Vec<String>,
        dropout: f64,
        scaling: LabelScaling,
    ) -> Result<Self, GampenError> {
        if parameters.is_empty() || cutout_size == 0 {
            return Err(GampenError::Config(
                "an imported model needs at least one parameter and a cutout size".into(),
            ));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(GampenError::Config(format!(
                "the dropout rate must lie in [0, 1), got {dropout}"
            )));
        }
        let config = arch.config(cutout_size, parameters).with_dropout(dropout);
        Ok(Self::Custom {
            arch,
            config,
            scaling,
        })
    }

    /// Reads `state_dict` into the requested model on `device` (every tensor must match),
    /// with its label transform.
    pub fn import(&self, state_dict: &Path, device: &Device) -> Result<Imported, GampenError> {
        match self {
            Self::Published {
                model,
                scaling_data,
            } => {
                let (m, labels) = import_published(model, state_dict, scaling_data, device)?;
                Ok(Imported {
                    model: m,
                    labels: Some(labels),
                    description: format!("published model {model}"),
                })
            }
            Self::Custom {
                arch,
                config,
                scaling,
            } => {
                let params = &config.parameters;
                let labels = match scaling {
                    LabelScaling::None => None,
                    LabelScaling::DataDir(data) => Some(scaling_from_data_dir(data, params)?),
                    LabelScaling::File(path) => Some(gampen_label_transform(path, params)?),
                };
                Ok(Imported {
                    model: import_pytorch_with_config(state_dict, *arch, config, device)?,
                    labels,
                    description: arch.name().to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_any_file_is_read() {
        let arch = OriginalArch::Vgg16WStnOcDrp;
        let bt = || vec!["bt".to_string()];
        assert!(ImportRequest::custom(arch, 40, bt(), 1.5, LabelScaling::None).is_err());
        assert!(ImportRequest::custom(arch, 40, Vec::new(), 0.1, LabelScaling::None).is_err());
        let ok = ImportRequest::custom(arch, 40, bt(), 0.1, LabelScaling::None).expect("ok");
        let ImportRequest::Custom { config, .. } = ok else {
            panic!("a custom request")
        };
        assert_eq!((config.cutout_size, config.dropout), (40, 0.1));
        let err = ImportRequest::published("nope", "dir")
            .unwrap_err()
            .to_string();
        assert!(err.contains("i_050_075"), "{err}");
    }
}
