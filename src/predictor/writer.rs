//! The prediction CSV of `gampen predict`, written by the library.

use std::path::Path;

use gampen_data::atomic::{commit_csv, csv_writer};
use gampen_data::paths::check_io;

use super::catalog::{Progress, ProgressClock};
use super::{csv_error, Layout, Predictor, SampleWriter};
use crate::error::GampenError;

impl Predictor {
    /// Predicts every galaxy of the catalog of `data` (`info.csv`, or `splits/<split>.csv`
    /// with `split`; only [`super::PredictOptions::shard`]'s rows) and writes `out`: the
    /// catalog's columns, then the summary columns of [`super::PredictOptions::columns`];
    /// with `samples_out`, every posterior sample as well ([`SampleWriter`]). Rows are
    /// written batch by batch, and both files appear under their names only when complete
    /// (the samples first). `progress` is called after every batch. Returns the number of
    /// galaxies written.
    ///
    /// An output that is, or lies inside, `data` or the checkpoint (by any spelling) is
    /// refused before anything is read ([`gampen_data::paths::check_io`]).
    pub fn write_csv(
        &self,
        data: &Path,
        split: Option<&str>,
        out: &Path,
        samples_out: Option<&Path>,
        progress: impl FnMut(&Progress),
    ) -> Result<usize, GampenError> {
        let mut outputs = vec![("out", out)];
        outputs.extend(samples_out.map(|s| ("samples_out", s)));
        check_io(&[("data", data), ("checkpoint", self.dir())], &outputs)?;
        let params = self.parameters();
        let options = self.options();
        let layout = Layout::new(options.columns, options.intervals, params, self.labels());
        let keep = samples_out.is_some() || layout.needs_samples() || options.keep_samples;
        let batches = self.catalog_batches_keeping(data, split, keep)?;
        let file_col = batches.images().file_col();
        gampen_data::paths::create_parent(out)?;
        let mut writer = csv_writer(out)?;
        let mut header = batches.images().headers().to_vec();
        header.extend(layout.headers());
        writer
            .write_record(&header)
            .map_err(|e| csv_error(out, e))?;
        let mut samples = match samples_out {
            Some(p) => Some(SampleWriter::create(p, params)?),
            None => None,
        };
        let mut clock = ProgressClock::new(batches.images().total(), progress);
        for batch in batches {
            let batch = batch?;
            let n = batch.posteriors.len();
            for (fields, post) in batch.fields.into_iter().zip(&batch.posteriors) {
                let mut record = fields;
                record.extend(layout.cells(post)?);
                writer
                    .write_record(&record)
                    .map_err(|e| csv_error(out, e))?;
                if let Some(s) = samples.as_mut() {
                    s.write(&record[file_col], post)?;
                }
            }
            writer.flush().map_err(|e| GampenError::io(out, e))?;
            clock.add(n);
        }
        // The samples go into place first: a predictions file under its final name then
        // always has its samples beside it.
        if let Some(s) = samples {
            s.finish()?;
        }
        commit_csv(writer)?;
        Ok(clock.done())
    }
}
