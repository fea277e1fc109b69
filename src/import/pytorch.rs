//! Reading a GaMPEN PyTorch state dict into a Burn model, with shape diagnostics.

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::{ModuleSnapshot, ModuleStore, PytorchStore};
use burn::tensor::Device;

use super::keymap::{key_map, regex_escape, torch_name, KeyMapEntry};
use super::OriginalArch;
use crate::config::GampenConfig;
use crate::error::GampenError;
use crate::model::Gampen;

/// Imports a GaMPEN PyTorch state dict (`.pt` / `.pth`, `torch.save(model.state_dict())`,
/// optionally from `nn.DataParallel`) of class `arch`: the network of
/// [`OriginalArch::config`] at `cutout_size` predicting `parameters` (in the order of the
/// original `--label_cols`), with every dropout layer at `dropout`.
///
/// A state dict does not store the dropout rate, and Monte-Carlo posteriors depend on it, so
/// it is not defaulted: pass the rate the model was trained with (GaMPEN's `--dropout_rate`).
/// For GaMPEN's published models use [`import_published`](super::import_published), which
/// knows their rates and label scaling.
///
/// ```no_run
/// use std::path::Path;
/// use burn::tensor::Device;
/// use gampen::import::{gampen_label_transform, import_pytorch, OriginalArch};
///
/// let labels: Vec<String> = ["custom_logit_bt", "ln_R_e_asec", "ln_total_flux_adus"]
///     .map(String::from)
///     .to_vec();
/// let device = Device::flex();
/// let model = import_pytorch(
///     Path::new("trained_model.pt"),
///     OriginalArch::Vgg16WStnOcDrp,
///     239,
///     labels.clone(),
///     0.0004,
///     &device,
/// )?;
/// let scaling = gampen_label_transform(Path::new("scaling.csv"), &labels)?;
/// gampen::checkpoint::save(&model, Some(&scaling), Path::new("my-gampen-model"))?;
/// # Ok::<(), gampen::GampenError>(())
/// ```
pub fn import_pytorch(
    path: &Path,
    arch: OriginalArch,
    cutout_size: usize,
    parameters: Vec<String>,
    dropout: f64,
    device: &Device,
) -> Result<Gampen, GampenError> {
    let config = arch.config(cutout_size, parameters).with_dropout(dropout);
    import_pytorch_with_config(path, arch, &config, device)
}

/// [`import_pytorch`] into a model built from `config`, which must describe `arch` (same STN
/// head, VGG backbone without batch norm; widths and hidden sizes may differ from the
/// published ones, and must then match the file).
pub fn import_pytorch_with_config(
    path: &Path,
    arch: OriginalArch,
    config: &GampenConfig,
    device: &Device,
) -> Result<Gampen, GampenError> {
    let map = key_map(arch, config)?;
    let mut model = config.init(device)?;
    if !path.is_file() {
        return Err(GampenError::checkpoint(path, "no such file"));
    }
    let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
    for e in &map {
        store = store.with_key_remapping(
            format!(r"^(?:module\.)?{}\.", regex_escape(&e.torch)),
            format!("{}.", e.burn),
        );
    }
    let file: BTreeMap<String, Vec<usize>> = store
        .get_all_tensors()
        .map_err(|e| {
            GampenError::checkpoint(path, format!("cannot read the PyTorch state dict: {e}"))
        })?
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.to_vec()))
        .collect();
    let ours: BTreeMap<String, Vec<usize>> = model
        .collect(None, None, true)
        .into_iter()
        .map(|t| (t.name, t.shape.to_vec()))
        .collect();
    let problems = fit_problems(&map, &ours, &file);
    if !problems.is_empty() {
        let shown = problems.len().min(8);
        let mut msg = format!(
            "the state dict does not fit {arch} at cutout size {}: {}",
            config.cutout_size,
            problems[..shown].join("; ")
        );
        if problems.len() > shown {
            msg += &format!("; ... and {} more", problems.len() - shown);
        }
        return Err(GampenError::checkpoint(path, msg));
    }
    let result = model.load_from(&mut store).map_err(|e| {
        GampenError::checkpoint(path, format!("the state dict does not fit {arch}: {e}"))
    })?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(GampenError::checkpoint(
            path,
            format!(
                "the state dict does not fit {arch}: {}",
                result.to_string().replace('\n', "; ")
            ),
        ));
    }
    Ok(model)
}

/// Every way the file's tensors (`file`, renamed) fail to fit the model's (`ours`): missing
/// and unexpected keys, then shape mismatches in network order, the ones with a hint about
/// the likely cause (cutout size, number of parameters) first. Names are PyTorch's.
fn fit_problems(
    map: &[KeyMapEntry],
    ours: &BTreeMap<String, Vec<usize>>,
    file: &BTreeMap<String, Vec<usize>>,
) -> Vec<String> {
    let to_torch = |burn_key: &str| torch_name(map, burn_key);
    let missing: Vec<String> = ours
        .keys()
        .filter(|k| !file.contains_key(*k))
        .map(|k| to_torch(k))
        .collect();
    let unused: Vec<String> = file
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .map(|k| to_torch(k))
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing keys: {}", missing.join(", ")));
    }
    if !unused.is_empty() {
        problems.push(format!("unexpected keys: {}", unused.join(", ")));
    }
    let mut shape_problems = Vec::new();
    for key in map
        .iter()
        .flat_map(|e| [format!("{}.weight", e.burn), format!("{}.bias", e.burn)])
    {
        let (Some(shape), Some(found)) = (ours.get(&key), file.get(&key)) else {
            continue;
        };
        // PyTorch stores linear weights as [out, in], Burn as [in, out].
        let expected: Vec<usize> = if shape.len() == 2 {
            shape.iter().rev().copied().collect()
        } else {
            shape.clone()
        };
        if *found != expected {
            let msg = format!(
                "{} has shape {found:?} in the file, the model expects {expected:?}",
                to_torch(&key)
            );
            shape_problems.push(match shape_hint(&key) {
                Some(h) => (0, format!("{msg} ({h})")),
                None => (1, msg),
            });
        }
    }
    shape_problems.sort_by_key(|(priority, _)| *priority);
    problems.extend(shape_problems.into_iter().map(|(_, m)| m));
    problems
}

/// The likely cause of a shape mismatch at `key`, where one is known.
fn shape_hint(key: &str) -> Option<&'static str> {
    match key {
        "stn.loc.fc1.weight" => {
            Some("the localisation net's output size follows the cutout size: check it")
        }
        "backbone.head.bias" => Some(
            "the output width is n + n(n+1)/2 for n parameters with the full covariance: \
             check the parameters and the loss",
        ),
        _ => None,
    }
}
