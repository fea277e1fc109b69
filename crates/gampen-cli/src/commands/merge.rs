//! `gampen merge`: concatenate prediction CSVs (shards) with one header
//! ([`gampen_data::merge::merge_csv`]).

use gampen_data::paths::check_io;
use std::path::PathBuf;

use crate::error::Result;

/// Options of `gampen merge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Merged output CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Input CSVs, in order (e.g. shard outputs); every header must be identical.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Runs `gampen merge`: streams every input's rows into `--out`, header once.
pub fn run(args: Args) -> Result<()> {
    let inputs: Vec<_> = args.inputs.iter().map(|p| ("input", p.as_path())).collect();
    check_io(&inputs, &[("--out", &args.out)])?;
    let rows = gampen_data::merge::merge_csv(&args.inputs, &args.out)?;
    eprintln!(
        "merged {} files, {rows} rows, into {}",
        args.inputs.len(),
        args.out.display()
    );
    Ok(())
}
