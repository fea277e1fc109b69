//! Posterior samples written beside a prediction CSV, as CSV rows or JSON lines.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use gampen_data::atomic::{commit_csv, csv_writer, AtomicFile};
use gampen_data::FILE_NAME;

use super::csv_error;
use crate::error::GampenError;
use crate::posterior::columns::cell;
use crate::GalaxyPosterior;

/// Writes every posterior sample (original units) of each galaxy: a path ending in `.csv`
/// gives rows `file_name,draw,<params...>`, anything else JSON lines
/// `{"file_name": .., "<param>": [..]}`. The file appears only on [`SampleWriter::finish`].
pub enum SampleWriter {
    /// CSV rows, one per draw.
    Csv(Box<csv::Writer<AtomicFile>>),
    /// One JSON object per galaxy.
    Json(PathBuf, BufWriter<AtomicFile>, Vec<String>),
}

impl SampleWriter {
    /// Starts writing the samples of parameters `params` to `path`.
    pub fn create(path: &Path, params: &[String]) -> Result<Self, GampenError> {
        gampen_data::paths::create_parent(path)?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            let mut w = csv_writer(path)?;
            let mut header = vec![FILE_NAME.to_string(), "draw".to_string()];
            header.extend(params.iter().cloned());
            w.write_record(&header).map_err(|e| csv_error(path, e))?;
            Ok(Self::Csv(Box::new(w)))
        } else {
            let f = AtomicFile::create(path)?;
            Ok(Self::Json(
                path.to_path_buf(),
                BufWriter::new(f),
                params.to_vec(),
            ))
        }
    }

    /// Writes the samples of galaxy `file_name`.
    ///
    /// # Errors
    /// [`GampenError::Shape`] when the posterior was computed without keeping its samples.
    pub fn write(&mut self, file_name: &str, post: &GalaxyPosterior) -> Result<(), GampenError> {
        let samples = post
            .samples
            .as_ref()
            .ok_or_else(|| GampenError::Shape("the posterior kept no samples to write".into()))?;
        match self {
            Self::Csv(w) => {
                let draws = samples.first().map_or(0, Vec::len);
                for d in 0..draws {
                    let mut rec = vec![file_name.to_string(), d.to_string()];
                    rec.extend(samples.iter().map(|s| cell(s[d])));
                    w.write_record(&rec)
                        .map_err(|e| csv_error(w.get_ref().dest(), e))?;
                }
            }
            Self::Json(path, w, params) => {
                let mut obj = serde_json::Map::new();
                obj.insert(FILE_NAME.into(), file_name.into());
                for (p, s) in params.iter().zip(samples) {
                    obj.insert(p.clone(), serde_json::json!(s));
                }
                let line = serde_json::Value::Object(obj).to_string();
                writeln!(w, "{line}").map_err(|e| GampenError::io(path, e))?;
            }
        }
        Ok(())
    }

    /// Flushes and puts the file in place.
    pub fn finish(self) -> Result<(), GampenError> {
        match self {
            Self::Csv(w) => Ok(commit_csv(*w)?),
            Self::Json(path, w, _) => {
                let file = w.into_inner().map_err(|e| {
                    GampenError::io(&path, std::io::Error::other(e.error().to_string()))
                })?;
                Ok(file.commit()?)
            }
        }
    }
}
