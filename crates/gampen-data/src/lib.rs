//! Data for gampen: FITS cutouts, catalogs, train/devel/test splits, image and label
//! transforms, Burn batches, and a synthetic bulge+disk galaxy simulator.
//!
//! The on-disk layout is the original GaMPEN's: a directory with `cutouts/*.fits`,
//! `info.csv` (a `file_name` column plus label columns) and
//! `splits/{balanced|unbalanced}-{xs,sm,md,lg,xl,dev,dev2}-{train,devel,test}.csv`.
//!
//! One call makes a simulated training set and one call loads it:
//!
//! ```no_run
//! use gampen_data::{prepare_simulated_dataset, DatasetOptions, GalaxyDataset, SimulatorConfig};
//! # fn main() -> Result<(), gampen_data::DataError> {
//! prepare_simulated_dataset("data/sim", 10_000, &SimulatorConfig::default(), 42)?;
//! let opts = DatasetOptions { cutout_size: 64, ..Default::default() }.gampen_labels();
//! let [train, devel, test] = GalaxyDataset::load_splits("data/sim", "balanced-dev", &opts)?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod atomic;
pub mod atomic_dir;
mod batch;
pub mod catalog;
mod dataset;
mod error;
pub mod fits;
pub mod flags;
mod image;
pub mod merge;
pub mod paths;
pub mod prepare;
pub mod seed;
pub mod simulate;
pub mod splits;
pub mod stats;
pub mod stream;
pub mod transform;

pub use batch::GalaxyBatch;
pub use catalog::{canonical_key, Catalog, CsvTable};
pub use dataset::{DatasetOptions, GalaxyDataset};
pub use error::DataError;
pub use fits::{read_fits, write_fits};
pub use image::{Image, NanPolicy};
pub use prepare::{Preparation, Preprocessing};
pub use simulate::{
    prepare_simulated_dataset, simulate_images, simulate_to_dir, SimulatorConfig, Truth,
};
pub use splits::{load_split, SplitFractions, STANDARD_SPLITS};
pub use stream::{catalog_path, CatalogStream, Shard, FILE_NAME};
pub use transform::image::{Augment, AugmentOptions, Augmentation};
pub use transform::label::{LabelTransform, ScalingKind, Transform};
pub use transform::sky::Softening;
