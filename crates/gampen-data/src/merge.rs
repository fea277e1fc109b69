//! Joining prediction CSVs (the shards of a job array) into one, with one header and every
//! galaxy once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::atomic::{commit_csv, csv_writer};
use crate::error::DataError;
use crate::stream::FILE_NAME;

type Result<T> = std::result::Result<T, DataError>;

/// Streams the rows of every input, in order, into `out` under one header; `out` appears
/// only when complete. Every header must be the first's, and every `file_name` (compared
/// as [`crate::canonical_key`]) must appear once. Returns the number of rows.
pub fn merge_csv(inputs: &[PathBuf], out: &Path) -> Result<usize> {
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    let mut header: Option<(&Path, csv::StringRecord)> = None;
    let mut writer = csv_writer(out)?;
    let mut rows = 0usize;
    let mut seen = SeenKeys::default();
    for path in inputs {
        if !path.is_file() {
            return Err(DataError::input(path, "input not found"));
        }
        let mut reader = csv::Reader::from_path(path).map_err(|e| DataError::csv(path, e))?;
        let h = reader
            .headers()
            .map_err(|e| DataError::csv(path, e))?
            .clone();
        let key_col = h
            .iter()
            .position(|c| c == FILE_NAME)
            .ok_or_else(|| DataError::input(path, format!("no {FILE_NAME} column")))?;
        match &header {
            None => {
                writer
                    .write_record(&h)
                    .map_err(|e| DataError::csv(out, e))?;
                header = Some((path, h));
            }
            Some((first, expected)) if *expected != h => {
                let diff = header_difference(expected, &h);
                return Err(DataError::input(
                    path,
                    format!("header differs from {} ({diff})", first.display()),
                ));
            }
            Some(_) => {}
        }
        for (row, record) in reader.records().enumerate() {
            let record = record.map_err(|e| DataError::csv(path, e))?;
            seen.insert(path, row, &record[key_col])?;
            writer
                .write_record(&record)
                .map_err(|e| DataError::csv(out, e))?;
            rows += 1;
        }
    }
    commit_csv(writer)?;
    Ok(rows)
}

/// The first difference between two headers, in words.
fn header_difference(expected: &csv::StringRecord, h: &csv::StringRecord) -> String {
    expected
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
        .unwrap_or_else(|| format!("{} columns there but {} here", expected.len(), h.len()))
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
        let canonical = crate::canonical_key(key);
        if canonical.is_empty() {
            return Err(DataError::input(
                path,
                format!("data row {} has an empty {FILE_NAME}", row + 1),
            ));
        }
        if let Some((first, first_row)) = self.first.get(&canonical) {
            return Err(DataError::input(
                path,
                format!(
                    "{FILE_NAME} {key:?} in data row {} is already in {} data row {} (1-based): \
                     every galaxy must appear once; are two shards overlapping or given twice?",
                    row + 1,
                    first.display(),
                    first_row + 1
                ),
            ));
        }
        self.first.insert(canonical, (path.to_path_buf(), row));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_shards_and_refuses_duplicates_and_other_headers() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let a = write("a.csv", "file_name,x\ng1.fits,1\n");
        let b = write("b.csv", "file_name,x\ng2.fits,2\n");
        let out = dir.path().join("out/m.csv");
        assert_eq!(merge_csv(&[a.clone(), b], &out).unwrap(), 2);
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, "file_name,x\ng1.fits,1\ng2.fits,2\n");
        let dup = write("dup.csv", "file_name,x\n./g1.fits,3\n");
        let msg = merge_csv(&[a.clone(), dup], &out).unwrap_err().to_string();
        assert!(
            msg.contains("dup.csv") && msg.contains("a.csv data row 1"),
            "{msg}"
        );
        let other = write("other.csv", "file_name,y\ng3.fits,3\n");
        let msg = merge_csv(&[a, other], &out).unwrap_err().to_string();
        assert!(
            msg.contains("other.csv") && msg.contains("column 2"),
            "{msg}"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    }
}
