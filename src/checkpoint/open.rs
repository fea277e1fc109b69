//! Loading everything a checkpoint says about its model: weights, label transform,
//! preprocessing and calibration.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen_data::prepare::DATASET_JSON;
use gampen_data::{DataError, LabelTransform, Preprocessing};

use super::extras::{check_calibration, check_preprocessing};
use super::{files, load_dir, resolve};
use crate::calibration::CalibrationScale;
use crate::error::GampenError;
use crate::model::Gampen;

/// A checkpoint loaded whole by [`open`].
#[derive(Debug)]
pub struct Checkpoint {
    /// The model, with the dropout rate of its `config.json`.
    pub model: Gampen,
    /// The label transform (`None`: predictions are in the network's units).
    pub labels: Option<LabelTransform>,
    /// How cutouts become model input.
    pub preprocessing: Preprocessing,
    /// Where [`Checkpoint::preprocessing`] came from.
    pub preprocessing_source: PreprocessingSource,
    /// The checkpoint's interval calibration, if it has one.
    pub calibration: Option<CalibrationScale>,
    /// The checkpoint directory.
    pub dir: PathBuf,
}

/// Where the preprocessing of a [`Checkpoint`] came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreprocessingSource {
    /// The checkpoint's own `preprocessing.json`.
    Checkpoint(PathBuf),
    /// A training run's `dataset.json` (checkpoints written before `preprocessing.json`),
    /// with the model's crop size and channels.
    RunDataset(PathBuf),
    /// Neither: the library defaults with the model's crop size and channels.
    Defaults,
}

impl fmt::Display for PreprocessingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Checkpoint(p) => write!(f, "{}", p.display()),
            Self::RunDataset(p) => write!(f, "{} (no preprocessing.json)", p.display()),
            Self::Defaults => write!(
                f,
                "library defaults (no preprocessing.json or dataset.json): arsinh, NaN pixels \
                 an error, first image HDU, cutouts/"
            ),
        }
    }
}

/// Loads the checkpoint at `path` (a checkpoint directory, or a training run directory whose
/// best checkpoint is used) onto `device`, with its preprocessing and calibration.
///
/// A checkpoint without `preprocessing.json` takes it from the `dataset.json` of its
/// training run, looked for in `path`, the checkpoint directory, and up to three directories
/// above each; without one, from the library defaults.
pub fn open(path: &Path, device: &Device) -> Result<Checkpoint, GampenError> {
    let dir = resolve(path)?;
    let (model, labels) = load_dir(&dir, device)?;
    let (preprocessing, preprocessing_source) = preprocessing_for(path, &dir, &model)?;
    let calibration_path = dir.join(files::CALIBRATION);
    let calibration = if calibration_path.is_file() {
        Some(read_calibration(
            &calibration_path,
            &model.config().parameters,
        )?)
    } else {
        None
    };
    Ok(Checkpoint {
        model,
        labels,
        preprocessing,
        preprocessing_source,
        calibration,
        dir,
    })
}

/// The preprocessing of checkpoint `dir` (given by the user as `path`), and its source.
fn preprocessing_for(
    path: &Path,
    dir: &Path,
    model: &Gampen,
) -> Result<(Preprocessing, PreprocessingSource), GampenError> {
    let config = model.config();
    let own = dir.join(files::PREPROCESSING);
    if own.is_file() {
        let p = Preprocessing::read_json(&own)?;
        check_preprocessing(&p, config).map_err(|m| GampenError::checkpoint(&own, m))?;
        return Ok((p, PreprocessingSource::Checkpoint(own)));
    }
    let Some(dataset) = find_dataset_json(path).or_else(|| find_dataset_json(dir)) else {
        let p = Preprocessing::new(config.cutout_size, config.channels);
        return Ok((p, PreprocessingSource::Defaults));
    };
    let mut p = Preprocessing::read_dataset_json(&dataset)?;
    p.cutout_size = config.cutout_size;
    p.channels = config.channels;
    Ok((p, PreprocessingSource::RunDataset(dataset)))
}

/// The `dataset.json` a training run wrote, looked up in `path` and up to three directories
/// above it (a checkpoint lies at `RUN/checkpoints/epoch-NNNN`).
pub fn find_dataset_json(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .take(4)
        .map(|d| d.join(DATASET_JSON))
        .find(|p| p.is_file())
}

/// Reads a calibration file (`calibration.json`, or one written by `gampen evaluate
/// --fit-calibration`) and checks it is for `parameters`.
pub fn read_calibration(
    path: &Path,
    parameters: &[String],
) -> Result<CalibrationScale, GampenError> {
    let text = std::fs::read_to_string(path).map_err(|e| GampenError::io(path, e))?;
    let c: CalibrationScale = serde_json::from_str(&text).map_err(|source| DataError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    check_calibration(&c, parameters).map_err(|m| DataError::input(path, m))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{save, save_parts, Extras};
    use crate::config::GampenConfig;
    use gampen_data::{DatasetOptions, NanPolicy};

    fn model(device: &Device) -> Gampen {
        let mut config = GampenConfig::gampen_small(vec!["bt".into(), "r_e".into()]);
        config.cutout_size = 40;
        config.init(device).unwrap()
    }

    #[test]
    fn preprocessing_and_calibration_round_trip() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("ckpt");
        let model = model(&device);
        let mut p = Preprocessing::new(40, 1);
        p.nan_policy = NanPolicy::Replace(-1.0);
        p.hdu = Some(1);
        let c = CalibrationScale {
            parameters: model.config().parameters.clone(),
            scales: vec![1.5, 0.5],
            level_scales: vec![[1.5, 1.25, 1.75], [0.5, 0.75, 1.5]],
            orientations: crate::posterior::Orientations::Dihedral,
        };
        let extras = Extras::new().with_preprocessing(&p).with_calibration(&c);
        save_parts(&model, None, &extras, &ckpt).unwrap();
        let back = open(&ckpt, &device).unwrap();
        assert_eq!(back.preprocessing, p);
        assert_eq!(
            back.preprocessing_source,
            PreprocessingSource::Checkpoint(ckpt.join(files::PREPROCESSING))
        );
        assert_eq!(back.calibration.unwrap(), c);
        assert_eq!(back.dir, ckpt);
        // Parts that do not fit the model are refused at save time.
        let wrong = Preprocessing::new(64, 1);
        let err = save_parts(
            &model,
            None,
            &Extras::new().with_preprocessing(&wrong),
            &ckpt,
        );
        assert!(err.unwrap_err().to_string().contains("64x64"));
    }

    #[test]
    fn old_runs_fall_back_to_dataset_json_then_defaults() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let ckpt = run.join("checkpoints/epoch-0001");
        save(&model(&device), None, &ckpt).unwrap();
        let bare = open(&ckpt, &device).unwrap();
        assert_eq!(bare.preprocessing, Preprocessing::new(40, 1));
        assert_eq!(bare.preprocessing_source, PreprocessingSource::Defaults);
        let options = DatasetOptions {
            cutout_size: 40,
            channels: 1,
            arsinh: false,
            nan_policy: NanPolicy::Replace(0.0),
            cutouts_dir: "stamps".into(),
            ..Default::default()
        };
        let dataset = run.join(DATASET_JSON);
        std::fs::write(&dataset, serde_json::to_string(&options).unwrap()).unwrap();
        std::fs::write(
            run.join(files::BEST),
            r#"{"checkpoint":"checkpoints/epoch-0001"}"#,
        )
        .unwrap();
        for path in [&run, &ckpt] {
            let old = open(path, &device).unwrap();
            assert_eq!(old.preprocessing, Preprocessing::from_options(&options));
            assert_eq!(
                old.preprocessing_source,
                PreprocessingSource::RunDataset(dataset.clone())
            );
        }
    }

    #[test]
    fn a_corrupt_preprocessing_json_is_a_one_line_error_naming_it() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("ckpt");
        save(&model(&device), None, &ckpt).unwrap();
        let file = ckpt.join(files::PREPROCESSING);
        for bad in ["{", r#"{"cutout_size": 40}"#, "[1, 2]"] {
            std::fs::write(&file, bad).unwrap();
            let msg = open(&ckpt, &device).unwrap_err().to_string();
            assert!(
                msg.contains("preprocessing.json") && !msg.contains('\n'),
                "{msg}"
            );
        }
        let other = Preprocessing::new(48, 1);
        std::fs::write(&file, other.to_json()).unwrap();
        let msg = open(&ckpt, &device).unwrap_err().to_string();
        assert!(
            msg.contains("preprocessing.json") && msg.contains("48x48"),
            "{msg}"
        );
    }
}
