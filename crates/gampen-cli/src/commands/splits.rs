//! `gampen splits`: train/devel/test split files in GaMPEN's naming.

use std::path::PathBuf;

use gampen_data::catalog_path;
use gampen_data::splits::{empty_split_warning, write_split, Balance, SplitFractions};
use gampen_data::CsvTable;

use crate::error::Result;

/// Options of `gampen splits`.
///
/// Without `--fractions`, writes the 42 standard files
/// `splits/{balanced,unbalanced}-{xs,sm,md,lg,xl,dev,dev2}-{train,devel,test}.csv`. With
/// `--fractions a,b,c` writes one custom split `splits/<name>-{train,devel,test}.csv`
/// (balanced on `--balance-column` unless `--unbalanced`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory holding info.csv.
    #[arg(long)]
    pub data: PathBuf,
    /// Numeric column the balanced splits are balanced on (GaMPEN: bt).
    #[arg(long, default_value = "bt")]
    pub balance_column: String,
    /// Equal-width bins of the balance column.
    #[arg(long, default_value_t = 5, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub bins: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Custom train,devel,test fractions (e.g. 0.7,0.15,0.15); they may sum to less than 1.
    #[arg(long, value_parser = gampen_data::flags::fractions, allow_negative_numbers = true)]
    pub fractions: Option<SplitFractions>,
    /// Name (file prefix) of the custom split.
    #[arg(long, default_value = "custom")]
    pub name: String,
    /// Make the custom split a plain shuffled one, not balanced.
    #[arg(long)]
    pub unbalanced: bool,
}

/// Runs `gampen splits`.
pub fn run(args: Args) -> Result<()> {
    let info = catalog_path(&args.data, None)?;
    match &args.fractions {
        None => {
            let written = gampen_data::splits::write_standard_splits(
                &args.data,
                &args.balance_column,
                args.bins,
                args.seed,
            )?;
            eprintln!(
                "wrote {} split files under {}",
                written.len(),
                args.data.join("splits").display()
            );
            let warning = empty_split_warning(&written, &args.balance_column)?;
            warning.iter().for_each(|w| eprintln!("warning: {w}"));
        }
        Some(fractions) => {
            let table = CsvTable::read(&info)?;
            let balance = if args.unbalanced {
                Balance::Unbalanced
            } else {
                Balance::Balanced {
                    column: args.balance_column.clone(),
                    bins: args.bins,
                }
            };
            let paths = write_split(
                &args.data, &table, &args.name, fractions, &balance, args.seed,
            )?;
            for p in &paths {
                let rows = CsvTable::read(p)?.rows.len();
                eprintln!("{}: {rows} galaxies", p.display());
            }
        }
    }
    Ok(())
}
