//! Streaming access to a data directory: catalog rows read one at a time and cutouts
//! decoded and prepared batch by batch, so memory does not grow with the number of galaxies.
//!
//! Preparation matches what `gampen_data::GalaxyDataset` does at load time: the NaN policy,
//! the arsinh normalisation, and the centre crop (with band repetition) of
//! `gampen_data::transform::image::crop_augment_into` without augmentation.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use gampen_data::fits::{read_fits_hdu, HduSelect};
use gampen_data::transform::image::{arsinh_normalize, crop_augment_into, Augment};
use gampen_data::{DataError, DatasetOptions, Image, NanPolicy};

use crate::error::{CliError, Result};

/// The catalog column naming each cutout.
pub const FILE_NAME: &str = "file_name";

/// Name of the file, in a training run directory, holding the data options the model was
/// trained with (crop size, channels, arsinh, NaN policy, HDU, cutout directory).
pub const DATASET_JSON: &str = "dataset.json";

/// The catalog a command reads: `info.csv`, or `splits/<split>.csv` with `split`.
pub fn catalog_path(data: &Path, split: Option<&str>) -> Result<PathBuf> {
    if !data.is_dir() {
        return Err(CliError::usage(format!(
            "data directory {} does not exist (or is not a directory)",
            data.display()
        )));
    }
    let path = match split {
        Some(name) => gampen_data::splits::split_path(data, name),
        None => data.join("info.csv"),
    };
    if !path.is_file() {
        let hint = match split {
            Some(_) => " (run `gampen splits` first, or leave out --split to use info.csv)",
            None => " (a data directory needs info.csv with a file_name column)",
        };
        return Err(CliError::usage(format!(
            "catalog {} not found{hint}",
            path.display()
        )));
    }
    Ok(path)
}

/// A catalog read row by row.
pub struct CatalogStream {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    headers: Vec<String>,
    file_col: usize,
    row: usize,
}

impl CatalogStream {
    /// Opens `path` and checks that it has a `file_name` column.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| CliError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(BufReader::new(file));
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| CliError::csv(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        let file_col = column_index(path, &headers, FILE_NAME)?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            headers,
            file_col,
            row: 0,
        })
    }

    /// Column names, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Index of the `file_name` column.
    pub fn file_col(&self) -> usize {
        self.file_col
    }

    /// The next row as `(0-based data row, fields)`, `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>> {
        let mut record = csv::StringRecord::new();
        let more = self
            .reader
            .read_record(&mut record)
            .map_err(|e| CliError::csv(&self.path, e))?;
        if !more {
            return Ok(None);
        }
        let row = self.row;
        self.row += 1;
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        if fields[self.file_col].is_empty() {
            return Err(CliError::usage(format!(
                "{}: data row {} (1-based): empty {FILE_NAME}",
                self.path.display(),
                row + 1
            )));
        }
        Ok(Some((row, fields)))
    }
}

/// Index of `column` in `headers`, or an error naming the file and the available columns.
pub fn column_index(path: &Path, headers: &[String], column: &str) -> Result<usize> {
    headers.iter().position(|h| h == column).ok_or_else(|| {
        CliError::Data(DataError::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            available: headers.join(", "),
        })
    })
}

/// How cutouts are turned into model input.
#[derive(Clone, Debug)]
pub struct Preparation {
    /// Directory holding the cutouts.
    pub cutouts: PathBuf,
    /// Crop side, pixels.
    pub size: usize,
    /// Model channels.
    pub channels: usize,
    /// Apply the arsinh normalisation.
    pub arsinh: bool,
    /// Non-finite pixel policy.
    pub nan_policy: NanPolicy,
    /// HDU to read.
    pub hdu: HduSelect,
}

impl Preparation {
    /// The preparation a model was trained with: `dataset.json` of the run when there is one,
    /// else the library defaults (arsinh on, NaN pixels an error, first image HDU,
    /// `cutouts/`), always with the model's crop size and channels.
    pub fn for_model(
        data: &Path,
        options: Option<&DatasetOptions>,
        size: usize,
        channels: usize,
    ) -> Self {
        let defaults = DatasetOptions::default();
        let o = options.unwrap_or(&defaults);
        Preparation {
            cutouts: data.join(&o.cutouts_dir),
            size,
            channels,
            arsinh: o.arsinh,
            nan_policy: o.nan_policy,
            hdu: o.hdu.map_or(HduSelect::FirstImage, HduSelect::Index),
        }
    }

    /// Reads one cutout and checks it against the model input, naming the file on failure.
    pub fn read(&self, file_name: &str) -> Result<Image> {
        let path = self.cutouts.join(file_name);
        let (mut img, _) = read_fits_hdu(&path, self.hdu)?;
        if img.height < self.size || img.width < self.size {
            return Err(DataError::CutoutTooSmall {
                path,
                height: img.height,
                width: img.width,
                size: self.size,
            }
            .into());
        }
        if img.bands != 1 && img.bands != self.channels {
            return Err(DataError::Channels {
                path,
                bands: img.bands,
                channels: self.channels,
            }
            .into());
        }
        img.apply_nan_policy(self.nan_policy, &path)?;
        if self.arsinh {
            arsinh_normalize(&mut img.data);
        }
        Ok(img)
    }

    /// Reads, prepares and centre-crops the cutouts `file_names` into one batch.
    ///
    /// # Shapes
    /// - result: `[file_names.len(), channels, size, size]`
    pub fn batch(&self, file_names: &[&str], device: &Device) -> Result<Tensor<4>> {
        let (s, c) = (self.size, self.channels);
        let per = c * s * s;
        let mut buf = vec![0f32; file_names.len() * per];
        for (name, out) in file_names.iter().zip(buf.chunks_mut(per)) {
            let img = self.read(name)?;
            crop_augment_into(&img, s, c, &Augment::default(), out);
        }
        Ok(Tensor::from_data(
            TensorData::new(buf, [file_names.len(), c, s, s]),
            device,
        ))
    }
}

/// Which rows of a catalog a process handles: `--shard K/N` takes the rows whose 0-based
/// index `i` satisfies `i % N == K - 1` (K is 1-based, `1/4` .. `4/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Everything.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether data row `row` (0-based) belongs to this shard.
    pub fn contains(&self, row: usize) -> bool {
        row % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad =
            || format!("bad shard {s:?}: expected K/N with 1 <= K <= N (1-based, e.g. 1/4 .. 4/4)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing_and_membership() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 3 });
        assert!(s.contains(1) && s.contains(4) && !s.contains(0));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
