//! Reading back the posterior samples `gampen predict --samples-out FILE.csv` writes
//! ([`super::SampleWriter`]): rows `file_name,draw,<params...>`.

use std::path::{Path, PathBuf};

use gampen_data::{DataError, FILE_NAME};

use crate::error::GampenError;

/// Every galaxy's posterior draws, as a samples CSV holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleTable {
    /// The file read.
    pub path: PathBuf,
    /// Parameter names, in column order.
    pub parameters: Vec<String>,
    /// `file_name` of each galaxy, in file order.
    pub file_names: Vec<String>,
    /// `[galaxy][param][draw]`, original units; an empty cell is NaN.
    pub samples: Vec<Vec<Vec<f64>>>,
}

impl SampleTable {
    /// Reads a samples CSV. Each galaxy's rows are consecutive, numbered `draw` 0, 1, 2, ...;
    /// every galaxy has the same number of draws.
    ///
    /// # Errors
    /// A one-line [`DataError::Input`] naming the file and the 1-based data row: a header
    /// other than `file_name,draw,<params...>`, a row of the wrong length, a draw number out
    /// of sequence, a galaxy listed twice, a value that is not a number or is infinite, or no
    /// rows at all.
    pub fn read(path: &Path) -> Result<Self, GampenError> {
        let bad = |msg: String| GampenError::from(DataError::input(path, msg));
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| super::csv_error(path, e))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| super::csv_error(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        if header.len() < 3 || header[0] != FILE_NAME || header[1] != "draw" {
            return Err(bad(format!(
                "header {:?} is not file_name,draw,<parameters...> (gampen predict \
                 --samples-out FILE.csv)",
                header.join(",")
            )));
        }
        let mut table = Self {
            path: path.to_path_buf(),
            parameters: header[2..].to_vec(),
            file_names: Vec::new(),
            samples: Vec::new(),
        };
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| super::csv_error(path, e))?;
            let fields: Vec<&str> = record.iter().collect();
            table
                .push_row(&fields)
                .map_err(|m| bad(format!("row {}: {m}", i + 1)))?;
        }
        table.check_complete().map_err(bad)?;
        Ok(table)
    }

    /// Adds one data row; the message says what is wrong with it.
    fn push_row(&mut self, fields: &[&str]) -> Result<(), String> {
        if fields.len() != self.parameters.len() + 2 {
            return Err(format!(
                "{} fields, the header has {}",
                fields.len(),
                self.parameters.len() + 2
            ));
        }
        let draw: usize = fields[1]
            .trim()
            .parse()
            .map_err(|_| format!("draw {:?} is not a draw number", fields[1]))?;
        let name = fields[0];
        let continues = self.file_names.last().is_some_and(|n| n == name);
        let expected = match continues {
            true => self.samples.last().map_or(0, |s| s[0].len()),
            false => 0,
        };
        if draw != expected {
            return Err(format!(
                "draw {draw} of {name}, expected {expected} (a galaxy's draws are consecutive \
                 rows numbered from 0)"
            ));
        }
        if !continues {
            if self.file_names.iter().any(|n| n == name) {
                return Err(format!("{name} appears again after other galaxies"));
            }
            self.file_names.push(name.to_string());
            self.samples.push(vec![Vec::new(); self.parameters.len()]);
        }
        let galaxy = self.samples.last_mut().ok_or("no galaxy")?;
        for ((cell, draws), param) in fields[2..].iter().zip(galaxy).zip(&self.parameters) {
            draws.push(parse_value(cell).map_err(|m| format!("{param}: {m}"))?);
        }
        Ok(())
    }

    /// Refuses an empty table and galaxies with different draw counts.
    fn check_complete(&self) -> Result<(), String> {
        let counts: Vec<usize> = self.samples.iter().map(|g| g[0].len()).collect();
        match counts.first() {
            None => Err("no samples: the file has a header and no rows".into()),
            Some(&n) => match counts.iter().position(|&c| c != n) {
                Some(g) => Err(format!(
                    "{} has {} draws but {} has {n}",
                    self.file_names[g], counts[g], self.file_names[0]
                )),
                None => Ok(()),
            },
        }
    }
}

/// A sample value: empty is NaN (how the writer spells it), infinite or text is an error.
fn parse_value(cell: &str) -> Result<f64, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(f64::NAN);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!("{cell:?} is infinite")),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("{cell:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predictor::SampleWriter;
    use crate::GalaxyPosterior;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        let params = vec!["a".to_string(), "b".to_string()];
        let mut w = SampleWriter::create(&path, &params).unwrap();
        let post = |s: Vec<Vec<f64>>| GalaxyPosterior {
            marginals: Vec::new(),
            covariance: Vec::new(),
            samples: Some(s),
        };
        let g1 = vec![vec![1.0, 2.0, 3.0], vec![0.5, f64::NAN, 0.25]];
        let g2 = vec![vec![-1.0, 0.0, 1e-9], vec![4.0, 5.0, 6.0]];
        w.write("x.fits", &post(g1.clone())).unwrap();
        w.write("y.fits", &post(g2.clone())).unwrap();
        w.finish().unwrap();
        let t = SampleTable::read(&path).unwrap();
        assert_eq!(t.parameters, params);
        assert_eq!(t.file_names, ["x.fits", "y.fits"]);
        assert_eq!(t.samples[1], g2);
        assert_eq!(t.samples[0][0], g1[0]);
        assert!(t.samples[0][1][1].is_nan());
    }

    #[test]
    fn malformed_files_are_refused_with_one_line_naming_file_and_row() {
        let cases = [
            ("name,draw,a\nx,0,1\n", "header"),
            ("file_name,draw,a\n", "no rows"),
            ("file_name,draw,a\nx,0,1\nx,1\n", "row 2: 2 fields"),
            (
                "file_name,draw,a\nx,0,1\nx,2,1\n",
                "row 2: draw 2 of x, expected 1",
            ),
            (
                "file_name,draw,a\nx,0,1\ny,0,1\nx,0,1\n",
                "row 3: x appears again",
            ),
            (
                "file_name,draw,a\nx,0,1\nx,1,oops\n",
                "row 2: a: \"oops\" is not a number",
            ),
            (
                "file_name,draw,a\nx,0,inf\n",
                "row 1: a: \"inf\" is infinite",
            ),
            ("file_name,draw,a\nx,zero,1\n", "row 1: draw \"zero\""),
            (
                "file_name,draw,a\nx,0,1\nx,1,1\ny,0,1\n",
                "y has 1 draws but x has 2",
            ),
        ];
        for (text, expected) in cases {
            let (_dir, path) = write(text);
            let msg = SampleTable::read(&path).unwrap_err().to_string();
            assert!(msg.contains(expected), "{text:?}: {msg}");
            assert!(msg.contains("s.csv"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
}
