//! Errors for mistakes a caller can make with shapes and configuration.

use crate::config::LossKind;

/// What can go wrong when a loss or a [`Gaussian`](crate::Gaussian) is built from network outputs.
///
/// Every variant is a user mistake (a head of the wrong width, labels with the wrong number of
/// columns, a configuration with `n = 0`); numerical trouble is handled inside the loss and never
/// surfaces as an error.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum LossError {
    /// The network output has the wrong number of columns for `n` parameters and this loss.
    #[error(
        "a {kind:?} loss for n = {n} parameters expects {expected} network outputs per galaxy, \
         got {got}"
    )]
    WrongWidth {
        /// Width the loss expects, [`num_outputs(kind, n)`](crate::num_outputs).
        expected: usize,
        /// Width of the network output.
        got: usize,
        /// Number of predicted parameters.
        n: usize,
        /// Loss the outputs were meant for.
        kind: LossKind,
    },
    /// The targets do not have one column per predicted parameter.
    #[error("targets must have n = {expected} columns (one per parameter), got {got}")]
    WrongTargetWidth {
        /// Number of predicted parameters `n`.
        expected: usize,
        /// Width of the target tensor.
        got: usize,
    },
    /// Outputs and targets describe different numbers of galaxies.
    #[error("outputs hold {outputs} galaxies but targets hold {targets}")]
    BatchMismatch {
        /// Batch size of the network output.
        outputs: usize,
        /// Batch size of the targets.
        targets: usize,
    },
    /// The loss was configured for zero parameters.
    #[error("the loss needs at least one predicted parameter (n = 0)")]
    NoParameters,
}

/// Checks that `outputs` is `[B, num_outputs(kind, n)]` for `n >= 1`.
pub(crate) fn check_outputs(width: usize, n: usize, kind: LossKind) -> Result<(), LossError> {
    if n == 0 {
        return Err(LossError::NoParameters);
    }
    let expected = crate::num_outputs(kind, n);
    if width != expected {
        return Err(LossError::WrongWidth {
            expected,
            got: width,
            n,
            kind,
        });
    }
    Ok(())
}

/// Checks that `targets` is `[batch, n]`.
pub(crate) fn check_targets(dims: [usize; 2], batch: usize, n: usize) -> Result<(), LossError> {
    if dims[1] != n {
        return Err(LossError::WrongTargetWidth {
            expected: n,
            got: dims[1],
        });
    }
    if dims[0] != batch {
        return Err(LossError::BatchMismatch {
            outputs: batch,
            targets: dims[0],
        });
    }
    Ok(())
}
