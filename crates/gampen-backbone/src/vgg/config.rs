//! Configuration of the VGG family.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{check_prob, check_width, BackboneError};

/// The four depths of the VGG family (torchvision's configurations A, B, D, E).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum VggVariant {
    /// 8 convolutions (+3 linear layers = 11), configuration A.
    Vgg11,
    /// 10 convolutions, configuration B.
    Vgg13,
    /// 13 convolutions, configuration D: GaMPEN's backbone.
    Vgg16,
    /// 16 convolutions, configuration E.
    Vgg19,
}

/// One entry of a torchvision VGG configuration: a 3x3 convolution with this many output
/// channels (before the width multiplier), or a 2x2 max-pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layer {
    Conv(usize),
    Pool,
}

impl VggVariant {
    /// For each convolution, in order, whether a max-pool follows it: the layer list that
    /// torchvision's `make_layers` turns into `features`, so importers can count its indices.
    pub fn pool_after_each_conv(&self) -> Vec<bool> {
        let layers = self.layers();
        layers
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l, Layer::Conv(_)))
            .map(|(i, _)| matches!(layers.get(i + 1), Some(Layer::Pool)))
            .collect()
    }

    /// torchvision's `cfgs` table.
    pub(crate) fn layers(&self) -> Vec<Layer> {
        use Layer::{Conv as C, Pool as M};
        match self {
            VggVariant::Vgg11 => vec![
                C(64),
                M,
                C(128),
                M,
                C(256),
                C(256),
                M,
                C(512),
                C(512),
                M,
                C(512),
                C(512),
                M,
            ],
            VggVariant::Vgg13 => vec![
                C(64),
                C(64),
                M,
                C(128),
                C(128),
                M,
                C(256),
                C(256),
                M,
                C(512),
                C(512),
                M,
                C(512),
                C(512),
                M,
            ],
            VggVariant::Vgg16 => vec![
                C(64),
                C(64),
                M,
                C(128),
                C(128),
                M,
                C(256),
                C(256),
                C(256),
                M,
                C(512),
                C(512),
                C(512),
                M,
                C(512),
                C(512),
                C(512),
                M,
            ],
            VggVariant::Vgg19 => vec![
                C(64),
                C(64),
                M,
                C(128),
                C(128),
                M,
                C(256),
                C(256),
                C(256),
                C(256),
                M,
                C(512),
                C(512),
                C(512),
                C(512),
                M,
                C(512),
                C(512),
                C(512),
                C(512),
                M,
            ],
        }
    }

    /// Number of 3x3 convolutions.
    pub fn num_convs(&self) -> usize {
        self.layers()
            .iter()
            .filter(|l| matches!(l, Layer::Conv(_)))
            .count()
    }
}

/// Configuration of a [`Vgg`](crate::Vgg).
///
/// With the defaults and `variant = Vgg16` this is GaMPEN's backbone: torchvision's VGG-16
/// (`features`, `AdaptiveAvgPool2d(7)`, classifier `512*7*7 -> 4096 -> 4096 -> K`) with a
/// `Dropout(dropout)` before every convolution except the first and in the classifier.
#[derive(Config, Debug)]
pub struct VggConfig {
    /// Network depth.
    pub variant: VggVariant,
    /// Outputs `K` of the last linear layer.
    pub num_outputs: usize,
    /// Input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Multiplies the convolution widths (64 ... 512), rounded, at least 1. The classifier's
    /// hidden sizes are set separately by `hidden`.
    #[config(default = 1.0)]
    pub width: f64,
    /// Batch normalisation after every convolution (torchvision's `vgg*_bn`).
    #[config(default = false)]
    pub batch_norm: bool,
    /// Dropout probability, used before each convolution but the first and after each
    /// hidden linear layer. GaMPEN trains with 0.0004 to 0.002 and samples with the same rate;
    /// 0.5 is torchvision's classifier default.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Hidden linear layer widths of the classifier (each followed by ReLU and dropout).
    #[config(default = "vec![4096, 4096]")]
    pub hidden: Vec<usize>,
    /// Side of the adaptive average pool before the classifier.
    #[config(default = 7)]
    pub pool_size: usize,
}

impl VggConfig {
    /// Smallest input side: five 2x2 max-pools must each see at least one full window.
    pub const MIN_INPUT_SIZE: usize = 32;

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), BackboneError> {
        check_prob(self.dropout)?;
        check_width(self.width)?;
        for (what, v) in [
            ("num_outputs", self.num_outputs),
            ("in_channels", self.in_channels),
            ("pool_size", self.pool_size),
        ] {
            if v == 0 {
                return Err(BackboneError::Zero { what });
            }
        }
        if self.hidden.contains(&0) {
            return Err(BackboneError::Zero { what: "hidden" });
        }
        Ok(())
    }
}
