//! Label columns and transforms on the command line (`--labels bt,r_e,total_flux
//! --transforms logit,ln,ln --scaling standard`), parsed into the library's types.

use gampen_data::{ScalingKind, Transform};

/// What `gampen train` learns to predict.
#[derive(clap::Args, Debug, Clone)]
pub struct LabelArgs {
    /// Label columns to predict, comma-separated.
    #[arg(long, default_value = "bt,r_e,total_flux")]
    pub labels: String,
    /// Transform per label, comma-separated: logit, ln, log10, identity [default: logit for
    /// bt, ln for r_e and total_flux, identity otherwise].
    #[arg(long, value_delimiter = ',')]
    pub transforms: Option<Vec<Transform>>,
    /// Label scaling fitted on the training split.
    #[arg(long, value_enum, default_value_t = ScalingKind::default())]
    pub scaling: ScalingKind,
}

impl LabelArgs {
    /// The label column names.
    pub fn names(&self) -> Vec<String> {
        split_list(&self.labels)
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
    fn lists_are_trimmed() {
        assert_eq!(
            split_list("bt, r_e,,total_flux "),
            ["bt", "r_e", "total_flux"]
        );
    }
}
