//! GaMPEN's catalogue layout: which quantities a catalogue row holds, what they are called, the
//! derived magnitude, and the summary columns of each.
//!
//! GaMPEN's `result_aggregator.py` un-scales the three published targets of its models
//! (`custom_logit_bt`, `ln_R_e_asec`, `ln_total_flux_adus`) into `bt`, `R_e_asec` and
//! `total_flux_adus`, adds `total_mag = -2.512 log10(total_flux_adus) + 27` computed draw by
//! draw, and writes for every quantity the columns `preds_{name}_{stat}` for the stats in
//! [`GAMPEN_STATS`]. The HSC-Wide PDR2 catalogues of Ghosh et al. (2023) were made with it;
//! their documentation abbreviates the radius and flux names to `R_e` and `total_flux`, but
//! catalogues released from the same aggregator (for example the Stripe 82X AGN hosts) carry
//! the aggregator's names, which are the ones used here.

use gampen_data::{LabelTransform, Transform};

use super::predict::GalaxyPosterior;
use super::summary::{IntervalMethod, MarginalSummary};
use crate::error::GampenError;

/// The per-quantity statistics of GaMPEN's catalogues, in the aggregator's column order. The
/// three `*_ci` columns hold `(low, high)` pairs at the 68.27, 95.45 and 99.73 % levels;
/// `std` is numpy's (divided by `N`) and `kurtosis` is the excess kurtosis.
pub const GAMPEN_STATS: [&str; 9] = [
    "mean",
    "median",
    "std",
    "skew",
    "kurtosis",
    "mode",
    "sig_ci",
    "twosig_ci",
    "threesig_ci",
];

/// Name of the derived magnitude quantity.
pub const TOTAL_MAG: &str = "total_mag";

/// GaMPEN's published targets and the names of their un-scaled quantities.
pub const PUBLISHED_TARGETS: [(&str, &str); 3] = [
    ("custom_logit_bt", "bt"),
    ("ln_R_e_asec", "R_e_asec"),
    ("ln_total_flux_adus", "total_flux_adus"),
];

/// GaMPEN's magnitude of a flux in ADU: `-2.512 log10(flux) + 27`
/// ([`gampen_catalogue_magnitude`](crate::import::gampen_catalogue_magnitude): HSC coadds
/// have a zero point of 27; GaMPEN's coefficient is 2.512, not 2.5). Non-positive fluxes give
/// NaN or infinity, which the summaries drop like every non-finite draw.
pub fn total_mag(flux_adu: f64) -> f64 {
    crate::import::gampen_catalogue_magnitude(flux_adu)
}

/// The column name of `stat` for quantity `name`: `preds_{name}_{stat}`.
pub fn column(name: &str, stat: &str) -> String {
    format!("preds_{name}_{stat}")
}

/// The quantities of a GaMPEN-layout catalogue for a model's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GampenCatalogue {
    /// Output name of each model parameter, in model order.
    names: Vec<String>,
    /// Model parameter whose draws give [`TOTAL_MAG`], if any.
    flux: Option<usize>,
}

impl GampenCatalogue {
    /// The layout for a model predicting `parameters`, whose predictions are mapped back
    /// through `labels` (`None`: reported in the network's units).
    ///
    /// When the parameters include all three [`PUBLISHED_TARGETS`] and `labels` un-does their
    /// transforms (an `expit` for `custom_logit_bt`, `exp` for the two `ln_` targets, as a
    /// model imported with GaMPEN's scaling data has), the predictions are GaMPEN's un-scaled
    /// quantities: they are renamed as its aggregator does and [`TOTAL_MAG`] is added after
    /// them. Otherwise the names are kept and nothing is added, as the aggregator does without
    /// `--unscale`.
    pub fn new(parameters: &[String], labels: Option<&LabelTransform>) -> Self {
        let published = labels.is_some_and(|l| unscales_published_targets(parameters, l));
        if !published {
            return Self {
                names: parameters.to_vec(),
                flux: None,
            };
        }
        let names = parameters
            .iter()
            .map(|p| {
                PUBLISHED_TARGETS
                    .iter()
                    .find(|(t, _)| t == p)
                    .map_or_else(|| p.clone(), |(_, n)| (*n).to_string())
            })
            .collect();
        let flux = parameters.iter().position(|p| p == "ln_total_flux_adus");
        Self { names, flux }
    }

    /// Whether the catalogue uses GaMPEN's un-scaled names (and adds [`TOTAL_MAG`]).
    pub fn is_unscaled(&self) -> bool {
        self.flux.is_some()
    }

    /// Quantity names in output order: the parameters (renamed), then derived ones.
    pub fn quantities(&self) -> Vec<String> {
        let mut q = self.names.clone();
        if self.flux.is_some() {
            q.push(TOTAL_MAG.to_string());
        }
        q
    }

    /// Every summary column, quantity by quantity, stats in [`GAMPEN_STATS`] order.
    pub fn headers(&self) -> Vec<String> {
        self.quantities()
            .iter()
            .flat_map(|q| GAMPEN_STATS.iter().map(move |s| column(q, s)))
            .collect()
    }

    /// Whether [`Self::summaries`] needs the posterior's draws (`keep_samples`): true when a
    /// quantity is derived from them.
    pub fn needs_samples(&self) -> bool {
        self.flux.is_some()
    }

    /// Whether `name` is a quantity this module derives (it has no column in a truth table
    /// unless someone added one).
    pub fn is_derived(name: &str) -> bool {
        name == TOTAL_MAG
    }

    /// One summary per quantity of [`Self::quantities`]: the posterior's own marginals, then
    /// the derived ones, summarised from the draws with `method` (use the method the
    /// marginals were computed with).
    ///
    /// # Errors
    ///
    /// [`GampenError::Shape`] when the posterior has another number of marginals, or lacks the
    /// draws a derived quantity needs.
    pub fn summaries(
        &self,
        posterior: &GalaxyPosterior,
        method: IntervalMethod,
    ) -> Result<Vec<MarginalSummary>, GampenError> {
        if posterior.marginals.len() != self.names.len() {
            return Err(GampenError::Shape(format!(
                "the catalogue has {} parameters but the posterior {}",
                self.names.len(),
                posterior.marginals.len()
            )));
        }
        let mut out = posterior.marginals.clone();
        if let Some(f) = self.flux {
            let flux = posterior
                .samples
                .as_ref()
                .and_then(|s| s.get(f))
                .ok_or_else(|| {
                    GampenError::Shape(format!(
                        "{TOTAL_MAG} is derived from the draws of `{}`: predict with \
                         PosteriorOptions::keep_samples",
                        self.names[f]
                    ))
                })?;
            let mut mags: Vec<f64> = flux.iter().map(|&v| total_mag(v)).collect();
            out.push(MarginalSummary::from_samples_with(&mut mags, method));
        }
        Ok(out)
    }
}

/// Whether every published target is among `parameters` and `labels` inverts its transform
/// (logit for `custom_logit_bt`, ln for the others), so the predictions come back un-scaled.
fn unscales_published_targets(parameters: &[String], labels: &LabelTransform) -> bool {
    PUBLISHED_TARGETS.iter().all(|(target, _)| {
        let Some(p) = parameters.iter().position(|p| p == target) else {
            return false;
        };
        let transform = labels
            .columns
            .get(p)
            .filter(|c| c.column == *target)
            .map(|c| c.transform);
        match transform {
            Some(Transform::Logit { .. } | Transform::LogitSnap { .. }) => target.contains("logit"),
            Some(Transform::Ln) => target.starts_with("ln_"),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use gampen_data::ScalingKind;

    fn published() -> Vec<String> {
        ["custom_logit_bt", "ln_R_e_asec", "ln_total_flux_adus"]
            .map(String::from)
            .to_vec()
    }

    /// A label transform over `published()` with these transforms, fitted on two rows.
    fn labels(transforms: [Transform; 3]) -> LabelTransform {
        let columns: Vec<(String, Transform)> = published().into_iter().zip(transforms).collect();
        let rows = vec![vec![0.2, 1.0, 10.0], vec![0.6, 2.0, 20.0]];
        LabelTransform::fit(&columns, ScalingKind::Standard, &rows).unwrap()
    }

    fn unscaling() -> LabelTransform {
        let snap = Transform::LogitSnap {
            lower: 0.01,
            upper: 0.99,
        };
        labels([snap, Transform::Ln, Transform::Ln])
    }

    #[test]
    fn published_targets_get_gampen_names_and_a_magnitude() {
        let l = unscaling();
        let c = GampenCatalogue::new(&published(), Some(&l));
        assert!(c.is_unscaled());
        assert_eq!(
            c.quantities(),
            ["bt", "R_e_asec", "total_flux_adus", "total_mag"]
        );
        let h = c.headers();
        assert_eq!(h.len(), 4 * 9);
        assert_eq!(h[0], "preds_bt_mean");
        assert_eq!(h[5], "preds_bt_mode");
        assert_eq!(h[8], "preds_bt_threesig_ci");
        assert_eq!(h[35], "preds_total_mag_threesig_ci");
        assert!(c.needs_samples());
    }

    #[test]
    fn other_parameters_or_scaled_predictions_keep_their_names() {
        // No label transform: the network's own (scaled) units.
        let c = GampenCatalogue::new(&published(), None);
        assert_eq!(c.quantities(), published());
        assert!(!c.needs_samples());
        // Trained on the logit column as it is: predictions stay in logit space.
        let l = labels([Transform::Identity, Transform::Ln, Transform::Ln]);
        assert_eq!(
            GampenCatalogue::new(&published(), Some(&l)).quantities(),
            published()
        );
        let mine = vec![
            "bt".to_string(),
            "r_e".to_string(),
            "total_flux".to_string(),
        ];
        let l = unscaling();
        assert_eq!(GampenCatalogue::new(&mine, Some(&l)).quantities(), mine);
    }

    #[test]
    fn magnitude_follows_gampen_convention_per_draw() {
        assert_eq!(total_mag(1.0), 27.0);
        assert!((total_mag(1000.0) - (27.0 - 3.0 * 2.512)).abs() < 1e-12);
        let l = unscaling();
        let c = GampenCatalogue::new(&published(), Some(&l));
        let flux = [900.0, 1000.0, 1100.0, 1000.0, 950.0];
        let samples = vec![vec![0.1; 5], vec![1.0; 5], flux.to_vec()];
        let marginals = samples
            .iter()
            .map(|s| MarginalSummary::from_samples(&mut s.clone()))
            .collect();
        let post = GalaxyPosterior {
            marginals,
            covariance: vec![0.0; 9],
            samples: Some(samples),
        };
        let s = c.summaries(&post, IntervalMethod::EqualTailed).unwrap();
        assert_eq!(s.len(), 4);
        // The mean magnitude is the mean of the per-draw magnitudes, not the magnitude of the
        // mean flux.
        let mean_mag = flux.iter().map(|&f| total_mag(f)).sum::<f64>() / 5.0;
        assert!((s[3].mean - mean_mag).abs() < 1e-12);
        assert!((s[3].mean - total_mag(990.0)).abs() > 1e-6);
        assert_eq!(s[3].median, total_mag(1000.0));
        let mut no_draws = post.clone();
        no_draws.samples = None;
        assert!(c.summaries(&no_draws, IntervalMethod::EqualTailed).is_err());
    }
}
