//! Errors a user's configuration can cause.

use thiserror::Error;

/// What can go wrong when building a backbone from a configuration.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum BackboneError {
    /// Dropout rates are probabilities of dropping and must lie in `[0, 1)`.
    #[error("dropout probability must be in [0, 1), got {0}")]
    Dropout(f64),
    /// The width multiplier must be positive and finite.
    #[error("width multiplier must be positive and finite, got {0}")]
    Width(f64),
    /// A size, channel count or layer width is zero.
    #[error("{what} must be positive")]
    Zero {
        /// Name of the offending field.
        what: &'static str,
    },
}

/// Checks a dropout probability.
pub(crate) fn check_prob(p: f64) -> Result<(), BackboneError> {
    if p.is_finite() && (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(BackboneError::Dropout(p))
    }
}

/// Scales a reference channel count by the width multiplier, keeping at least one channel.
pub(crate) fn scaled(channels: usize, width: f64) -> usize {
    ((channels as f64 * width).round() as usize).max(1)
}

/// Checks a width multiplier.
pub(crate) fn check_width(width: f64) -> Result<(), BackboneError> {
    if width.is_finite() && width > 0.0 {
        Ok(())
    } else {
        Err(BackboneError::Width(width))
    }
}
