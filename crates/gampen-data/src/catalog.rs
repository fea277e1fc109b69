//! Catalogs: `info.csv` and split CSVs with a `file_name` column, label columns chosen by
//! name, and any other columns (object_id, ra, dec, ...) carried through as text.

use std::path::{Path, PathBuf};

use crate::DataError;

/// The column naming each galaxy's cutout, relative to the `cutouts/` directory.
pub const FILE_NAME: &str = "file_name";

/// A CSV file as text: header and rows, column order preserved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CsvTable {
    /// Where it was read from (names the file in errors).
    pub path: PathBuf,
    /// Column names.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// Reads a CSV file with a header line. Surrounding blanks of fields are trimmed.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        CsvTable::from_reader(std::io::BufReader::new(file), path)
    }

    /// Parses CSV text with a header line from `reader`; `path` names it in errors. Rows of
    /// another length than the header are errors (the csv parser's, naming the line).
    pub fn from_reader(reader: impl std::io::Read, path: &Path) -> Result<Self, DataError> {
        let csv_err = |source| DataError::csv(path, source);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            rows.push(
                record
                    .map_err(csv_err)?
                    .iter()
                    .map(str::to_string)
                    .collect(),
            );
        }
        Ok(CsvTable {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    /// Writes the table as CSV to `path`, complete or not at all: into a hidden temporary
    /// `.<name>.tmp-<pid>` beside it, synced, then renamed over `path` ([`crate::atomic`]).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), DataError> {
        let path = path.as_ref();
        let csv_err = |source| DataError::csv(path, source);
        let mut writer = crate::atomic::csv_writer(path)?;
        writer.write_record(&self.headers).map_err(csv_err)?;
        for row in &self.rows {
            writer.write_record(row).map_err(csv_err)?;
        }
        crate::atomic::commit_csv(writer)
    }

    /// Index of `column`, or an error naming it and listing the available columns; a name
    /// that the header holds twice is an error too (which of the two is meant?).
    pub fn column(&self, column: &str) -> Result<usize, DataError> {
        let mut found = self
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| *h == column);
        if let (Some((first, _)), Some((second, _))) = (found.next(), found.next()) {
            return Err(DataError::DuplicateColumn {
                path: self.path.clone(),
                column: column.to_string(),
                first: first + 1,
                second: second + 1,
            });
        }
        self.headers
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| DataError::MissingColumn {
                path: self.path.clone(),
                column: column.to_string(),
                // Escaped: a quoted header may hold a line break, and the message is one line.
                available: self
                    .headers
                    .iter()
                    .map(|h| h.escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The numbers in `column`; an empty, non-numeric, NaN or infinite cell (`inf`, `nan`
    /// and `1e999` all parse as floats) is an error naming the 1-based data row (the header
    /// line not counted) and the column.
    pub fn numeric_column(&self, column: &str) -> Result<Vec<f64>, DataError> {
        let c = self.column(column)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let text = row.get(c).map_or("", String::as_str);
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| DataError::BadLabel {
                        path: self.path.clone(),
                        row: i + 1,
                        column: column.to_string(),
                        value: shortened(text),
                    })
            })
            .collect()
    }

    /// The text of `column` in every row, checked as keys: none empty and no two equal once
    /// spelled the same way (`./a.fits` and `a.fits` name one file). An error names the
    /// file, the column, the key and both 1-based data rows.
    pub fn key_column(&self, column: &str) -> Result<Vec<String>, DataError> {
        let c = self.column(column)?;
        let bad = |problem: String| DataError::BadKey {
            path: self.path.clone(),
            column: column.to_string(),
            problem,
        };
        let mut seen = std::collections::HashMap::with_capacity(self.rows.len());
        let mut keys = Vec::with_capacity(self.rows.len());
        for (i, row) in self.rows.iter().enumerate() {
            let key = row.get(c).map_or("", String::as_str);
            let canonical = canonical_key(key);
            if canonical.is_empty() {
                return Err(bad(format!("data row {} (1-based) is empty", i + 1)));
            }
            if let Some(first) = seen.insert(canonical, i) {
                return Err(bad(format!(
                    "{:?} in data row {} is {:?} of data row {} (1-based, header not counted); \
                     every galaxy must appear once",
                    key,
                    i + 1,
                    self.rows[first].get(c).map_or("", String::as_str),
                    first + 1
                )));
            }
            keys.push(key.to_string());
        }
        Ok(keys)
    }

    /// A table with the given rows (in that order) and the same columns.
    pub fn select(&self, rows: &[usize]) -> CsvTable {
        CsvTable {
            path: self.path.clone(),
            headers: self.headers.clone(),
            rows: rows.iter().map(|&r| self.rows[r].clone()).collect(),
        }
    }
}

/// A parsed catalog: cutout file names, numeric labels in the chosen order, and the
/// remaining columns kept as text for the prediction output.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The CSV file it came from.
    pub path: PathBuf,
    /// `file_name` of each row.
    pub file_names: Vec<String>,
    /// Names of the label columns, in the order of `labels[i]`.
    pub label_columns: Vec<String>,
    /// Labels, `[rows][label_columns]`.
    pub labels: Vec<Vec<f64>>,
    /// Names of the other columns, in file order.
    pub extra_columns: Vec<String>,
    /// Their text, `[rows][extra_columns]`.
    pub extras: Vec<Vec<String>>,
}

impl Catalog {
    /// Reads `path` and parses `label_columns` as numbers (none for unlabelled data).
    pub fn read(path: impl AsRef<Path>, label_columns: &[String]) -> Result<Self, DataError> {
        Catalog::from_table(&CsvTable::read(path)?, label_columns)
    }

    /// Parses a table already read.
    ///
    /// `file_name` is the key of a galaxy: an empty one, or one that appears in two rows
    /// (also as `./a.fits` and `a.fits`), is an error naming both rows, since a galaxy
    /// counted twice would weigh twice in training and appear twice in every metric. Label
    /// cells must be finite numbers ([`CsvTable::numeric_column`]).
    pub fn from_table(table: &CsvTable, label_columns: &[String]) -> Result<Self, DataError> {
        let file_col = table.column(FILE_NAME)?;
        let file_names = table.key_column(FILE_NAME)?;
        let columns: Vec<Vec<f64>> = label_columns
            .iter()
            .map(|c| table.numeric_column(c))
            .collect::<Result<_, _>>()?;
        let label_idx: Vec<usize> = label_columns
            .iter()
            .map(|c| table.column(c))
            .collect::<Result<_, _>>()?;
        let extra_idx: Vec<usize> = (0..table.headers.len())
            .filter(|i| *i != file_col && !label_idx.contains(i))
            .collect();
        Ok(Catalog {
            path: table.path.clone(),
            file_names,
            label_columns: label_columns.to_vec(),
            labels: (0..table.rows.len())
                .map(|r| columns.iter().map(|c| c[r]).collect())
                .collect(),
            extra_columns: extra_idx
                .iter()
                .map(|&i| table.headers[i].clone())
                .collect(),
            extras: table
                .rows
                .iter()
                .map(|row| {
                    extra_idx
                        .iter()
                        .map(|&i| row.get(i).cloned().unwrap_or_default())
                        .collect()
                })
                .collect(),
        })
    }

    /// Number of galaxies.
    pub fn len(&self) -> usize {
        self.file_names.len()
    }

    /// Whether the catalog has no rows.
    pub fn is_empty(&self) -> bool {
        self.file_names.is_empty()
    }

    /// The text of extra column `column` in `row`, if the column exists.
    pub fn extra(&self, row: usize, column: &str) -> Option<&str> {
        let c = self.extra_columns.iter().position(|h| h == column)?;
        Some(self.extras[row][c].as_str())
    }
}

/// `text` cut to 60 characters for an error message (a cell may hold a whole file).
fn shortened(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// `key` as a path with `.` components and repeated separators removed, so that two
/// spellings of one relative file compare equal (the key [`CsvTable::key_column`] compares).
pub fn canonical_key(key: &str) -> String {
    Path::new(key)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<PathBuf>()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_tmp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gampen-catalog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_labels_and_carries_extras() {
        let p = write_tmp(
            "ok.csv",
            "object_id,file_name,bt,r_e,ra\n7,a.fits,0.25, 1.5,150.1\n8,b.fits,0.5,2e0,150.2\n",
        );
        let cat = Catalog::read(&p, &cols(&["r_e", "bt"])).unwrap();
        assert_eq!(cat.file_names, vec!["a.fits", "b.fits"]);
        assert_eq!(cat.labels, vec![vec![1.5, 0.25], vec![2.0, 0.5]]);
        assert_eq!(cat.extra_columns, cols(&["object_id", "ra"]));
        assert_eq!(cat.extra(1, "ra"), Some("150.2"));
    }

    #[test]
    fn missing_column_lists_available() {
        let p = write_tmp("miss.csv", "file_name,bt\na.fits,0.1\n");
        let msg = Catalog::read(&p, &cols(&["R_e"])).unwrap_err().to_string();
        assert!(
            msg.contains("\"R_e\"") && msg.contains("file_name, bt") && msg.contains("miss.csv")
        );
        let p = write_tmp("nofile.csv", "name,bt\na.fits,0.1\n");
        let msg = Catalog::read(&p, &[]).unwrap_err().to_string();
        assert!(msg.contains("file_name"), "{msg}");
    }

    #[test]
    fn bad_label_names_row_and_column() {
        let p = write_tmp("bad.csv", "file_name,bt\na.fits,0.1\nb.fits,abc\n");
        let msg = Catalog::read(&p, &cols(&["bt"])).unwrap_err().to_string();
        assert!(
            msg.contains("data row 2") && msg.contains("\"bt\"") && msg.contains("abc"),
            "{msg}"
        );
        let p = write_tmp("empty.csv", "file_name,bt\na.fits,\n");
        let msg = Catalog::read(&p, &cols(&["bt"])).unwrap_err().to_string();
        assert!(msg.contains("data row 1"), "{msg}");
        let p = write_tmp("ragged.csv", "file_name,bt\na.fits,0.1,9\n");
        assert!(Catalog::read(&p, &cols(&["bt"])).is_err());
    }

    #[test]
    fn non_finite_labels_name_file_row_and_column() {
        for (i, text) in ["inf", "-inf", "Infinity", "nan", "NaN", "1e999", "-1E400"]
            .iter()
            .enumerate()
        {
            let p = write_tmp(
                &format!("nonfinite{i}.csv"),
                &format!("file_name,bt\na.fits,0.1\nb.fits,0.2\nc.fits,{text}\n"),
            );
            let msg = Catalog::read(&p, &cols(&["bt"])).unwrap_err().to_string();
            assert!(
                msg.contains(&format!("nonfinite{i}.csv"))
                    && msg.contains("data row 3")
                    && msg.contains("\"bt\"")
                    && msg.contains(text)
                    && msg.contains("not a finite number"),
                "{msg}"
            );
        }
        // Non-finite text in a column that is not a label is carried as text.
        let p = write_tmp("extra_inf.csv", "file_name,bt,note\na.fits,0.1,inf\n");
        let cat = Catalog::read(&p, &cols(&["bt"])).unwrap();
        assert_eq!(cat.extra(0, "note"), Some("inf"));
    }

    #[test]
    fn duplicate_and_empty_keys_name_both_rows() {
        let p = write_tmp(
            "dup.csv",
            "file_name,bt\na.fits,0.1\nb.fits,0.2\na.fits,0.3\n",
        );
        let msg = Catalog::read(&p, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("dup.csv")
                && msg.contains("\"file_name\"")
                && msg.contains("data row 3")
                && msg.contains("data row 1")
                && msg.contains("a.fits"),
            "{msg}"
        );
        // Another spelling of the same relative path is the same galaxy.
        let p = write_tmp("dup2.csv", "file_name\nsub/a.fits\n./sub//a.fits\n");
        let msg = Catalog::read(&p, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("data row 2") && msg.contains("data row 1"),
            "{msg}"
        );
        let p = write_tmp("emptykey.csv", "file_name,bt\na.fits,0.1\n,0.2\n");
        let msg = Catalog::read(&p, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("emptykey.csv") && msg.contains("data row 2") && msg.contains("empty"),
            "{msg}"
        );
        let p = write_tmp("dotkey.csv", "file_name\n.\n");
        assert!(Catalog::read(&p, &[]).is_err());
        // Distinct names pass, and key_column returns them as written.
        let p = write_tmp("distinct.csv", "file_name\na.fits\nsub/a.fits\n./b.fits\n");
        let t = CsvTable::read(&p).unwrap();
        assert_eq!(
            t.key_column(FILE_NAME).unwrap(),
            cols(&["a.fits", "sub/a.fits", "./b.fits"])
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let table = CsvTable::from_reader(
            "file_name,\"two\nlines\"\na.fits,1\n".as_bytes(),
            Path::new("mem.csv"),
        )
        .unwrap();
        let msg = Catalog::from_table(&table, &cols(&["bt"]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("two\\nlines") && !msg.contains('\n'), "{msg}");
        let table = CsvTable::from_reader(
            "file_name,bt\na.fits,\"1\n2\"\n".as_bytes(),
            Path::new("mem.csv"),
        )
        .unwrap();
        let msg = Catalog::from_table(&table, &cols(&["bt"]))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("mem.csv: ") && !msg.contains('\n'), "{msg}");
    }

    #[test]
    fn duplicate_column_names_are_ambiguous() {
        let p = write_tmp("dupcol.csv", "file_name,bt,note,bt\na.fits,0.1,x,0.9\n");
        let msg = Catalog::read(&p, &cols(&["bt"])).unwrap_err().to_string();
        assert!(
            msg.contains("dupcol.csv") && msg.contains("columns 2 and 4") && msg.contains("\"bt\""),
            "{msg}"
        );
        // A repeated column that is not asked for is carried as text.
        let p = write_tmp("dupnote.csv", "file_name,bt,note,note\na.fits,0.1,x,y\n");
        assert_eq!(
            Catalog::read(&p, &cols(&["bt"])).unwrap().extras,
            vec![cols(&["x", "y"])]
        );
        let long = "x".repeat(500);
        let p = write_tmp("long.csv", &format!("file_name,bt\na.fits,{long}\n"));
        let msg = Catalog::read(&p, &cols(&["bt"])).unwrap_err().to_string();
        assert!(msg.len() < 200 && msg.contains("xxx..."), "{msg}");
    }

    #[test]
    fn table_round_trip() {
        let p = write_tmp("rt.csv", "file_name,x\na.fits,1\nb.fits,\"q,2\"\n");
        let t = CsvTable::read(&p).unwrap();
        let q = write_tmp("rt2.csv", "");
        t.write(&q).unwrap();
        let back = CsvTable::read(&q).unwrap();
        assert_eq!(back.rows, t.rows);
        assert_eq!(t.select(&[1]).rows, vec![cols(&["b.fits", "q,2"])]);
    }
}
