//! The layer renaming table from a GaMPEN PyTorch state dict to a Burn [`Gampen`](crate::Gampen).

use gampen_backbone::VggVariant;

use super::OriginalArch;
use crate::config::{BackboneSpec, GampenConfig};
use crate::error::GampenError;

/// One renamed layer: every `{torch}.{weight,bias}` tensor of the state dict (with or
/// without a leading `module.`) becomes `{burn}.{weight,bias}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMapEntry {
    /// Layer prefix in the PyTorch state dict, without `module.` (e.g. `vgg.features.3`).
    pub torch: String,
    /// Layer path in the Burn model (e.g. `backbone.blocks.1.conv`).
    pub burn: String,
}

/// The layer renaming table for `arch` into a model built from `config`.
///
/// Fails when `config` does not describe `arch` (STN head, VGG backbone without batch norm).
pub fn key_map(arch: OriginalArch, config: &GampenConfig) -> Result<Vec<KeyMapEntry>, GampenError> {
    check_config(arch, config)?;
    let BackboneSpec::Vgg {
        variant, hidden, ..
    } = &config.backbone
    else {
        unreachable!("check_config accepts VGG backbones only")
    };
    let entry = |torch: String, burn: String| KeyMapEntry { torch, burn };
    let mut map = Vec::new();
    if config.stn.is_some() {
        for (torch, burn) in [
            ("localization.0", "stn.loc.conv1"),
            ("localization.3", "stn.loc.conv2"),
            ("fc_loc.0", "stn.loc.fc1"),
            ("fc_loc.2", "stn.loc.fc2"),
        ] {
            map.push(entry(torch.into(), burn.into()));
        }
    }
    let prefix = arch.torch_prefix();
    for (block, index) in torch_conv_indices(*variant, arch.features_dropout())
        .into_iter()
        .enumerate()
    {
        map.push(entry(
            format!("{prefix}features.{index}"),
            format!("backbone.blocks.{block}.conv"),
        ));
    }
    // torchvision's classifier: (Linear, ReLU, Dropout) per hidden layer, then the head.
    for j in 0..hidden.len() {
        map.push(entry(
            format!("{prefix}classifier.{}", 3 * j),
            format!("backbone.hidden.{j}"),
        ));
    }
    map.push(entry(
        format!("{prefix}classifier.{}", 3 * hidden.len()),
        "backbone.head".into(),
    ));
    Ok(map)
}

/// Index of every conv in the PyTorch `features` list: torchvision's `make_layers` (conv,
/// ReLU; `M` -> max-pool) with, when `dropout`, a `Dropout` inserted in front of every conv
/// but the first (GaMPEN's `*_drp` models).
pub(crate) fn torch_conv_indices(variant: VggVariant, dropout: bool) -> Vec<usize> {
    let mut indices = Vec::new();
    let mut next = 0;
    for pools in variant.pool_after_each_conv() {
        if dropout && !indices.is_empty() {
            next += 1;
        }
        indices.push(next);
        next += 2; // conv, ReLU
        if pools {
            next += 1;
        }
    }
    indices
}

fn check_config(arch: OriginalArch, config: &GampenConfig) -> Result<(), GampenError> {
    config.validate()?;
    if config.stn != arch.stn_head() {
        return Err(GampenError::Config(format!(
            "{arch} has STN head {:?} but the config asks for {:?}",
            arch.stn_head(),
            config.stn
        )));
    }
    match &config.backbone {
        BackboneSpec::Vgg {
            batch_norm: false, ..
        } => Ok(()),
        BackboneSpec::Vgg {
            batch_norm: true, ..
        } => Err(GampenError::Config(format!(
            "{arch} has no batch normalisation; set `batch_norm: false`"
        ))),
        BackboneSpec::GamorNet { .. } => Err(GampenError::Config(format!(
            "{arch} has a VGG backbone, the config asks for GaMorNet"
        ))),
    }
}
/// The PyTorch name of a (remapped) key, for error messages.
pub(super) fn torch_name(map: &[KeyMapEntry], key: &str) -> String {
    for e in map {
        if let Some(rest) = key.strip_prefix(&format!("{}.", e.burn)) {
            return format!("{}.{rest} (-> {key})", e.torch);
        }
    }
    key.to_string()
}

pub(super) fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = !(c.is_ascii_alphanumeric() || c == '_');
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_indices_follow_torchvision_layer_lists() {
        // torchvision's vgg11 / vgg19 `features` (cfgs "A" / "E"), no inserted dropout.
        assert_eq!(
            torch_conv_indices(VggVariant::Vgg11, false),
            [0, 3, 6, 8, 11, 13, 16, 18]
        );
        assert_eq!(
            torch_conv_indices(VggVariant::Vgg19, false),
            [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
        );
        assert_eq!(
            torch_conv_indices(VggVariant::Vgg13, true),
            [0, 3, 7, 10, 14, 17, 21, 24, 28, 31]
        );
    }

    #[test]
    fn keys_are_escaped_and_named_back() {
        assert_eq!(regex_escape("vgg.features.3"), r"vgg\.features\.3");
        let map = vec![KeyMapEntry {
            torch: "fc_loc.0".into(),
            burn: "stn.loc.fc1".into(),
        }];
        assert_eq!(
            torch_name(&map, "stn.loc.fc1.weight"),
            "fc_loc.0.weight (-> stn.loc.fc1.weight)"
        );
        assert_eq!(torch_name(&map, "module.other"), "module.other");
    }
}
