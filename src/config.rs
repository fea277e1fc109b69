//! The model configuration that travels with every checkpoint.

use burn::config::Config;
use gampen_backbone::VggVariant;
use gampen_loss::{num_outputs, CovarianceParam, LossKind};
use gampen_stn::StnHead;
use serde::{Deserialize, Serialize};

use crate::anchor::FluxAnchor;
use crate::error::GampenError;

/// Largest accepted `cutout_size` (pixels per side).
pub const MAX_CUTOUT_SIZE: usize = 4096;
/// Largest accepted number of input channels.
pub const MAX_CHANNELS: usize = 64;
/// Largest accepted backbone width multiplier (1.0 is the published network).
pub const MAX_WIDTH: f64 = 16.0;
/// Largest accepted hidden-layer or localisation-channel size.
pub const MAX_LAYER_SIZE: usize = 65_536;

/// Which feature extractor sits downstream of the spatial transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BackboneSpec {
    /// torchvision-style VGG with GaMPEN's dropout before every conv but the first.
    Vgg {
        /// VGG depth (11, 13, 16 or 19 weight layers).
        variant: VggVariant,
        /// Multiplier on the conv widths (64..512); 1.0 is the published network.
        width: f64,
        /// Batch normalisation after every conv.
        batch_norm: bool,
        /// Hidden sizes of the classifier head (published: 4096, 4096).
        hidden: Vec<usize>,
    },
    /// GaMorNet (Ghosh et al. 2020), AlexNet-like.
    GamorNet {
        /// Multiplier on the conv widths; 1.0 is the published network.
        width: f64,
        /// Hidden sizes of the fully connected head (published: 4096, 4096).
        hidden: Vec<usize>,
    },
}

/// A named starting architecture: on a command line `small` or `original`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// A narrow net that trains on a CPU in minutes: 64x64, 1 channel, VGG-11 at 1/8 width
    /// with batch norm, dropout 0.02 ([`GampenConfig::gampen_small`]).
    #[default]
    #[cfg_attr(
        feature = "clap",
        value(
            help = "A narrow net that trains on a CPU in minutes: 64x64, 1 channel, VGG-11 at \
                      1/8 width with batch norm, dropout 0.02"
        )
    )]
    Small,
    /// GaMPEN as published (vgg16_w_stn_oc_drp): 239x239 (set the cutout size for 143 or 96),
    /// 3 channels, VGG-16, dropout 0.5, LDL covariance ([`GampenConfig::gampen_original`]).
    #[cfg_attr(
        feature = "clap",
        value(
            help = "GaMPEN as published (vgg16_w_stn_oc_drp): 239x239 (set --cutout-size for \
                      143 or 96), 3 channels, VGG-16, dropout 0.5, LDL covariance"
        )
    )]
    Original,
}

impl Preset {
    /// Cutout side of [`Preset::Original`]: GaMPEN's largest published model.
    pub const ORIGINAL_CUTOUT_SIZE: usize = 239;

    /// The preset's configuration for `parameters`.
    pub fn config(self, parameters: Vec<String>) -> GampenConfig {
        match self {
            Self::Small => GampenConfig::gampen_small(parameters),
            Self::Original => GampenConfig::gampen_original(Self::ORIGINAL_CUTOUT_SIZE, parameters),
        }
    }
}

/// [`GampenConfig::stn`] as one choice, "none" included: on a command line `scale`,
/// `scale-translate`, `affine` or `none`, for [`StnHead::Scale`], [`StnHead::ScaleTranslate`],
/// [`StnHead::Affine`] or no spatial transformer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum StnChoice {
    /// One-crop zoom about the centre (GaMPEN's).
    Scale,
    /// Zoom plus shift.
    ScaleTranslate,
    /// Full affine.
    Affine,
    /// No spatial transformer: the cutout goes straight into the backbone.
    None,
}

impl From<StnChoice> for Option<StnHead> {
    fn from(choice: StnChoice) -> Self {
        match choice {
            StnChoice::Scale => Some(StnHead::Scale),
            StnChoice::ScaleTranslate => Some(StnHead::ScaleTranslate),
            StnChoice::Affine => Some(StnHead::Affine),
            StnChoice::None => None,
        }
    }
}

/// Configuration of a [`Gampen`](crate::Gampen) model.
///
/// Saved as `config.json` next to every checkpoint; a checkpoint is only ever loaded into a
/// model built from its own config.
#[derive(Config, Debug)]
pub struct GampenConfig {
    /// Side of the square cutout the model sees, in pixels (published models: 239, 143, 96).
    pub cutout_size: usize,
    /// Input channels (published models: 3, a single band repeated).
    pub channels: usize,
    /// Names of the predicted parameters, in output order (catalog column names).
    pub parameters: Vec<String>,
    /// Likelihood the network is trained with.
    #[config(default = "LossKind::Cov")]
    pub loss: LossKind,
    /// How the covariance is parameterised by the network outputs (only for `LossKind::Cov`).
    #[config(default = "CovarianceParam::Cholesky")]
    pub covariance: CovarianceParam,
    /// Spatial transformer head; `None` feeds the cutout straight into the backbone.
    #[config(default = "Some(StnHead::Scale)")]
    pub stn: Option<StnHead>,
    /// Channels of the two localisation convolutions (published: 64, 96).
    #[config(default = "[64, 96]")]
    pub stn_channels: [usize; 2],
    /// Feature extractor.
    #[config(
        default = "BackboneSpec::Vgg { variant: VggVariant::Vgg16, width: 1.0, batch_norm: false, hidden: vec![4096, 4096] }"
    )]
    pub backbone: BackboneSpec,
    /// Dropout rate of every dropout layer (GaMPEN's model default: 0.5).
    #[config(default = 0.5)]
    pub dropout: f64,
    /// A flux parameter predicted as a correction to the cutout's pixel sum
    /// ([`FluxAnchor`]); `None` (GaMPEN's, and every checkpoint from before it existed):
    /// the network predicts every parameter on its own.
    #[config(default = "None")]
    pub flux_anchor: Option<FluxAnchor>,
}

impl GampenConfig {
    /// `vgg16_w_stn_oc_drp` as published (Ghosh et al. 2022): 3 channels, one-crop STN,
    /// VGG-16, dropout before every conv but the first, full covariance in GaMPEN's LDL layout
    /// so the released checkpoints load. Use it with cutouts of 239, 143 or 96 pixels.
    pub fn gampen_original(cutout_size: usize, parameters: Vec<String>) -> Self {
        Self::new(cutout_size, 3, parameters).with_covariance(CovarianceParam::Ldl)
    }

    /// A narrow network that trains on two CPU cores in minutes on 64x64 single-band
    /// cutouts: one-crop STN with 8/16 localisation channels, VGG-11 at 1/8 width with batch
    /// normalisation, a 64-64 head, dropout 0.02, full-covariance (Cholesky) likelihood.
    ///
    /// Batch norm and the low dropout rate are what make a net this narrow train in a few
    /// hundred steps; at 1/8 width, GaMPEN's 0.5 (or even 0.1) leaves too little signal.
    pub fn gampen_small(parameters: Vec<String>) -> Self {
        Self::new(64, 1, parameters)
            .with_stn_channels([8, 16])
            .with_backbone(BackboneSpec::Vgg {
                variant: VggVariant::Vgg11,
                width: 0.125,
                batch_norm: true,
                hidden: vec![64, 64],
            })
            .with_dropout(0.02)
    }

    /// This configuration with the backbone's width multiplier set to `width`.
    pub fn with_backbone_width(mut self, width: f64) -> Self {
        match &mut self.backbone {
            BackboneSpec::Vgg { width: w, .. } | BackboneSpec::GamorNet { width: w, .. } => {
                *w = width
            }
        }
        self
    }

    /// This configuration with the backbone's classifier hidden sizes set to `hidden`.
    pub fn with_backbone_hidden(mut self, hidden: Vec<usize>) -> Self {
        match &mut self.backbone {
            BackboneSpec::Vgg { hidden: h, .. } | BackboneSpec::GamorNet { hidden: h, .. } => {
                *h = hidden
            }
        }
        self
    }

    /// Number of predicted parameters `n`.
    pub fn num_params(&self) -> usize {
        self.parameters.len()
    }

    /// Width `K` of the network output for this loss and `n`.
    pub fn num_outputs(&self) -> usize {
        num_outputs(self.loss, self.num_params())
    }

    /// Checks the configuration, with a message naming the offending field.
    pub fn validate(&self) -> Result<(), GampenError> {
        let bad = |msg: String| Err(GampenError::Config(msg));
        if self.parameters.is_empty() {
            return bad("`parameters` is empty: name at least one label column".into());
        }
        if self.channels == 0 {
            return bad("`channels` must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("`dropout` = {} is outside [0, 1)", self.dropout));
        }
        // Five 2x2 max-pools in VGG and the valid 11/9 convs of the localisation net.
        let min = if self.stn.is_some() { 40 } else { 32 };
        if self.cutout_size < min {
            return bad(format!(
                "`cutout_size` = {} is below the minimum of {min} pixels for this architecture",
                self.cutout_size
            ));
        }
        if let Some(anchor) = &self.flux_anchor {
            anchor.validate(self.num_params())?;
        }
        self.validate_sizes()
    }

    /// Upper limits and positivity of the sizes: a config.json is user input, and a huge
    /// size would be an allocation failure (an abort, not an error) at init.
    fn validate_sizes(&self) -> Result<(), GampenError> {
        let bad = |msg: String| Err(GampenError::Config(msg));
        for (what, value, max) in [
            ("cutout_size", self.cutout_size, MAX_CUTOUT_SIZE),
            ("channels", self.channels, MAX_CHANNELS),
            ("stn_channels[0]", self.stn_channels[0], MAX_LAYER_SIZE),
            ("stn_channels[1]", self.stn_channels[1], MAX_LAYER_SIZE),
        ] {
            if value == 0 || value > max {
                return bad(format!("`{what}` = {value} is outside [1, {max}]"));
            }
        }
        let (width, hidden) = match &self.backbone {
            BackboneSpec::Vgg { width, hidden, .. } => (*width, hidden),
            BackboneSpec::GamorNet { width, hidden } => (*width, hidden),
        };
        if !(width.is_finite() && width > 0.0 && width <= MAX_WIDTH) {
            return bad(format!(
                "backbone `width` = {width} must be a finite multiplier in (0, {MAX_WIDTH}]"
            ));
        }
        if let Some(h) = hidden.iter().find(|&&h| h == 0 || h > MAX_LAYER_SIZE) {
            return bad(format!(
                "backbone `hidden` size {h} is outside [1, {MAX_LAYER_SIZE}]"
            ));
        }
        Ok(())
    }

    /// Reads a config saved with [`Config::save`], naming the file on failure.
    pub fn load_json(path: impl AsRef<std::path::Path>) -> Result<Self, GampenError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| GampenError::io(path, e))?;
        let config: Self = serde_json::from_str(&text)
            .map_err(|e| GampenError::Config(format!("{}: {e}", path.display())))?;
        // Validated here so the message names the file the bad value came from.
        config.validate().map_err(|e| match e {
            GampenError::Config(msg) => GampenError::Config(format!("{}: {msg}", path.display())),
            other => other,
        })?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_round_trip() {
        let names = vec!["bt".to_string(), "r_e".into(), "flux".into()];
        for cfg in [
            GampenConfig::gampen_original(239, names.clone()),
            GampenConfig::gampen_small(names.clone()),
        ] {
            cfg.validate().unwrap();
            assert_eq!(cfg.num_outputs(), 9);
            let json = serde_json::to_string(&cfg).unwrap();
            let back: GampenConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
    }

    /// A flux anchor's floats come back bit for bit: serde_json's default parser returned
    /// this scale one ULP off, and the demo then refused its own best checkpoint ("saved with
    /// a different config").
    #[test]
    fn floats_round_trip_exactly_through_the_saved_file() {
        let mut cfg = GampenConfig::gampen_small(vec!["bt".into(), "r_e".into(), "flux".into()]);
        cfg.flux_anchor = Some(FluxAnchor {
            parameter: 2,
            arsinh_softening: Some(0.04632914045601577),
            floor: 2.9650649891850094,
            log_factor: 1.0,
            shift: -0.024624714403554356,
            offset: 6.918076553465959,
            scale: 0.13057392821501201,
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        cfg.save(&path).unwrap();
        let back = GampenConfig::load_json(&path).unwrap();
        assert_eq!(back.flux_anchor.unwrap().scale, 0.13057392821501201);
    }

    #[test]
    fn configs_from_before_the_flux_anchor_load_without_one() {
        let cfg = GampenConfig::gampen_small(vec!["bt".into()]);
        let mut json: serde_json::Value = serde_json::to_value(&cfg).unwrap();
        json.as_object_mut().unwrap().remove("flux_anchor").unwrap();
        let back: GampenConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back.flux_anchor, None);
        let mut anchored = cfg.clone();
        anchored.flux_anchor = Some(FluxAnchor {
            parameter: 1,
            arsinh_softening: Some(0.05),
            floor: 3.2,
            log_factor: 1.0,
            shift: 0.01,
            offset: 6.0,
            scale: 1.2,
        });
        let err = anchored.validate().unwrap_err().to_string();
        assert!(
            err.contains("flux_anchor") && err.contains("parameter 1"),
            "{err}"
        );
    }

    #[test]
    fn presets_and_overrides() {
        let names = vec!["bt".to_string()];
        let json = |c: &GampenConfig| serde_json::to_string(c).unwrap();
        assert_eq!(
            json(&Preset::Original.config(names.clone())),
            json(&GampenConfig::gampen_original(239, names.clone()))
        );
        let cfg = Preset::Small
            .config(names)
            .with_backbone_width(0.25)
            .with_backbone_hidden(vec![8]);
        let BackboneSpec::Vgg { width, hidden, .. } = &cfg.backbone else {
            panic!("small is a VGG");
        };
        assert_eq!((*width, hidden.as_slice()), (0.25, &[8][..]));
        assert_eq!(Option::<StnHead>::from(StnChoice::None), None);
        assert_eq!(
            Option::<StnHead>::from(StnChoice::ScaleTranslate),
            Some(StnHead::ScaleTranslate)
        );
    }

    #[test]
    fn bad_configs_name_the_field() {
        let cfg = GampenConfig::gampen_small(vec![]);
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("parameters"));
        let mut cfg = GampenConfig::gampen_small(vec!["bt".into()]);
        cfg.cutout_size = 16;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cutout_size"));
        let cfg = GampenConfig::gampen_small(vec!["bt".into()]).with_dropout(1.0);
        assert!(cfg.validate().unwrap_err().to_string().contains("dropout"));
    }

    #[test]
    fn zero_or_huge_sizes_are_errors_not_panics() {
        let vgg = |width: f64, hidden: Vec<usize>| BackboneSpec::Vgg {
            variant: VggVariant::Vgg11,
            width,
            batch_norm: true,
            hidden,
        };
        let device = burn::tensor::Device::flex();
        for (backbone, field) in [
            (vgg(0.0, vec![8]), "width"),
            (vgg(f64::NAN, vec![8]), "width"),
            (vgg(1e9, vec![8]), "width"),
            (vgg(0.125, vec![0]), "hidden"),
            (
                BackboneSpec::GamorNet {
                    width: -1.0,
                    hidden: vec![8],
                },
                "width",
            ),
        ] {
            let cfg = GampenConfig::gampen_small(vec!["bt".into()]).with_backbone(backbone);
            let err = cfg.init(&device).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        let cfg = GampenConfig::gampen_small(vec!["bt".into()]).with_stn_channels([0, 16]);
        assert!(cfg
            .init(&device)
            .unwrap_err()
            .to_string()
            .contains("stn_channels"));
        let mut cfg = GampenConfig::gampen_small(vec!["bt".into()]);
        cfg.cutout_size = usize::MAX;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cutout_size"));
    }
}
