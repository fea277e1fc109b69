//! Label transforms (identity, logit, ln, log10) followed by scaling (standard or min-max)
//! fitted on the training split, with exact inverses. Serialisable, so that the fitted
//! transform is saved next to the model and applied to posterior samples.

use serde::{Deserialize, Serialize};

use crate::DataError;

/// A pointwise transform of one label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Transform {
    /// `y = x`.
    Identity,
    /// `y = ln(x / (1 - x))` after clamping `x` to `[eps, 1 - eps]` (so B/T = 0 or 1 stay
    /// finite); the inverse is the logistic function `expit`. Values outside `[0, 1]` are
    /// errors.
    Logit {
        /// Clamp margin, e.g. `1e-3`.
        eps: f64,
    },
    /// GaMPEN's B/T logit (the published models): `y = ln(x / (1 - x))` after clamping `x`
    /// to `[lower, upper]`; the inverse is `expit`, then values at or below `lower` snap to
    /// exactly 0 and values at or above `upper` to exactly 1 (`expit_custom` of the original
    /// `result_aggregator.py`). `lower = 0` / `upper = 1` disable a side's snapping.
    LogitSnap {
        /// At or below: 0 (`0 <= lower < 0.5`).
        lower: f64,
        /// At or above: 1 (`0.5 <= upper <= 1`).
        upper: f64,
    },
    /// `y = ln(x)`, `x > 0`.
    Ln,
    /// `y = log10(x)`, `x > 0`.
    Log10,
}

impl Transform {
    /// Clamp margin of [`Transform::logit`]: B/T values of exactly 0 or 1 map to about
    /// `-/+ 6.9`.
    pub const LOGIT_EPS: f64 = 1e-3;

    /// `Logit { eps: LOGIT_EPS }`, what the name `logit` parses to.
    pub fn logit() -> Self {
        Transform::Logit {
            eps: Self::LOGIT_EPS,
        }
    }

    /// The default transform of a catalog column: GaMPEN's for its three labels (`logit`
    /// for `bt`, `ln` for `r_e` and `total_flux`), `identity` otherwise.
    pub fn default_for(column: &str) -> Self {
        match column {
            "bt" => Self::logit(),
            "r_e" | "total_flux" => Transform::Ln,
            _ => Transform::Identity,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Logit { .. } | Transform::LogitSnap { .. } => "logit",
            Transform::Ln => "ln",
            Transform::Log10 => "log10",
        }
    }

    /// Applies the transform; `column` names the label in the error for an out-of-domain
    /// value.
    pub fn forward(&self, x: f64, column: &str) -> Result<f64, DataError> {
        let domain = |ok: bool| {
            if ok && x.is_finite() {
                Ok(())
            } else {
                Err(DataError::LabelDomain {
                    column: column.to_string(),
                    value: x,
                    transform: self.name().to_string(),
                })
            }
        };
        match *self {
            Transform::Identity => domain(true).map(|_| x),
            Transform::Logit { eps } => domain((0.0..=1.0).contains(&x)).map(|_| {
                let p = x.clamp(eps, 1.0 - eps);
                (p / (1.0 - p)).ln()
            }),
            Transform::LogitSnap { lower, upper } => {
                let p = x.clamp(lower, upper);
                domain((0.0..=1.0).contains(&x) && p > 0.0 && p < 1.0).map(|_| (p / (1.0 - p)).ln())
            }
            Transform::Ln => domain(x > 0.0).map(|_| x.ln()),
            Transform::Log10 => domain(x > 0.0).map(|_| x.log10()),
        }
    }

    /// The inverse (`expit` for logit, `exp`, `10^y`).
    pub fn inverse(&self, y: f64) -> f64 {
        match self {
            Transform::Identity => y,
            Transform::Logit { .. } => expit(y),
            Transform::LogitSnap { lower, upper } => {
                // The relative margin absorbs the rounding of expit(logit(limit)), so that
                // forward(0) and forward(1) come back as exactly 0 and 1.
                const MARGIN: f64 = 1.0 + 1e-9;
                let p = expit(y);
                if p <= lower * MARGIN {
                    0.0
                } else if 1.0 - p <= (1.0 - upper) * MARGIN {
                    1.0
                } else {
                    p
                }
            }
            Transform::Ln => y.exp(),
            Transform::Log10 => 10f64.powf(y),
        }
    }
}

impl std::str::FromStr for Transform {
    type Err = DataError;

    /// `logit` ([`Transform::logit`]), `ln` (or `log`), `log10`, `identity` (or `none`,
    /// `id`), in any case.
    fn from_str(name: &str) -> Result<Self, DataError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "logit" => Ok(Self::logit()),
            "ln" | "log" => Ok(Transform::Ln),
            "log10" => Ok(Transform::Log10),
            "identity" | "none" | "id" => Ok(Transform::Identity),
            other => Err(DataError::Config(format!(
                "unknown label transform {other:?}: use logit, ln, log10 or identity"
            ))),
        }
    }
}

/// Pairs label columns with their transforms: `transforms`, when given, one per label in
/// order; otherwise [`Transform::default_for`] each label. Refuses no labels, a label
/// listed twice, and a transform list of another length.
pub fn label_columns(
    labels: &[String],
    transforms: Option<&[Transform]>,
) -> Result<Vec<(String, Transform)>, DataError> {
    let bad = |msg: String| Err(DataError::Config(msg));
    if labels.is_empty() {
        return bad("no labels: name at least one label column".into());
    }
    if let Some((_, dup)) = labels
        .iter()
        .enumerate()
        .find(|(i, l)| labels[..*i].contains(l))
    {
        return bad(format!("label {dup:?} is listed twice"));
    }
    match transforms {
        Some(t) if t.len() != labels.len() => bad(format!(
            "{} label transforms for {} labels: give one per label",
            t.len(),
            labels.len()
        )),
        Some(t) => Ok(labels.iter().cloned().zip(t.iter().copied()).collect()),
        None => Ok(labels
            .iter()
            .map(|l| (l.clone(), Transform::default_for(l)))
            .collect()),
    }
}

/// Mean and population (ddof 0) standard deviation of `ys`, as scikit-learn's
/// `StandardScaler` computes them (NaN for an empty slice).
pub fn mean_and_population_std(ys: &[f64]) -> (f64, f64) {
    let n = ys.len() as f64;
    let mean = ys.iter().sum::<f64>() / n;
    let var = ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Which scaling to fit after the transform.
///
/// On a command line (the `clap` feature): `standard`, `minmax`, `none`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ScalingKind {
    /// `(y - mean) / std` (population std), as scikit-learn's `StandardScaler` (GaMPEN's).
    #[default]
    Standard,
    /// `(y - min) / (max - min)` onto `[0, 1]`.
    #[cfg_attr(feature = "clap", value(name = "minmax"))]
    MinMax,
    /// No scaling.
    None,
}

/// A fitted affine scaling `z = (y - offset) / scale`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Subtracted first (mean or min).
    pub offset: f64,
    /// Divided by next (std or range); 1 when the fitted spread is 0.
    pub scale: f64,
}

/// The transform and scaling of one label column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTransform {
    /// Column name in the catalog.
    pub column: String,
    /// Pointwise transform.
    pub transform: Transform,
    /// Fitted scaling.
    pub scaling: Scaling,
}

/// Transforms and scalings for all label columns, in target order.
///
/// ```
/// use gampen_data::{LabelTransform, ScalingKind, Transform};
/// let columns = vec![("bt".to_string(), Transform::Logit { eps: 1e-3 }),
///                    ("r_e".to_string(), Transform::Ln)];
/// let train = vec![vec![0.2, 1.0], vec![0.5, 2.0], vec![0.7, 4.0]];
/// let t = LabelTransform::fit(&columns, ScalingKind::Standard, &train).unwrap();
/// let z = t.forward(&[0.5, 2.0]).unwrap();
/// let back = t.inverse(&z);
/// assert!((back[0] - 0.5).abs() < 1e-12 && (back[1] - 2.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelTransform {
    /// One entry per target, in order.
    pub columns: Vec<ColumnTransform>,
}

impl LabelTransform {
    /// Fits the scalings on `rows` (`[rows][columns]`, raw label values, normally the
    /// training split).
    pub fn fit(
        columns: &[(String, Transform)],
        kind: ScalingKind,
        rows: &[Vec<f64>],
    ) -> Result<Self, DataError> {
        let mut out = Vec::with_capacity(columns.len());
        for (c, (name, transform)) in columns.iter().enumerate() {
            let ys: Vec<f64> = rows
                .iter()
                .map(|r| transform.forward(r[c], name))
                .collect::<Result<_, _>>()?;
            if ys.is_empty() && kind != ScalingKind::None {
                return Err(DataError::Config(format!(
                    "cannot fit the scaling of {name:?} on zero rows"
                )));
            }
            let scaling = match kind {
                ScalingKind::None => Scaling {
                    offset: 0.0,
                    scale: 1.0,
                },
                ScalingKind::Standard => {
                    let (mean, std) = mean_and_population_std(&ys);
                    Scaling {
                        offset: mean,
                        scale: nonzero(std),
                    }
                }
                ScalingKind::MinMax => {
                    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    Scaling {
                        offset: lo,
                        scale: nonzero(hi - lo),
                    }
                }
            };
            out.push(ColumnTransform {
                column: name.clone(),
                transform: *transform,
                scaling,
            });
        }
        Ok(LabelTransform { columns: out })
    }

    /// Names of the label columns, in target order.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.column.clone()).collect()
    }

    /// Raw labels -> network targets (transform, then scaling).
    ///
    /// # Panics
    /// When `raw.len()` differs from the number of columns.
    pub fn forward(&self, raw: &[f64]) -> Result<Vec<f64>, DataError> {
        assert_eq!(raw.len(), self.columns.len(), "label count mismatch");
        raw.iter()
            .zip(&self.columns)
            .map(|(&x, c)| {
                let y = c.transform.forward(x, &c.column)?;
                Ok((y - c.scaling.offset) / c.scaling.scale)
            })
            .collect()
    }

    /// Network targets -> raw labels (unscale, then the inverse transform).
    ///
    /// # Panics
    /// When `z.len()` differs from the number of columns.
    pub fn inverse(&self, z: &[f64]) -> Vec<f64> {
        assert_eq!(z.len(), self.columns.len(), "label count mismatch");
        z.iter()
            .zip(&self.columns)
            .map(|(&v, c)| c.transform.inverse(v * c.scaling.scale + c.scaling.offset))
            .collect()
    }
}

fn expit(y: f64) -> f64 {
    if y >= 0.0 {
        1.0 / (1.0 + (-y).exp())
    } else {
        let e = y.exp();
        e / (1.0 + e)
    }
}

fn nonzero(spread: f64) -> f64 {
    if spread > 0.0 && spread.is_finite() {
        spread
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_once_with_one_logit_margin() {
        assert_eq!("LOGIT".parse::<Transform>().unwrap(), Transform::logit());
        assert_eq!(Transform::default_for("bt"), Transform::Logit { eps: 1e-3 });
        assert_eq!(" ln".parse::<Transform>().unwrap(), Transform::Ln);
        assert_eq!("none".parse::<Transform>().unwrap(), Transform::Identity);
        assert!("sqrt"
            .parse::<Transform>()
            .unwrap_err()
            .to_string()
            .contains("sqrt"));
    }

    #[test]
    fn label_columns_pair_and_check() {
        let l: Vec<String> = ["bt", "r_e", "total_flux"].map(String::from).to_vec();
        let spec = label_columns(&l, None).unwrap();
        assert_eq!(spec[1].1, Transform::Ln);
        let t = [Transform::Identity, Transform::Log10, Transform::Ln];
        assert_eq!(
            label_columns(&l, Some(&t)).unwrap()[0].1,
            Transform::Identity
        );
        assert!(label_columns(&l, Some(&t[..2])).is_err());
        assert!(label_columns(&[], None).is_err());
        assert!(label_columns(&["bt".into(), "bt".into()], None).is_err());
    }

    fn cols() -> Vec<(String, Transform)> {
        vec![
            ("bt".into(), Transform::Logit { eps: 1e-3 }),
            ("r_e".into(), Transform::Ln),
            ("flux".into(), Transform::Log10),
            ("x".into(), Transform::Identity),
        ]
    }

    #[test]
    fn standard_scaling_zero_mean_unit_std_and_inverse() {
        let rows: Vec<Vec<f64>> = (1..50)
            .map(|i| {
                let t = i as f64 / 50.0;
                vec![t, 0.5 + t * 3.0, 10f64.powf(1.0 + t), -t]
            })
            .collect();
        let lt = LabelTransform::fit(&cols(), ScalingKind::Standard, &rows).unwrap();
        let z: Vec<Vec<f64>> = rows.iter().map(|r| lt.forward(r).unwrap()).collect();
        for c in 0..4 {
            let mean = z.iter().map(|r| r[c]).sum::<f64>() / z.len() as f64;
            let var = z.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / z.len() as f64;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-9);
        }
        for (r, zr) in rows.iter().zip(&z) {
            for (a, b) in lt.inverse(zr).iter().zip(r) {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
        let json = serde_json::to_string(&lt).unwrap();
        let back: LabelTransform = serde_json::from_str(&json).unwrap();
        for (a, b) in back.columns.iter().zip(&lt.columns) {
            assert_eq!((&a.column, a.transform), (&b.column, b.transform));
            assert!((a.scaling.scale / b.scaling.scale - 1.0).abs() < 1e-15);
            assert!((a.scaling.offset - b.scaling.offset).abs() < 1e-15);
        }
    }

    #[test]
    fn minmax_and_domain_errors() {
        let rows = vec![vec![0.1, 1.0, 1.0, 0.0], vec![0.9, 2.0, 100.0, 4.0]];
        let lt = LabelTransform::fit(&cols(), ScalingKind::MinMax, &rows).unwrap();
        assert_eq!(lt.forward(&rows[0]).unwrap(), vec![0.0; 4]);
        assert_eq!(lt.forward(&rows[1]).unwrap(), vec![1.0; 4]);
        let err = lt.forward(&[0.5, -1.0, 1.0, 0.0]).unwrap_err().to_string();
        assert!(
            err.contains("r_e") && err.contains("-1") && err.contains("ln"),
            "{err}"
        );
        assert!(lt.forward(&[1.5, 1.0, 1.0, 0.0]).is_err());
        // Logit clamps the ends of [0, 1] and expit undoes it up to the clamp.
        let t = Transform::Logit { eps: 1e-3 };
        assert!((t.inverse(t.forward(0.0, "bt").unwrap()) - 1e-3).abs() < 1e-15);
        assert!(t.inverse(-800.0) >= 0.0 && t.inverse(800.0) <= 1.0);
    }

    #[test]
    fn logit_snap_snaps_the_ends_like_gampen() {
        let t = Transform::LogitSnap {
            lower: 0.005,
            upper: 0.995,
        };
        // 0 and 1 map to the limits and come back exactly.
        assert_eq!(t.inverse(t.forward(0.0, "bt").unwrap()), 0.0);
        assert_eq!(t.inverse(t.forward(1.0, "bt").unwrap()), 1.0);
        let y = t.forward(0.3, "bt").unwrap();
        assert!((y - (0.3f64 / 0.7).ln()).abs() < 1e-15);
        assert!((t.inverse(y) - 0.3).abs() < 1e-15);
        assert_eq!(t.inverse((0.004f64 / 0.996).ln()), 0.0);
        assert_eq!(t.inverse((0.996f64 / 0.004).ln()), 1.0);
        assert!(t.forward(1.5, "bt").is_err());
        // Without limits it is plain expit, and 0 / 1 have no finite logit.
        let plain = Transform::LogitSnap {
            lower: 0.0,
            upper: 1.0,
        };
        assert!((plain.inverse(0.0) - 0.5).abs() < 1e-15);
        assert!(plain.forward(0.0, "bt").is_err());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Transform>(&json).unwrap(), t);
    }
}
