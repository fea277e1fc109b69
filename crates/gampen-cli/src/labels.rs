//! Label columns and transforms on the command line (`--labels bt,r_e,total_flux
//! --transforms logit,ln,ln --scaling standard`).

use clap::ValueEnum;
use gampen_data::{ScalingKind, Transform};

use crate::error::{CliError, Result};

/// Label scaling fitted on the training split, `--scaling`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum ScalingArg {
    /// `(y - mean) / std` (GaMPEN's).
    #[default]
    Standard,
    /// `(y - min) / (max - min)`.
    Minmax,
    /// No scaling.
    None,
}

impl From<ScalingArg> for ScalingKind {
    fn from(s: ScalingArg) -> Self {
        match s {
            ScalingArg::Standard => ScalingKind::Standard,
            ScalingArg::Minmax => ScalingKind::MinMax,
            ScalingArg::None => ScalingKind::None,
        }
    }
}

/// Parses one transform name: `logit`, `ln`, `log10`, `identity` (or `none`).
pub fn parse_transform(name: &str) -> Result<Transform> {
    match name.trim().to_ascii_lowercase().as_str() {
        "logit" => Ok(Transform::Logit { eps: 1e-3 }),
        "ln" | "log" => Ok(Transform::Ln),
        "log10" => Ok(Transform::Log10),
        "identity" | "none" | "id" => Ok(Transform::Identity),
        other => Err(CliError::usage(format!(
            "unknown label transform {other:?}: use logit, ln, log10 or identity"
        ))),
    }
}

/// The default transform of a label: GaMPEN's for its three labels, identity otherwise.
pub fn default_transform(label: &str) -> Transform {
    match label {
        "bt" => Transform::Logit { eps: 1e-3 },
        "r_e" | "total_flux" => Transform::Ln,
        _ => Transform::Identity,
    }
}

/// Pairs label names with transforms: `transforms` must be as long as `labels` when given;
/// otherwise [`default_transform`] is used for each label.
pub fn label_spec(
    labels: &[String],
    transforms: Option<&[String]>,
) -> Result<Vec<(String, Transform)>> {
    if labels.is_empty() {
        return Err(CliError::usage(
            "--labels is empty: name at least one label column",
        ));
    }
    if let Some(dup) = labels
        .iter()
        .enumerate()
        .find(|(i, l)| labels[..*i].contains(l))
    {
        return Err(CliError::usage(format!(
            "label {:?} is listed twice",
            dup.1
        )));
    }
    match transforms {
        Some(t) if t.len() != labels.len() => Err(CliError::usage(format!(
            "--transforms has {} entries but --labels has {}",
            t.len(),
            labels.len()
        ))),
        Some(t) => labels
            .iter()
            .zip(t)
            .map(|(l, t)| Ok((l.clone(), parse_transform(t)?)))
            .collect(),
        None => Ok(labels
            .iter()
            .map(|l| (l.clone(), default_transform(l)))
            .collect()),
    }
}

/// Splits a comma-separated list, trimming blanks and dropping empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_pairs_and_checks() {
        let l = split_list("bt, r_e,total_flux");
        let spec = label_spec(&l, None).unwrap();
        assert_eq!(spec[1].1, Transform::Ln);
        let t = split_list("identity,log10,ln");
        assert_eq!(label_spec(&l, Some(&t)).unwrap()[0].1, Transform::Identity);
        assert!(label_spec(&l, Some(&t[..2])).is_err());
        assert!(parse_transform("sqrt").is_err());
        assert!(label_spec(&split_list("bt,bt"), None).is_err());
    }
}
