//! Train/devel/test splits in the original GaMPEN's naming and fractions.
//!
//! Files: `splits/{balanced|unbalanced}-{xs,sm,md,lg,xl,dev,dev2}-{train,devel,test}.csv`,
//! each with the same columns as `info.csv`.
//!
//! - *unbalanced*: the catalog is shuffled (seeded) and cut by the fractions.
//! - *balanced*: the chosen column (GaMPEN balances on bulge-to-total, `bt`) is cut into
//!   `bins` equal-width bins over its observed range; every non-empty bin is downsampled
//!   (seeded) to the size of the smallest non-empty bin, so the labels are close to uniform
//!   across bins, and each bin is then cut by the fractions (stratified), so train, devel
//!   and test all see the same, flat, bin distribution. Galaxies dropped by the
//!   downsampling belong to no split.
//!
//! When the fractions sum to 1 the test split takes what rounding leaves; user fractions
//! summing to less than 1 leave the remainder unused.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::catalog::CsvTable;
use crate::seed::Seed;
use crate::DataError;

/// Fractions of a catalog that go to train, devel (validation) and test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitFractions {
    /// Training fraction.
    pub train: f64,
    /// Development (validation) fraction.
    pub devel: f64,
    /// Test fraction.
    pub test: f64,
}

impl SplitFractions {
    /// Checks that every fraction is in `[0, 1]` and that they sum to at most 1.
    pub fn validate(&self) -> Result<(), DataError> {
        let all = [self.train, self.devel, self.test];
        if all.iter().any(|f| !(0.0..=1.0).contains(f)) || all.iter().sum::<f64>() > 1.0 + 1e-9 {
            return Err(DataError::Config(format!(
                "split fractions {all:?} must lie in [0, 1] and sum to at most 1"
            )));
        }
        Ok(())
    }
}

impl std::str::FromStr for SplitFractions {
    type Err = DataError;

    /// Parses `train,devel,test` (e.g. `0.7,0.15,0.15`) and validates it.
    fn from_str(text: &str) -> Result<Self, DataError> {
        let bad = || {
            DataError::Config(format!(
                "bad fractions {text:?}: expected three numbers train,devel,test such as \
                 0.7,0.15,0.15"
            ))
        };
        let v: Vec<f64> = text
            .split(',')
            .map(|s| s.trim().parse::<f64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let [train, devel, test] = v[..] else {
            return Err(bad());
        };
        let f = SplitFractions { train, devel, test };
        f.validate()?;
        Ok(f)
    }
}

/// The split files among `written` that hold no galaxy. The standard fractions go down to
/// 0.3 % and balancing keeps only as many galaxies per bin as the emptiest bin holds, so on
/// a small or outlier-ridden catalog some of the 42 standard files come out empty.
pub fn empty_split_files(written: &[PathBuf]) -> Result<Vec<PathBuf>, DataError> {
    let mut empty = Vec::new();
    for p in written {
        if CsvTable::read(p)?.rows.is_empty() {
            empty.push(p.clone());
        }
    }
    Ok(empty)
}

/// A warning when some of the `written` split files hold no galaxy ([`empty_split_files`]),
/// saying why and what to do instead, so that no one trains on one unknowingly.
pub fn empty_split_warning(
    written: &[PathBuf],
    balance_column: &str,
) -> Result<Option<String>, DataError> {
    let empty = empty_split_files(written)?;
    Ok(empty.first().map(|first| {
        format!(
            "{} of {} split files are empty (first: {}): the catalog is too small for the \
             small standard fractions, or balancing on `{balance_column}` keeps few galaxies \
             (an outlier leaves a bin nearly empty); use --fractions for a checked custom split",
            empty.len(),
            written.len(),
            first.display()
        )
    }))
}

/// The seven standard split sizes of GaMPEN, `(name, fractions)`.
pub const STANDARD_SPLITS: [(&str, SplitFractions); 7] = [
    ("xs", frac(0.027, 0.003, 0.970)),
    ("sm", frac(0.045, 0.005, 0.950)),
    ("md", frac(0.090, 0.010, 0.900)),
    ("lg", frac(0.200, 0.050, 0.750)),
    ("xl", frac(0.450, 0.050, 0.500)),
    ("dev", frac(0.70, 0.15, 0.15)),
    ("dev2", frac(0.70, 0.05, 0.25)),
];

const fn frac(train: f64, devel: f64, test: f64) -> SplitFractions {
    SplitFractions { train, devel, test }
}

/// Row indices of the three parts of one split.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SplitIndices {
    /// Training rows.
    pub train: Vec<usize>,
    /// Development rows.
    pub devel: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// How to balance a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Balance {
    /// Plain shuffled split.
    Unbalanced,
    /// Equal counts per equal-width bin of `column` (see the module docs).
    Balanced {
        /// The numeric column to balance on (GaMPEN: `bt`).
        column: String,
        /// Number of equal-width bins.
        bins: usize,
    },
}

/// Shuffles `rows` with `rng` and cuts it by `f` into `out`.
fn cut(mut rows: Vec<usize>, f: &SplitFractions, rng: &mut StdRng, out: &mut SplitIndices) {
    rows.shuffle(rng);
    let n = rows.len();
    let n_train = ((f.train * n as f64).round() as usize).min(n);
    let n_devel = ((f.devel * n as f64).round() as usize).min(n - n_train);
    let n_test = if (f.train + f.devel + f.test - 1.0).abs() < 1e-9 {
        n - n_train - n_devel
    } else {
        ((f.test * n as f64).round() as usize).min(n - n_train - n_devel)
    };
    out.train.extend_from_slice(&rows[..n_train]);
    out.devel
        .extend_from_slice(&rows[n_train..n_train + n_devel]);
    out.test
        .extend_from_slice(&rows[n_train + n_devel..n_train + n_devel + n_test]);
}

/// A shuffled split of `0..n`, deterministic for a given `seed`.
pub fn unbalanced_split(n: usize, fractions: &SplitFractions, seed: u64) -> SplitIndices {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = SplitIndices::default();
    cut((0..n).collect(), fractions, &mut rng, &mut out);
    out
}

/// A balanced split of the rows of `values` (see the module docs), deterministic for a
/// given `seed`.
pub fn balanced_split(
    values: &[f64],
    bins: usize,
    fractions: &SplitFractions,
    seed: u64,
) -> Result<SplitIndices, DataError> {
    if bins == 0 {
        return Err(DataError::Config(
            "balanced split needs at least 1 bin".into(),
        ));
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut groups = vec![Vec::new(); bins];
    for (i, &v) in values.iter().enumerate() {
        let b = if hi > lo {
            (((v - lo) / (hi - lo)) * bins as f64).floor() as usize
        } else {
            0
        };
        groups[b.min(bins - 1)].push(i);
    }
    groups.retain(|g| !g.is_empty());
    let smallest = groups.iter().map(Vec::len).min().unwrap_or(0);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = SplitIndices::default();
    for mut g in groups {
        g.shuffle(&mut rng);
        g.truncate(smallest);
        g.sort_unstable();
        cut(g, fractions, &mut rng, &mut out);
    }
    Ok(out)
}

/// Path of split `name` (e.g. `balanced-dev-train`) under `dir`: `dir/splits/name.csv`.
pub fn split_path(dir: impl AsRef<Path>, name: &str) -> PathBuf {
    dir.as_ref().join("splits").join(format!("{name}.csv"))
}

/// Reads split `name` (e.g. `balanced-dev-train`) of the data directory `dir`.
pub fn load_split(dir: impl AsRef<Path>, name: &str) -> Result<CsvTable, DataError> {
    CsvTable::read(split_path(dir, name))
}

/// Writes `splits/{prefix}-{train,devel,test}.csv` for one split of `table`.
///
/// `prefix` is e.g. `balanced-dev`. Returns the three paths. A part with a positive
/// fraction that would get no galaxy is an error naming the part and what to change, and
/// nothing is written.
pub fn write_split(
    dir: impl AsRef<Path>,
    table: &CsvTable,
    prefix: &str,
    fractions: &SplitFractions,
    balance: &Balance,
    seed: u64,
) -> Result<[PathBuf; 3], DataError> {
    // The name becomes part of three file names under splits/: never a path of its own.
    if prefix.is_empty() || prefix.contains(['/', '\\']) {
        return Err(DataError::Config(format!("bad split name {prefix:?}")));
    }
    let idx = split_indices(table, fractions, balance, seed)?;
    check_parts(&dir, prefix, fractions, balance, &idx)?;
    write_parts(dir, table, prefix, &idx)
}

fn split_indices(
    table: &CsvTable,
    fractions: &SplitFractions,
    balance: &Balance,
    seed: u64,
) -> Result<SplitIndices, DataError> {
    fractions.validate()?;
    Ok(match balance {
        Balance::Unbalanced => unbalanced_split(table.rows.len(), fractions, seed),
        Balance::Balanced { column, bins } => {
            balanced_split(&table.numeric_column(column)?, *bins, fractions, seed)?
        }
    })
}

/// An empty part would only fail later (training on no devel galaxies) or silently
/// evaluate nothing; balancing is the usual cause, when one outlier leaves a bin with a
/// single galaxy and every bin is cut down to it.
fn check_parts(
    dir: impl AsRef<Path>,
    prefix: &str,
    fractions: &SplitFractions,
    balance: &Balance,
    idx: &SplitIndices,
) -> Result<(), DataError> {
    for (part, fraction, rows) in [
        ("train", fractions.train, &idx.train),
        ("devel", fractions.devel, &idx.devel),
        ("test", fractions.test, &idx.test),
    ] {
        if fraction > 0.0 && rows.is_empty() {
            let fix = match balance {
                Balance::Balanced { column, bins } => format!(
                    "balancing on `{column}` with {bins} bins keeps only {} galaxies (a bin \
                     holds very few, e.g. around an outlier): use --unbalanced, fewer --bins \
                     or another --balance-column",
                    idx.train.len() + idx.devel.len() + idx.test.len()
                ),
                Balance::Unbalanced => "the catalog is too small for this fraction: give \
                                        the part a larger fraction"
                    .to_string(),
            };
            return Err(DataError::Config(format!(
                "{} would be empty: {fix}",
                split_path(&dir, &format!("{prefix}-{part}")).display()
            )));
        }
    }
    Ok(())
}

fn write_parts(
    dir: impl AsRef<Path>,
    table: &CsvTable,
    prefix: &str,
    idx: &SplitIndices,
) -> Result<[PathBuf; 3], DataError> {
    let splits_dir = dir.as_ref().join("splits");
    std::fs::create_dir_all(&splits_dir).map_err(|e| DataError::io(&splits_dir, e))?;
    let mut paths = Vec::with_capacity(3);
    for (part, rows) in [
        ("train", &idx.train),
        ("devel", &idx.devel),
        ("test", &idx.test),
    ] {
        let path = split_path(&dir, &format!("{prefix}-{part}"));
        table.select(rows).write(&path)?;
        paths.push(path);
    }
    Ok([paths[0].clone(), paths[1].clone(), paths[2].clone()])
}

/// Writes all 42 standard split files (balanced and unbalanced, seven sizes, three parts)
/// for the catalog `dir/info.csv`, balancing on `balance_column` with `bins` bins.
///
/// Each size gets its own seed derived from `seed`, so the splits are reproducible. Unlike
/// [`write_split`], a part may come out empty on a small catalog (the small standard
/// fractions, e.g. 0.3 % devel, need thousands of galaxies).
pub fn write_standard_splits(
    dir: impl AsRef<Path>,
    balance_column: &str,
    bins: usize,
    seed: u64,
) -> Result<Vec<PathBuf>, DataError> {
    let dir = dir.as_ref();
    let table = CsvTable::read(dir.join("info.csv"))?;
    let mut written = Vec::new();
    for (k, (size, fractions)) in STANDARD_SPLITS.iter().enumerate() {
        let size_seed = Seed(seed).split_size(k);
        let prefix = format!("unbalanced-{size}");
        let idx = split_indices(&table, fractions, &Balance::Unbalanced, size_seed)?;
        written.extend(write_parts(dir, &table, &prefix, &idx)?);
        let balance = Balance::Balanced {
            column: balance_column.to_string(),
            bins,
        };
        let idx = split_indices(&table, fractions, &balance, size_seed)?;
        written.extend(write_parts(dir, &table, &format!("balanced-{size}"), &idx)?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_name_is_not_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let table = CsvTable {
            path: dir.path().join("info.csv"),
            headers: vec!["file_name".into()],
            rows: vec![vec!["a.fits".into()]],
        };
        let f = STANDARD_SPLITS[5].1;
        for name in ["", "a/b", "a\\b"] {
            let err = write_split(dir.path(), &table, name, &f, &Balance::Unbalanced, 0);
            assert!(matches!(err, Err(DataError::Config(_))), "{name:?}");
        }
        assert!(!dir.path().join("splits").exists());
    }

    #[test]
    fn unbalanced_fractions_disjoint_and_deterministic() {
        let f = STANDARD_SPLITS[5].1;
        let a = unbalanced_split(1000, &f, 3);
        assert_eq!(
            (a.train.len(), a.devel.len(), a.test.len()),
            (700, 150, 150)
        );
        assert_eq!(a, unbalanced_split(1000, &f, 3));
        assert_ne!(a, unbalanced_split(1000, &f, 4));
        let mut all: Vec<usize> = a
            .train
            .iter()
            .chain(&a.devel)
            .chain(&a.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        let xs = unbalanced_split(1000, &STANDARD_SPLITS[0].1, 1);
        assert_eq!(
            (xs.train.len(), xs.devel.len(), xs.test.len()),
            (27, 3, 970)
        );
    }

    #[test]
    fn balanced_has_equal_bins() {
        // Skewed values: many in the low bin.
        let values: Vec<f64> = (0..1000).map(|i| ((i as f64) / 1000.0).powi(3)).collect();
        let s = balanced_split(&values, 4, &STANDARD_SPLITS[5].1, 7).unwrap();
        let count = |rows: &[usize], b: usize| {
            rows.iter()
                .filter(|&&r| ((values[r] / values[999] * 4.0).floor() as usize).min(3) == b)
                .count()
        };
        let per_bin: Vec<usize> = (0..4).map(|b| count(&s.train, b)).collect();
        assert!(per_bin.iter().all(|&c| c == per_bin[0]), "{per_bin:?}");
        assert!(balanced_split(&values, 0, &STANDARD_SPLITS[5].1, 7).is_err());
    }

    #[test]
    fn custom_fractions_validated() {
        assert!(frac(0.5, 0.6, 0.0).validate().is_err());
        assert!(frac(-0.1, 0.6, 0.0).validate().is_err());
        let s = unbalanced_split(100, &frac(0.5, 0.1, 0.1), 0);
        assert_eq!((s.train.len(), s.devel.len(), s.test.len()), (50, 10, 10));
    }

    #[test]
    fn an_outlier_that_empties_a_part_is_an_error_naming_it() {
        let mut values: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        values.push(1e6);
        let f = frac(0.5, 0.25, 0.25);
        let balance = Balance::Balanced {
            column: "r_e".into(),
            bins: 5,
        };
        let idx = balanced_split(&values, 5, &f, 0).unwrap();
        let err = check_parts("d", "outlier", &f, &balance, &idx)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("outlier-devel.csv") && err.contains("--unbalanced"),
            "{err}"
        );
        check_parts("d", "x", &f, &balance, &unbalanced_split(101, &f, 0)).unwrap();
    }
}
