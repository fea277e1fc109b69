//! The model classes of the original GaMPEN code that can be imported.

use std::str::FromStr;

use gampen_stn::StnHead;

use crate::config::GampenConfig;
use crate::error::GampenError;

/// The PyTorch model classes of the original GaMPEN code (`ggt/models/`) that can be
/// imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OriginalArch {
    /// `vgg16_w_stn_oc_drp`: one-crop STN (one scale parameter), VGG-16 with dropout before
    /// every conv but the first. The published GaMPEN models.
    Vgg16WStnOcDrp,
    /// `vgg16_w_stn_drp`: full 6-parameter affine STN, VGG-16 with dropout before the convs.
    Vgg16WStnDrp,
    /// `vgg16_w_stn_at_drp`: attention STN (scale and translation, 3 parameters), VGG-16 with
    /// dropout before the convs.
    Vgg16WStnAtDrp,
    /// `vgg16`: torchvision's VGG-16 with a new last layer; no STN, no dropout in the
    /// features.
    Vgg16,
}

impl OriginalArch {
    /// Every importable architecture.
    pub const ALL: [OriginalArch; 4] = [
        OriginalArch::Vgg16WStnOcDrp,
        OriginalArch::Vgg16WStnDrp,
        OriginalArch::Vgg16WStnAtDrp,
        OriginalArch::Vgg16,
    ];

    /// The `model_type` name of the original code.
    pub fn name(&self) -> &'static str {
        match self {
            OriginalArch::Vgg16WStnOcDrp => "vgg16_w_stn_oc_drp",
            OriginalArch::Vgg16WStnDrp => "vgg16_w_stn_drp",
            OriginalArch::Vgg16WStnAtDrp => "vgg16_w_stn_at_drp",
            OriginalArch::Vgg16 => "vgg16",
        }
    }

    /// Parses a `model_type` name ([`name`](Self::name)).
    pub fn from_name(name: &str) -> Result<Self, GampenError> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                GampenError::Config(format!(
                    "unknown GaMPEN model type {name:?}; known: {}",
                    known.join(", ")
                ))
            })
    }

    /// The spatial transformer head, `None` for plain VGG-16.
    pub fn stn_head(&self) -> Option<StnHead> {
        match self {
            OriginalArch::Vgg16WStnOcDrp => Some(StnHead::Scale),
            OriginalArch::Vgg16WStnDrp => Some(StnHead::Affine),
            OriginalArch::Vgg16WStnAtDrp => Some(StnHead::ScaleTranslate),
            OriginalArch::Vgg16 => None,
        }
    }

    /// Whether the PyTorch feature list has a `Dropout` in front of every conv but the first
    /// (which shifts the `vgg.features.N` indices).
    pub fn features_dropout(&self) -> bool {
        !matches!(self, OriginalArch::Vgg16)
    }

    /// The network of this class: [`GampenConfig::gampen_original`] (3 channels, full
    /// covariance in GaMPEN's LDL layout) with this class's STN head, and the class's default
    /// dropout rate of 0.5.
    ///
    /// No published model uses 0.5 (they use 0.0002-0.0007, see
    /// [`PublishedModel`](super::PublishedModel)), and a state dict does not store the rate:
    /// set the rate the model was trained with by `.with_dropout(..)` before importing.
    pub fn config(&self, cutout_size: usize, parameters: Vec<String>) -> GampenConfig {
        GampenConfig::gampen_original(cutout_size, parameters).with_stn(self.stn_head())
    }

    pub(super) fn torch_prefix(&self) -> &'static str {
        match self {
            OriginalArch::Vgg16 => "",
            _ => "vgg.",
        }
    }
}

impl std::fmt::Display for OriginalArch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OriginalArch {
    type Err = GampenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s)
    }
}
