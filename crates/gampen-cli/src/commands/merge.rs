//! `gampen merge`: concatenate prediction CSVs (shards) with one header.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};
use crate::paths::{check_io, OutFile};
use gampen_data::FILE_NAME;

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
    let mut header: Option<(PathBuf, csv::StringRecord)> = None;
    let mut writer = OutFile::csv(&args.out)?;
    let mut rows = 0usize;
    let mut seen = SeenKeys::default();
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
        let key_col = h
            .iter()
            .position(|c| c == FILE_NAME)
            .ok_or_else(|| CliError::usage(format!("{}: no {FILE_NAME} column", path.display())))?;
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
        for (row, record) in reader.records().enumerate() {
            let record = record.map_err(|e| CliError::csv(path, e))?;
            seen.insert(path, row, &record[key_col])?;
            writer
                .write_record(&record)
                .map_err(|e| CliError::csv(&args.out, e))?;
            rows += 1;
        }
    }
    OutFile::commit_csv(writer, &args.out)?;
    eprintln!(
        "merged {} files, {rows} rows, into {}",
        args.inputs.len(),
        args.out.display()
    );
    Ok(())
}

/// Keys already merged, with where they came from: overlapping shards (or one shard given
/// twice under two names) must not put a galaxy twice into the merged file.
#[derive(Default)]
struct SeenKeys {
    first: HashMap<String, (PathBuf, usize)>,
}

impl SeenKeys {
    /// Records `key` of 0-based data row `row` of `path`, or names both places it appears.
    fn insert(&mut self, path: &Path, row: usize, key: &str) -> Result<()> {
        let canonical = gampen_data::canonical_key(key);
        if canonical.is_empty() {
            return Err(CliError::usage(format!(
                "{}: data row {} has an empty {FILE_NAME}",
                path.display(),
                row + 1
            )));
        }
        if let Some((first, first_row)) = self.first.get(&canonical) {
            return Err(CliError::usage(format!(
                "{}: {FILE_NAME} {key:?} in data row {} is already in {} data row {} (1-based): \
                 every galaxy must appear once; are two shards overlapping or given twice?",
                path.display(),
                row + 1,
                first.display(),
                first_row + 1
            )));
        }
        self.first.insert(canonical, (path.to_path_buf(), row));
        Ok(())
    }
}
