//! A labelled set of cutouts held in memory: FITS decoded once, on all cores, with the NaN
//! policy and the arsinh normalisation applied, and label targets transformed and scaled.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CsvTable};
use crate::fits::read_fits_hdu;
use crate::prepare::Preprocessing;
use crate::splits::split_path;
use crate::transform::image::AugmentOptions;
use crate::transform::label::{LabelTransform, ScalingKind, Transform};
use crate::transform::sky::{median_sky_sigma, Softening, GAMPEN_SOFTENING};
use crate::{DataError, Image, NanPolicy};

/// How to load a dataset; serialisable so that it can be saved with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetOptions {
    /// Split to read from `splits/<split>.csv` (e.g. `balanced-dev-train`); `None` reads
    /// `info.csv`.
    pub split: Option<String>,
    /// Label columns and their transforms, in target order (empty for unlabelled data).
    pub labels: Vec<(String, Transform)>,
    /// Scaling fitted after the transforms when `label_transform` is `None`.
    pub scaling: ScalingKind,
    /// A transform fitted before (on the training split): use it for devel, test and
    /// prediction data. `None` fits one on this dataset, which is right for training only.
    pub label_transform: Option<LabelTransform>,
    /// Side of the centre crop fed to the model, pixels (GaMPEN: 239, 143 or 96).
    pub cutout_size: usize,
    /// Channels of the model input; one-band cutouts are repeated (GaMPEN: 3).
    pub channels: usize,
    /// Apply `x -> asinh(x / arsinh_softening)` to the pixels.
    pub arsinh: bool,
    /// The arsinh softening in pixel units (GaMPEN: 1); see
    /// [`arsinh_normalize`](crate::transform::image::arsinh_normalize).
    pub arsinh_softening: f64,
    /// Fit [`arsinh_softening`](Self::arsinh_softening) to this dataset's sky noise (the
    /// median of [`sky_sigma`](crate::transform::sky::sky_sigma) over its cutouts) when it
    /// is loaded: right for a training split; the loaded dataset's
    /// [`options`](GalaxyDataset::options) then hold the fitted value for the other splits.
    pub fit_arsinh_softening: bool,
    /// What to do with NaN and infinite pixels.
    pub nan_policy: NanPolicy,
    /// HDU to read (`None`: the first image HDU).
    pub hdu: Option<usize>,
    /// Augmentations drawn when a batch is asked for with a random generator.
    pub augment: AugmentOptions,
    /// Directory of the cutouts, relative to the data directory.
    pub cutouts_dir: String,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            split: None,
            labels: Vec::new(),
            scaling: ScalingKind::Standard,
            label_transform: None,
            cutout_size: 64,
            channels: 3,
            arsinh: true,
            arsinh_softening: GAMPEN_SOFTENING,
            fit_arsinh_softening: false,
            nan_policy: NanPolicy::Error,
            hdu: None,
            augment: AugmentOptions::default(),
            cutouts_dir: "cutouts".into(),
        }
    }
}

impl DatasetOptions {
    /// These options with the arsinh softening chosen by `softening`: a value, or fitted to
    /// the sky noise of the split they load.
    pub fn with_softening(mut self, softening: Softening) -> Self {
        match softening {
            Softening::Value(b) => {
                self.arsinh_softening = b;
                self.fit_arsinh_softening = false;
            }
            Softening::SkyNoise => self.fit_arsinh_softening = true,
        }
        self
    }

    /// GaMPEN's published label set: `logit(bt)`, `ln(r_e)`, `ln(total_flux)`, standard
    /// scaling.
    pub fn gampen_labels(mut self) -> Self {
        self.labels = vec![
            ("bt".into(), Transform::Logit { eps: 1e-3 }),
            ("r_e".into(), Transform::Ln),
            ("total_flux".into(), Transform::Ln),
        ];
        self.scaling = ScalingKind::Standard;
        self
    }
}

/// Galaxies in memory: cutouts, catalog rows, and model targets.
#[derive(Debug, Clone)]
pub struct GalaxyDataset {
    pub(crate) dir: PathBuf,
    pub(crate) catalog: Catalog,
    pub(crate) images: Vec<Image>,
    pub(crate) targets: Vec<f32>,
    pub(crate) label_transform: Option<LabelTransform>,
    pub(crate) options: DatasetOptions,
    pub(crate) replaced_pixels: usize,
}

impl GalaxyDataset {
    /// Loads the catalog (`info.csv` or the split in `options`) of the data directory `dir`
    /// and decodes every cutout on all cores.
    pub fn load(dir: impl AsRef<Path>, options: &DatasetOptions) -> Result<Self, DataError> {
        let dir = dir.as_ref();
        let csv = match &options.split {
            Some(name) => split_path(dir, name),
            None => dir.join("info.csv"),
        };
        let table = CsvTable::read(&csv)?;
        let columns: Vec<String> = options.labels.iter().map(|(c, _)| c.clone()).collect();
        let catalog = Catalog::from_table(&table, &columns)?;
        let cutouts = dir.join(&options.cutouts_dir);
        let select = Preprocessing::from_options(options).hdu_select();
        let images = catalog
            .file_names
            .par_iter()
            .map(|name| {
                let path = cutouts.join(name);
                read_fits_hdu(&path, select).map(|(img, _)| (img, path))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::build(dir.to_path_buf(), catalog, images, options)
    }

    /// Builds a dataset from images already in memory (e.g. [`crate::simulate_images`]);
    /// `catalog.file_names` name them in errors.
    pub fn from_images(
        catalog: Catalog,
        images: Vec<Image>,
        options: &DatasetOptions,
    ) -> Result<Self, DataError> {
        if catalog.len() != images.len() {
            return Err(DataError::Config(format!(
                "{} catalog rows but {} images",
                catalog.len(),
                images.len()
            )));
        }
        let named = images
            .into_iter()
            .zip(&catalog.file_names)
            .map(|(img, name)| (img, PathBuf::from(name)))
            .collect();
        Self::build(PathBuf::new(), catalog, named, options)
    }

    /// Loads `{prefix}-train`, `{prefix}-devel` and `{prefix}-test` (e.g. prefix
    /// `balanced-dev`), fitting the label scaling on train and applying it to the others.
    pub fn load_splits(
        dir: impl AsRef<Path>,
        prefix: &str,
        options: &DatasetOptions,
    ) -> Result<[GalaxyDataset; 3], DataError> {
        let dir = dir.as_ref();
        let with = |base: &DatasetOptions, part: &str, lt: Option<LabelTransform>| DatasetOptions {
            split: Some(format!("{prefix}-{part}")),
            label_transform: lt,
            ..base.clone()
        };
        let train_options = with(options, "train", options.label_transform.clone());
        let train = GalaxyDataset::load(dir, &train_options)?;
        // Fitted on train (label scaling, arsinh softening), applied to the others.
        let (fitted, lt) = (train.options().clone(), train.label_transform.clone());
        let devel = GalaxyDataset::load(dir, &with(&fitted, "devel", lt.clone()))?;
        let test = GalaxyDataset::load(dir, &with(&fitted, "test", lt))?;
        Ok([train, devel, test])
    }

    fn build(
        dir: PathBuf,
        catalog: Catalog,
        images: Vec<(Image, PathBuf)>,
        options: &DatasetOptions,
    ) -> Result<Self, DataError> {
        let mut options = options.clone();
        if options.fit_arsinh_softening {
            options.arsinh_softening = median_sky_sigma(images.iter().map(|(img, _)| img))?;
            options.fit_arsinh_softening = false;
        }
        let preprocessing = Preprocessing::from_options(&options);
        preprocessing.check()?;
        let prepared = images
            .into_par_iter()
            .map(|(img, path)| preprocessing.prepare(img, &path))
            .collect::<Result<Vec<_>, DataError>>()?;
        let replaced_pixels = prepared.iter().map(|(_, r)| r).sum();
        let images = prepared.into_iter().map(|(img, _)| img).collect();
        let (label_transform, targets) = if options.labels.is_empty() {
            (None, Vec::new())
        } else {
            let lt = label_transform_for(&catalog, &options)?;
            let mut targets = Vec::with_capacity(catalog.len() * options.labels.len());
            for (row, raw) in catalog.labels.iter().enumerate() {
                let z = lt.forward(raw).map_err(|e| e.at_row(&catalog.path, row))?;
                targets.extend(z.iter().map(|&v| v as f32));
            }
            (Some(lt), targets)
        };
        Ok(GalaxyDataset {
            dir,
            catalog,
            images,
            targets,
            label_transform,
            options,
            replaced_pixels,
        })
    }

    /// Number of galaxies.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there are no galaxies.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The data directory (empty for in-memory datasets).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The catalog rows (file names, raw labels, extra columns) in dataset order.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The fitted (or given) label transform; save it with the model. `None` without labels.
    pub fn label_transform(&self) -> Option<&LabelTransform> {
        self.label_transform.as_ref()
    }

    /// Replaces the label transform (columns unchanged, e.g. a refitted scaling) and
    /// recomputes every target with it. Errors name the catalog row of a label outside the
    /// new transform's domain; the dataset is unchanged then.
    pub fn set_label_transform(&mut self, lt: LabelTransform) -> Result<(), DataError> {
        let options = DatasetOptions {
            label_transform: Some(lt),
            ..self.options.clone()
        };
        let lt = label_transform_for(&self.catalog, &options)?;
        let mut targets = Vec::with_capacity(self.targets.len());
        for (row, raw) in self.catalog.labels.iter().enumerate() {
            let z = lt
                .forward(raw)
                .map_err(|e| e.at_row(&self.catalog.path, row))?;
            targets.extend(z.iter().map(|&v| v as f32));
        }
        self.targets = targets;
        self.label_transform = Some(lt);
        Ok(())
    }

    /// The options the dataset was loaded with.
    pub fn options(&self) -> &DatasetOptions {
        &self.options
    }

    /// Number of targets per galaxy.
    pub fn num_targets(&self) -> usize {
        self.options.labels.len()
    }

    /// Non-finite pixels replaced under [`NanPolicy::Replace`], over all cutouts.
    pub fn replaced_pixels(&self) -> usize {
        self.replaced_pixels
    }

    /// The cached (normalised) cutout of galaxy `i`.
    pub fn image(&self, i: usize) -> &Image {
        &self.images[i]
    }

    /// Transformed and scaled targets of galaxy `i`.
    pub fn targets(&self, i: usize) -> &[f32] {
        let k = self.num_targets();
        &self.targets[i * k..(i + 1) * k]
    }
}

/// The label transform given in `options`, checked against the catalog's columns, or one
/// fitted on `catalog`. Every error names the catalog file, and a label outside its
/// transform's domain also the row and column.
fn label_transform_for(
    catalog: &Catalog,
    options: &DatasetOptions,
) -> Result<LabelTransform, DataError> {
    if let Some(lt) = &options.label_transform {
        if lt.column_names() != catalog.label_columns {
            return Err(DataError::Config(format!(
                "{}: label transform is for columns {:?} but the options ask for {:?}",
                catalog.path.display(),
                lt.column_names(),
                catalog.label_columns
            )));
        }
        return Ok(lt.clone());
    }
    if catalog.is_empty() && options.scaling != ScalingKind::None {
        return Err(DataError::Config(format!(
            "{}: no data rows (header only), so no label scaling can be fitted; give the \
             catalog at least one galaxy",
            catalog.path.display()
        )));
    }
    // `fit` reports a domain error without its row: find the row first.
    for (row, raw) in catalog.labels.iter().enumerate() {
        for ((column, transform), &x) in options.labels.iter().zip(raw) {
            transform
                .forward(x, column)
                .map_err(|e| e.at_row(&catalog.path, row))?;
        }
    }
    LabelTransform::fit(&options.labels, options.scaling, &catalog.labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog `cat.csv` with `bt, r_e, total_flux` rows and 1x1 images for them.
    fn tiny(rows: &[[f64; 3]]) -> (Catalog, Vec<Image>, DatasetOptions) {
        let catalog = Catalog {
            path: PathBuf::from("cat.csv"),
            file_names: (0..rows.len()).map(|i| format!("g{i}.fits")).collect(),
            label_columns: vec!["bt".into(), "r_e".into(), "total_flux".into()],
            labels: rows.iter().map(|r| r.to_vec()).collect(),
            extra_columns: Vec::new(),
            extras: vec![Vec::new(); rows.len()],
        };
        let images = vec![Image::new(vec![0.5], 1, 1, 1); rows.len()];
        let options = DatasetOptions {
            cutout_size: 1,
            channels: 1,
            ..Default::default()
        }
        .gampen_labels();
        (catalog, images, options)
    }

    #[test]
    fn out_of_domain_labels_name_file_row_and_column() {
        let good = [[0.2, 1.0, 10.0], [0.5, 2.0, 20.0]];
        let bad = [[0.2, 1.0, 10.0], [0.5, -2.0, 20.0]];
        // Fitting on the catalog (training) and applying a fitted transform (devel, test).
        let (catalog, images, options) = tiny(&bad);
        let fit_err = GalaxyDataset::from_images(catalog, images, &options).unwrap_err();
        let (catalog, images, options) = tiny(&good);
        let lt = GalaxyDataset::from_images(catalog, images, &options)
            .unwrap()
            .label_transform()
            .cloned();
        let (catalog, images, options) = tiny(&bad);
        let given = DatasetOptions {
            label_transform: lt,
            ..options
        };
        let apply_err = GalaxyDataset::from_images(catalog, images, &given).unwrap_err();
        for err in [fit_err, apply_err] {
            assert!(
                matches!(err, DataError::LabelOutOfDomain { row: 2, .. }),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(
                msg.starts_with("cat.csv: data row 2")
                    && msg.contains("\"r_e\"")
                    && msg.contains("-2")
                    && msg.contains("ln"),
                "{msg}"
            );
        }
    }

    #[test]
    fn header_only_catalog_says_what_to_change() {
        let (catalog, images, options) = tiny(&[]);
        let msg = GalaxyDataset::from_images(catalog, images, &options)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("cat.csv") && msg.contains("no data rows"),
            "{msg}"
        );
    }

    #[test]
    fn fitted_softening_is_the_training_sky_noise_and_is_kept() {
        let sigma = 0.05f32;
        // Borders alternating +-sigma: a MAD of exactly sigma.
        let noisy = |k: usize| {
            let data = (0..16 * 16)
                .map(|i| {
                    if (i + k).is_multiple_of(2) {
                        sigma
                    } else {
                        -sigma
                    }
                })
                .collect();
            Image::new(data, 1, 16, 16)
        };
        let (catalog, _, options) = tiny(&[[0.2, 1.0, 10.0], [0.5, 2.0, 20.0]]);
        let options = DatasetOptions {
            cutout_size: 4,
            fit_arsinh_softening: true,
            ..options
        };
        let set = GalaxyDataset::from_images(catalog, vec![noisy(0), noisy(1)], &options).unwrap();
        let fitted = set.options();
        let want = 1.482_602_2 * sigma as f64;
        assert!(!fitted.fit_arsinh_softening);
        assert!((fitted.arsinh_softening - want).abs() < 1e-6, "{fitted:?}");
        // The prepared pixels are asinh(x / b).
        let want_pixel = (sigma as f64 / want).asinh() as f32;
        assert!(set.images[0]
            .data
            .iter()
            .all(|v| (v.abs() - want_pixel).abs() < 1e-5));
    }
}
