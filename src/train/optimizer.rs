//! The optimiser: its family (what a command line names) and its hyper-parameters.

use burn::grad_clipping::GradientClipping;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::error::GampenError;

/// The optimisers [`OptimizerKind`] offers, without their hyper-parameters: on a command line
/// `sgd` or `adam`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerFamily {
    /// SGD with momentum (GaMPEN's).
    #[default]
    Sgd,
    /// Adam.
    Adam,
}

impl OptimizerFamily {
    /// The learning rate a run of this family starts from unless told otherwise: GaMPEN's
    /// 0.005 for SGD (also [`TrainConfig`](super::TrainConfig)'s default), 0.001 for Adam.
    pub fn default_lr(self) -> f64 {
        match self {
            Self::Sgd => 0.005,
            Self::Adam => 0.001,
        }
    }

    /// The optimiser of this family: `momentum` and `nesterov` apply to SGD only, Adam keeps
    /// [`OptimizerKind::ADAM_BETAS`].
    pub fn with(self, momentum: f64, nesterov: bool, weight_decay: f64) -> OptimizerKind {
        match self {
            Self::Sgd => OptimizerKind::Sgd {
                momentum,
                nesterov,
                weight_decay,
            },
            Self::Adam => OptimizerKind::Adam {
                beta1: OptimizerKind::ADAM_BETAS.0,
                beta2: OptimizerKind::ADAM_BETAS.1,
                weight_decay,
            },
        }
    }
}

/// The optimiser and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Stochastic gradient descent, PyTorch semantics (no dampening). GaMPEN's choice.
    Sgd {
        /// Momentum factor (GaMPEN: 0.9).
        momentum: f64,
        /// Nesterov momentum (GaMPEN: off).
        nesterov: bool,
        /// L2 penalty (GaMPEN: 0).
        weight_decay: f64,
    },
    /// Adam.
    Adam {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// L2 penalty.
        weight_decay: f64,
    },
}

impl OptimizerKind {
    /// GaMPEN's SGD momentum.
    pub const SGD_MOMENTUM: f64 = 0.9;
    /// Adam's usual first- and second-moment decays.
    pub const ADAM_BETAS: (f64, f64) = (0.9, 0.999);

    /// GaMPEN's defaults: SGD, momentum 0.9, no Nesterov, no weight decay.
    pub fn gampen_sgd() -> Self {
        OptimizerFamily::Sgd.with(Self::SGD_MOMENTUM, false, 0.0)
    }

    /// Adam with the usual betas and no weight decay.
    pub fn adam() -> Self {
        OptimizerFamily::Adam.with(Self::SGD_MOMENTUM, false, 0.0)
    }

    /// Which family this optimiser belongs to.
    pub fn family(&self) -> OptimizerFamily {
        match self {
            Self::Sgd { .. } => OptimizerFamily::Sgd,
            Self::Adam { .. } => OptimizerFamily::Adam,
        }
    }

    pub(crate) fn init(&self, clip_norm: Option<f64>) -> ModuleOptimizer {
        let optim = self.init_unclipped();
        match clip_norm {
            Some(norm) => optim.with_grad_clipping(GradientClipping::Norm(norm as f32)),
            None => optim,
        }
    }

    /// Checks the optimiser's hyper-parameters, naming the field.
    pub fn validate(&self) -> Result<(), GampenError> {
        let (probs, weight_decay) = match *self {
            Self::Sgd {
                momentum,
                weight_decay,
                ..
            } => (vec![("momentum", momentum)], weight_decay),
            Self::Adam {
                beta1,
                beta2,
                weight_decay,
            } => (vec![("beta1", beta1), ("beta2", beta2)], weight_decay),
        };
        for (what, v) in probs {
            if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                return Err(GampenError::Config(format!(
                    "`{what}` = {v} is outside [0, 1)"
                )));
            }
        }
        if !(weight_decay.is_finite() && weight_decay >= 0.0) {
            return Err(GampenError::Config(format!(
                "`weight_decay` = {weight_decay} must be finite and >= 0"
            )));
        }
        Ok(())
    }

    fn init_unclipped(&self) -> ModuleOptimizer {
        let decay = |wd: f64| (wd > 0.0).then(|| WeightDecayConfig::new(wd as f32));
        match *self {
            Self::Sgd {
                momentum,
                nesterov,
                weight_decay,
            } => {
                let momentum = (momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                        .with_nesterov(nesterov)
                });
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay(weight_decay))
                    .init()
            }
            Self::Adam {
                beta1,
                beta2,
                weight_decay,
            } => AdamConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_weight_decay(decay(weight_decay))
                .init(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::TrainConfig;

    #[test]
    fn families_build_their_optimisers_with_the_library_defaults() {
        assert_eq!(OptimizerFamily::Sgd.default_lr(), TrainConfig::new().lr);
        assert_eq!(TrainConfig::new().optimizer, OptimizerKind::gampen_sgd());
        assert_eq!(
            OptimizerKind::adam(),
            OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                weight_decay: 0.0
            }
        );
        for family in [OptimizerFamily::Sgd, OptimizerFamily::Adam] {
            assert_eq!(family.with(0.5, true, 0.1).family(), family);
        }
    }
}
