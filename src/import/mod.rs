//! Importing GaMPEN's published PyTorch models (Ghosh et al. 2022) and their label scaling.
//!
//! One file per concept:
//!
//! | module          | what it holds                                                        |
//! |-----------------|----------------------------------------------------------------------|
//! | [`published`]   | the six published models (architecture, cutout, dropout, targets, scaling split) and the one-call import |
//! | `arch`          | [`OriginalArch`]: the original code's model classes                  |
//! | `keymap`        | [`key_map`]: PyTorch layer names -> Burn module paths                 |
//! | `pytorch`       | [`import_pytorch`]: reading a state dict with shape diagnostics       |
//! | `scaling`       | [`gampen_label_transform`], [`scaling_from_data_dir`]: the inverse of the label scaling |
//! | `photometry`    | [`flux_to_magnitude`]                                                 |
//!
//!
//! # How the weights are matched
//!
//! The importer reads the state dict with burn-store's
//! [`PytorchStore`](burn::store::PytorchStore) and renames every PyTorch layer to the Burn
//! layer that plays its role, through an explicit table computed from the model
//! ([`key_map`]), never by position alone:
//!
//! | PyTorch (optionally behind `module.`)  | Burn                                   |
//! |----------------------------------------|----------------------------------------|
//! | `localization.0`, `localization.3`     | `stn.loc.conv1`, `stn.loc.conv2`       |
//! | `fc_loc.0`, `fc_loc.2`                 | `stn.loc.fc1`, `stn.loc.fc2`           |
//! | `vgg.features.N` (the i-th conv)       | `backbone.blocks.i.conv`               |
//! | `vgg.classifier.0`, `.3`, `.6`         | `backbone.hidden.0`, `.hidden.1`, `.head` |
//!
//! The feature index `N` of each conv is counted through torchvision's layer list (conv, ReLU,
//! max-pool) with GaMPEN's `Dropout` in front of every conv but the first for the `*_drp`
//! models, so it follows the VGG variant rather than a hard-coded table. Plain `vgg16` has
//! no `vgg.` prefix and no inserted dropout. The `module.` prefix that `nn.DataParallel`
//! adds is accepted whether present or not. Linear weights are transposed from PyTorch's
//! `[out, in]` to Burn's `[in, out]` by burn-store's `PyTorchToBurnAdapter`.
//!
//! Every tensor of the model must come from the file and every tensor of the file must be
//! used, with matching shapes; anything else is a
//! [`GampenError::Checkpoint`](crate::GampenError::Checkpoint) listing the
//! offending PyTorch keys.

mod arch;
mod flags;
mod keymap;
mod photometry;
pub mod published;
mod pytorch;
mod request;
mod scaling;

pub use arch::OriginalArch;
pub use flags::ImportFlags;
pub(crate) use keymap::torch_conv_indices;
pub use keymap::{key_map, KeyMapEntry};
pub use photometry::{
    flux_to_magnitude, gampen_catalogue_magnitude, GAMPEN_MAGNITUDE_COEFFICIENT, HSC_ZERO_POINT,
};
pub use published::{import_published, PublishedModel, PUBLISHED_TARGETS};
pub use pytorch::{import_pytorch, import_pytorch_with_config};
pub use request::{ImportRequest, Imported, LabelScaling};
pub use scaling::{bt_snap_limits, gampen_label_transform, scaling_from_data_dir, ScalingData};
mod torchvision;
pub use torchvision::{init_backbone_from_torchvision, TorchvisionInit};
