//! `gampen merge`: concatenate prediction CSVs (shards) with one header.

use std::path::PathBuf;

use crate::error::{CliError, Result};

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
    if let Some(same) = args.inputs.iter().find(|p| **p == args.out) {
        return Err(CliError::usage(format!(
            "--out {} is also an input",
            same.display()
        )));
    }
    let mut header: Option<(PathBuf, csv::StringRecord)> = None;
    let mut writer = csv::Writer::from_path(&args.out).map_err(|e| CliError::csv(&args.out, e))?;
    let mut rows = 0usize;
    for path in &args.inputs {
        if !path.is_file() {
            return Err(CliError::usage(format!(
                "input {} not found",
                path.display()
            )));
        }
        let mut reader = csv::Reader::from_path(path).map_err(|e| CliError::csv(path, e))?;
        let h = reader
            .headers()
            .map_err(|e| CliError::csv(path, e))?
            .clone();
        match &header {
            None => {
                writer
                    .write_record(&h)
                    .map_err(|e| CliError::csv(&args.out, e))?;
                header = Some((path.clone(), h));
            }
            Some((first, expected)) if *expected != h => {
                let diff = expected
                    .iter()
                    .zip(h.iter())
                    .position(|(a, b)| a != b)
                    .map(|i| {
                        format!(
                            "column {} is {:?} there but {:?} here",
                            i + 1,
                            &expected[i],
                            &h[i]
                        )
                    })
                    .unwrap_or_else(|| {
                        format!("{} columns there but {} here", expected.len(), h.len())
                    });
                return Err(CliError::usage(format!(
                    "{}: header differs from {} ({diff})",
                    path.display(),
                    first.display()
                )));
            }
            Some(_) => {}
        }
        for record in reader.records() {
            let record = record.map_err(|e| CliError::csv(path, e))?;
            writer
                .write_record(&record)
                .map_err(|e| CliError::csv(&args.out, e))?;
            rows += 1;
        }
    }
    writer.flush().map_err(|e| CliError::io(&args.out, e))?;
    eprintln!(
        "merged {} files, {rows} rows, into {}",
        args.inputs.len(),
        args.out.display()
    );
    Ok(())
}
