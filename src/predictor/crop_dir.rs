//! A data directory of the spatial transformer's crops: what `gampen crop` writes.

use std::path::Path;

use gampen_data::atomic::{commit_csv, csv_writer};
use gampen_data::paths::create_dir;
use gampen_data::DataError;

use super::{Predictor, StnCrop};
use crate::error::GampenError;

/// What [`Predictor::write_crops`] wrote.
#[derive(Clone, Debug)]
pub struct CropsWritten {
    /// Galaxies cropped.
    pub count: usize,
    /// The first crops, as many as asked for (for a figure).
    pub first: Vec<StnCrop>,
}

impl Predictor {
    /// Crops every galaxy of `data`'s catalog (`splits/<split>.csv`, or `info.csv`) into the
    /// data directory `dir`: `dir/cutouts/<file_name>` ([`StnCrop::write_fits`]) and
    /// `dir/info.csv`, a copy of the catalog rows written atomically. Keeps the first `keep`
    /// crops; `on_batch(galaxies_done)` is called after every batch. A `dir` that is, holds
    /// or lies inside `data` or the checkpoint is refused before anything is written.
    pub fn write_crops(
        &self,
        data: &Path,
        split: Option<&str>,
        dir: &Path,
        keep: usize,
        mut on_batch: impl FnMut(usize),
    ) -> Result<CropsWritten, GampenError> {
        gampen_data::paths::check_io(
            &[("data", data), ("checkpoint", self.dir())],
            &[("dir", dir)],
        )?;
        let cutouts = dir.join("cutouts");
        create_dir(&cutouts)?;
        let batches = self.catalog_images(data, split)?;
        let file_col = batches.file_col();
        let info = dir.join("info.csv");
        let csv_error = |e| DataError::csv(&info, e);
        let mut writer = csv_writer(&info)?;
        writer.write_record(batches.headers()).map_err(csv_error)?;
        let mut written = CropsWritten {
            count: 0,
            first: Vec::new(),
        };
        for batch in batches {
            let batch = batch?;
            for (fields, crop) in batch.fields.iter().zip(self.stn_crops(batch.images)?) {
                let name = &fields[file_col];
                let path = cutouts.join(name);
                if let Some(parent) = path.parent() {
                    create_dir(parent)?;
                }
                crop.write_fits(&path, name)?;
                writer.write_record(fields).map_err(csv_error)?;
                if written.first.len() < keep {
                    written.first.push(crop);
                }
                written.count += 1;
            }
            on_batch(written.count);
        }
        commit_csv(writer)?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn a_crop_directory_is_a_data_directory() {
        let root = tempfile::tempdir().expect("temp dir");
        let data = root.path().join("data");
        let config = gampen_data::SimulatorConfig {
            image_size: 40,
            ..Default::default()
        };
        gampen_data::simulate::simulate_to_dir(&data, &config, 5).expect("simulate");
        let device = Device::flex();
        let mut config = crate::GampenConfig::gampen_small(vec!["bt".into()]);
        config.cutout_size = 40;
        let model = config.init(&device).expect("model");
        let ckpt = root.path().join("model");
        crate::checkpoint::save(&model, None, &ckpt).expect("checkpoint");
        let predictor = Predictor::open(&ckpt, &device).expect("predictor");
        let out = root.path().join("crops");
        let mut calls = Vec::new();
        let written = predictor
            .write_crops(&data, None, &out, 2, |n| calls.push(n))
            .expect("crops");
        assert_eq!((written.count, written.first.len()), (5, 2));
        assert_eq!(calls.last(), Some(&5));
        let copy = gampen_data::CsvTable::read(out.join("info.csv")).expect("info.csv");
        let original = gampen_data::CsvTable::read(data.join("info.csv")).expect("info.csv");
        assert_eq!(copy.rows, original.rows);
        for row in &copy.rows {
            assert!(out.join("cutouts").join(&row[0]).is_file(), "{row:?}");
        }
    }
}
