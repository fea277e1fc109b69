//! Starting a model from torchvision's ImageNet VGG weights, as GaMPEN's published models do
//! (`torchvision.models.vgg16(pretrained=True)` before training on galaxies).

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::{ModuleSnapshot, ModuleStore, PytorchStore};
use gampen_backbone::VggVariant;

use super::keymap::regex_escape;
use super::{torch_conv_indices, KeyMapEntry};
use crate::config::BackboneSpec;
use crate::error::GampenError;
use crate::model::Gampen;

/// What [`init_backbone_from_torchvision`] copies from a torchvision VGG state dict.
///
/// The convolutions of `features` are always copied; the last classifier layer
/// (`classifier.6`, ImageNet's 1000 classes) never is, since the model's head predicts other
/// outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TorchvisionInit {
    /// Also copy the classifier's two hidden layers (`classifier.0`, `classifier.3`). They
    /// fit only a backbone with torchvision's classifier: two hidden layers whose sizes match
    /// the file (4096, 4096 for ImageNet's VGG, which also needs width 1.0).
    pub classifier: bool,
}

impl TorchvisionInit {
    /// The convolutions only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`classifier`](Self::classifier).
    pub fn with_classifier(mut self, classifier: bool) -> Self {
        self.classifier = classifier;
        self
    }
}

/// Loads torchvision's VGG weights (a state dict saved with
/// `torch.save(torchvision.models.vgg16(weights="IMAGENET1K_V1").state_dict(), path)`, keys
/// `features.N.{weight,bias}` and `classifier.{0,3,6}.{weight,bias}`, optionally behind
/// `module.`) into the backbone of `model`, the way GaMPEN starts training.
///
/// Every convolution of the backbone is replaced by torchvision's at the same position (for
/// VGG-16 `features.0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28`; GaMPEN's extra dropout
/// layers hold no weights). With [`TorchvisionInit::classifier`] the two hidden classifier
/// layers are copied as well. The spatial transformer, the output layer and everything not
/// named keep their weights.
///
/// The backbone must be a VGG without batch normalisation of the file's depth, and every
/// copied tensor must have exactly the file's shape: ImageNet's VGG-16 fits a `width: 1.0`
/// VGG-16 with 3 input channels. Anything else is a [`GampenError::Checkpoint`] naming the
/// file and the first PyTorch key that does not fit; nothing is loaded then.
/// Batch-normalised files (`vgg16_bn`) are not supported.
///
/// # Example
///
/// ```no_run
/// use std::path::Path;
/// use burn::tensor::Device;
/// use gampen::import::{init_backbone_from_torchvision, TorchvisionInit};
/// use gampen::GampenConfig;
///
/// let device = Device::flex();
/// let labels = vec!["bt".into(), "r_e".into(), "total_flux".into()];
/// let model = GampenConfig::gampen_original(239, labels).init(&device)?;
/// let options = TorchvisionInit::new().with_classifier(true);
/// let model = init_backbone_from_torchvision(model, Path::new("vgg16.pth"), &options)?;
/// // ... then `gampen::train::train(model, ...)`.
/// # Ok::<(), gampen::GampenError>(())
/// ```
pub fn init_backbone_from_torchvision(
    mut model: Gampen,
    path: &Path,
    options: &TorchvisionInit,
) -> Result<Gampen, GampenError> {
    let fail = |msg: String| GampenError::checkpoint(path, msg);
    let (variant, width) = vgg_backbone(&model, options).map_err(fail)?;
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let map = key_map(variant, options);
    let file = read_shapes(path)?;
    check_file(&file, &map, variant).map_err(fail)?;
    check_shapes(&model, &file, &map, width).map_err(fail)?;

    let wanted: Vec<String> = map
        .iter()
        .flat_map(|e| [format!("{}.weight", e.burn), format!("{}.bias", e.burn)])
        .collect();
    let mut store = PytorchStore::from_file(path)
        .map_indices_contiguous(false)
        .allow_partial(true)
        // Only the named layers may change, whatever else the file holds.
        .with_full_paths(wanted.clone());
    for e in &map {
        store = store.with_key_remapping(
            format!(r"^(?:module\.)?{}\.", regex_escape(&e.torch)),
            format!("{}.", e.burn),
        );
    }
    let result = model
        .load_from(&mut store)
        .map_err(|e| fail(format!("cannot load the torchvision weights: {e}")))?;
    let not_loaded: Vec<&String> = wanted
        .iter()
        .filter(|k| !result.applied.contains(k))
        .collect();
    if !result.errors.is_empty() || !not_loaded.is_empty() {
        return Err(fail(format!(
            "cannot load the torchvision weights ({} errors; not loaded: {not_loaded:?})",
            result.errors.len()
        )));
    }
    Ok(model)
}

/// The layers copied: the i-th conv of torchvision's `features` (no dropout layers in
/// between) and, when asked, the hidden classifier layers at `classifier.0` and `.3`.
fn key_map(variant: VggVariant, options: &TorchvisionInit) -> Vec<KeyMapEntry> {
    let mut map: Vec<KeyMapEntry> = torch_conv_indices(variant, false)
        .into_iter()
        .enumerate()
        .map(|(block, index)| KeyMapEntry {
            torch: format!("features.{index}"),
            burn: format!("backbone.blocks.{block}.conv"),
        })
        .collect();
    if options.classifier {
        for j in 0..2 {
            map.push(KeyMapEntry {
                torch: format!("classifier.{}", 3 * j),
                burn: format!("backbone.hidden.{j}"),
            });
        }
    }
    map
}

/// The model's VGG variant and width, or why its backbone cannot take torchvision's weights.
fn vgg_backbone(model: &Gampen, options: &TorchvisionInit) -> Result<(VggVariant, f64), String> {
    match &model.config().backbone {
        BackboneSpec::Vgg {
            batch_norm: true, ..
        } => Err(
            "the model's VGG has batch normalisation; torchvision's batch-normalised VGGs \
                  (vgg*_bn) are not supported: use a backbone without batch_norm and a plain \
                  vgg11/13/16/19 state dict"
                .into(),
        ),
        BackboneSpec::Vgg {
            variant,
            width,
            hidden,
            ..
        } => {
            if options.classifier && hidden.len() != 2 {
                return Err(format!(
                    "torchvision's classifier has 2 hidden layers, the model's has {}: load \
                     the convolutions only (no classifier)",
                    hidden.len()
                ));
            }
            Ok((*variant, *width))
        }
        BackboneSpec::GamorNet { .. } => Err(
            "the model's backbone is GaMorNet; torchvision's VGG weights need a VGG backbone"
                .into(),
        ),
    }
}

/// Every tensor's shape by its key in the file, without a leading `module.`.
fn read_shapes(path: &Path) -> Result<BTreeMap<String, Vec<usize>>, GampenError> {
    let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
    let tensors = store.get_all_tensors().map_err(|e| {
        GampenError::checkpoint(path, format!("cannot read the PyTorch state dict: {e}"))
    })?;
    Ok(tensors
        .iter()
        .map(|(k, t)| {
            let key = k.strip_prefix("module.").unwrap_or(k);
            (key.to_string(), t.shape.to_vec())
        })
        .collect())
}

/// Checks that the file is a plain torchvision VGG of the model's depth, naming what it holds
/// instead when it is not.
fn check_file(
    file: &BTreeMap<String, Vec<usize>>,
    map: &[KeyMapEntry],
    variant: VggVariant,
) -> Result<(), String> {
    if let Some(key) = file
        .keys()
        .find(|k| k.starts_with("features.") && k.ends_with(".running_mean"))
    {
        return Err(format!(
            "{key}: this is a batch-normalised VGG (torchvision's vgg*_bn), which is not \
             supported; use the plain vgg11/13/16/19 weights"
        ));
    }
    let convs = file_conv_indices(file);
    if convs.is_empty() {
        let first: Vec<&str> = file.keys().take(3).map(String::as_str).collect();
        return Err(format!(
            "no torchvision `features.N.weight` convolutions (keys begin {first:?}); a GaMPEN \
             model (`vgg.features.N`) is imported with `gampen import`"
        ));
    }
    let expected = torch_conv_indices(variant, false);
    if convs != expected {
        let held = [
            VggVariant::Vgg11,
            VggVariant::Vgg13,
            VggVariant::Vgg16,
            VggVariant::Vgg19,
        ]
        .into_iter()
        .find(|v| torch_conv_indices(*v, false) == convs)
        .map_or_else(
            || format!("{} convolutions at other positions", convs.len()),
            |v| format!("the features of {v:?}"),
        );
        let first_missing = map
            .iter()
            .map(|e| format!("{}.weight", e.torch))
            .find(|k| !file.contains_key(k))
            .unwrap_or_else(|| format!("features.{}.weight", convs[0]));
        return Err(format!(
            "{first_missing}: the file holds {held}, the model's backbone is {variant:?}"
        ));
    }
    Ok(())
}

/// The `N` of every 4-d `features.N.weight` in the file, in order.
fn file_conv_indices(file: &BTreeMap<String, Vec<usize>>) -> Vec<usize> {
    let mut convs: Vec<usize> = file
        .iter()
        .filter(|(_, shape)| shape.len() == 4)
        .filter_map(|(k, _)| k.strip_prefix("features.")?.strip_suffix(".weight"))
        .filter_map(|n| n.parse().ok())
        .collect();
    convs.sort_unstable();
    convs
}

/// Checks that every copied tensor is in the file with the model's shape; the first one that
/// is not is the error, with the likely cause.
fn check_shapes(
    model: &Gampen,
    file: &BTreeMap<String, Vec<usize>>,
    map: &[KeyMapEntry],
    width: f64,
) -> Result<(), String> {
    let ours: BTreeMap<String, Vec<usize>> = model
        .collect(None, None, true)
        .into_iter()
        .map(|t| (t.name, t.shape.to_vec()))
        .collect();
    let mut problems = Vec::new();
    for e in map {
        for part in ["weight", "bias"] {
            let torch = format!("{}.{part}", e.torch);
            let Some(shape) = ours.get(&format!("{}.{part}", e.burn)) else {
                problems.push(format!("{torch}: the model has no {}.{part}", e.burn));
                continue;
            };
            // PyTorch stores linear weights as [out, in], Burn as [in, out].
            let expected: Vec<usize> = if shape.len() == 2 {
                shape.iter().rev().copied().collect()
            } else {
                shape.clone()
            };
            match file.get(&torch) {
                None => problems.push(format!("{torch} is missing")),
                Some(found) if *found != expected => problems.push(format!(
                    "{torch} has shape {found:?} in the file, the model expects {expected:?} ({})",
                    shape_hint(&torch, found, &expected, width)
                )),
                Some(_) => {}
            }
        }
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.swap_remove(0)),
        n => Err(format!("{} (and {} more)", problems[0], n - 1)),
    }
}

/// The likely cause of a shape mismatch of `torch`.
fn shape_hint(torch: &str, found: &[usize], expected: &[usize], width: f64) -> String {
    if torch.starts_with("classifier.") {
        return "torchvision's classifier fits only a width-1.0 VGG with hidden sizes \
                [4096, 4096]: load the convolutions only, or match the hidden sizes"
            .into();
    }
    if torch == "features.0.weight" && found.get(1) != expected.get(1) {
        return format!(
            "the file's first convolution takes {} input channels: set the model's channels \
             to it (single bands are repeated)",
            found.get(1).copied().unwrap_or(0)
        );
    }
    format!(
        "conv widths follow the backbone's width multiplier, {width} here; ImageNet's VGG is \
         width 1.0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_map_skips_the_imagenet_head() {
        let convs = key_map(VggVariant::Vgg16, &TorchvisionInit::new());
        let torch: Vec<&str> = convs.iter().map(|e| e.torch.as_str()).collect();
        assert_eq!(torch.len(), 13);
        assert_eq!(
            torch[..4],
            ["features.0", "features.2", "features.5", "features.7"]
        );
        assert_eq!(torch[12], "features.28");
        assert_eq!(convs[12].burn, "backbone.blocks.12.conv");
        let all = key_map(
            VggVariant::Vgg16,
            &TorchvisionInit::new().with_classifier(true),
        );
        let tail: Vec<(&str, &str)> = all[13..]
            .iter()
            .map(|e| (e.torch.as_str(), e.burn.as_str()))
            .collect();
        assert_eq!(
            tail,
            [
                ("classifier.0", "backbone.hidden.0"),
                ("classifier.3", "backbone.hidden.1")
            ]
        );
    }

    #[test]
    fn file_layouts_are_recognised() {
        let file: BTreeMap<String, Vec<usize>> = torch_conv_indices(VggVariant::Vgg11, false)
            .into_iter()
            .flat_map(|n| {
                [
                    (format!("features.{n}.weight"), vec![8, 8, 3, 3]),
                    (format!("features.{n}.bias"), vec![8]),
                ]
            })
            .collect();
        assert_eq!(file_conv_indices(&file), [0, 3, 6, 8, 11, 13, 16, 18]);
        let map = key_map(VggVariant::Vgg16, &TorchvisionInit::new());
        let err = check_file(&file, &map, VggVariant::Vgg16).unwrap_err();
        assert!(
            err.starts_with("features.2.weight: the file holds the features of Vgg11"),
            "{err}"
        );
        let map11 = key_map(VggVariant::Vgg11, &TorchvisionInit::new());
        assert_eq!(check_file(&file, &map11, VggVariant::Vgg11), Ok(()));
    }
}
