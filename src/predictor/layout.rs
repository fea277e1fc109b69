//! How a posterior becomes the summary cells of a prediction CSV row.

use gampen_data::LabelTransform;

use crate::error::GampenError;
use crate::posterior::catalogue::GampenCatalogue;
use crate::posterior::columns::{cell, gampen_cells, summary_headers, summary_values, Columns};
use crate::posterior::IntervalMethod;
use crate::GalaxyPosterior;

/// The summary columns of one [`Columns`] layout for a model's parameters.
#[derive(Clone, Debug)]
pub enum Layout {
    /// [`crate::posterior::columns::STATS`] per parameter.
    Default(Vec<String>),
    /// GaMPEN's catalogue layout, with the interval method for derived quantities.
    Gampen(GampenCatalogue, IntervalMethod),
}

impl Layout {
    /// The layout `columns` for `params` (and their label transform, which tells GaMPEN's
    /// catalogue which parameters are its published targets).
    pub fn new(
        columns: Columns,
        intervals: IntervalMethod,
        params: &[String],
        labels: Option<&LabelTransform>,
    ) -> Self {
        match columns {
            Columns::Default => Self::Default(params.to_vec()),
            Columns::Gampen => Self::Gampen(GampenCatalogue::new(params, labels), intervals),
        }
    }

    /// The summary column names, in row order.
    pub fn headers(&self) -> Vec<String> {
        match self {
            Self::Default(params) => summary_headers(params),
            Self::Gampen(c, _) => c.headers(),
        }
    }

    /// Whether [`Layout::cells`] needs the posterior's raw samples (derived quantities).
    pub fn needs_samples(&self) -> bool {
        matches!(self, Self::Gampen(c, _) if c.needs_samples())
    }

    /// The summary cells of one posterior, in [`Layout::headers`] order.
    pub fn cells(&self, post: &GalaxyPosterior) -> Result<Vec<String>, GampenError> {
        Ok(match self {
            Self::Default(_) => post
                .marginals
                .iter()
                .flat_map(|m| summary_values(m).map(cell))
                .collect(),
            Self::Gampen(c, method) => c
                .summaries(post, *method)?
                .iter()
                .flat_map(gampen_cells)
                .collect(),
        })
    }
}
