//! Errors a user's configuration can cause.

use thiserror::Error;

/// What can go wrong when building a spatial transformer from a configuration.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StnError {
    /// The input is too small for the localisation network's valid convolutions and pools.
    #[error(
        "input size {input_size:?} is too small for the localisation network: the {stage} \
         needs at least {needed} pixels along {axis} but gets {got}"
    )]
    InputTooSmall {
        /// The configured `[height, width]`.
        input_size: [usize; 2],
        /// Which layer runs out of pixels.
        stage: &'static str,
        /// `"height"` or `"width"`.
        axis: &'static str,
        /// Pixels that layer needs.
        needed: usize,
        /// Pixels that reach it.
        got: usize,
    },
    /// A size, channel count or layer width is zero.
    #[error("{what} must be positive")]
    Zero {
        /// Name of the offending field.
        what: &'static str,
    },
}
