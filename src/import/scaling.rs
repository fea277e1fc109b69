//! Label scaling of GaMPEN's published models: the inverse of their standard scaling and
//! logit / log transforms.

use std::path::Path;

use gampen_data::transform::label::{mean_and_population_std, ColumnTransform, Scaling};
use gampen_data::{CsvTable, LabelTransform, Transform};

use crate::error::GampenError;

/// GaMPEN's snapping limits for B/T (`expit_custom` in the original `result_aggregator.py`)
/// from the training B/T values: a predicted B/T at or below `lower` becomes 0 and at or above
/// `upper` becomes 1, where `lower` is half the smallest non-zero value (only when the
/// training set holds a 0; otherwise 0, no snapping) and `upper` is halfway between the
/// largest value below 1 and 1 (only when it holds a 1; otherwise 1).
pub fn bt_snap_limits(bt: &[f64]) -> (f64, f64) {
    let has = |v: f64| bt.contains(&v);
    let lower = if has(0.0) {
        bt.iter()
            .copied()
            .filter(|&x| x != 0.0)
            .fold(f64::INFINITY, f64::min)
            / 2.0
    } else {
        0.0
    };
    let upper = if has(1.0) {
        let max = bt
            .iter()
            .copied()
            .filter(|&x| x != 1.0)
            .fold(f64::NEG_INFINITY, f64::max);
        1.0 - (1.0 - max) / 2.0
    } else {
        1.0
    };
    (
        if lower.is_finite() { lower } else { 0.0 },
        if upper.is_finite() { upper } else { 1.0 },
    )
}

/// One row of a label-scaling file.
#[derive(Debug, Clone, serde::Deserialize)]
struct ScalingRow {
    parameter: String,
    mean: f64,
    std: f64,
    #[serde(default)]
    transform: Option<String>,
    #[serde(default)]
    snap_lower: Option<f64>,
    #[serde(default)]
    snap_upper: Option<f64>,
}

/// Builds the label transform of a published GaMPEN model from its label-scaling file, so
/// that predictions come back in original units.
///
/// The published models predict standard-scaled transformed labels (`custom_logit_bt`,
/// `ln_R_e_asec`, `ln_total_flux_adus`). The inverse chain is: unscale with the training
/// mean and (population) std, then `expit` for a logit label (snapping to exactly 0 or 1 as
/// the original `expit_custom` does, see [`bt_snap_limits`]), `exp` for an `ln` label.
///
/// The file is CSV or JSON (by extension `.json`), one entry per parameter, matched by name
/// with `parameters` (which give the output order):
///
/// ```text
/// parameter,mean,std,transform,snap_lower,snap_upper
/// custom_logit_bt,-1.2,2.3,logit,0.0005,0.9995
/// ln_R_e_asec,0.1,0.7,,,
/// ln_total_flux_adus,8.9,1.1,,,
/// ```
///
/// `[{"parameter": "custom_logit_bt", "mean": -1.2, "std": 2.3, "snap_lower": 0.0005}, ...]`
///
/// `transform` (`logit`, `ln`, `log10`, `identity`) is optional: by default a name containing
/// `logit` or equal to `bt` is `logit`, a name starting with `ln_` or containing `r_e` or
/// `flux` is `ln`, anything else `identity`. `snap_lower` / `snap_upper` are optional (no
/// snapping).
pub fn gampen_label_transform(
    path: &Path,
    parameters: &[String],
) -> Result<LabelTransform, GampenError> {
    let rows = read_scaling_rows(path)?;
    let bad = |msg: String| GampenError::Config(format!("{}: {msg}", path.display()));
    let mut columns = Vec::with_capacity(parameters.len());
    for name in parameters {
        let row = rows
            .iter()
            .find(|r| &r.parameter == name)
            .ok_or_else(|| bad(format!("no scaling for parameter {name:?}")))?;
        if !(row.std > 0.0 && row.std.is_finite() && row.mean.is_finite()) {
            return Err(bad(format!(
                "{name}: mean {} / std {} must be finite with std > 0",
                row.mean, row.std
            )));
        }
        let transform = match row.transform.as_deref().map(str::trim) {
            None | Some("") => default_transform(name),
            Some("logit") => Transform::Logit { eps: 1e-6 },
            Some("ln") => Transform::Ln,
            Some("log10") => Transform::Log10,
            Some("identity") => Transform::Identity,
            Some(other) => return Err(bad(format!("{name}: unknown transform {other:?}"))),
        };
        let transform = match (transform, row.snap_lower, row.snap_upper) {
            (Transform::Logit { .. }, lower, upper) if lower.is_some() || upper.is_some() => {
                let (lower, upper) = (lower.unwrap_or(0.0), upper.unwrap_or(1.0));
                if !(0.0..0.5).contains(&lower) || !(0.5..=1.0).contains(&upper) {
                    return Err(bad(format!(
                        "{name}: snap limits must satisfy 0 <= snap_lower < 0.5 <= snap_upper <= 1"
                    )));
                }
                Transform::LogitSnap { lower, upper }
            }
            (t, None, None) => t,
            _ => {
                return Err(bad(format!(
                    "{name}: snap_lower / snap_upper only apply to a logit label"
                )))
            }
        };
        columns.push(ColumnTransform {
            column: name.clone(),
            transform,
            scaling: Scaling {
                offset: row.mean,
                scale: row.std,
            },
        });
    }
    Ok(LabelTransform { columns })
}

fn default_transform(name: &str) -> Transform {
    let lower = name.to_ascii_lowercase();
    if lower.contains("logit") || lower == "bt" {
        Transform::Logit { eps: 1e-6 }
    } else if lower.starts_with("ln_") || lower.contains("r_e") || lower.contains("flux") {
        Transform::Ln
    } else {
        Transform::Identity
    }
}

fn read_scaling_rows(path: &Path) -> Result<Vec<ScalingRow>, GampenError> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let text = std::fs::read_to_string(path).map_err(|e| GampenError::io(path, e))?;
        return serde_json::from_str(&text)
            .map_err(|e| GampenError::Config(format!("{}: {e}", path.display())));
    }
    let table = CsvTable::read(path)?;
    let col = |name: &str| table.headers.iter().position(|h| h.trim() == name);
    let need = |name: &str| {
        col(name)
            .ok_or_else(|| GampenError::Config(format!("{}: no column {name:?}", path.display())))
    };
    let (p, m, s) = (need("parameter")?, need("mean")?, need("std")?);
    let (t, lo, hi) = (col("transform"), col("snap_lower"), col("snap_upper"));
    let mut rows = Vec::new();
    for (i, r) in table.rows.iter().enumerate() {
        let num = |c: usize| -> Result<f64, GampenError> {
            r[c].trim().parse().map_err(|_| {
                GampenError::Config(format!(
                    "{}: row {}: {:?} is not a number",
                    path.display(),
                    i + 2,
                    r[c]
                ))
            })
        };
        let opt = |c: Option<usize>| -> Result<Option<f64>, GampenError> {
            match c {
                Some(c) if !r[c].trim().is_empty() => num(c).map(Some),
                _ => Ok(None),
            }
        };
        rows.push(ScalingRow {
            parameter: r[p].trim().to_string(),
            mean: num(m)?,
            std: num(s)?,
            transform: t.map(|c| r[c].clone()),
            snap_lower: opt(lo)?,
            snap_upper: opt(hi)?,
        });
    }
    Ok(rows)
}

/// Where a GaMPEN model's label scaling comes from: the `scaling_data_dir` GaMPEN distributes
/// beside each published model (`info.csv` + `splits/`), and the split slug whose training
/// part the scaler was fitted on (`balanced-dev2` for the real-data models, `balanced-dev`
/// for the simulated ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalingData {
    /// The directory holding `info.csv` and `splits/{slug}-train.csv`.
    pub dir: std::path::PathBuf,
    /// The split slug, e.g. `balanced-dev2`.
    pub slug: String,
}

impl ScalingData {
    /// The training split whose label columns define the standard scaling.
    pub fn train_split(&self) -> std::path::PathBuf {
        self.dir
            .join("splits")
            .join(format!("{}-train.csv", self.slug))
    }

    /// The catalogue whose raw `bt` column defines `expit_custom`'s snap limits.
    pub fn info_csv(&self) -> std::path::PathBuf {
        self.dir.join("info.csv")
    }
}

/// The label transform of a GaMPEN model, computed from its scaling data as GaMPEN does.
///
/// - **Scaling.** For each of `targets` (the model's label columns, in output order, e.g.
///   `custom_logit_bt`, `ln_R_e_asec`, `ln_total_flux_adus`): mean and *population* standard
///   deviation of that column of `splits/{slug}-train.csv`, as scikit-learn's
///   `StandardScaler` fitted by GaMPEN's inference module. The columns hold the
///   already-transformed labels, so no transform is applied before fitting.
/// - **Transforms.** A target whose name contains `logit` is inverted with `expit`; one that
///   starts with `ln_` with `exp`, `log10_` with `10^x`; anything else is left as it is.
/// - **Snapping.** A logit target `custom_logit_X` (or `logit_X`) snaps B/T-like values to
///   exactly 0 and 1 as GaMPEN's `expit_custom` does, with limits from the raw column `X` of
///   `info.csv` (all rows, as GaMPEN's aggregator reads its `scaling_df_path`; see
///   [`bt_snap_limits`]).
///
/// Unlike pandas, an empty, non-numeric or non-finite cell is an error naming the file, row
/// and column rather than a silently ignored NaN, and a column with zero spread is an error
/// rather than scikit-learn's silent scale of 1.
pub fn scaling_from_data_dir(
    data: &ScalingData,
    targets: &[String],
) -> Result<LabelTransform, GampenError> {
    let train = data.train_split();
    if !train.is_file() {
        return Err(GampenError::Config(format!(
            "{}: no such split file in the scaling data (expected splits/{}-train.csv, the \
             training split the model's scaler was fitted on)",
            train.display(),
            data.slug
        )));
    }
    let table = CsvTable::read(&train)?;
    let mut info: Option<CsvTable> = None;
    let mut columns = Vec::with_capacity(targets.len());
    for name in targets {
        let values = finite_column(&table, name)?;
        let (mean, std) = mean_and_population_std(&values);
        if std.is_nan() || std <= 0.0 {
            return Err(GampenError::Config(format!(
                "{}: column {name:?} has zero spread, so it cannot define a standard scaling",
                train.display()
            )));
        }
        let transform = match transform_of_column(name) {
            Transform::Logit { .. } => snapped_logit(data, name, &mut info)?,
            other => other,
        };
        columns.push(ColumnTransform {
            column: name.clone(),
            transform,
            scaling: Scaling {
                offset: mean,
                scale: std,
            },
        });
    }
    Ok(LabelTransform { columns })
}

/// The transform a GaMPEN catalogue column name announces (`custom_logit_bt`,
/// `ln_R_e_asec`, ...). Stricter than the scaling-file default: a bare `bt` or `r_e` column
/// holds the raw quantity.
fn transform_of_column(name: &str) -> Transform {
    let lower = name.to_ascii_lowercase();
    if lower.contains("logit") {
        Transform::Logit { eps: 1e-6 }
    } else if lower.starts_with("ln_") {
        Transform::Ln
    } else if lower.starts_with("log10_") {
        Transform::Log10
    } else {
        Transform::Identity
    }
}

/// The `LogitSnap` of a logit target, its limits from the raw fraction column of `info.csv`.
fn snapped_logit(
    data: &ScalingData,
    name: &str,
    info: &mut Option<CsvTable>,
) -> Result<Transform, GampenError> {
    let raw = name
        .strip_prefix("custom_logit_")
        .or_else(|| name.strip_prefix("logit_"))
        .unwrap_or("bt");
    if info.is_none() {
        let path = data.info_csv();
        if !path.is_file() {
            return Err(GampenError::Config(format!(
                "{}: no such file in the scaling data (its {raw:?} column gives the snap \
                 limits of {name})",
                path.display()
            )));
        }
        *info = Some(CsvTable::read(&path)?);
    }
    let table = info.as_ref().expect("read just above");
    let values = finite_column(table, raw)?;
    let (lower, upper) = bt_snap_limits(&values);
    Ok(Transform::LogitSnap { lower, upper })
}

/// The numbers of `column` ([`CsvTable::numeric_column`]: every one finite, or an error
/// naming file, row and column), of which there must be at least one.
fn finite_column(table: &CsvTable, column: &str) -> Result<Vec<f64>, GampenError> {
    let values = table.numeric_column(column)?;
    if values.is_empty() {
        return Err(GampenError::Config(format!(
            "{}: no data rows, so column {column:?} defines no scaling",
            table.path.display()
        )));
    }
    Ok(values)
}
