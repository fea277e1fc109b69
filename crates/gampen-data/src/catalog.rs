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
        let csv_err = |source| DataError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(std::io::BufReader::new(file));
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

    /// Writes the table as CSV to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), DataError> {
        let path = path.as_ref();
        let csv_err = |source| DataError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let mut writer = csv::Writer::from_path(path).map_err(csv_err)?;
        writer.write_record(&self.headers).map_err(csv_err)?;
        for row in &self.rows {
            writer.write_record(row).map_err(csv_err)?;
        }
        writer
            .flush()
            .map_err(|e| DataError::io(path.to_path_buf(), e))
    }

    /// Index of `column`, or an error naming it and listing the available columns.
    pub fn column(&self, column: &str) -> Result<usize, DataError> {
        self.headers
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| DataError::MissingColumn {
                path: self.path.clone(),
                column: column.to_string(),
                available: self.headers.join(", "),
            })
    }

    /// The numbers in `column`; an empty or non-numeric cell is an error naming the 1-based
    /// data row (the header line not counted) and the column.
    pub fn numeric_column(&self, column: &str) -> Result<Vec<f64>, DataError> {
        let c = self.column(column)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let text = &row[c];
                text.parse::<f64>()
                    .ok()
                    .filter(|v| !v.is_nan())
                    .ok_or_else(|| DataError::BadLabel {
                        path: self.path.clone(),
                        row: i + 1,
                        column: column.to_string(),
                        value: text.clone(),
                    })
            })
            .collect()
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
    pub fn from_table(table: &CsvTable, label_columns: &[String]) -> Result<Self, DataError> {
        let file_col = table.column(FILE_NAME)?;
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
            file_names: table.rows.iter().map(|r| r[file_col].clone()).collect(),
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
                .map(|row| extra_idx.iter().map(|&i| row[i].clone()).collect())
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
