//! What the network predicts ([`LossKind`], [`CovarianceParam`]) and how the loss is configured.

use burn::config::Config;
use burn::nn::loss::Reduction;

use crate::loss::GaussianLoss;
use crate::triangular::num_lower;

/// Which likelihood the network is trained with; it fixes the width of the network's head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LossKind {
    /// Full-covariance Gaussian NLL (GaMPEN's loss): `n + n (n + 1) / 2` outputs.
    Cov,
    /// Diagonal (aleatoric, independent errors) Gaussian NLL: `2 n` outputs.
    Diag,
    /// Mean squared error, a point estimate: `n` outputs.
    Mse,
}

/// How the covariance part of a [`LossKind::Cov`] head is read.
///
/// Both layouts are `[mu (n), diagonal part (n), strictly-lower part (n (n - 1) / 2)]`, the
/// strictly-lower entries in row-major order `(1,0), (2,0), (2,1), (3,0), ...` (the order of
/// `torch.tril_indices(n, n, offset=-1)`); they differ in what the numbers mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CovarianceParam {
    /// `Sigma = L L^T`, the outputs are `log L_ii` and `L_ij`. See [`crate::cholesky`].
    #[cfg_attr(feature = "clap", value(help = "Sigma = L L^T"))]
    Cholesky,
    /// GaMPEN's layout, `Sigma = L D L^T` with unit-diagonal `L`: the outputs are `log D_i` and
    /// `L_ij`. Needed to use GaMPEN's released checkpoints. See [`crate::ldl`].
    #[cfg_attr(
        feature = "clap",
        value(help = "Sigma = L D L^T, GaMPEN's layout (its released checkpoints use it)")
    )]
    Ldl,
}

/// Network outputs per galaxy for `n` predicted parameters.
///
/// | kind | outputs | n = 3 |
/// |---|---|---|
/// | [`LossKind::Cov`] | `n + n (n + 1) / 2` | 9 |
/// | [`LossKind::Diag`] | `2 n` | 6 |
/// | [`LossKind::Mse`] | `n` | 3 |
pub fn num_outputs(kind: LossKind, n: usize) -> usize {
    match kind {
        LossKind::Cov => 2 * n + num_lower(n),
        LossKind::Diag => 2 * n,
        LossKind::Mse => n,
    }
}

/// Configuration of a [`GaussianLoss`], built with [`GaussianLossConfig::init`].
#[derive(Config, Debug)]
pub struct GaussianLossConfig {
    /// Number of predicted parameters (GaMPEN's published models: 3).
    pub n: usize,
    /// Likelihood. Default: [`LossKind::Cov`].
    #[config(default = "LossKind::Cov")]
    pub kind: LossKind,
    /// Layout of a [`LossKind::Cov`] head, ignored otherwise. Default:
    /// [`CovarianceParam::Cholesky`].
    #[config(default = "CovarianceParam::Cholesky")]
    pub param: CovarianceParam,
    /// Add the constant `0.5 n ln(2 pi)` so the loss is the exact negative log-likelihood
    /// (Gaussian kinds only; it does not change gradients). Default: `false`.
    #[config(default = false)]
    pub full: bool,
    /// How per-galaxy losses are reduced: `Mean` (also `Auto`, `BatchMean`) averages over the
    /// batch, `Sum` adds. Default: `Mean`.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl GaussianLossConfig {
    /// Builds the loss. Widths are checked when it is used, so this cannot fail.
    pub fn init(&self) -> GaussianLoss {
        GaussianLoss {
            n: self.n,
            kind: self.kind,
            param: self.param,
            full: self.full,
            reduction: self.reduction.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_match_gampen() {
        // GaMPEN: (3 n + n^2) / 2 outputs for the covariance loss.
        for n in 1..8 {
            assert_eq!(num_outputs(LossKind::Cov, n), (3 * n + n * n) / 2);
            assert_eq!(num_outputs(LossKind::Diag, n), 2 * n);
            assert_eq!(num_outputs(LossKind::Mse, n), n);
        }
    }

    #[test]
    fn defaults() {
        let config = GaussianLossConfig::new(3);
        assert_eq!(config.kind, LossKind::Cov);
        assert_eq!(config.param, CovarianceParam::Cholesky);
        assert!(!config.full);
        assert!(matches!(config.reduction, Reduction::Mean));
        let loss = config.with_kind(LossKind::Diag).init();
        assert_eq!(loss.num_outputs(), 6);
    }
}
