//! The GaMPEN network: spatial transformer -> backbone -> Gaussian head.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use gampen_backbone::{GamorNet, GamorNetConfig, Vgg, VggConfig};
use gampen_loss::{Gaussian, GaussianLoss, GaussianLossConfig};
use gampen_stn::{SpatialTransformer, SpatialTransformerConfig};

use crate::anchor::FluxAnchor;
use crate::config::{BackboneSpec, GampenConfig};
use crate::error::GampenError;

/// The feature extractor of a [`Gampen`] model.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Backbone {
    /// VGG family.
    Vgg(Vgg),
    /// GaMorNet.
    GamorNet(GamorNet),
}

impl Backbone {
    /// # Shapes
    /// - x: `[B, C, S, S]` -> `[B, K]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Self::Vgg(m) => m.forward(x),
            Self::GamorNet(m) => m.forward(x),
        }
    }

    /// The deterministic prefix (everything before the first dropout).
    ///
    /// # Shapes
    /// - x: `[B, C, S, S]` -> `[B, C', H', W']`
    pub fn stem(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Vgg(m) => m.stem(x),
            Self::GamorNet(m) => m.stem(x),
        }
    }

    /// The stochastic rest: `forward(x) == forward_from_stem(stem(x))`.
    ///
    /// # Shapes
    /// - h: `[B, C', H', W']` -> `[B, K]`
    pub fn forward_from_stem(&self, h: Tensor<4>) -> Tensor<2> {
        match self {
            Self::Vgg(m) => m.forward_from_stem(h),
            Self::GamorNet(m) => m.forward_from_stem(h),
        }
    }

    /// The last hidden activations before [`head`](Self::head).
    ///
    /// # Shapes
    /// - x: `[B, C, S, S]` -> `[B, d]`
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Self::Vgg(m) => m.features_from_stem(m.stem(x)),
            Self::GamorNet(m) => m.features_from_stem(m.stem(x)),
        }
    }

    /// The last linear layer: outputs from [`features`](Self::features).
    pub fn head(&self) -> &Linear {
        match self {
            Self::Vgg(m) => &m.head,
            Self::GamorNet(m) => &m.head,
        }
    }

    fn set_dropout(&mut self, p: f64) {
        match self {
            Self::Vgg(m) => m.set_dropout(p),
            Self::GamorNet(m) => m.set_dropout(p),
        }
    }

    fn set_mc_dropout(&mut self, on: bool) {
        match self {
            Self::Vgg(m) => m.set_mc_dropout(on),
            Self::GamorNet(m) => m.set_mc_dropout(on),
        }
    }
}

/// GaMPEN: an optional spatial transformer that learns to crop each galaxy, a VGG/GaMorNet
/// backbone, and outputs that parameterise a multivariate normal over the galaxy's parameters.
///
/// Build it from a [`GampenConfig`]; the config is kept inside the module so the loss and the
/// posterior know how to read the outputs.
#[derive(Module, Debug)]
pub struct Gampen {
    /// Upstream spatial transformer (`None` when `config.stn` is `None`).
    pub stn: Option<SpatialTransformer>,
    /// Downstream feature extractor and regression head.
    pub backbone: Backbone,
    #[module(skip)]
    config: GampenConfig,
}

/// `outputs + offsets` (the [`Gampen::anchor_offsets`]), in the outputs' precision.
pub(crate) fn add_offsets(outputs: Tensor<2>, offsets: Option<Tensor<2>>) -> Tensor<2> {
    match offsets {
        Some(o) if o.dtype() == outputs.dtype() => outputs + o,
        Some(o) => {
            let dtype = burn::tensor::FloatDType::from(outputs.dtype());
            outputs + o.cast(dtype)
        }
        None => outputs,
    }
}

impl GampenConfig {
    /// Builds the model after [`validate`](GampenConfig::validate)-ing the config.
    pub fn init(&self, device: &Device) -> Result<Gampen, GampenError> {
        self.validate()?;
        let size = [self.cutout_size, self.cutout_size];
        let stn = match self.stn {
            Some(head) => {
                let cfg = SpatialTransformerConfig::new(self.channels, size)
                    .with_head(head)
                    .with_conv_channels(self.stn_channels);
                cfg.validate()
                    .map_err(|e| GampenError::Config(e.to_string()))?;
                Some(cfg.init(device))
            }
            None => None,
        };
        let k = self.num_outputs();
        let backbone = match &self.backbone {
            BackboneSpec::Vgg {
                variant,
                width,
                batch_norm,
                hidden,
            } => Backbone::Vgg(
                VggConfig::new(*variant, k)
                    .with_in_channels(self.channels)
                    .with_width(*width)
                    .with_batch_norm(*batch_norm)
                    .with_hidden(hidden.clone())
                    .with_dropout(self.dropout)
                    .try_init(device)
                    .map_err(|e| GampenError::Config(format!("backbone: {e}")))?,
            ),
            BackboneSpec::GamorNet { width, hidden } => Backbone::GamorNet(
                GamorNetConfig::new(k)
                    .with_in_channels(self.channels)
                    .with_width(*width)
                    .with_hidden(hidden.clone())
                    .with_dropout(self.dropout)
                    .try_init(device)
                    .map_err(|e| GampenError::Config(format!("backbone: {e}")))?,
            ),
        };
        Ok(Gampen {
            stn,
            backbone,
            config: self.clone(),
        })
    }
}

impl Gampen {
    /// The configuration this model was built from.
    pub fn config(&self) -> &GampenConfig {
        &self.config
    }

    /// The training loss that matches the model's outputs.
    pub fn loss(&self) -> GaussianLoss {
        GaussianLossConfig::new(self.config.num_params())
            .with_kind(self.config.loss)
            .with_param(self.config.covariance)
            .init()
    }

    /// Raw network outputs.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` (arsinh-normalised cutouts)
    /// - output: `[B, K]`, `K = config.num_outputs()`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let offsets = self.anchor_offsets(&images);
        add_offsets(self.backbone.forward(self.transform(images)), offsets)
    }

    /// What the [`FluxAnchor`] adds to the raw outputs (`None` without
    /// one); [`stochastic`](Self::stochastic) does not add it, since it never sees the
    /// images.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> `[B, K]` (f32)
    pub fn anchor_offsets(&self, images: &Tensor<4>) -> Option<Tensor<2>> {
        let k = self.config.num_outputs();
        self.config
            .flux_anchor
            .as_ref()
            .map(|a| a.offsets(images.clone(), k))
    }

    /// [`forward`](Self::forward)'s outputs with the gradient of every column after the
    /// first `means` stopped below the last linear layer: the covariance outputs still learn
    /// their own weights, but not the shared network, which then only the means' loss
    /// trains. This is what makes squared-error means faithful (Stirn et al. 2023, "Faithful
    /// heteroscedastic regression with neural networks"): an outlier's large likelihood
    /// gradient cannot pull the features the means are read from.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]`
    /// - output: `[B, K]`, equal in value to `forward(images)`
    pub fn forward_covariance_detached(&self, images: Tensor<4>, means: usize) -> Tensor<2> {
        let offsets = self.anchor_offsets(&images);
        let z = self.backbone.features(self.transform(images));
        let head = self.backbone.head();
        let k = self.config.num_outputs();
        let attached = head.forward(z.clone()).narrow(1, 0, means);
        let detached = head.forward(z.detach()).narrow(1, means, k - means);
        add_offsets(Tensor::cat(vec![attached, detached], 1), offsets)
    }

    /// The spatially transformed (cropped) images; the identity without an STN.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> `[B, C, S, S]`
    pub fn transform(&self, images: Tensor<4>) -> Tensor<4> {
        match &self.stn {
            Some(stn) => stn.forward(images),
            None => images,
        }
    }

    /// The affine transforms the STN predicts (the identity without an STN).
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> theta `[B, 2, 3]`
    pub fn theta(&self, images: Tensor<4>) -> Tensor<3> {
        match &self.stn {
            Some(stn) => stn.theta(images),
            None => {
                let [b, _, _, _] = images.dims();
                let device = images.device();
                let id = Tensor::<1>::from_floats([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], &device);
                id.reshape([1, 2, 3]).repeat_dim(0, b)
            }
        }
    }

    /// Everything deterministic: STN and the backbone up to its first dropout. Computed once
    /// per galaxy in posterior inference, however many Monte-Carlo passes follow.
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> `[B, C', H', W']`
    pub fn deterministic(&self, images: Tensor<4>) -> Tensor<4> {
        self.backbone.stem(self.transform(images))
    }

    /// The stochastic rest of the network, without the anchor:
    /// `forward(x) == stochastic(deterministic(x)) + anchor_offsets(&x)`.
    ///
    /// # Shapes
    /// - h: `[B, C', H', W']` (from [`deterministic`](Self::deterministic)) -> `[B, K]`
    pub fn stochastic(&self, h: Tensor<4>) -> Tensor<2> {
        self.backbone.forward_from_stem(h)
    }

    /// The predicted multivariate normal for each galaxy (in scaled label units).
    ///
    /// # Shapes
    /// - images: `[B, C, S, S]` -> mean `[B, n]`, scale_tril `[B, n, n]`
    pub fn predict_gaussian(&self, images: Tensor<4>) -> Result<Gaussian, GampenError> {
        Ok(self.loss().gaussian(self.forward(images))?)
    }

    /// Sets (or, with `None`, removes) the flux anchor, after checking it against the
    /// model's parameters.
    pub fn set_flux_anchor(&mut self, anchor: Option<FluxAnchor>) -> Result<(), GampenError> {
        if let Some(a) = &anchor {
            a.validate(self.config.num_params())?;
        }
        self.config.flux_anchor = anchor;
        Ok(())
    }

    /// Removes the flux anchor (for a copy whose offsets are added by the caller).
    pub(crate) fn clear_flux_anchor(&mut self) {
        self.config.flux_anchor = None;
    }

    /// Turns Monte-Carlo dropout on or off (at inference, on any device).
    pub fn set_mc_dropout(&mut self, on: bool) {
        self.backbone.set_mc_dropout(on);
    }

    /// Changes the dropout rate of every dropout layer (and the config).
    pub fn set_dropout(&mut self, p: f64) {
        self.backbone.set_dropout(p);
        self.config.dropout = p;
    }

    /// Stops gradients through the spatial transformer (fine-tuning recipe).
    pub fn freeze_stn(mut self) -> Self {
        self.stn = self.stn.map(|s| s.no_grad());
        self
    }

    /// Stops gradients through the backbone's convolutional features; the regression head
    /// stays trainable (fine-tuning recipe).
    pub fn freeze_backbone(mut self) -> Self {
        self.backbone = match self.backbone {
            Backbone::Vgg(mut m) => {
                m.blocks = m.blocks.into_iter().map(|b| b.no_grad()).collect();
                Backbone::Vgg(m)
            }
            Backbone::GamorNet(mut m) => {
                m.convs = m.convs.into_iter().map(|c| c.no_grad()).collect();
                Backbone::GamorNet(m)
            }
        };
        self
    }

    /// Replaces the last layer of the head for a new set of parameters and/or loss
    /// (transfer learning); everything else keeps its weights.
    pub fn replace_head(
        mut self,
        parameters: Vec<String>,
        loss: gampen_loss::LossKind,
        device: &Device,
    ) -> Result<Self, GampenError> {
        let mut config = self.config.clone();
        config.parameters = parameters;
        config.loss = loss;
        // The anchor's index and label scaling belong to the old head; training attaches
        // a new one fitted to the new labels (`Experiment::with_flux_anchor`).
        config.flux_anchor = None;
        config.validate()?;
        let k = config.num_outputs();
        let fresh = |head: &Linear| {
            let [d_in, _] = head.weight.dims();
            LinearConfig::new(d_in, k).init(device)
        };
        self.backbone = match self.backbone {
            Backbone::Vgg(mut m) => {
                m.head = fresh(&m.head);
                Backbone::Vgg(m)
            }
            Backbone::GamorNet(mut m) => {
                m.head = fresh(&m.head);
                Backbone::GamorNet(m)
            }
        };
        self.config = config;
        Ok(self)
    }

    /// Checks that `images` fit the model, naming the mismatch.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<(), GampenError> {
        let [_, c, h, w] = dims;
        let (cc, s) = (self.config.channels, self.config.cutout_size);
        if c != cc || h != s || w != s {
            return Err(GampenError::Shape(format!(
                "images are {c}x{h}x{w} (CxHxW) but the model expects {cc}x{s}x{s}"
            )));
        }
        Ok(())
    }
}
