//! Model checkpoints: weights (burnpack, via burn-store) with their config and label
//! transform, written atomically.
//!
//! A checkpoint is a directory:
//!
//! | file                 | content                                                   |
//! |----------------------|-----------------------------------------------------------|
//! | `config.json`        | the [`GampenConfig`] the weights belong to                |
//! | `model.bpk`          | weights (burnpack)                                        |
//! | `labels.json`        | the fitted label transform (optional)                     |
//! | `preprocessing.json` | how cutouts become model input, [`Preprocessing`](gampen_data::Preprocessing) (optional; written by training) |
//! | `calibration.json`   | interval calibration applied at prediction, [`CalibrationScale`](crate::calibration::CalibrationScale) (optional) |
//! | `optimizer.bin`      | optimiser state, for resuming training (optional)         |
//! | `state.json`         | training progress, for resuming training (optional)       |
//!
//! [`open`] loads all of it into a [`Checkpoint`]; a checkpoint without `preprocessing.json`
//! (written before it existed) takes the preprocessing from its training run's
//! `dataset.json`, else the library defaults ([`PreprocessingSource`]).
//!
//! Every file is written under a temporary name and renamed into place, and a checkpoint
//! directory is itself assembled under a temporary name, so a crash never leaves a
//! half-written checkpoint behind.

use std::fs;
use std::path::{Path, PathBuf};

use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::Device;
use gampen_data::LabelTransform;

use crate::config::GampenConfig;
use crate::error::GampenError;
use crate::model::Gampen;

/// File names inside a checkpoint directory.
pub mod files {
    /// The model config.
    pub const CONFIG: &str = "config.json";
    /// The weights.
    pub const MODEL: &str = "model.bpk";
    /// The label transform.
    pub const LABELS: &str = "labels.json";
    /// Optimiser state.
    pub const OPTIMIZER: &str = "optimizer.bin";
    /// Training state.
    pub const STATE: &str = "state.json";
    /// How cutouts are prepared for the model.
    pub const PREPROCESSING: &str = gampen_data::prepare::PREPROCESSING_JSON;
    /// Interval calibration applied at prediction.
    pub const CALIBRATION: &str = "calibration.json";
    /// In a run directory: which checkpoint is the best so far.
    pub const BEST: &str = "best.json";
    /// In a run directory: which checkpoint is the latest.
    pub const LAST: &str = "last.json";
}

mod extras;
mod open;

pub use crate::atomic::write_atomic;
use crate::atomic::{replace_dir, tmp_dir_for};
pub(crate) use extras::check_calibration;
pub use extras::Extras;
pub use open::{find_dataset_json, open, read_calibration, Checkpoint, PreprocessingSource};

/// Saves `model` (with its config and, if given, the label transform) as the checkpoint
/// directory `dir`, replacing an existing one atomically.
pub fn save(
    model: &Gampen,
    labels: Option<&LabelTransform>,
    dir: &Path,
) -> Result<(), GampenError> {
    save_with(model, labels, dir, &[])
}

/// [`save`] with extra files (name, bytes) placed in the same directory.
pub fn save_with(
    model: &Gampen,
    labels: Option<&LabelTransform>,
    dir: &Path,
    extra: &[(&str, Vec<u8>)],
) -> Result<(), GampenError> {
    save_parts(model, labels, &Extras::new().with_files(extra), dir)
}

/// [`save`] with everything a checkpoint can carry besides the model: preprocessing,
/// calibration and further files ([`Extras`]), each checked against the model first.
pub fn save_parts(
    model: &Gampen,
    labels: Option<&LabelTransform>,
    extras: &Extras,
    dir: &Path,
) -> Result<(), GampenError> {
    extras.check(model.config())?;
    let tmp = tmp_dir_for(dir)?;
    let config = serde_json::to_vec_pretty(model.config()).expect("config serialises");
    fs::write(tmp.join(files::CONFIG), config).map_err(|e| GampenError::io(&tmp, e))?;
    let weights = tmp.join(files::MODEL);
    let mut store = BurnpackStore::from_file(&weights).overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| GampenError::checkpoint(&weights, format!("cannot write weights: {e}")))?;
    if let Some(labels) = labels {
        let json = serde_json::to_vec_pretty(labels).expect("label transform serialises");
        fs::write(tmp.join(files::LABELS), json).map_err(|e| GampenError::io(&tmp, e))?;
    }
    for (name, bytes) in extras.all_files() {
        fs::write(tmp.join(name), bytes).map_err(|e| GampenError::io(&tmp, e))?;
    }
    Ok(replace_dir(&tmp, dir)?)
}

/// Resolves a path to a checkpoint directory: a checkpoint itself, or a training run
/// directory whose `best.json` (else `last.json`) names one.
pub fn resolve(path: &Path) -> Result<PathBuf, GampenError> {
    if path.join(files::CONFIG).is_file() {
        return Ok(path.to_path_buf());
    }
    for pointer in [files::BEST, files::LAST] {
        let p = path.join(pointer);
        if p.is_file() {
            return resolve_pointer(&p);
        }
    }
    if !path.exists() {
        return Err(GampenError::checkpoint(path, "no such file or directory"));
    }
    Err(GampenError::checkpoint(
        path,
        "neither a checkpoint (no config.json) nor a training run (no best.json / last.json)",
    ))
}

/// Reads a `best.json` / `last.json` pointer into the checkpoint directory it names.
pub fn resolve_pointer(pointer: &Path) -> Result<PathBuf, GampenError> {
    let text = fs::read_to_string(pointer).map_err(|e| GampenError::io(pointer, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| GampenError::checkpoint(pointer, format!("corrupt pointer: {e}")))?;
    let rel = v["checkpoint"]
        .as_str()
        .ok_or_else(|| GampenError::checkpoint(pointer, "no `checkpoint` entry"))?;
    let base = pointer.parent().unwrap_or(Path::new("."));
    Ok(base.join(rel))
}

/// Loads a checkpoint (or the best checkpoint of a run directory) onto `device`: the model
/// and its label transform. [`open`] loads its preprocessing and calibration as well.
pub fn load(path: &Path, device: &Device) -> Result<(Gampen, Option<LabelTransform>), GampenError> {
    load_dir(&resolve(path)?, device)
}

/// The model and label transform of the checkpoint directory `dir`.
fn load_dir(dir: &Path, device: &Device) -> Result<(Gampen, Option<LabelTransform>), GampenError> {
    let config = GampenConfig::load_json(dir.join(files::CONFIG))?;
    let model = config.init(device)?;
    let model = load_weights(model, dir)?;
    let labels_path = dir.join(files::LABELS);
    let labels = if labels_path.is_file() {
        let text =
            fs::read_to_string(&labels_path).map_err(|e| GampenError::io(&labels_path, e))?;
        let labels: LabelTransform = serde_json::from_str(&text).map_err(|e| {
            GampenError::checkpoint(&labels_path, format!("corrupt label transform: {e}"))
        })?;
        check_labels(&labels, model.config(), &labels_path)?;
        Some(labels)
    } else {
        None
    };
    Ok((model, labels))
}

/// A label transform must have one column per model parameter: the posterior code indexes it
/// by output position.
fn check_labels(
    labels: &LabelTransform,
    config: &GampenConfig,
    path: &Path,
) -> Result<(), GampenError> {
    if labels.columns.len() != config.num_params() {
        return Err(GampenError::checkpoint(
            path,
            format!(
                "label transform has {} columns but config.json predicts {} parameters {:?}",
                labels.columns.len(),
                config.num_params(),
                config.parameters
            ),
        ));
    }
    Ok(())
}

/// Burn's import errors list every mismatched tensor on one huge line; its first few hundred
/// characters are what a user can act on.
fn first_line_of(message: &str) -> String {
    const MAX: usize = 300;
    let line = message.lines().next().unwrap_or_default();
    if line.len() <= MAX {
        return format!("cannot read weights: {line}");
    }
    let cut = (0..=MAX)
        .rev()
        .find(|&i| line.is_char_boundary(i))
        .unwrap_or(0);
    format!(
        "weights do not fit config.json (e.g. a different width or cutout size): {} ...",
        &line[..cut]
    )
}

/// Loads the weights of checkpoint `dir` into `model`, which must have been built from the
/// same config: every tensor must be present, used, and of the right shape.
pub fn load_weights(mut model: Gampen, dir: &Path) -> Result<Gampen, GampenError> {
    let saved = GampenConfig::load_json(dir.join(files::CONFIG))?;
    let ours = serde_json::to_value(model.config()).expect("config serialises");
    let theirs = serde_json::to_value(&saved).expect("config serialises");
    if ours != theirs {
        return Err(GampenError::checkpoint(
            dir,
            format!("the checkpoint was saved with a different config:\n  checkpoint: {theirs}\n  model:      {ours}"),
        ));
    }
    let weights = dir.join(files::MODEL);
    if !weights.is_file() {
        return Err(GampenError::checkpoint(&weights, "missing weights file"));
    }
    let mut store = BurnpackStore::from_file(&weights);
    let result = model
        .load_from(&mut store)
        .map_err(|e| GampenError::checkpoint(&weights, first_line_of(&e.to_string())))?;
    if !result.missing.is_empty() || !result.unused.is_empty() || !result.errors.is_empty() {
        return Err(GampenError::checkpoint(
            &weights,
            format!(
                "weights do not fit the model: missing {:?}, unused {:?}, errors {:?}",
                result.missing, result.unused, result.errors
            ),
        ));
    }
    Ok(model)
}
