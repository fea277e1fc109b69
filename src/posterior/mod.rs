//! Posterior inference: Monte-Carlo dropout, sampling the predicted normals, summaries.

mod labels;
mod predict;
mod summary;

pub use labels::{Identity, LabelInverse};
pub use predict::{GalaxyPosterior, PosteriorOptions};
pub use summary::{kde_mode, quantile_sorted, MarginalSummary, LEVELS};
