//! Streaming access to a catalog: rows read one at a time, so memory does not grow with the
//! number of galaxies, and shards of it for job arrays.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::error::DataError;

type Result<T> = std::result::Result<T, DataError>;

/// The catalog column naming each cutout.
pub const FILE_NAME: &str = "file_name";

/// The catalog a command reads: `info.csv`, or `splits/<split>.csv` with `split`.
pub fn catalog_path(data: &Path, split: Option<&str>) -> Result<PathBuf> {
    if !data.is_dir() {
        return Err(DataError::input(
            data,
            "data directory does not exist (or is not a directory)",
        ));
    }
    let path = match split {
        Some(name) => crate::splits::split_path(data, name),
        None => data.join("info.csv"),
    };
    if !path.is_file() {
        let hint = match split {
            Some(_) => " (run `gampen splits` first, or leave out --split to use info.csv)",
            None => " (a data directory needs info.csv with a file_name column)",
        };
        return Err(DataError::input(&path, format!("catalog not found{hint}")));
    }
    Ok(path)
}

/// A catalog read row by row.
pub struct CatalogStream {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    headers: Vec<String>,
    file_col: usize,
    row: usize,
}

impl CatalogStream {
    /// Opens `path` and checks that it has a `file_name` column.
    pub fn open(path: &Path) -> Result<Self> {
        let (reader, headers) = open_csv(path)?;
        let file_col = column_index(path, &headers, FILE_NAME)?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            headers,
            file_col,
            row: 0,
        })
    }

    /// Column names, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Index of the `file_name` column.
    pub fn file_col(&self) -> usize {
        self.file_col
    }

    /// The next row as `(0-based data row, fields)`, `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>> {
        let mut record = csv::StringRecord::new();
        let more = self
            .reader
            .read_record(&mut record)
            .map_err(|e| DataError::csv(&self.path, e))?;
        if !more {
            return Ok(None);
        }
        let row = self.row;
        self.row += 1;
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        if fields[self.file_col].is_empty() {
            return Err(DataError::input(
                &self.path,
                format!("data row {} (1-based): empty {FILE_NAME}", row + 1),
            ));
        }
        Ok(Some((row, fields)))
    }
}

/// Opens the CSV file `path` (fields trimmed, as every catalog is read) and reads its header.
pub fn open_csv(path: &Path) -> Result<(csv::Reader<BufReader<File>>, Vec<String>)> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| DataError::csv(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((reader, headers))
}

/// Number of data rows of the CSV file `path` (a pass over the file that keeps nothing).
pub fn count_rows(path: &Path) -> Result<usize> {
    let csv_error = |source| DataError::csv(path, source);
    let mut reader = csv::Reader::from_path(path).map_err(csv_error)?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        n += 1;
    }
    Ok(n)
}

/// Index of `column` in `headers`, or an error naming the file and the available columns.
pub fn column_index(path: &Path, headers: &[String], column: &str) -> Result<usize> {
    headers
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| DataError::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            available: headers.join(", "),
        })
}

/// Which rows of a catalog a process handles: `--shard K/N` takes the rows whose 0-based
/// index `i` satisfies `i % N == K - 1` (K is 1-based, `1/4` .. `4/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Everything.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether data row `row` (0-based) belongs to this shard.
    pub fn contains(&self, row: usize) -> bool {
        row % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad =
            || format!("bad shard {s:?}: expected K/N with 1 <= K <= N (1-based, e.g. 1/4 .. 4/4)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing_and_membership() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 3 });
        assert!(s.contains(1) && s.contains(4) && !s.contains(0));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
