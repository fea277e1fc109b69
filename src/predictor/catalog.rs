//! Streaming a catalog through a [`Predictor`]: batches of rows with their posteriors.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::tensor::Tensor;
use gampen_data::stream::count_rows;
use gampen_data::{catalog_path, CatalogStream, Preparation};

use super::Predictor;
use crate::error::GampenError;
use crate::GalaxyPosterior;

/// Catalog rows and their posteriors, one batch of a [`CatalogBatches`].
#[derive(Clone, Debug)]
pub struct PredictedBatch {
    /// 0-based data row of each galaxy in the catalog.
    pub rows: Vec<usize>,
    /// The catalog's fields of each galaxy, in [`CatalogImages::headers`] order.
    pub fields: Vec<Vec<String>>,
    /// The posterior of each galaxy.
    pub posteriors: Vec<GalaxyPosterior>,
}

/// How far a prediction has come, passed to a progress callback after every batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Galaxies predicted so far.
    pub done: usize,
    /// Galaxies to predict (the shard's rows of the catalog).
    pub total: usize,
    /// Time since the first batch started.
    pub elapsed: Duration,
}

impl Progress {
    /// Galaxies per second so far.
    pub fn galaxies_per_second(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Catalog rows and their prepared images, one batch of a [`CatalogImages`].
#[derive(Clone, Debug)]
pub struct ImageBatch {
    /// 0-based data row of each galaxy in the catalog.
    pub rows: Vec<usize>,
    /// The catalog's fields of each galaxy, in [`CatalogImages::headers`] order.
    pub fields: Vec<Vec<String>>,
    /// The prepared cutouts, `[rows.len(), channels, cutout_size, cutout_size]`.
    pub images: Tensor<4>,
}

/// The rows of one shard of a catalog with their cutouts, read and prepared one batch at a
/// time: memory holds one batch whatever the catalog's length. Made by
/// [`Predictor::catalog_images`].
pub struct CatalogImages<'a> {
    predictor: &'a Predictor,
    path: PathBuf,
    stream: CatalogStream,
    preparation: Preparation,
    total: usize,
    finished: bool,
}

impl CatalogImages<'_> {
    /// The catalog file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The catalog's column names.
    pub fn headers(&self) -> &[String] {
        self.stream.headers()
    }

    /// Index of the `file_name` column.
    pub fn file_col(&self) -> usize {
        self.stream.file_col()
    }

    /// Rows of the shard, all batches together.
    pub fn total(&self) -> usize {
        self.total
    }

    fn next_batch(&mut self) -> Result<Option<ImageBatch>, GampenError> {
        let options = self.predictor.options();
        let mut chunk = Vec::with_capacity(options.batch_size);
        while chunk.len() < options.batch_size {
            match self.stream.next_row()? {
                Some((row, fields)) if options.shard.contains(row) => chunk.push((row, fields)),
                Some(_) => {}
                None => break,
            }
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        let col = self.file_col();
        let names: Vec<&str> = chunk.iter().map(|(_, f)| f[col].as_str()).collect();
        let images = self.preparation.batch(&names, self.predictor.device())?;
        let (rows, fields) = chunk.into_iter().unzip();
        Ok(Some(ImageBatch {
            rows,
            fields,
            images,
        }))
    }
}

impl Iterator for CatalogImages<'_> {
    type Item = Result<ImageBatch, GampenError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let next = self.next_batch().transpose();
        // Stop after the end or the first error: the stream's position is unknown then.
        self.finished = !matches!(next, Some(Ok(_)));
        next
    }
}

/// The rows of one shard of a catalog with their posteriors, one batch at a time. Made by
/// [`Predictor::catalog_batches`].
pub struct CatalogBatches<'a> {
    images: CatalogImages<'a>,
    keep_samples: bool,
}

impl<'a> CatalogBatches<'a> {
    /// The catalog rows and images underneath.
    pub fn images(&self) -> &CatalogImages<'a> {
        &self.images
    }
}

impl Iterator for CatalogBatches<'_> {
    type Item = Result<PredictedBatch, GampenError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.images.next()? {
            Ok(batch) => batch,
            Err(e) => return Some(Err(e)),
        };
        let first = batch.rows[0];
        let predictor = self.images.predictor;
        Some(
            predictor
                .predict_batch_keeping(batch.images, first, self.keep_samples)
                .map(|posteriors| PredictedBatch {
                    rows: batch.rows,
                    fields: batch.fields,
                    posteriors,
                }),
        )
    }
}

impl Predictor {
    /// Streams the catalog of data directory `data` (`info.csv`, or `splits/<split>.csv`
    /// with `split`), restricted to [`super::PredictOptions::shard`], batch by batch, with
    /// the posteriors of its galaxies.
    pub fn catalog_batches(
        &self,
        data: &Path,
        split: Option<&str>,
    ) -> Result<CatalogBatches<'_>, GampenError> {
        self.catalog_batches_keeping(data, split, self.options().keep_samples)
    }

    pub(crate) fn catalog_batches_keeping(
        &self,
        data: &Path,
        split: Option<&str>,
        keep_samples: bool,
    ) -> Result<CatalogBatches<'_>, GampenError> {
        Ok(CatalogBatches {
            images: self.catalog_images(data, split)?,
            keep_samples,
        })
    }

    /// Streams the catalog of `data` like [`Predictor::catalog_batches`], with the
    /// prepared cutouts instead of posteriors.
    pub fn catalog_images(
        &self,
        data: &Path,
        split: Option<&str>,
    ) -> Result<CatalogImages<'_>, GampenError> {
        let path = catalog_path(data, split)?;
        let shard = self.options().shard;
        let rows = count_rows(&path)?;
        let total = (0..rows).filter(|&i| shard.contains(i)).count();
        Ok(CatalogImages {
            predictor: self,
            stream: CatalogStream::open(&path)?,
            path,
            preparation: Preparation::new(data, self.preprocessing()),
            total,
            finished: false,
        })
    }
}

/// Calls `progress` after each batch with the running count.
pub(crate) struct ProgressClock<F> {
    started: Instant,
    done: usize,
    total: usize,
    callback: F,
}

impl<F: FnMut(&Progress)> ProgressClock<F> {
    pub(crate) fn new(total: usize, callback: F) -> Self {
        Self {
            started: Instant::now(),
            done: 0,
            total,
            callback,
        }
    }

    pub(crate) fn add(&mut self, n: usize) {
        self.done += n;
        (self.callback)(&Progress {
            done: self.done,
            total: self.total,
            elapsed: self.started.elapsed(),
        });
    }

    pub(crate) fn done(&self) -> usize {
        self.done
    }
}
