//! Posterior inference: Monte-Carlo dropout, sampling the predicted normals, summaries.

pub mod catalogue;
pub mod columns;
pub mod gampen_kde;
mod labels;
mod orientations;
mod predict;
mod summary;
mod table;

pub use columns::Columns;
pub use labels::{Identity, LabelInverse};
pub use orientations::Orientations;
pub use predict::{default_max_rows, GalaxyPosterior, PosteriorOptions};
pub use summary::{
    kde_mode, quantile_sorted, IntervalMethod, MarginalSummary, UnknownIntervalMethod, LEVELS,
};
pub use table::{check_unique, PredictionTable};
