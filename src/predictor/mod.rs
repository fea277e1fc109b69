//! Prediction from a trained checkpoint, in the library: [`Predictor`] opens a run or
//! checkpoint directory with its preprocessing and calibration, and streams a catalog (or
//! any images) to posteriors batch by batch, as values ([`Predictor::catalog_batches`],
//! [`Predictor::predict_images`]) or as the CSV `gampen predict` writes
//! ([`Predictor::write_csv`]).
//!
//! ```no_run
//! use burn::tensor::Device;
//! use gampen::predictor::Predictor;
//! let predictor = Predictor::open("run".as_ref(), &Device::flex())?;
//! for batch in predictor.catalog_batches("sims".as_ref(), None)? {
//!     let batch = batch?;
//!     for (row, post) in batch.rows.iter().zip(&batch.posteriors) {
//!         println!("row {row}: {} = {:.3}", predictor.parameters()[0], post.marginals[0].median);
//!     }
//! }
//! # Ok::<(), gampen::GampenError>(())
//! ```

mod catalog;
mod crop_dir;
mod crops;
mod describe;
mod layout;
mod options;
#[allow(clippy::module_inception)]
mod predictor;
mod sample_table;
mod samples;
mod writer;

use std::path::Path;

pub use catalog::{CatalogBatches, CatalogImages, ImageBatch, PredictedBatch, Progress};
pub use crop_dir::CropsWritten;
pub use crops::{stn_crops, StnCrop};
pub use layout::Layout;
pub use options::PredictOptions;
pub use predictor::Predictor;
pub use sample_table::SampleTable;
pub use samples::SampleWriter;

use crate::error::GampenError;

/// A CSV error on the file `path` ([`gampen_data::DataError::Csv`]: csv's own message
/// already says "CSV error" and names the record).
fn csv_error(path: &Path, e: csv::Error) -> GampenError {
    gampen_data::DataError::csv(path, e).into()
}
