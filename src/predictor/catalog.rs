//! Streaming a catalog through a [`Predictor`]: batches of rows with their posteriors.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// The catalog's fields of each galaxy, in [`CatalogBatches::headers`] order.
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

/// The rows of one shard of a catalog, read, prepared and predicted one batch at a time:
/// memory holds one batch whatever the catalog's length. Made by
/// [`Predictor::catalog_batches`].
pub struct CatalogBatches<'a> {
    predictor: &'a Predictor,
    path: PathBuf,
    stream: CatalogStream,
    preparation: Preparation,
    total: usize,
    keep_samples: bool,
    done: bool,
}

impl<'a> CatalogBatches<'a> {
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

    /// The next batch's rows of the shard, empty at the end.
    fn next_rows(&mut self) -> Result<Vec<(usize, Vec<String>)>, GampenError> {
        let (shard, size) = (
            self.predictor.options().shard,
            self.predictor.options().batch_size,
        );
        let mut chunk = Vec::with_capacity(size);
        while chunk.len() < size {
            match self.stream.next_row()? {
                Some((row, fields)) if shard.contains(row) => chunk.push((row, fields)),
                Some(_) => {}
                None => break,
            }
        }
        Ok(chunk)
    }

    fn next_batch(&mut self) -> Result<Option<PredictedBatch>, GampenError> {
        let chunk = self.next_rows()?;
        let Some(&(first, _)) = chunk.first() else {
            return Ok(None);
        };
        let col = self.file_col();
        let names: Vec<&str> = chunk.iter().map(|(_, f)| f[col].as_str()).collect();
        let images = self.preparation.batch(&names, self.predictor.device())?;
        let posteriors = self
            .predictor
            .predict_batch_keeping(images, first, self.keep_samples)?;
        let (rows, fields) = chunk.into_iter().unzip();
        Ok(Some(PredictedBatch {
            rows,
            fields,
            posteriors,
        }))
    }
}

impl Iterator for CatalogBatches<'_> {
    type Item = Result<PredictedBatch, GampenError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch().transpose();
        // Stop after the end or the first error: the stream's position is unknown then.
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
}

impl Predictor {
    /// Streams the catalog of data directory `data` (`info.csv`, or `splits/<split>.csv`
    /// with `split`), restricted to [`super::PredictOptions::shard`], batch by batch.
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
        let path = catalog_path(data, split)?;
        let shard = self.options().shard;
        let rows = count_rows(&path)?;
        let total = (0..rows).filter(|&i| shard.contains(i)).count();
        Ok(CatalogBatches {
            predictor: self,
            stream: CatalogStream::open(&path)?,
            path,
            preparation: Preparation::new(data, self.preprocessing()),
            total,
            keep_samples,
            done: false,
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
