//! Parse-time checks of command-line values, shared by every crate whose option types
//! derive `clap::Args` (the `clap` feature) and usable as plain parsers without it.
//!
//! As clap `value_parser`s they reject a bad value before anything is read or written, with
//! clap's one-line `error: invalid value 'X' for '--flag <FLAG>': ...` naming the flag and
//! what it accepts.

use crate::splits::SplitFractions;

/// Largest count accepted for sizes, batches, passes and epochs: far above any real run,
/// low enough that products of two counts cannot overflow or allocate without bound.
const MAX_COUNT: usize = 1 << 24;

fn parse_f64(text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{v} is not finite"))
    }
}

fn parse_count(text: &str) -> Result<usize, String> {
    let v: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a non-negative integer"))?;
    if v > MAX_COUNT {
        return Err(format!("{v} is above the limit of {MAX_COUNT}"));
    }
    Ok(v)
}

/// An integer in `[1, 2^24]`: counts, sizes, epochs, batch sizes.
pub fn positive_usize(text: &str) -> Result<usize, String> {
    match parse_count(text)? {
        0 => Err("must be at least 1".into()),
        v => Ok(v),
    }
}

/// An integer in `[0, 2^24]`: counts for which zero means "none".
pub fn count_usize(text: &str) -> Result<usize, String> {
    parse_count(text)
}

/// A finite number in `[0, 1)`: dropout rates, momentum.
pub fn probability(text: &str) -> Result<f64, String> {
    // Not parse_f64: NaN and infinities get the range in their message too.
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number in [0, 1)"))?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside [0, 1)"))
    }
}

/// A finite number `>= 0`: weight decay, learning-rate floors.
pub fn finite_non_negative_f64(text: &str) -> Result<f64, String> {
    let v = parse_f64(text)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is negative"))
    }
}

/// A finite number `> 0`: learning rates, gradient-clipping norms, width multipliers.
pub fn positive_f64(text: &str) -> Result<f64, String> {
    let v = parse_f64(text)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} must be positive"))
    }
}

/// Train, devel and test fractions such as `0.7,0.15,0.15`, with the reason a bad list is
/// refused (without [`crate::DataError::Config`]'s prefix, which a flag error does not need).
pub fn fractions(text: &str) -> Result<SplitFractions, String> {
    text.parse::<SplitFractions>().map_err(|e| {
        let msg = e.to_string();
        msg.strip_prefix("invalid configuration: ")
            .unwrap_or(&msg)
            .to_string()
    })
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
    fn accepts_good_values_and_explains_bad_ones() {
        assert_eq!(positive_usize("3"), Ok(3));
        assert!(positive_usize("0").unwrap_err().contains("at least 1"));
        assert!(positive_usize("-1")
            .unwrap_err()
            .contains("not a non-negative"));
        assert!(positive_usize("99999999999").unwrap_err().contains("limit"));
        assert_eq!(count_usize("0"), Ok(0));
        assert_eq!(probability("0.5"), Ok(0.5));
        for bad in ["nan", "inf", "-0.1", "1", "x"] {
            assert!(probability(bad).is_err(), "{bad}");
        }
        assert_eq!(finite_non_negative_f64("0"), Ok(0.0));
        assert!(finite_non_negative_f64("-1e-9").is_err());
        assert!(positive_f64("0").is_err());
        assert!(positive_f64("-inf").is_err());
        assert_eq!(positive_f64("1e-3"), Ok(1e-3));
    }

    #[test]
    fn lists_are_trimmed() {
        assert_eq!(
            split_list("bt, r_e,,total_flux "),
            ["bt", "r_e", "total_flux"]
        );
    }
}
