//! Importing GaMPEN's published PyTorch models (Ghosh et al. 2022) and their label scaling.
//!
//! The public API, stable for the CLI (`gampen import`):
//!
//! ```text
//! pub enum OriginalArch { Vgg16WStnOcDrp, Vgg16WStnDrp, Vgg16WStnAtDrp, Vgg16 }
//! impl OriginalArch {
//!     pub const ALL: [OriginalArch; 4];
//!     pub fn name(&self) -> &'static str;                       // "vgg16_w_stn_oc_drp", ...
//!     pub fn from_name(name: &str) -> Result<Self, GampenError>; // also `str::parse`
//!     pub fn stn_head(&self) -> Option<StnHead>;
//!     pub fn features_dropout(&self) -> bool;
//!     pub fn config(&self, cutout_size: usize, parameters: Vec<String>) -> GampenConfig;
//! }
//! pub fn import_pytorch(path: &Path, arch: OriginalArch, cutout_size: usize,
//!                       parameters: Vec<String>, device: &Device) -> Result<Gampen, GampenError>;
//! pub fn import_pytorch_with_config(path: &Path, arch: OriginalArch, config: &GampenConfig,
//!                                   device: &Device) -> Result<Gampen, GampenError>;
//! pub fn key_map(arch: OriginalArch, config: &GampenConfig) -> Result<Vec<KeyMapEntry>, GampenError>;
//! pub fn gampen_label_transform(path: &Path, parameters: &[String])
//!     -> Result<LabelTransform, GampenError>;
//! pub fn bt_snap_limits(bt: &[f64]) -> (f64, f64);
//! pub fn flux_to_magnitude(flux: f64, zero_point: f64) -> f64;
//! pub const HSC_ZERO_POINT: f64 = 27.0;
//! ```
//!
//! # How the weights are matched
//!
//! The importer reads the state dict with burn-store's [`PytorchStore`] and renames every
//! PyTorch layer to the Burn layer that plays its role, through an explicit table computed
//! from the model ([`key_map`]), never by position alone:
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
//! used, with matching shapes; anything else is a [`GampenError::Checkpoint`] listing the
//! offending PyTorch keys.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use burn::store::{ModuleSnapshot, ModuleStore, PytorchStore};
use burn::tensor::Device;
use gampen_backbone::VggVariant;
use gampen_data::transform::label::{ColumnTransform, Scaling};
use gampen_data::{CsvTable, LabelTransform, Transform};
use gampen_stn::StnHead;

use crate::config::{BackboneSpec, GampenConfig};
use crate::error::GampenError;
use crate::model::Gampen;

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

    /// The published network for this class: [`GampenConfig::gampen_original`] (3 channels,
    /// full covariance in GaMPEN's LDL layout, dropout 0.5) with this class's STN head.
    ///
    /// Change the dropout rate with `.with_dropout(..)` when the model was trained (and is
    /// meant to be sampled) with another rate; it is not stored in a state dict.
    pub fn config(&self, cutout_size: usize, parameters: Vec<String>) -> GampenConfig {
        GampenConfig::gampen_original(cutout_size, parameters).with_stn(self.stn_head())
    }

    fn torch_prefix(&self) -> &'static str {
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
fn torch_conv_indices(variant: VggVariant, dropout: bool) -> Vec<usize> {
    let mut indices = Vec::new();
    let mut next = 0;
    for pools in conv_pools(variant) {
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

/// For each conv of the variant, whether a max-pool follows it (torchvision's `cfgs`).
fn conv_pools(variant: VggVariant) -> Vec<bool> {
    let stages: &[usize] = match variant {
        VggVariant::Vgg11 => &[1, 1, 2, 2, 2],
        VggVariant::Vgg13 => &[2, 2, 2, 2, 2],
        VggVariant::Vgg16 => &[2, 2, 3, 3, 3],
        VggVariant::Vgg19 => &[2, 2, 4, 4, 4],
    };
    stages
        .iter()
        .flat_map(|&n| (0..n).map(move |i| i + 1 == n))
        .collect()
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

/// Imports a GaMPEN PyTorch state dict (`.pt` / `.pth`, `torch.save(model.state_dict())`,
/// optionally from `nn.DataParallel`) of class `arch` as published: the network of
/// [`OriginalArch::config`] at `cutout_size` predicting `parameters` (in the order of the
/// original `--label_cols`).
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
///     &device,
/// )?;
/// let scaling = gampen_label_transform(Path::new("scaling.csv"), &labels)?;
/// gampen::checkpoint::save(&model, Some(&scaling), Path::new("gampen-hsc-low-z"))?;
/// # Ok::<(), gampen::GampenError>(())
/// ```
pub fn import_pytorch(
    path: &Path,
    arch: OriginalArch,
    cutout_size: usize,
    parameters: Vec<String>,
    device: &Device,
) -> Result<Gampen, GampenError> {
    import_pytorch_with_config(path, arch, &arch.config(cutout_size, parameters), device)
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
    let read_err = |e: burn::store::PytorchStoreError| {
        GampenError::checkpoint(path, format!("cannot read the PyTorch state dict: {e}"))
    };
    let file: BTreeMap<String, Vec<usize>> = store
        .get_all_tensors()
        .map_err(read_err)?
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.to_vec()))
        .collect();
    let ours: BTreeMap<String, Vec<usize>> = model
        .collect(None, None, true)
        .into_iter()
        .map(|t| (t.name, t.shape.to_vec()))
        .collect();
    let to_torch = |burn_key: &str| torch_name(&map, burn_key);
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
    // Shapes, in network order, the ones with a hint about the likely cause first.
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
            let hint = if key == "stn.loc.fc1.weight" {
                Some("the localisation net's output size follows the cutout size: check it")
            } else if key == "backbone.head.bias" {
                Some(
                    "the output width is n + n(n+1)/2 for n parameters with the full \
                     covariance: check the parameters and the loss",
                )
            } else {
                None
            };
            let msg = format!(
                "{} has shape {found:?} in the file, the model expects {expected:?}",
                to_torch(&key)
            );
            shape_problems.push(match hint {
                Some(h) => (0, format!("{msg} ({h})")),
                None => (1, msg),
            });
        }
    }
    shape_problems.sort_by_key(|(priority, _)| *priority);
    problems.extend(shape_problems.into_iter().map(|(_, m)| m));
    if !problems.is_empty() {
        let shown = problems.len().min(8);
        let mut msg = format!(
            "the state dict does not fit {arch} at cutout size {}:\n  {}",
            config.cutout_size,
            problems[..shown].join("\n  ")
        );
        if problems.len() > shown {
            msg += &format!("\n  ... and {} more", problems.len() - shown);
        }
        return Err(GampenError::checkpoint(path, msg));
    }
    let result = model.load_from(&mut store).map_err(|e| {
        GampenError::checkpoint(path, format!("the state dict does not fit {arch}: {e}"))
    })?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(GampenError::checkpoint(
            path,
            format!("the state dict does not fit {arch}:\n{result}"),
        ));
    }
    Ok(model)
}

/// The PyTorch name of a (remapped) key, for error messages.
fn torch_name(map: &[KeyMapEntry], key: &str) -> String {
    for e in map {
        if let Some(rest) = key.strip_prefix(&format!("{}.", e.burn)) {
            return format!("{}.{rest} (-> {key})", e.torch);
        }
    }
    key.to_string()
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = !(c.is_ascii_alphanumeric() || c == '_');
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// HSC's photometric zero point: `mag = -2.5 log10(flux / ADU) + 27`.
pub const HSC_ZERO_POINT: f64 = 27.0;

/// AB magnitude of a flux in ADU for a zero point (e.g. [`HSC_ZERO_POINT`]):
/// `-2.5 log10(flux) + zero_point`.
///
/// The original `result_aggregator.py` used a coefficient of 2.512 (Pogson's ratio rounded)
/// instead of 2.5; magnitudes from it are fainter by `0.012 log10(flux)` (about 0.05 mag at
/// `flux = 10^4` ADU).
pub fn flux_to_magnitude(flux: f64, zero_point: f64) -> f64 {
    -2.5 * flux.log10() + zero_point
}

/// GaMPEN's snapping limits for B/T (`expit_custom` in the original `result_aggregator.py`)
/// from the training B/T values: a predicted B/T at or below `lower` becomes 0 and at or above
/// `upper` becomes 1, where `lower` is half the smallest non-zero value (only when the
/// training set holds a 0; otherwise 0, no snapping) and `upper` is halfway between the
/// largest value below 1 and 1 (only when it holds a 1; otherwise 1).
pub fn bt_snap_limits(bt: &[f64]) -> (f64, f64) {
    let has = |v: f64| bt.contains(&v);
    let lower = if has(0.0) {
        bt.iter()
            .copied()
            .filter(|&x| x != 0.0)
            .fold(f64::INFINITY, f64::min)
            / 2.0
    } else {
        0.0
    };
    let upper = if has(1.0) {
        let max = bt
            .iter()
            .copied()
            .filter(|&x| x != 1.0)
            .fold(f64::NEG_INFINITY, f64::max);
        1.0 - (1.0 - max) / 2.0
    } else {
        1.0
    };
    (
        if lower.is_finite() { lower } else { 0.0 },
        if upper.is_finite() { upper } else { 1.0 },
    )
}

/// One row of a label-scaling file.
#[derive(Debug, Clone, serde::Deserialize)]
struct ScalingRow {
    parameter: String,
    mean: f64,
    std: f64,
    #[serde(default)]
    transform: Option<String>,
    #[serde(default)]
    snap_lower: Option<f64>,
    #[serde(default)]
    snap_upper: Option<f64>,
}

/// Builds the label transform of a published GaMPEN model from its label-scaling file, so
/// that predictions come back in original units.
///
/// The published models predict standard-scaled transformed labels (`custom_logit_bt`,
/// `ln_R_e_asec`, `ln_total_flux_adus`). The inverse chain is: unscale with the training
/// mean and (population) std, then `expit` for a logit label (snapping to exactly 0 or 1 as
/// the original `expit_custom` does, see [`bt_snap_limits`]), `exp` for an `ln` label.
///
/// The file is CSV or JSON (by extension `.json`), one entry per parameter, matched by name
/// with `parameters` (which give the output order):
///
/// ```text
/// parameter,mean,std,transform,snap_lower,snap_upper
/// custom_logit_bt,-1.2,2.3,logit,0.0005,0.9995
/// ln_R_e_asec,0.1,0.7,,,
/// ln_total_flux_adus,8.9,1.1,,,
/// ```
///
/// `[{"parameter": "custom_logit_bt", "mean": -1.2, "std": 2.3, "snap_lower": 0.0005}, ...]`
///
/// `transform` (`logit`, `ln`, `log10`, `identity`) is optional: by default a name containing
/// `logit` or equal to `bt` is `logit`, a name starting with `ln_` or containing `r_e` or
/// `flux` is `ln`, anything else `identity`. `snap_lower` / `snap_upper` are optional (no
/// snapping).
pub fn gampen_label_transform(
    path: &Path,
    parameters: &[String],
) -> Result<LabelTransform, GampenError> {
    let rows = read_scaling_rows(path)?;
    let bad = |msg: String| GampenError::Config(format!("{}: {msg}", path.display()));
    let mut columns = Vec::with_capacity(parameters.len());
    for name in parameters {
        let row = rows
            .iter()
            .find(|r| &r.parameter == name)
            .ok_or_else(|| bad(format!("no scaling for parameter {name:?}")))?;
        if !(row.std > 0.0 && row.std.is_finite() && row.mean.is_finite()) {
            return Err(bad(format!(
                "{name}: mean {} / std {} must be finite with std > 0",
                row.mean, row.std
            )));
        }
        let transform = match row.transform.as_deref().map(str::trim) {
            None | Some("") => default_transform(name),
            Some("logit") => Transform::Logit { eps: 1e-6 },
            Some("ln") => Transform::Ln,
            Some("log10") => Transform::Log10,
            Some("identity") => Transform::Identity,
            Some(other) => return Err(bad(format!("{name}: unknown transform {other:?}"))),
        };
        let transform = match (transform, row.snap_lower, row.snap_upper) {
            (Transform::Logit { .. }, lower, upper) if lower.is_some() || upper.is_some() => {
                let (lower, upper) = (lower.unwrap_or(0.0), upper.unwrap_or(1.0));
                if !(0.0..0.5).contains(&lower) || !(0.5..=1.0).contains(&upper) {
                    return Err(bad(format!(
                        "{name}: snap limits must satisfy 0 <= snap_lower < 0.5 <= snap_upper <= 1"
                    )));
                }
                Transform::LogitSnap { lower, upper }
            }
            (t, None, None) => t,
            _ => {
                return Err(bad(format!(
                    "{name}: snap_lower / snap_upper only apply to a logit label"
                )))
            }
        };
        columns.push(ColumnTransform {
            column: name.clone(),
            transform,
            scaling: Scaling {
                offset: row.mean,
                scale: row.std,
            },
        });
    }
    Ok(LabelTransform { columns })
}

fn default_transform(name: &str) -> Transform {
    let lower = name.to_ascii_lowercase();
    if lower.contains("logit") || lower == "bt" {
        Transform::Logit { eps: 1e-6 }
    } else if lower.starts_with("ln_") || lower.contains("r_e") || lower.contains("flux") {
        Transform::Ln
    } else {
        Transform::Identity
    }
}

fn read_scaling_rows(path: &Path) -> Result<Vec<ScalingRow>, GampenError> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let text = std::fs::read_to_string(path).map_err(|e| GampenError::io(path, e))?;
        return serde_json::from_str(&text)
            .map_err(|e| GampenError::Config(format!("{}: {e}", path.display())));
    }
    let table = CsvTable::read(path)?;
    let col = |name: &str| table.headers.iter().position(|h| h.trim() == name);
    let need = |name: &str| {
        col(name)
            .ok_or_else(|| GampenError::Config(format!("{}: no column {name:?}", path.display())))
    };
    let (p, m, s) = (need("parameter")?, need("mean")?, need("std")?);
    let (t, lo, hi) = (col("transform"), col("snap_lower"), col("snap_upper"));
    let mut rows = Vec::new();
    for (i, r) in table.rows.iter().enumerate() {
        let num = |c: usize| -> Result<f64, GampenError> {
            r[c].trim().parse().map_err(|_| {
                GampenError::Config(format!(
                    "{}: row {}: {:?} is not a number",
                    path.display(),
                    i + 2,
                    r[c]
                ))
            })
        };
        let opt = |c: Option<usize>| -> Result<Option<f64>, GampenError> {
            match c {
                Some(c) if !r[c].trim().is_empty() => num(c).map(Some),
                _ => Ok(None),
            }
        };
        rows.push(ScalingRow {
            parameter: r[p].trim().to_string(),
            mean: num(m)?,
            std: num(s)?,
            transform: t.map(|c| r[c].clone()),
            snap_lower: opt(lo)?,
            snap_upper: opt(hi)?,
        });
    }
    Ok(rows)
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
